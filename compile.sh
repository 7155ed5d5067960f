#!/usr/bin/env bash
# Builds ./paxos, one self-contained executable, with the Bun pinned in package.json.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x node_modules/.bin/bun ]; then
  npm ci --no-audit --no-fund
fi
# --splitting: what only some commands load on demand (Vega for `bench --plots`) stays in its own
# chunk inside the executable, so the other commands (every node process) do not parse it at
# start-up (~60 ms and ~4 MB RSS each without it). The chunks' source maps land here as
# NAME-HASH.js.map beside paxos.map: the old ones are removed first.
rm -f ./*.js.map
# The commit goes into the executable (`paxos --version`, /version): the short hash, "-dirty" when
# the tree has uncommitted changes; "unknown" outside a git clone (a tarball).
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if [ "$commit" != unknown ] && ! git diff --quiet HEAD -- 2>/dev/null; then commit="$commit-dirty"; fi
./node_modules/.bin/bun build --compile --splitting --minify --sourcemap --define "PAXOS_BUILD_COMMIT=\"$commit\"" main.ts --outfile paxos
echo "built ./paxos ($(du -h paxos | cut -f1))"

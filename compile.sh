#!/usr/bin/env bash
# Builds ./paxos, one self-contained executable, with the Bun pinned in package.json.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x node_modules/.bin/bun ]; then
  npm ci --no-audit --no-fund
fi
./node_modules/.bin/bun build --compile --minify --sourcemap main.ts --outfile paxos
echo "built ./paxos ($(du -h paxos | cut -f1))"

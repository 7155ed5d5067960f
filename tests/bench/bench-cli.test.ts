import { describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../../src/cli/program.ts";
import type { BenchResult } from "../../src/bench/run.ts";

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runCli(argv, { out: (s) => void (out += s), err: (s) => void (err += s) });
  return { code, out, err };
}

describe("paxos bench: the measured window and where the figures go", () => {
  test(
    "--duration 1 --warmup 1 --json -: one measured second after the warm-up, JSON on stdout, the table (client ids whole) on stderr",
    async () => {
      const cwd = mkdtempSync(join(tmpdir(), "paxos-bench-cwd-"));
      const before = process.cwd();
      process.chdir(cwd);
      try {
        const r = await run("bench", "--duration", "1", "--warmup", "1", "--value-size", "1024", "--json", "-");
        expect(r.code).toBe(0);
        const result = JSON.parse(r.out) as BenchResult;
        const client = result.clients[0];
        expect(client).toBeDefined();
        // The client measured one second (not one second warm-up included), and the learner delivered in it.
        expect(client?.durationMs).toBeGreaterThanOrEqual(1000);
        expect(client?.durationMs).toBeLessThan(1400); // timers run late on a loaded host
        expect(client?.valuesPerSec).toBeGreaterThan(0);
        expect(client?.latencyUs.count).toBeGreaterThan(0);
        expect(result.learners[0]?.valuesPerSec).toBeGreaterThan(0);
        // The table went to stderr, naming the client by its whole id.
        expect(r.err).toContain("learner   values/s");
        expect(r.err).toMatch(new RegExp(`^${client?.client}\\s+[\\d,]+\\s`, "m"));
        // No file named "-" (or anything else) was written.
        expect(readdirSync(cwd)).toEqual([]);
      } finally {
        process.chdir(before);
        rmSync(cwd, { recursive: true, force: true });
      }
    },
    { timeout: 60_000 },
  );

  test("--json to a directory or under a missing directory: one line, exit 2, before any cluster starts", async () => {
    const base = mkdtempSync(join(tmpdir(), "paxos-bench-json-"));
    try {
      writeFileSync(join(base, "taken"), "x");
      const started = Date.now();
      for (const [path, message] of [
        [base, `paxos: --json: ${base} is a directory\n`],
        [join(base, "missing", "r.json"), `paxos: --json: cannot write ${join(base, "missing", "r.json")}: ENOENT: no such file or directory\n`],
        [join(base, "taken", "r.json"), `paxos: --json: cannot write ${join(base, "taken", "r.json")}: ENOTDIR: not a directory\n`],
      ] as const) {
        const r = await run("bench", "--duration", "1", "--json", path);
        expect(r).toEqual({ code: 2, out: "", err: message });
      }
      expect(Date.now() - started).toBeLessThan(1000);
      expect(readdirSync(base)).toEqual(["taken"]);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});

describe("paxos bench --rings: Multi-Ring Paxos", () => {
  test(
    "--rings 2 --groups-per-learner all: each ring measured at the merging learner, the aggregate, the merge's wait",
    async () => {
      const r = await run("bench", "--rings", "2", "--duration", "1", "--warmup", "0.5", "--value-size", "1024", "--window", "32", "--json", "-");
      expect(r.code).toBe(0);
      const result = JSON.parse(r.out) as BenchResult;
      const m = result.multiRing;
      expect(m?.rings.map((x) => x.ring)).toEqual([1, 2]);
      // One learner merges both rings: it delivers what each of its rings delivers.
      const learner = result.learners[0];
      expect(result.learners).toHaveLength(1);
      expect(m?.rings.every((x) => x.learner === learner?.id && x.valuesPerSec > 0)).toBe(true);
      const sum = (m?.rings ?? []).reduce((n, x) => n + x.valuesPerSec, 0);
      expect(Math.abs(sum - (learner?.valuesPerSec ?? 0))).toBeLessThan(0.1 * sum + 50);
      expect(m?.aggregate.valuesPerSec).toBe(learner?.valuesPerSec ?? -1);
      expect(m?.mergeWait[0]?.instances).toBeGreaterThan(0);
      expect(m?.cpuMsPerMb).toBeGreaterThan(0);
      // A client per ring, each proposing to its ring's group.
      expect(result.clients).toHaveLength(2);
      expect(result.clients.every((c) => c.acked > 0)).toBe(true);
      expect(r.err).toContain("all   (each group once)");
    },
    { timeout: 60_000 },
  );

  test("Multi-Ring options without --rings: one line, exit 2", async () => {
    for (const [flag, value] of [["--lambda", "10"], ["--delta-ms", "2"], ["--m", "2"]] as const) {
      const r = await run("bench", flag, value);
      expect(r).toEqual({ code: 2, out: "", err: `paxos: ${flag}: only with --rings\n` });
    }
  });
});


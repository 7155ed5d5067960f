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

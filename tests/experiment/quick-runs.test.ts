/**
 * The CI smoke test of the experiments: two of them in quick mode, for real (bench clusters of
 * processes on loopback), through the command line, then the report of both.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "../../src/cli/program.ts";
import type { ExperimentResults } from "../../src/experiment/harness.ts";
import { tempDir } from "../support/temp-dir.ts";

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runCli(argv, { out: (s) => void (out += s), err: (s) => void (err += s) });
  return { code, out, err };
}

function results(dir: string): ExperimentResults {
  return JSON.parse(readFileSync(join(dir, "results.json"), "utf8")) as ExperimentResults;
}

describe("paxos experiment run --quick (real clusters)", () => {
  test(
    "window and cpu-per-role: every point measured, tables, plots and one report page",
    async () => {
      const out = tempDir("paxos-experiments-");
      const w = await run("experiment", "run", "window", "--quick", "--out", out);
      expect(w.err).toContain("run 1/3 (window=1)");
      expect(w.code).toBe(0);
      const window = results(join(out, "window"));
      expect(window.mode).toBe("quick");
      expect(window.summary.map((s) => s.point["window"])).toEqual([1, 16, 256]);
      for (const s of window.summary) {
        expect(s.failed).toBe(0);
        expect(s.metrics["valuesPerSec"]?.median ?? 0).toBeGreaterThan(0);
        expect(s.metrics["p50Us"]?.median ?? 0).toBeGreaterThan(0);
      }
      // A window of one value waits for each value: slower per value than 256 in flight.
      const vps = (i: number) => window.summary[i]?.metrics["valuesPerSec"]?.median ?? 0;
      expect(vps(2)).toBeGreaterThan(vps(0));
      for (const f of ["latency.svg", "p99.svg", "throughput.svg", "table.md"]) expect(existsSync(join(out, "window", f))).toBe(true);
      expect(w.out).toContain("| window | throughput (values/s) |");

      const c = await run("experiment", "run", "cpu-per-role", "--quick", "--out", out);
      expect(c.code).toBe(0);
      const roles = results(join(out, "cpu-per-role"));
      for (const s of roles.summary) for (const k of ["cpu.coordinator", "cpu.acceptor", "cpu.learner", "rss.acceptor"]) expect(s.metrics[k]?.median ?? 0).toBeGreaterThan(0);

      const html = readFileSync(join(out, "index.html"), "utf8");
      expect(html).toContain('id="window"');
      expect(html).toContain('id="cpu-per-role"');
      expect(html.match(/<svg/g)?.length).toBe(3);
    },
    { timeout: 240_000 },
  );
});

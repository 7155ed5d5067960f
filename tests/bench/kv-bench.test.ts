import { describe, expect, test } from "bun:test";
import { keyChooser, runKvBench } from "../../src/bench/kv-bench.ts";
import { runCli } from "../../src/cli/program.ts";

describe("paxos bench --app kv", () => {
  test("keys: uniform spreads over [0, n); Zipfian stays in range and favours the first keys (YCSB's θ 0.99)", () => {
    let x = 1;
    const rnd = () => ((x = (x * 48271) % 2147483647), x / 2147483647);
    const count = (zipf: boolean) => {
      const next = keyChooser(1000, zipf, rnd);
      const c = new Array<number>(1000).fill(0);
      for (let i = 0; i < 100_000; i++) {
        const k = next();
        expect(k >= 0 && k < 1000).toBe(true);
        c[k] = (c[k] as number) + 1;
      }
      return c;
    };
    const uniform = count(false);
    expect(Math.max(...uniform)).toBeLessThan(200);
    const zipf = count(true);
    expect(zipf[0] as number).toBeGreaterThan(10_000); // ~13 % of the draws under θ 0.99 and n = 1000
    expect(zipf.slice(0, 10).reduce((a, b) => a + b, 0)).toBeGreaterThan(30_000);
  });

  test(
    "a short run of workload a reads and writes through the replicas, without errors; the CLI refuses options that do not apply",
    async () => {
      const r = await runKvBench({ workload: "a", zipf: true, records: 50, concurrency: 8, warmupMs: 200, durationMs: 1000 });
      expect(r.errors).toBe(0);
      expect(r.reads).toBeGreaterThan(10);
      expect(r.writes).toBeGreaterThan(10);
      expect(r.p99Ms).toBeGreaterThanOrEqual(r.p50Ms);
      let err = "";
      expect(await runCli(["bench", "--app", "kv", "--rings", "2"], { out: () => {}, err: (s) => void (err += s) })).toBe(2);
      expect(err).toContain("--rings and --rate do not apply");
    },
    { timeout: 60_000 },
  );
});

import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FULL, latencyFigures, perTrial, runSeed001, schedule, writeSeed001 } from "../../bench/kv-seed001.ts";

describe("bench/kv-seed001.ts (seed 001's experiment on the key-value service)", () => {
  test("latency figures: nearest-rank percentiles, median, mean, max", () => {
    const f = latencyFigures(Array.from({ length: 100 }, (_, i) => 100 - i));
    expect(f).toEqual({ medianMs: 50.5, p90Ms: 90, p99Ms: 99, maxMs: 100, meanMs: 50.5 });
    expect(Number.isNaN(latencyFigures([]).medianMs)).toBe(true);
  });

  test("schedule: every point once per repeat, each repeat in a rotated order", () => {
    const s = schedule(FULL);
    expect(s).toHaveLength(27);
    for (let r = 0; r < 3; r++) expect(new Set(s.filter((p) => p.repeat === r).map((p) => `${p.nodes}x${p.clients}`)).size).toBe(9);
    expect(s.filter((p) => p.repeat === 0)[0]).toEqual({ nodes: 3, clients: 1, repeat: 0 });
    expect(s.filter((p) => p.repeat === 1)[0]).toEqual({ nodes: 7, clients: 1, repeat: 1 });
  });

  test(
    "a tiny run (3 nodes × 1 client × 5 puts) acknowledges and reads back every put, and writes its summary and plots",
    async () => {
      const r = await runSeed001({ ...FULL, nodes: [3], clients: [1], puts: 5, repeats: 1, warmupPuts: 3, quietPct: 100, maxWaitS: 0, maxForeignPct: 100, retries: 0 });
      expect(r.points).toHaveLength(1);
      const p = r.points[0];
      expect(p?.nodes).toBe(3);
      expect(p?.clients).toBe(1);
      expect(p?.opsTotal).toBe(5);
      expect(p?.lostTotal).toBe(0);
      expect(r.runs).toHaveLength(1);
      const run = r.runs[0];
      expect(run?.acked).toBe(5);
      expect(run?.missingOnReadBack).toBe(0);
      expect(run?.revisionOrderViolations).toBe(0);
      expect(run?.perClient[0]?.latencyMs.every((x) => x !== null && x > 0)).toBe(true);
      expect(p?.medianMs).toBeGreaterThan(0);
      expect(p?.p99Ms).toBeGreaterThanOrEqual(p?.medianMs ?? Infinity);
      expect(perTrial(r, 3, 1).median).toHaveLength(5);
      const dir = mkdtempSync(join(tmpdir(), "kv-seed001-test-"));
      try {
        await writeSeed001(r, dir, "test");
        for (const f of ["results.json", "summary.md", "trials-n3.svg", "summary.svg"]) expect(existsSync(join(dir, f))).toBe(true);
        expect(readFileSync(join(dir, "summary.md"), "utf8")).toContain("| 3 | 1 |");
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    { timeout: 20_000 },
  );
});

import { describe, expect, test } from "bun:test";
import { EXPERIMENTS, findExperiment } from "../../src/experiment/catalog/index.ts";
import { estimateTotalS } from "../../src/experiment/spec.ts";
import { benchMetrics, primaryRole } from "../../src/experiment/bench-point.ts";
import { BENCH_DEFAULTS, type BenchResult } from "../../src/bench/run.ts";

describe("experiment catalog", () => {
  test("names are unique command-line words and findExperiment finds each", () => {
    const names = EXPERIMENTS.map((e) => e.name);
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) {
      expect(n).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(findExperiment(n)?.name).toBe(n);
    }
    expect(findExperiment("no-such")).toBeUndefined();
  });

  test("every quick run is expected to finish within 2 minutes, and full runs repeat points for intervals", () => {
    for (const e of EXPERIMENTS) {
      expect(estimateTotalS(e, { quick: true })).toBeLessThanOrEqual(120);
      expect(e.repeat({ quick: false })).toBeGreaterThanOrEqual(3);
    }
  });

  test("points carry exactly the declared parameters, and plots name parameters and metrics that exist", () => {
    for (const e of EXPERIMENTS) {
      for (const quick of [false, true]) for (const p of e.points({ quick })) expect(Object.keys(p).sort()).toEqual([...e.params].sort());
      const metrics = new Set(e.metrics.map((m) => m.key));
      for (const plot of [...e.plots({ quick: false }), ...e.plots({ quick: true })]) {
        expect(plot.file).toMatch(/^[a-z0-9-]+\.svg$/);
        if (plot.kind === "timeline") {
          expect(plot.match.length).toBeGreaterThan(0);
          continue;
        }
        expect(e.params).toContain(plot.x.param);
        expect(metrics.has(plot.y.metric)).toBe(true);
        for (const s of plot.seriesBy ?? []) expect(e.params).toContain(s);
      }
      const files = e.plots({ quick: false }).map((p) => p.file);
      expect(new Set(files).size).toBe(files.length);
    }
  });

  test("a bench result reduces to the metrics the experiments tabulate", () => {
    const client = (p50: number, acked: number, resent: number) => ({ latencyUs: { p50, p90: 0, p99: p50 * 2, p999: 0, max: 0, count: acked }, acked, resent }) as unknown as BenchResult["clients"][number];
    const r: BenchResult = {
      options: BENCH_DEFAULTS,
      roundsStarted: 3,
      ringChanges: 2,
      slowRelayouts: 1,
      learners: [
        { id: 3, valuesPerSec: 1000, mbPerSec: 8 },
        { id: 4, valuesPerSec: 3000, mbPerSec: 24 },
      ],
      clients: [client(100, 500, 5), client(300, 500, 0), client(0, 0, 0)],
      processes: [
        { id: 0, roles: ["coordinator", "acceptor"], cpuPercent: 50, peakRssMb: 200, rssGrowthMb: 0 },
        { id: 1, roles: ["acceptor"], cpuPercent: 30, peakRssMb: 100, rssGrowthMb: 0 },
        { id: 2, roles: ["acceptor"], cpuPercent: 10, peakRssMb: 120, rssGrowthMb: 0 },
        { id: 3, roles: ["learner"], cpuPercent: 30, peakRssMb: 90, rssGrowthMb: 0 },
      ],
      timeline: [],
    };
    const m = benchMetrics(r);
    expect(m["valuesPerSec"]).toBe(2000);
    expect(m["mbPerSec"]).toBe(16);
    expect(m["p50Us"]).toBe(200);
    expect(m["p99Us"]).toBe(400);
    expect(m["resentPct"]).toBe(0.5);
    expect(m["cpuPercent"]).toBe(120);
    expect(m["cpuPerMb"]).toBeCloseTo(1.2 / 16, 9);
    expect(m["peakRssMb"]).toBe(200);
    expect(m["newRounds"]).toBe(2);
    expect(m["cpu.coordinator"]).toBe(50);
    expect(m["cpu.acceptor"]).toBe(20);
    expect(m["rss.acceptor"]).toBe(110);
    expect(primaryRole(["acceptor", "coordinator"])).toBe("coordinator");
  });
});

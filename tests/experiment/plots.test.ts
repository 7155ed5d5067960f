import { describe, expect, test } from "bun:test";
import { plotChart } from "../../src/experiment/plots.ts";
import { runExperiment, type ExperimentResults } from "../../src/experiment/harness.ts";
import { fakeExperiment } from "./fake.ts";
import { summarize } from "../../src/experiment/stats.ts";
import { tempDir } from "../support/temp-dir.ts";

const point = (ledger: string, ring: number, size: number, p50: number) => ({ point: { ledger, ring, size }, runs: 1, failed: 0, metrics: { p50: summarize([p50]) }, maxStealPct: null });

const results = {
  experiment: { name: "x", title: "x", source: "s", description: "d", params: ["ledger", "ring", "size"], metrics: [{ key: "p50", label: "p50" }], plots: [] },
  summary: [point("ram", 3, 1024, 10), point("ram", 3, 64, 5), point("wal", 3, 64, 50), point("ram", 5, 1024, 12), point("ram", 7, 1024, 14)],
} as unknown as ExperimentResults;

describe("experiment plots", () => {
  test("one series per seriesBy value, points in x order, only the points `where` selects", () => {
    const bySize = plotChart(results, { file: "a.svg", title: "t", where: { ring: 3 }, x: { param: "size", label: "size" }, y: { metric: "p50", label: "µs" }, seriesBy: ["ledger"] });
    expect(bySize.series.map((s) => s.name)).toEqual(["ledger ram", "ledger wal"]);
    expect(bySize.series[0]?.points).toEqual([
      { x: 64, y: 5 },
      { x: 1024, y: 10 },
    ]);
    const byRing = plotChart(results, { file: "b.svg", title: "t", where: { size: 1024 }, x: { param: "ring", label: "acceptors" }, y: { metric: "p50", label: "µs" } });
    expect(byRing.series.length).toBe(1);
    expect(byRing.series[0]?.points.map((p) => p.x)).toEqual([3, 5, 7]);
  });

  test("a metric no point measured gives no series (and no plot file)", () => {
    expect(plotChart(results, { file: "c.svg", title: "t", x: { param: "size", label: "size" }, y: { metric: "nope", label: "?" } }).series).toEqual([]);
  });
});

describe("experiment timelines", () => {
  test("each point's first successful run, its series that match, with the moments marked", async () => {
    const dir = tempDir("paxos-timeline-");
    // runs 0 and 1 fail: the first successful run of the only quick point is run 2
    const e = fakeExperiment({ fail: (_p, n) => (n < 2 ? new Error("no") : null) });
    const quick = { ...e, repeat: () => 3 };
    const r = await runExperiment(quick, { quick: true }, dir, { hostCpu: () => null });
    expect(r.runs[2]?.series?.[0]?.name).toBe("run 2 units/s");
    const chart = plotChart(r, { kind: "timeline", file: "t.svg", title: "t", match: "units/s", y: { label: "units/s" }, markers: [{ t: 1, label: "now" }] });
    expect(chart.series.map((s) => s.name)).toEqual(["run 2 units/s"]);
    expect(chart.series[0]?.points).toEqual([
      { x: 0, y: 2 },
      { x: 1, y: 3 },
      { x: 2, y: 4 },
    ]);
    expect(chart.markers).toEqual([{ x: 1, label: "now", row: 0 }]);
    expect(plotChart(r, { kind: "timeline", file: "t.svg", title: "t", match: "nothing", y: { label: "?" } }).series).toEqual([]);
  });
});

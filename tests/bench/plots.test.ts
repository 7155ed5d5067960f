import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as hdr from "hdr-histogram-js";
import { CDF_FRACTIONS, latencyCdf, type ClientReport } from "../../src/cli/client.ts";
import { BENCH_DEFAULTS, type BenchResult } from "../../src/bench/run.ts";
import { latencyCdfChart, lineChartSvg, stackedChartsSvg, preparePlotDir, throughputCharts, writePlots } from "../../src/bench/plots.ts";
import { textWidth } from "../../src/bench/chart.ts";
import { UsageError } from "../../src/cli/errors.ts";

/** The client's histogram settings (src/cli/client.ts). */
function histogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
}

/**
 * Well-formed enough for a browser: one <svg> root, every other element opened and closed in
 * order (or self-closed), no stray '<' or '&' in text.
 */
function expectWellFormedSvg(svg: string): void {
  expect(svg.startsWith("<svg")).toBe(true);
  expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g)) {
    const [, close, name, , self] = m;
    if (self) continue;
    if (close) expect(stack.pop()).toBe(name);
    else stack.push(name ?? "");
  }
  expect(stack).toEqual([]);
  // Everything between tags is text: it must not hold a raw '<' or a bare '&'.
  const text = svg.replace(/<[^>]*>/g, "");
  expect(text).not.toContain("<");
  expect(text.replace(/&(amp|lt|gt|quot|apos|#\d+|#x[\da-fA-F]+);/g, "")).not.toContain("&");
}

/** The SVG's text content (titles, labels, legend entries), entities decoded. */
function svgText(svg: string): string {
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)]
    .map((m) => m[1] ?? "")
    .join("\n")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");
}

function client(id: number, hist: hdr.Histogram): ClientReport {
  return {
    client: id,
    mode: "closed",
    valueSize: 8192,
    durationMs: 2000,
    measuredFrom: 1_700_000_000_000,
    measuredTo: 1_700_000_002_000,
    proposed: hist.totalCount,
    acked: hist.totalCount,
    refused: 0,
    resent: 0,
    sendWindowCuts: 0,
    valuesPerSec: 1000,
    mbPerSec: 8.19,
    cpuPercent: 40,
    peakRssMb: 120,
    rssGrowthMb: 0,
    latencyUs: { p50: 0, p90: 0, p99: 0, p999: 0, max: hist.maxValue, count: hist.totalCount },
    cdf: latencyCdf(hist),
  };
}

describe("latency CDF points from the client's HDR histogram", () => {
  test("the points are the histogram's quantiles at the fixed fractions, within its precision", () => {
    const h = histogram();
    for (let v = 1; v <= 10_000; v++) h.recordValue(v);
    const cdf = latencyCdf(h);
    expect(cdf.map((p) => p.p)).toEqual([...CDF_FRACTIONS]);
    expect(CDF_FRACTIONS.length).toBeGreaterThanOrEqual(30);
    expect(CDF_FRACTIONS[0]).toBe(0);
    expect(CDF_FRACTIONS.at(-1)).toBe(0.99999);
    for (const { p, us } of cdf) {
      // Value i+1 is the (i+1)-th smallest of 10,000: the exact p-quantile is ceil(p * N), at least the minimum.
      const exact = Math.max(1, Math.ceil(p * 10_000 - 1e-9));
      expect(us).toBeGreaterThanOrEqual(exact);
      expect(us).toBeLessThanOrEqual(exact * 1.001 + 1); // 3 significant digits
    }
    expect(cdf[0]?.us).toBe(1);
    expect(cdf.find((p) => p.p === 0.5)?.us).toBeGreaterThanOrEqual(5000);
    expect(cdf.find((p) => p.p === 0.5)?.us).toBeLessThanOrEqual(5005);
  });

  test("a skewed distribution: monotone in p and in latency, the tail reaches the outliers", () => {
    const h = histogram();
    for (let i = 0; i < 99_000; i++) h.recordValue(200 + (i % 100)); // 99 %: 200..299 µs
    for (let i = 0; i < 990; i++) h.recordValue(50_000); // 0.99 %: 50 ms
    for (let i = 0; i < 10; i++) h.recordValue(2_000_000); // 0.01 %: 2 s
    const cdf = latencyCdf(h);
    for (let i = 1; i < cdf.length; i++) {
      expect(cdf[i]?.p ?? 0).toBeGreaterThan(cdf[i - 1]?.p ?? 1);
      expect(cdf[i]?.us ?? 0).toBeGreaterThanOrEqual(cdf[i - 1]?.us ?? Infinity);
    }
    const at = (p: number) => cdf.find((x) => x.p === p)?.us ?? -1;
    expect(at(0)).toBe(200);
    expect(at(0.5)).toBeGreaterThanOrEqual(249);
    expect(at(0.5)).toBeLessThanOrEqual(250);
    expect(at(0.98)).toBeLessThan(300);
    expect(Math.abs(at(0.995) - 50_000)).toBeLessThanOrEqual(50);
    expect(Math.abs(at(0.99995) - 2_000_000)).toBeLessThanOrEqual(2000);
  });

  test("an empty histogram has no points (nothing to plot, no made-up zeros)", () => {
    expect(latencyCdf(histogram())).toEqual([]);
  });
});

describe("lineChartSvg", () => {
  test("draws every series with its name, the axis titles and the chart title, as well-formed SVG", async () => {
    const svg = await lineChartSvg({
      title: "Throughput vs value size",
      x: { label: "value size (bytes)", log: true },
      y: { label: "MB/s", min: 0 },
      series: [
        { name: "M-Ring <3 acceptors> & RAM", points: [1024, 8192, 65536].map((x, i) => ({ x, y: 10 * (i + 1) })) },
        { name: "U-Ring", points: [1024, 8192, 65536].map((x, i) => ({ x, y: 5 * (i + 1) })) },
      ],
    });
    expectWellFormedSvg(svg);
    const text = svgText(svg);
    for (const s of ["Throughput vs value size", "value size (bytes)", "MB/s", "M-Ring <3 acceptors> & RAM", "U-Ring"]) expect(text).toContain(s);
    // Two series: two line paths.
    expect(svg.match(/<path[^>]*aria-roledescription="line mark"/g)?.length).toBe(2);
  });

  test("markers: a labelled vertical line across the plot at each x, on the lines' own x axis", async () => {
    const series = [{ name: "values/s", points: Array.from({ length: 121 }, (_, i) => ({ x: i / 4, y: i % 7 })) }];
    const markers = [
      { x: 10, label: "kill -9 node 0" },
      { x: 20, label: "restart node 0" },
    ];
    const svg = await lineChartSvg({ title: "trace", x: { label: "time (s)" }, y: { label: "values/s" }, series, markers });
    expectWellFormedSvg(svg);
    const text = svgText(svg);
    for (const m of markers) expect(text).toContain(m.label);
    // One x axis, titled once (the markers' layer shares it instead of adding or merging a title).
    expect(text.split("\n").filter((l) => l === "time (s)")).toHaveLength(1);
    expect(svg.match(/aria-roledescription="axis"/g)?.length).toBe(2);
    // x from 0 to 30 over 560 px: the rules stand at 10 and 20 s, from the top of the plot to its bottom.
    const rules = [...svg.matchAll(/<line[^>]*aria-roledescription="rule mark"[^>]*transform="translate\(([\d.]+),0\)"[^>]*y2="(\d+)"/g)];
    expect(rules.map((r) => Math.round(Number(r[1])))).toEqual([187, 373]);
    expect(rules.map((r) => Number(r[2]))).toEqual([300, 300]);
    // A label on row 1 stands one line (13 px) below one on row 0.
    const rows = await lineChartSvg({ title: "trace", x: { label: "time (s)" }, y: { label: "values/s" }, series, markers: [{ x: 10, label: "kill" }, { x: 11, label: "leads", row: 1 }] });
    const labelY = (label: string) => Number(rows.match(new RegExp(`translate\\([\\d.]+,([\\d.]+)\\)"[^>]*>${label}</text>`))?.[1]);
    expect(labelY("leads") - labelY("kill")).toBe(13);
    // Without markers, the chart is a single view as before.
    expect(await lineChartSvg({ title: "trace", x: { label: "time (s)" }, y: { label: "values/s" }, series })).not.toContain("rule mark");
  });

  test("stacked charts under a title of several lines: each line is drawn", async () => {
    const chart = { title: "c", x: { label: "x" }, y: { label: "y" }, series: [{ name: "s", points: [{ x: 1, y: 2 }, { x: 2, y: 3 }] }] };
    const svg = await stackedChartsSvg([chart, { ...chart, title: "d" }], ["first line of the title", "second line"]);
    expectWellFormedSvg(svg);
    // One <text> of two lines (tspans), the second below the first.
    expect(svg).toMatch(/<text[^>]*><tspan>first line of the title<\/tspan><tspan x="0" dy="[\d.]+">second line<\/tspan><\/text>/);
  });

  test("a log axis leaves out the points it cannot place instead of failing", async () => {
    const svg = await lineChartSvg({
      title: "t",
      x: { label: "x", log: true },
      y: { label: "y" },
      series: [{ name: "s", points: [{ x: 0, y: 1 }, { x: -3, y: 2 }, { x: 10, y: 3 }, { x: 100, y: Number.NaN }, { x: 1000, y: 4 }] }],
    });
    expectWellFormedSvg(svg);
    expect(svg).not.toContain("NaN");
  });

  test("estimated text widths grow with length, size and weight", () => {
    expect(textWidth("", 12)).toBe(0);
    expect(textWidth("values/s", 12)).toBeLessThan(textWidth("values/s at the learner", 12));
    expect(textWidth("MB/s", 11)).toBeLessThan(textWidth("MB/s", 14));
    expect(textWidth("MB/s", 12)).toBeLessThan(textWidth("MB/s", 12, true));
    expect(textWidth("iiii", 10)).toBeLessThan(textWidth("MMMM", 10));
  });
});

function result(): BenchResult {
  const h1 = histogram();
  const h2 = histogram();
  for (let v = 100; v <= 5000; v += 7) h1.recordValue(v);
  for (let v = 300; v <= 90_000; v += 11) h2.recordValue(v);
  return {
    options: { ...BENCH_DEFAULTS, clients: 2, durationS: 2 },
    roundsStarted: 1,
    ringChanges: 0,
    slowRelayouts: 0,
    learners: [{ id: 3, valuesPerSec: 2000, mbPerSec: 16.38 }],
    clients: [client(11, h1), client(12, h2)],
    processes: [],
    timeline: [0.25, 0.5, 0.75, 1, 1.25].map((t, i) => ({ t, valuesPerSec: 1000 * i, bytesPerSec: 8192 * 1000 * i })),
  };
}

describe("bench plots", () => {
  test("latency CDF: one series per client, x the latency on a log axis, y the fraction", () => {
    const r = result();
    const c = latencyCdfChart(r);
    expect(c.x.log).toBe(true);
    expect(c.series.map((s) => s.name)).toEqual(["client 11", "client 12"]);
    expect(c.series[1]?.points).toEqual((r.clients[1]?.cdf ?? []).map((p) => ({ x: p.us, y: p.p })));
  });

  test("throughput: values/s and MB/s of the measured learner against time", () => {
    const [vps, mbps] = throughputCharts(result());
    expect(vps.series[0]?.name).toBe("learner 3");
    expect(vps.series[0]?.points.map((p) => p.y)).toEqual([0, 1000, 2000, 3000, 4000]);
    expect(mbps.series[0]?.points.map((p) => p.y)).toEqual([0, 8.192, 16.384, 24.576, 32.768]);
    expect(mbps.series[0]?.points.map((p) => p.x)).toEqual([0.25, 0.5, 0.75, 1, 1.25]);
  });

  test("writePlots creates the directory and writes both SVG files", async () => {
    const base = mkdtempSync(join(tmpdir(), "paxos-plots-"));
    try {
      const dir = join(base, "a", "b");
      const paths = await writePlots(dir, result());
      expect(paths).toEqual([join(dir, "latency-cdf.svg"), join(dir, "throughput.svg")]);
      const cdf = readFileSync(join(dir, "latency-cdf.svg"), "utf8");
      const tp = readFileSync(join(dir, "throughput.svg"), "utf8");
      expectWellFormedSvg(cdf);
      expectWellFormedSvg(tp);
      for (const s of ["client 11", "client 12", "propose-to-delivery latency (µs, log scale)", "fraction of values"]) expect(svgText(cdf)).toContain(s);
      for (const s of ["learner 3", "values/s", "MB/s (10^6 bytes)", "time since the cluster started (s)"]) expect(svgText(tp)).toContain(s);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });

  test("preparePlotDir: creates a missing directory; refuses a file or a path under a file with a UsageError", () => {
    const base = mkdtempSync(join(tmpdir(), "paxos-plots-"));
    try {
      preparePlotDir(join(base, "new", "dir"));
      expect(() => preparePlotDir(join(base, "new", "dir"))).not.toThrow();
      const file = join(base, "file");
      writeFileSync(file, "x");
      expect(() => preparePlotDir(file)).toThrow(UsageError);
      expect(() => preparePlotDir(file)).toThrow(`--plots: ${file} exists and is not a directory`);
      expect(() => preparePlotDir(join(file, "sub"))).toThrow(`--plots: cannot write to ${join(file, "sub")}: ENOTDIR: not a directory`);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});

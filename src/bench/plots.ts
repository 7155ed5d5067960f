/** The plots of `paxos bench --plots DIR`: SVG documents made from a BenchResult. */
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { UsageError } from "../cli/errors.ts";
import { lineChartSvg, stackedChartsSvg, type LineChart } from "./chart.ts";
import type { BenchResult } from "./run.ts";

export { lineChartSvg, stackedChartsSvg, type ChartAxis, type ChartPoint, type ChartSeries, type LineChart } from "./chart.ts";

export const PLOT_FILES = { latencyCdf: "latency-cdf.svg", throughput: "throughput.svg" } as const;

function setup(r: BenchResult): string {
  const o = r.options;
  return `${o.variant === "mring" ? "M-Ring" : "U-Ring"}, ${o.ring} acceptors, ${o.valueSize} B values, ${o.clients} client(s) x window ${o.window}`;
}

/** Propose-to-delivery latency at each client: the fraction of values delivered within x µs (log scale). */
export function latencyCdfChart(r: BenchResult): LineChart {
  return {
    title: `Latency CDF at the client(s): ${setup(r)}`,
    x: { label: "propose-to-delivery latency (µs, log scale)", log: true },
    y: { label: "fraction of values", min: 0, max: 1 },
    series: r.clients.map((c) => ({ name: `client ${c.client}`, points: c.cdf.map((p) => ({ x: p.us, y: p.p })) })),
  };
}

/** Delivered values/s and MB/s at the measured learner against time: two charts sharing the time axis. */
export function throughputCharts(r: BenchResult): [LineChart, LineChart] {
  const name = `learner ${r.learners[0]?.id ?? "?"}`;
  const x = { label: "time since the cluster started (s)" };
  return [
    {
      title: "Delivered values/s",
      x,
      y: { label: "values/s", min: 0 },
      series: [{ name, points: r.timeline.map((p) => ({ x: p.t, y: p.valuesPerSec })) }],
      height: 220,
    },
    {
      title: "Delivered MB/s",
      x,
      y: { label: "MB/s (10^6 bytes)", min: 0 },
      series: [{ name, points: r.timeline.map((p) => ({ x: p.t, y: p.bytesPerSec / 1e6 })) }],
      height: 220,
    },
  ];
}

export function latencyCdfSvg(r: BenchResult): Promise<string> {
  return lineChartSvg(latencyCdfChart(r));
}

export function throughputSvg(r: BenchResult): Promise<string> {
  return stackedChartsSvg(throughputCharts(r), `Throughput at the learner over time: ${setup(r)}`);
}

/**
 * Makes sure DIR can take the plots before a run starts: creates it (with its parents) and
 * writes and removes a probe in it. Throws a UsageError (`--plots: …`) when it cannot.
 */
export function preparePlotDir(dir: string): void {
  if (dir.trim() === "") throw new UsageError("--plots: expected a directory, got an empty path");
  let st: ReturnType<typeof statSync> | undefined;
  try {
    st = statSync(dir, { throwIfNoEntry: false });
  } catch (e) {
    throw new UsageError(`--plots: cannot write to ${dir}: ${errnoLine(e)}`);
  }
  if (st && !st.isDirectory()) throw new UsageError(`--plots: ${dir} exists and is not a directory`);
  try {
    mkdirSync(dir, { recursive: true });
    rmSync(mkdtempSync(join(dir, ".paxos-probe-")), { recursive: true });
  } catch (e) {
    throw new UsageError(`--plots: cannot write to ${dir}: ${errnoLine(e)}`);
  }
}

/** One line, e.g. "EACCES: permission denied" (Node's errno message without the call and path it appends). */
export function errnoLine(e: unknown): string {
  const line = (e instanceof Error ? e.message : String(e)).split("\n")[0] ?? "";
  return line.replace(/, \w+ '[^']*'$/, "");
}

/** Writes latency-cdf.svg and throughput.svg into DIR (created if missing); returns their paths. */
export async function writePlots(dir: string, r: BenchResult): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const files: [string, Promise<string>][] = [
    [join(dir, PLOT_FILES.latencyCdf), latencyCdfSvg(r)],
    [join(dir, PLOT_FILES.throughput), throughputSvg(r)],
  ];
  const paths: string[] = [];
  for (const [path, svg] of files) {
    writeFileSync(path, await svg);
    paths.push(path);
  }
  return paths;
}

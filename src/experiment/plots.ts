/** An experiment's plots: each PlotSpec as an SVG line chart of the points' medians (bench/chart.ts). */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { lineChartSvg, type ChartSeries, type LineChart } from "../bench/chart.ts";
import type { ExperimentResults } from "./harness.ts";
import type { PlotSpec } from "./spec.ts";

/** The chart of one plot: a series per combination of `seriesBy`, points in x order, points without the metric left out. */
export function plotChart(r: ExperimentResults, plot: PlotSpec): LineChart {
  const series = new Map<string, { x: number; y: number }[]>();
  const where = Object.entries(plot.where ?? {});
  for (const s of r.summary) {
    if (where.some(([k, v]) => s.point[k] !== v)) continue;
    const x = Number(s.point[plot.x.param]);
    const y = s.metrics[plot.y.metric]?.median;
    if (!Number.isFinite(x) || y === undefined || !Number.isFinite(y)) continue;
    const name = (plot.seriesBy ?? []).map((p) => `${p === "variant" ? "" : `${p} `}${s.point[p]}`).join(", ") || r.experiment.name;
    series.set(name, [...(series.get(name) ?? []), { x, y }]);
  }
  const lines: ChartSeries[] = [...series].map(([name, points]) => ({ name, points: points.sort((a, b) => a.x - b.x) }));
  return { title: plot.title, x: { label: plot.x.label, ...(plot.x.log ? { log: true } : {}) }, y: { label: plot.y.label, ...(plot.y.log ? { log: true } : {}) }, series: lines };
}

/** Writes every plot of `r` into `dir`; returns the files written. */
export async function renderPlots(r: ExperimentResults, dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const plot of r.experiment.plots) {
    const chart = plotChart(r, plot);
    if (chart.series.length === 0) continue;
    const file = join(dir, plot.file);
    writeFileSync(file, await lineChartSvg(chart));
    files.push(file);
  }
  return files;
}

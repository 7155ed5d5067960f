/**
 * An experiment's plots as SVG line charts (bench/chart.ts): a metric's medians against a
 * parameter (PointsPlot), or quantities over a run's measured time (TimelinePlot).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { lineChartSvg, type ChartSeries, type LineChart } from "../bench/chart.ts";
import type { ExperimentResults } from "./harness.ts";
import { describePoint, type PlotSpec, type PointsPlot, type TimelinePlot } from "./spec.ts";

export function plotChart(r: ExperimentResults, plot: PlotSpec): LineChart {
  return plot.kind === "timeline" ? timelineChart(r, plot) : pointsChart(r, plot);
}

/** One series per combination of `seriesBy`, points in x order, points without the metric left out. */
function pointsChart(r: ExperimentResults, plot: PointsPlot): LineChart {
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
  // A linear y axis starts at 0: a throughput drawn from its lowest point exaggerates differences.
  return { title: plot.title, x: { label: plot.x.label, ...(plot.x.log ? { log: true } : {}) }, y: { label: plot.y.label, ...(plot.y.log ? { log: true } : { min: 0 }) }, series: lines };
}

/** The first successful run of each point: its series whose names contain `match` (named after the point when there are several). */
function timelineChart(r: ExperimentResults, plot: TimelinePlot): LineChart {
  const where = Object.entries(plot.where ?? {});
  const points = new Set(r.summary.filter((s) => !where.some(([k, v]) => s.point[k] !== v)).map((s) => describePoint(s.point)));
  const lines: ChartSeries[] = [];
  for (const key of points) {
    const run = r.runs.find((x) => x.metrics !== null && describePoint(x.point) === key && x.series);
    for (const s of run?.series ?? [])
      if (s.name.includes(plot.match)) lines.push({ name: points.size > 1 ? `${key}: ${s.name}` : s.name, points: s.points.map((p) => ({ x: p.t, y: p.y })) });
  }
  const markers = (plot.markers ?? []).map((m, i) => ({ x: m.t, label: m.label, row: i % 2 }));
  const x = plot.x ? { label: plot.x.label, ...(plot.x.log ? { log: true } : {}) } : { label: "time (s, measured)" };
  return { title: plot.title, x, y: { label: plot.y.label, ...(plot.y.log ? { log: true } : {}) }, series: lines, ...(markers.length > 0 ? { markers } : {}) };
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

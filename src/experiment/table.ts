/** An experiment's summary as a table: one row per point, its parameters, then each metric's median and 95 % interval. */
import type { ExperimentResults, PointSummary } from "./harness.ts";
import type { MetricSpec } from "./spec.ts";
import type { Summary } from "./stats.ts";

export interface TableCell {
  readonly text: string;
  /** The interval, when the point ran more than once: "± 3.1 %" of the median. */
  readonly interval: string | null;
}

export function tableHeader(r: ExperimentResults): string[] {
  return [...r.experiment.params, ...r.experiment.metrics.map((m) => m.label), "runs"];
}

export function tableRows(r: ExperimentResults): TableCell[][] {
  return r.summary.map((s) => [
    ...r.experiment.params.map((p) => ({ text: String(s.point[p] ?? ""), interval: null })),
    ...r.experiment.metrics.map((m) => metricCell(m, s.metrics[m.key])),
    { text: runsText(s), interval: null },
  ]);
}

function runsText(s: PointSummary): string {
  const notes = [...(s.failed > 0 ? [`${s.failed} failed`] : []), ...((s.discarded ?? 0) > 0 ? [`${s.discarded} run again for steal`] : [])];
  return notes.length > 0 ? `${s.runs} (${notes.join(", ")})` : String(s.runs);
}

export function metricCell(m: MetricSpec, s: Summary | undefined): TableCell {
  if (!s) return { text: "–", interval: null };
  const text = formatNumber(s.median, m.digits ?? 0);
  if (!s.ci95) return { text, interval: null };
  const [lo, hi] = s.ci95;
  return { text, interval: `[${formatNumber(lo, m.digits ?? 0)}, ${formatNumber(hi, m.digits ?? 0)}]` };
}

export function formatNumber(x: number, digits: number): string {
  return x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** The table in Markdown, under the experiment's title and how it was run. */
export function formatTable(r: ExperimentResults): string {
  const head = tableHeader(r);
  const rows = tableRows(r).map((row) => row.map((c) => (c.interval ? `${c.text} ${c.interval}` : c.text)));
  const line = (cells: readonly string[]) => `| ${cells.join(" | ")} |`;
  return [
    `# ${r.experiment.title}`,
    "",
    `${r.experiment.source}. ${r.mode} mode, ${r.repeat} run(s) per point, medians with the 95 % interval of the mean in brackets (Student's t) where a point ran more than once.`,
    `Host: ${r.host.cpus} CPUs (${r.host.cpuModel}), ${r.host.kernel}, ${r.host.runtime}, paxos ${r.host.paxos}; started ${r.startedAt}.`,
    "",
    line(head),
    line(head.map(() => "---")),
    ...rows.map(line),
    "",
  ].join("\n");
}

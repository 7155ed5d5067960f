/**
 * `paxos experiment report DIR`: one HTML page of every experiment found in DIR (DIR itself, or
 * each directory in it holding a results.json), with its description, how and where it ran, its
 * table and its plots inline: one file, viewable offline, nothing fetched.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RESULTS_FILE, summarizeRuns, writeTableAndPlots, type ExperimentResults } from "./harness.ts";
import { tableHeader, tableRows } from "./table.ts";

export const REPORT_FILE = "index.html";

export interface FoundResults {
  /** The experiment's directory, relative to the report's. */
  readonly dir: string;
  readonly results: ExperimentResults;
}

/** Experiments under `dir` (itself first, then its directories in name order); unreadable ones are named in `problems`. */
export function findResults(dir: string): { found: FoundResults[]; problems: string[] } {
  const found: FoundResults[] = [];
  const problems: string[] = [];
  const candidates = [".", ...readdirSync(dir).filter((d) => statSync(join(dir, d)).isDirectory()).sort()];
  for (const d of candidates) {
    const file = join(dir, d, RESULTS_FILE);
    if (!existsSync(file)) continue;
    try {
      const results = JSON.parse(readFileSync(file, "utf8")) as ExperimentResults;
      if (typeof results?.experiment?.name !== "string" || !Array.isArray(results.runs) || !Array.isArray(results.experiment.metrics)) throw new Error("not an experiment's results");
      found.push({ dir: d, results });
    } catch (e) {
      problems.push(`${file}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return { found, problems };
}

/**
 * Writes DIR/index.html; returns its path and the files it could not read. With `remake` (what
 * `paxos experiment report` does) each experiment's summary, table and plots are made again from
 * its runs first, so the page shows the runs as this build reads them (an older run's results, or
 * one an interruption left unsummarized); without it (after a run, which just wrote its own) the
 * page is made from what the directories hold.
 */
export async function writeReport(dir: string, o: { readonly remake: boolean } = { remake: true }): Promise<{ file: string; experiments: number; problems: string[] }> {
  const { found, problems } = findResults(dir);
  const shown: FoundResults[] = [];
  for (const f of found) {
    if (!o.remake) {
      shown.push(f);
      continue;
    }
    const results = { ...f.results, summary: summarizeRuns(f.results.experiment, f.results.runs) };
    await writeTableAndPlots(results, join(dir, f.dir));
    shown.push({ dir: f.dir, results });
  }
  const file = join(dir, REPORT_FILE);
  writeFileSync(file, reportHtml(shown, (f) => readSvg(join(dir, f))));
  return { file, experiments: shown.length, problems };
}

function readSvg(path: string): string | null {
  try {
    return readFileSync(path, "utf8").replace(/^<\?xml[^>]*>\s*/, "");
  } catch {
    return null;
  }
}

export function reportHtml(found: readonly FoundResults[], svg: (file: string) => string | null): string {
  const toc = found.map(({ results: r }) => `<li><a href="#${esc(r.experiment.name)}">${esc(r.experiment.title)}</a> <span class="src">${esc(r.experiment.source)}</span></li>`).join("\n");
  const sections = found.map((f) => section(f, svg)).join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>paxos experiments</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{margin-top:2.2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:1em 0;font-variant-numeric:tabular-nums}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:right}th{background:#f4f4f4}
.ci{color:#777;font-size:.85em}.src,.meta{color:#666}.plots{display:flex;flex-wrap:wrap;gap:1em}
.warn{color:#a40}
</style></head><body>
<h1>paxos experiments</h1>
<p class="meta">Medians of each point's runs; the 95 % interval of the mean (Student's t) in grey where a point ran more than once. Warm-up excluded. Produced by <code>paxos experiment report</code>.</p>
<ul>
${toc}
</ul>
${sections}
</body></html>
`;
}

function section({ dir, results: r }: FoundResults, svg: (file: string) => string | null): string {
  const head = tableHeader(r).map((h) => `<th>${esc(h)}</th>`).join("");
  const rows = tableRows(r)
    .map((row) => `<tr>${row.map((c) => `<td>${esc(c.text)}${c.interval ? `<br><span class="ci">${esc(c.interval)}</span>` : ""}</td>`).join("")}</tr>`)
    .join("\n");
  const plots = r.experiment.plots
    .map((p) => svg(join(dir, p.file)))
    .filter((s): s is string => s !== null)
    .map((s) => `<div>${s}</div>`)
    .join("\n");
  const steal = Math.max(0, ...r.summary.map((s) => s.maxStealPct ?? 0));
  const failed = r.summary.reduce((n, s) => n + s.failed, 0);
  return `<h2 id="${esc(r.experiment.name)}">${esc(r.experiment.title)}</h2>
<p class="src">${esc(r.experiment.source)} · <code>paxos experiment run ${esc(r.experiment.name)}${r.mode === "quick" ? " --quick" : ""}</code></p>
<p>${esc(r.experiment.description)}</p>
<p class="meta">${esc(r.mode)} mode, ${r.repeat} run(s) per point, ${esc(r.startedAt)}${r.finishedAt ? "" : " (unfinished)"}; ${r.host.cpus} CPUs (${esc(r.host.cpuModel)}), ${esc(r.host.kernel)}, ${esc(r.host.runtime)}, paxos ${esc(r.host.paxos)}; highest CPU steal in a run: ${steal.toFixed(1)} %.</p>
${failed > 0 ? `<p class="warn">${failed} run(s) failed; see ${esc(join(dir, RESULTS_FILE))}.</p>` : ""}
<table><tr>${head}</tr>
${rows}
</table>
<div class="plots">${plots}</div>`;
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string);
}

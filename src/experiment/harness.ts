/**
 * The one harness every experiment runs through: each point of the description `repeat` times,
 * the repetitions interleaved (a pass over all points, then the next pass, so a slow spell of the
 * host spreads over the points instead of landing on one), the host's CPU and steal recorded per
 * run, results written after every run (an interrupted run keeps what it measured), then the
 * summary (median and 95 % interval per point and metric), a table and the plots.
 */
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BenchInterrupted } from "../bench/run.ts";
import { cpuBetween, hostInfo, readHostCpu, type CpuReading, type HostInfo } from "./host.ts";
import { summarize, type Summary } from "./stats.ts";
import { describePoint, type Experiment, type Metrics, type MetricSpec, type Mode, type NamedSeries, type Params, type PlotSpec, type RunOutput } from "./spec.ts";
import { formatTable } from "./table.ts";
import { renderPlots } from "./plots.ts";

export interface RunRecord {
  readonly point: Params;
  /** Which pass over the points (0-based). */
  readonly pass: number;
  readonly startedAt: string;
  readonly seconds: number;
  /** null when the run failed (see error). */
  readonly metrics: Metrics | null;
  readonly series?: readonly NamedSeries[];
  /** What the run was made with (RunOutput.config). */
  readonly config?: Readonly<Record<string, unknown>>;
  readonly error?: string;
  /** The host during the run: CPU busy and stolen by the hypervisor, % of all cores; null off Linux. */
  readonly hostBusyPct: number | null;
  readonly stealPct: number | null;
  /** Why the run does not count (it was run again), when it does not. */
  readonly discarded?: string;
}

export interface PointSummary {
  readonly point: Params;
  readonly runs: number;
  readonly failed: number;
  /** Runs left out and made again (too much steal). */
  readonly discarded: number;
  readonly metrics: Readonly<Record<string, Summary>>;
  /** The highest steal of its runs (% of all cores). */
  readonly maxStealPct: number | null;
}

export interface ExperimentResults {
  readonly experiment: { readonly name: string; readonly title: string; readonly source: string; readonly description: string; readonly params: readonly string[]; readonly metrics: readonly MetricSpec[]; readonly plots: readonly PlotSpec[] };
  readonly mode: "quick" | "full";
  readonly repeat: number;
  readonly host: HostInfo;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly runs: readonly RunRecord[];
  readonly summary: readonly PointSummary[];
}

export const RESULTS_FILE = "results.json";
export const TABLE_FILE = "table.md";

export interface ExperimentProgress {
  /** Before run `index` (0-based) of `total`; `leftS`: the estimated seconds left, this run included. */
  run(index: number, total: number, point: Params, leftS: number): void;
  stop(): void;
}

/**
 * A run during which the hypervisor took more than this share of the host's CPU (steal, % of all
 * cores) measured a different machine: it is kept in results.json, marked discarded, left out of
 * the summary, and run again (at most DEFAULT_STEAL_RETRIES times; the last attempt counts).
 */
export const DEFAULT_MAX_STEAL_PCT = 10;
export const DEFAULT_STEAL_RETRIES = 2;

export interface HarnessDeps {
  readonly maxStealPct?: number;
  readonly stealRetries?: number;
  readonly progress?: ExperimentProgress;
  readonly hostCpu?: () => CpuReading;
  readonly clockMs?: () => number;
  readonly host?: HostInfo;
}

/** Runs `e` in `mode`, writing into `dir` (created): results.json after every run, then table.md and the plots. */
export async function runExperiment(e: Experiment, mode: Mode, dir: string, deps: HarnessDeps = {}): Promise<ExperimentResults> {
  const clock = deps.clockMs ?? (() => Date.now());
  const cpu = deps.hostCpu ?? readHostCpu;
  const maxSteal = deps.maxStealPct ?? DEFAULT_MAX_STEAL_PCT;
  const retries = deps.stealRetries ?? DEFAULT_STEAL_RETRIES;
  mkdirSync(dir, { recursive: true });
  const points = e.points(mode);
  const repeat = e.repeat(mode);
  const plan = Array.from({ length: repeat }, (_, pass) => points.map((point) => ({ point, pass }))).flat();
  const base = { experiment: describe(e, mode), mode: mode.quick ? ("quick" as const) : ("full" as const), repeat, host: deps.host ?? hostInfo(), startedAt: new Date(clock()).toISOString() };
  const runs: RunRecord[] = [];
  const eta = new Eta(plan.map(({ point }) => e.estimateS(point, mode)));
  try {
    for (const [i, { point, pass }] of plan.entries()) {
      deps.progress?.run(i, plan.length, point, eta.leftS(i));
      for (let attempt = 0; ; attempt++) {
        const record = await timedRun(e, point, pass, mode, clock, cpu);
        const stolen = record.stealPct !== null && record.stealPct > maxSteal && attempt < retries;
        runs.push(stolen ? { ...record, discarded: `the hypervisor took ${record.stealPct?.toFixed(1)} % of the host's CPU (more than ${maxSteal} %): run again` } : record);
        writeResults(dir, { ...base, finishedAt: null, runs, summary: summarizeRuns(e, runs) });
        if (!stolen) {
          eta.done(i, record.seconds);
          break;
        }
      }
    }
  } finally {
    deps.progress?.stop();
  }
  const results: ExperimentResults = { ...base, finishedAt: new Date(clock()).toISOString(), runs, summary: summarizeRuns(e, runs) };
  writeResults(dir, results);
  await writeTableAndPlots(results, dir);
  return results;
}

/** An experiment's table.md and plots, from its summary, into its directory. */
export async function writeTableAndPlots(results: ExperimentResults, dir: string): Promise<void> {
  writeFileSync(join(dir, TABLE_FILE), formatTable(results));
  await renderPlots(results, dir);
}

async function timedRun(e: Experiment, point: Params, pass: number, mode: Mode, clock: () => number, cpu: () => CpuReading): Promise<RunRecord> {
  const t0 = clock();
  const c0 = cpu();
  let output: RunOutput | null = null;
  let error: string | undefined;
  try {
    output = await e.run(point, mode);
  } catch (x) {
    // An interrupted run (Ctrl-C) stops the experiment; any other failure is recorded and the next run goes on.
    if (x instanceof BenchInterrupted) throw x;
    error = x instanceof Error ? x.message : String(x);
  }
  const host = cpuBetween(c0, cpu());
  const record = { point, pass, startedAt: new Date(t0).toISOString(), seconds: (clock() - t0) / 1000, metrics: output?.metrics ?? null, hostBusyPct: host?.busyPct ?? null, stealPct: host?.stealPct ?? null };
  if (error !== undefined) return { ...record, error };
  return { ...record, ...(output?.config ? { config: output.config } : {}), ...(output?.series ? { series: output.series } : {}) };
}

function describe(e: Experiment, mode: Mode): ExperimentResults["experiment"] {
  return { name: e.name, title: e.title, source: e.source, description: e.description, params: e.params, metrics: e.metrics, plots: e.plots(mode) };
}

/** Per point (in the description's order): the runs that measured something, summarized per metric. */
export function summarizeRuns(e: Pick<Experiment, "metrics">, runs: readonly RunRecord[]): PointSummary[] {
  const byPoint = new Map<string, RunRecord[]>();
  for (const r of runs) {
    const k = describePoint(r.point);
    byPoint.set(k, [...(byPoint.get(k) ?? []), r]);
  }
  return [...byPoint.values()].map((all) => {
    const rs = all.filter((r) => r.discarded === undefined);
    const ok = rs.filter((r) => r.metrics !== null);
    const metrics: Record<string, Summary> = {};
    for (const m of e.metrics) {
      const xs = ok.map((r) => r.metrics?.[m.key]).filter((x): x is number => typeof x === "number" && Number.isFinite(x));
      if (xs.length > 0) metrics[m.key] = summarize(xs);
    }
    const steals = rs.map((r) => r.stealPct).filter((x): x is number => x !== null);
    return { point: (all[0] as RunRecord).point, runs: ok.length, failed: rs.length - ok.length, discarded: all.length - rs.length, metrics, maxStealPct: steals.length > 0 ? Math.max(...steals) : null };
  });
}

function writeResults(dir: string, r: ExperimentResults): void {
  const file = join(dir, RESULTS_FILE);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(r, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
}

/** Time left: the runs' estimates, scaled by how the finished runs compared with theirs. */
export class Eta {
  private estimatedDone = 0;
  private actualDone = 0;

  constructor(private readonly estimatesS: readonly number[]) {}

  done(index: number, seconds: number): void {
    this.estimatedDone += this.estimatesS[index] ?? 0;
    this.actualDone += seconds;
  }

  /** Seconds left before run `index` starts. */
  leftS(index: number): number {
    const left = this.estimatesS.slice(index).reduce((a, b) => a + b, 0);
    return this.estimatedDone > 0 ? (left * this.actualDone) / this.estimatedDone : left;
  }
}

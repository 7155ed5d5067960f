/**
 * What most descriptions share: an experiment whose every run is one `paxos bench` cluster
 * (bench-point.ts), its timings, and the metrics the experiments tabulate.
 */
import type { BenchOptions } from "../../bench/run.ts";
import { BENCH_OVERHEAD_S, benchOptions, runBenchPoint } from "../bench-point.ts";
import type { Experiment, MetricSpec, Mode, Params, PlotSpec } from "../spec.ts";

/** Measured seconds and warm-up of a bench run, per mode. */
export interface Timing {
  readonly full: { readonly durationS: number; readonly warmupS: number };
  readonly quick: { readonly durationS: number; readonly warmupS: number };
}

export const STEADY: Timing = { full: { durationS: 10, warmupS: 2 }, quick: { durationS: 3, warmupS: 1 } };

export interface BenchExperiment<P extends Params> {
  readonly name: string;
  readonly title: string;
  readonly source: string;
  readonly description: string;
  readonly params: readonly (keyof P & string)[];
  readonly full: readonly P[];
  readonly quick: readonly P[];
  readonly repeat?: { readonly full: number; readonly quick: number };
  readonly timing?: Timing;
  /** The bench options of a point; `t`: the run's measured time and warm-up (a schedule may depend on them). */
  readonly options: (p: P, t: Timing["full"]) => Partial<BenchOptions>;
  readonly metrics: readonly MetricSpec[];
  /** Its plots, or the plots of a run in a mode (a timeline's marked moments may depend on the mode's durations). */
  readonly plots: readonly PlotSpec[] | ((m: Mode) => readonly PlotSpec[]);
}

/**
 * An experiment whose every run is one bench cluster with the point's options. Its points are
 * typed here and plain parameters to the harness, which hands back only points it was given.
 */
export function benchExperiment<P extends Params>(d: BenchExperiment<P>): Experiment {
  const timing = d.timing ?? STEADY;
  const repeat = d.repeat ?? { full: 3, quick: 1 };
  const t = (m: Mode) => (m.quick ? timing.quick : timing.full);
  return {
    name: d.name,
    title: d.title,
    source: d.source,
    description: d.description,
    params: d.params,
    points: (m) => (m.quick ? d.quick : d.full),
    repeat: (m) => (m.quick ? repeat.quick : repeat.full),
    metrics: d.metrics,
    plots: (m) => (typeof d.plots === "function" ? d.plots(m) : d.plots),
    estimateS: (_p, m) => t(m).durationS + t(m).warmupS + BENCH_OVERHEAD_S,
    run: (p, m) => runBenchPoint(benchOptions({ ...d.options(p as P, t(m)), durationS: t(m).durationS, warmupS: t(m).warmupS })),
  };
}

export const cross = <A, B, R>(as: readonly A[], bs: readonly B[], f: (a: A, b: B) => R): R[] => as.flatMap((a) => bs.map((b) => f(a, b)));

export const M = {
  mbPerSec: { key: "mbPerSec", label: "throughput (MB/s)", digits: 1 },
  valuesPerSec: { key: "valuesPerSec", label: "throughput (values/s)" },
  /** A value a second per proposer: the rate with its fraction. */
  slowRate: { key: "valuesPerSec", label: "throughput (values/s)", digits: 2 },
  p50Us: { key: "p50Us", label: "latency p50 (µs)" },
  p99Us: { key: "p99Us", label: "latency p99 (µs)" },
  cpuPercent: { key: "cpuPercent", label: "CPU, all processes (% of a core)" },
  cpuPerMb: { key: "cpuPerMb", label: "CPU per MB delivered (core-s)", digits: 3 },
  peakRssMb: { key: "peakRssMb", label: "peak RSS, largest process (MB)" },
  resentPct: { key: "resentPct", label: "re-sent (% of delivered)", digits: 2 },
} as const satisfies Record<string, MetricSpec>;


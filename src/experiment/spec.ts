/**
 * An experiment as a small declarative description: the points it measures (a full set and a
 * quick one), how often each is repeated, what one run of a point measures, and what is tabulated
 * and plotted. One harness (harness.ts) runs every description the same way.
 */

/** A point's parameters: each one a column of the table and a possible axis or series of a plot. */
export type Params = Readonly<Record<string, string | number>>;

/** What one run of a point measured, by metric key (a metric a run could not measure is left out). */
export type Metrics = Readonly<Record<string, number>>;

export interface MetricSpec {
  readonly key: string;
  /** Column heading and axis title, with its unit: "throughput (MB/s)". */
  readonly label: string;
  /** Digits after the point in tables (default 0). */
  readonly digits?: number;
}

/** A quantity over a run's measured time (t = 0 where measuring starts, seconds). */
export interface NamedSeries {
  readonly name: string;
  readonly points: readonly { readonly t: number; readonly y: number }[];
}

/** What one run gives: its figures, and optionally quantities over time. */
export interface RunOutput {
  readonly metrics: Metrics;
  readonly series?: readonly NamedSeries[];
  /** Everything the run was made with (a bench run's options), kept beside its figures. */
  readonly config?: Readonly<Record<string, unknown>>;
}

export type PlotSpec = PointsPlot | TimelinePlot;

/** A metric's medians against a parameter, a line per series. */
export interface PointsPlot {
  readonly kind?: "points";
  /** File name inside the experiment's output directory: "throughput.svg". */
  readonly file: string;
  readonly title: string;
  /** The parameter on the x axis (a numeric one). */
  readonly x: { readonly param: string; readonly label: string; readonly log?: boolean };
  /** The metric on the y axis (its median; the interval shows in the table). */
  readonly y: { readonly metric: string; readonly label: string; readonly log?: boolean };
  /** Parameters whose values name a series (one line per combination); none: one line. */
  readonly seriesBy?: readonly string[];
  /** Only the points with these values (an experiment that sweeps one parameter at a time). */
  readonly where?: Params;
}

/**
 * Series of each point's first successful run whose names contain `match`, with labelled moments:
 * quantities over the run's time, or any other series a run gives (a latency CDF: its own `x`).
 */
export interface TimelinePlot {
  readonly kind: "timeline";
  readonly file: string;
  readonly title: string;
  readonly match: string;
  /** The x axis when it is not the run's time. */
  readonly x?: { readonly label: string; readonly log?: boolean };
  /** Only the points with these values. */
  readonly where?: Params;
  readonly y: { readonly label: string; readonly log?: boolean };
  readonly markers?: readonly { readonly t: number; readonly label: string }[];
}

export interface Mode {
  readonly quick: boolean;
}

export interface Experiment {
  /** What `paxos experiment run NAME` takes: lower case, words joined by "-". */
  readonly name: string;
  readonly title: string;
  /** Where it comes from: seed and section ("thesis §3.5, Figs. 3.10–3.11"). */
  readonly source: string;
  /** What is measured and how, in a few sentences (shown in the report). */
  readonly description: string;
  /** The parameters of its points, in table order. */
  readonly params: readonly string[];
  points(mode: Mode): readonly Params[];
  /** Runs of each point (medians and intervals need several). */
  repeat(mode: Mode): number;
  readonly metrics: readonly MetricSpec[];
  /** The plots of a run in `mode` (a timeline's marked moments may depend on the mode's durations). */
  plots(mode: Mode): readonly PlotSpec[];
  /** A run's expected length in seconds, start-up included: the time left is estimated from it until runs are timed. */
  estimateS(point: Params, mode: Mode): number;
  /** One run of a point; it throws when the run failed (the harness records the failure and goes on). */
  run(point: Params, mode: Mode): Promise<RunOutput>;
}

/** Seconds a whole experiment is expected to take in a mode. */
export function estimateTotalS(e: Experiment, mode: Mode): number {
  return e.points(mode).reduce((s, p) => s + e.estimateS(p, mode), 0) * e.repeat(mode);
}

/** "valueSize=1024 variant=mring": a point in one line. */
export function describePoint(p: Params): string {
  return Object.entries(p)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
}

/**
 * Figures of a point measured several times: the median (what the tables and plots show) and a
 * 95 % confidence interval. The interval is Student's t interval of the mean (seed 003 asks for
 * intervals and for saying how they were made): mean ± t(0.975, n − 1) · s / √n, the usual
 * choice for a few repetitions of a roughly normal measurement, its lower bound kept at 0 for
 * quantities that cannot be negative. With one run there is none.
 */
import { median } from "../bench/failure-trace.ts";

/** t(0.975, df) for df = 1..30; beyond that the normal quantile is close enough. */
const T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];
const Z975 = 1.96;

export interface Summary {
  readonly n: number;
  readonly median: number;
  readonly mean: number;
  /** Bounds of the 95 % interval of the mean; null with fewer than two runs. */
  readonly ci95: readonly [number, number] | null;
}

export function tQuantile975(df: number): number {
  if (!Number.isInteger(df) || df < 1) throw new RangeError(`degrees of freedom must be a positive integer, got ${df}`);
  return T975[df - 1] ?? Z975;
}

export function summarize(xs: readonly number[]): Summary {
  const n = xs.length;
  if (n === 0) return { n, median: Number.NaN, mean: Number.NaN, ci95: null };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { n, median: median(xs), mean, ci95: null };
  const variance = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1);
  const half = tQuantile975(n - 1) * Math.sqrt(variance / n);
  // A quantity that cannot be negative (a rate, a latency) gets no negative bound: with 3 runs and an outlier the t interval reaches below 0.
  const low = Math.min(...xs) >= 0 ? Math.max(0, mean - half) : mean - half;
  return { n, median: median(xs), mean, ci95: [low, mean + half] };
}

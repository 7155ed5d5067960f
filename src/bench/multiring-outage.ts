/**
 * The arithmetic of the Multi-Ring outage experiment (`bench/multiring-outage.ts`, thesis
 * Figure 5.11, §5.4.7): from a merging learner's stats lines (`paxos node --stats-ms`), per
 * stats period the values each ring delivered into the merge, what the merge released, its
 * backlog per ring and the empty instances skip instances stood for; and the figures of the
 * outage: the merged rate before it, the stretch without merged deliveries, the burst of skipped
 * slots when a coordinator takes the stopped ring over, the backlog's peak and the time to
 * recover. Pure functions; times in seconds since the load started unless said otherwise.
 */
import type { StatsLine } from "./cluster.ts";
import { median } from "./failure-trace.ts";

/** One ring's part of a stats period at the learner. */
export interface RingPeriod {
  readonly ring: number;
  /** Values the ring's learner delivered into the merge, per second. */
  readonly valuesPerSec: number;
  /** The merge's backlog of the ring at the end of the period, in instances. */
  readonly backlog: number;
  /** Empty instances the ring's skip instances stood for, delivered in the period. */
  readonly skipped: number;
}

/** One stats period of the learner (between two consecutive stats lines). */
export interface LearnerPeriod {
  /** Start of the period (the earlier line's wall clock), s since the load started. */
  readonly t: number;
  /** Length of the period, s. */
  readonly dt: number;
  /** Values the merge released in the period, and per second (values, and MB of payload: 10^6 bytes). */
  readonly merged: number;
  readonly mergedPerSec: number;
  readonly mergedMbPerSec: number;
  readonly rings: readonly RingPeriod[];
  /** How long the instances released in the period waited in the merge (null: none released). */
  readonly mergeWaitP50Us: number | null;
  readonly mergeWaitP99Us: number | null;
}

const round = (x: number, digits: number): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

/**
 * The learner's stats lines as periods (`t0`: the load's start, wall clock ms). Lines without a
 * wall clock or a `rings` entry are left out; a period of 0 s or less is skipped.
 */
export function learnerPeriods(stats: readonly StatsLine[], t0: number, rings: readonly number[]): LearnerPeriod[] {
  const lines = stats.filter((s) => s.wall !== undefined && s.rings !== undefined);
  const out: LearnerPeriod[] = [];
  for (let i = 1; i < lines.length; i++) {
    const p = lines[i - 1] as StatsLine;
    const x = lines[i] as StatsLine;
    const dt = ((x.wall as number) - (p.wall as number)) / 1000;
    if (dt <= 0) continue;
    const merged = x.delivered - p.delivered;
    const w = x.mergeWait ?? null;
    out.push({
      t: round(((p.wall as number) - t0) / 1000, 3),
      dt: round(dt, 3),
      merged,
      mergedPerSec: round(merged / dt, 1),
      mergedMbPerSec: round((x.deliveredBytes - p.deliveredBytes) / dt / 1e6, 4),
      rings: rings.map((r) => {
        const a = p.rings?.[String(r)];
        const b = x.rings?.[String(r)];
        return {
          ring: r,
          valuesPerSec: a && b ? round((b.delivered - a.delivered) / dt, 1) : 0,
          backlog: b?.backlog ?? 0,
          skipped: a && b ? (b.skippedSlots ?? 0) - (a.skippedSlots ?? 0) : 0,
        };
      }),
      mergeWaitP50Us: w && w.count > 0 ? w.p50Us : null,
      mergeWaitP99Us: w && w.count > 0 ? w.p99Us : null,
    });
  }
  return out;
}

/** A run of consecutive periods: from the start of its first to the end of its last (s). */
export interface Stretch {
  readonly fromS: number;
  readonly toS: number;
  readonly periods: number;
}

/**
 * The longest run of consecutive periods for which `zero` holds, among those that overlap
 * [fromS, toS) (a run that begins in the window counts whole). Ties: the earliest. Null: none.
 */
export function longestStretch(periods: readonly LearnerPeriod[], zero: (p: LearnerPeriod) => boolean, fromS: number, toS: number): Stretch | null {
  let best: Stretch | null = null;
  let i = 0;
  while (i < periods.length) {
    if (!zero(periods[i] as LearnerPeriod)) {
      i++;
      continue;
    }
    let j = i;
    while (j + 1 < periods.length && zero(periods[j + 1] as LearnerPeriod)) j++;
    const first = periods[i] as LearnerPeriod;
    const last = periods[j] as LearnerPeriod;
    const s = { fromS: first.t, toS: round(last.t + last.dt, 3), periods: j - i + 1 };
    if (s.toS > fromS && s.fromS < toS && (best === null || s.toS - s.fromS > best.toS - best.fromS)) best = s;
    i = j + 1;
  }
  return best;
}

/** The slots a ring skipped: per period in steady state, and the burst after the outage. */
export interface SkipBurst {
  readonly ring: number;
  /** Median skipped slots per period over the steady phase (before the stop). */
  readonly steadyPerPeriod: number;
  /** The period after the stop with the most skipped slots: its start (s) and its slots. */
  readonly peakAtS: number | null;
  readonly peakSlots: number;
  /** Slots skipped above the steady rate in the periods of [fromS, toS) (what the outage was made up with). */
  readonly excessSlots: number;
}

/** Skipped slots of `ring` (index `ri` in each period's rings): steady over [steadyFromS, stopS), burst over [stopS, toS). */
export function skipBurst(periods: readonly LearnerPeriod[], ri: number, steadyFromS: number, stopS: number, toS: number): SkipBurst {
  const ring = (periods[0]?.rings[ri]?.ring ?? ri + 1) as number;
  const steady = median(periods.filter((p) => p.t >= steadyFromS && p.t + p.dt <= stopS).map((p) => p.rings[ri]?.skipped ?? 0));
  let peak: LearnerPeriod | null = null;
  let excess = 0;
  for (const p of periods) {
    if (p.t + p.dt <= stopS || p.t >= toS) continue;
    const s = p.rings[ri]?.skipped ?? 0;
    excess += Math.max(0, s - steady);
    if (peak === null || s > (peak.rings[ri]?.skipped ?? 0)) peak = p;
  }
  return { ring, steadyPerPeriod: steady, peakAtS: peak?.t ?? null, peakSlots: peak?.rings[ri]?.skipped ?? 0, excessSlots: Math.round(excess) };
}

/** Per ring, the merge backlog's peak over [fromS, toS) and when (the end of the period it was read at), and its maximum before fromS. */
export function backlogPeaks(periods: readonly LearnerPeriod[], fromS: number, toS: number): { ring: number; beforeMax: number; peak: number; atS: number | null }[] {
  const rings = periods[0]?.rings.map((r) => r.ring) ?? [];
  return rings.map((ring, ri) => {
    let beforeMax = 0;
    let peak = 0;
    let atS: number | null = null;
    for (const p of periods) {
      const b = p.rings[ri]?.backlog ?? 0;
      const end = p.t + p.dt;
      if (end <= fromS) beforeMax = Math.max(beforeMax, b);
      else if (p.t < toS && b > peak) {
        peak = b;
        atS = round(end, 3);
      }
    }
    return { ring, beforeMax, peak, atS };
  });
}

/**
 * When the learner is back to normal after an outage that ended at `afterS`: the first period
 * starting at or after it whose merged rate is at least `fraction` of `beforePerSec` (rate), and
 * the first from which every ring's backlog stays at most `backlogLimit` for `holdPeriods`
 * periods (drained). Times: the end of that period, s; null: not within the run.
 */
export function recovery(
  periods: readonly LearnerPeriod[],
  afterS: number,
  beforePerSec: number,
  o: { readonly fraction: number; readonly backlogLimit: number; readonly holdPeriods: number },
): { rateS: number | null; drainedS: number | null } {
  const after = periods.filter((p) => p.t + 1e-9 >= afterS);
  const rate = after.find((p) => p.mergedPerSec >= o.fraction * beforePerSec);
  let drainedS: number | null = null;
  for (let i = 0; i < after.length && drainedS === null; i++) {
    const window = after.slice(i, i + o.holdPeriods);
    if (window.length === o.holdPeriods && window.every((p) => p.rings.every((r) => r.backlog <= o.backlogLimit))) {
      const p = after[i] as LearnerPeriod;
      drainedS = round(p.t + p.dt, 3);
    }
  }
  return { rateS: rate ? round(rate.t + rate.dt, 3) : null, drainedS };
}

/** Median merged rate (values/s and MB/s) over the periods wholly inside [fromS, toS). */
export function medianMerged(periods: readonly LearnerPeriod[], fromS: number, toS: number): { valuesPerSec: number; mbPerSec: number } {
  const inside = periods.filter((p) => p.t >= fromS && p.t + p.dt <= toS);
  return { valuesPerSec: round(median(inside.map((p) => p.mergedPerSec)), 1), mbPerSec: round(median(inside.map((p) => p.mergedMbPerSec)), 3) };
}

/** Client deliveries (ms since the load started, ascending or not) per bucket of [0, endMs), as values/s. */
export function ratePerBucket(ms: readonly number[], bucketMs: number, endMs: number): { t: number; valuesPerSec: number }[] {
  const n = Math.ceil(endMs / bucketMs);
  const counts = new Array<number>(n).fill(0);
  for (const x of ms) if (x >= 0 && x < endMs) counts[Math.floor(x / bucketMs)]! += 1;
  return counts.map((c, i) => ({ t: round((i * bucketMs) / 1000, 3), valuesPerSec: round((c * 1000) / (Math.min(endMs, (i + 1) * bucketMs) - i * bucketMs), 1) }));
}

/**
 * Fine periods gathered into buckets of `bucketS` by their start (a bucket begins at a multiple
 * of bucketS): values, bytes and skipped slots added up, rates over the bucket's periods' total
 * length, each ring's backlog as at the bucket's last period, the merge wait's p50 the median of
 * the periods' p50s and its p99 the largest of their p99s (an upper bound: percentiles do not add).
 */
export function coarsen(periods: readonly LearnerPeriod[], bucketS: number): LearnerPeriod[] {
  const groups = new Map<number, LearnerPeriod[]>();
  for (const p of periods) {
    const k = Math.floor((p.t + 1e-9) / bucketS);
    const g = groups.get(k);
    if (g) g.push(p);
    else groups.set(k, [p]);
  }
  const out: LearnerPeriod[] = [];
  for (const g of groups.values()) {
    const first = g[0] as LearnerPeriod;
    const last = g[g.length - 1] as LearnerPeriod;
    const dt = g.reduce((n, p) => n + p.dt, 0);
    const merged = g.reduce((n, p) => n + p.merged, 0);
    const mbs = g.reduce((n, p) => n + p.mergedMbPerSec * p.dt, 0);
    const p50s = g.map((p) => p.mergeWaitP50Us).filter((x): x is number => x !== null);
    const p99s = g.map((p) => p.mergeWaitP99Us).filter((x): x is number => x !== null);
    out.push({
      t: first.t,
      dt: round(dt, 3),
      merged,
      mergedPerSec: dt > 0 ? round(merged / dt, 1) : 0,
      mergedMbPerSec: dt > 0 ? round(mbs / dt, 4) : 0,
      rings: first.rings.map((r, ri) => ({
        ring: r.ring,
        valuesPerSec: dt > 0 ? round(g.reduce((n, p) => n + (p.rings[ri]?.valuesPerSec ?? 0) * p.dt, 0) / dt, 1) : 0,
        backlog: last.rings[ri]?.backlog ?? 0,
        skipped: g.reduce((n, p) => n + (p.rings[ri]?.skipped ?? 0), 0),
      })),
      mergeWaitP50Us: p50s.length ? median(p50s) : null,
      mergeWaitP99Us: p99s.length ? Math.max(...p99s) : null,
    });
  }
  return out;
}

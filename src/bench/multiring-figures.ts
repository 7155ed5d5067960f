/**
 * The figures of `paxos bench --rings K` beyond a single ring's: per ring and aggregate delivered
 * throughput, how long values waited in the learners' merges, CPU per delivered MB, and the
 * merging learner's per-ring rates and merge backlog over time (thesis Figs. 5.4-5.10).
 */
import type { LocalCluster, StatsLine } from "./cluster.ts";
import { measuredLines } from "./stats-window.ts";

export interface RingFigures {
  readonly ring: number;
  /** The learner it was measured at: the first one that learns the ring. */
  readonly learner: number;
  readonly valuesPerSec: number;
  readonly mbPerSec: number;
}

/** A learner's merge wait over the measured window, µs: the mean over every released instance, the median of the periods' p50 and p99, the longest. */
export interface MergeWaitSummary {
  readonly learner: number;
  readonly instances: number;
  readonly meanUs: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly maxUs: number;
}

export interface RingTimelinePoint {
  readonly t: number;
  readonly ring: number;
  readonly valuesPerSec: number;
  /** Instances of the ring the merge held at the end of the period. */
  readonly backlog: number;
}

export interface MultiRingFigures {
  readonly rings: readonly RingFigures[];
  /** Each group's delivered throughput counted once (at the first learner that learns it), summed. */
  readonly aggregate: { readonly valuesPerSec: number; readonly mbPerSec: number };
  readonly mergeWait: readonly MergeWaitSummary[];
  /** CPU of every process (the clients' included) per aggregate delivered MB, ms. */
  readonly cpuMsPerMb: number;
  /** At the first learner that merges more than one ring (else the first learner). */
  readonly timeline: readonly RingTimelinePoint[];
}

type Window = { from: number; to: number };
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : (s[Math.floor((s.length - 1) / 2)] as number);
};

function ringRate(a: StatsLine, b: StatsLine, ring: number): { values: number; bytes: number } {
  const dt = (b.t - a.t) / 1000;
  const ra = a.rings?.[String(ring)];
  const rb = b.rings?.[String(ring)];
  if (dt <= 0 || !ra || !rb) return { values: 0, bytes: 0 };
  return { values: (rb.delivered - ra.delivered) / dt, bytes: (rb.deliveredBytes - ra.deliveredBytes) / dt };
}

export function mergeWaitSummary(learner: number, lines: readonly StatsLine[]): MergeWaitSummary {
  const periods = lines.flatMap((x) => (x.mergeWait && x.mergeWait.count > 0 ? [x.mergeWait] : []));
  const instances = periods.reduce((n, p) => n + p.count, 0);
  const sumUs = periods.reduce((n, p) => n + p.meanUs * p.count, 0);
  return {
    learner,
    instances,
    meanUs: instances > 0 ? Math.round(sumUs / instances) : 0,
    p50Us: median(periods.map((p) => p.p50Us)),
    p99Us: median(periods.map((p) => p.p99Us)),
    maxUs: Math.max(0, ...periods.map((p) => p.maxUs)),
  };
}

export function multiRingFigures(
  c: LocalCluster,
  window: Window,
  learners: readonly { id: number; valuesPerSec: number; mbPerSec: number }[],
  cpuPercentTotal: number,
): MultiRingFigures {
  const subscribed = (id: number): number[] => c.nodes.find((n) => n.id === id)?.subscribe ?? [];
  const rings: RingFigures[] = [];
  const covered = new Set<number>();
  let values = 0;
  let mb = 0;
  for (const l of learners) {
    const subs = subscribed(l.id);
    const lines = c.stats.get(l.id) ?? [];
    if (lines.length < 2) continue;
    const [from, to] = measuredLines(lines, window);
    for (const r of subs)
      if (!rings.some((x) => x.ring === r)) {
        const rr = ringRate(from, to, r);
        rings.push({ ring: r, learner: l.id, valuesPerSec: Math.round(rr.values), mbPerSec: Math.round(rr.bytes / 1e4) / 100 });
      }
    if (subs.length > 0 && subs.every((r) => !covered.has(r))) {
      for (const r of subs) covered.add(r);
      values += l.valuesPerSec;
      mb += l.mbPerSec;
    }
  }
  const mergeWait = learners.map((l) => {
    const lines = c.stats.get(l.id) ?? [];
    const [from, to] = lines.length >= 2 ? measuredLines(lines, window) : [undefined, undefined];
    return mergeWaitSummary(l.id, lines.filter((x) => from !== undefined && to !== undefined && x.t > from.t && x.t <= to.t));
  });
  const watched = learners.find((l) => subscribed(l.id).length > 1) ?? learners[0];
  return {
    rings: rings.sort((a, b) => a.ring - b.ring),
    aggregate: { valuesPerSec: Math.round(values), mbPerSec: Math.round(mb * 100) / 100 },
    mergeWait,
    cpuMsPerMb: mb > 0 ? Math.round((cpuPercentTotal * 10) / mb) : 0,
    timeline: watched ? ringTimeline(c.stats.get(watched.id) ?? [], subscribed(watched.id)) : [],
  };
}

function ringTimeline(lines: readonly StatsLine[], rings: readonly number[]): RingTimelinePoint[] {
  const t0 = lines[0]?.t ?? 0;
  return lines.slice(1).flatMap((x, i) => {
    const prev = lines[i] as StatsLine;
    const t = Math.round((x.t - t0) / 100) / 10;
    return rings.map((ring) => ({ t, ring, valuesPerSec: Math.round(ringRate(prev, x, ring).values), backlog: x.rings?.[String(ring)]?.backlog ?? 0 }));
  });
}

/**
 * The arithmetic of the failure-trace experiment (`bench/failure-trace.ts`, thesis Figure 5.11):
 * from the values delivered to a client (`paxos client --timeline`), throughput and latency per
 * time bucket, the longest stretch without a delivery around a kill, and figures per phase
 * (before the kill, between kill and restart, after the restart). Pure functions; every time is
 * in ms since the load started unless said otherwise.
 */
import type { TimelineEntry } from "../cli/client.ts";

/** One value delivered to the client: when (ms since the load started) and its latency. */
export interface Delivery {
  readonly ms: number;
  readonly us: number;
}

export interface Bucket {
  /** Start of the bucket, seconds since the load started. */
  readonly t: number;
  readonly values: number;
  readonly valuesPerSec: number;
  /** Payload bytes delivered per second, in MB (10^6 bytes). */
  readonly mbPerSec: number;
  /** Propose-to-delivery latency of the values delivered in this bucket, µs; null when none was. */
  readonly p50Us: number | null;
  readonly p99Us: number | null;
}

/** A stretch without deliveries: from the last delivery before it to the first after it (null: none came). */
export interface Gap {
  readonly fromMs: number;
  readonly toMs: number | null;
  readonly ms: number;
}

export interface PhaseFigures {
  readonly fromMs: number;
  readonly toMs: number;
  readonly values: number;
  /** Median over the buckets that lie wholly inside the phase. */
  readonly medianValuesPerSec: number;
  readonly medianMbPerSec: number;
  /** Values delivered in the phase over its length (counts the outage, unlike the median). */
  readonly meanValuesPerSec: number;
  /** Latency of the values delivered in the phase, µs (0 when none was). */
  readonly p50Us: number;
  readonly p99Us: number;
}

export interface TraceFigures {
  readonly before: PhaseFigures;
  readonly during: PhaseFigures;
  readonly after: PhaseFigures;
  /** The longest stretch without deliveries between warm-up and the kill (cut at the kill): what noise alone does. */
  readonly baselineGap: Gap;
  /** The longest stretch without deliveries overlapping [kill, kill + gapWindowMs) (and before the restart). */
  readonly killGap: Gap;
  /** From the kill to the first delivery after it (values decided just before the kill may still trickle in). */
  readonly firstDeliveryAfterKillMs: number | null;
  /** From the kill to the end of killGap: when deliveries resumed for good. */
  readonly resumedAfterKillMs: number | null;
  /** The longest stretch without deliveries overlapping [restart, up + gapWindowMs): the restarted node rejoining. */
  readonly restartGap: Gap;
}

export interface TraceTimes {
  readonly warmupMs: number;
  readonly killMs: number;
  readonly restartMs: number;
  /** When the restarted node was up (it logged that it started). */
  readonly upMs: number;
  readonly endMs: number;
  /**
   * How long after the kill (after the restarted node is up) an outage may begin to count as the
   * kill's (the restart's): a stall later in the phase is noise, not the failure. A stretch that
   * begins inside the window counts whole, however long it lasts.
   */
  readonly gapWindowMs: number;
}

/** Timeline entries (wall clock) as deliveries relative to `t0` (wall clock, ms), sorted by time. */
export function relativeTo(entries: readonly TimelineEntry[], t0: number): Delivery[] {
  return entries.map((e) => ({ ms: e.t - t0, us: e.us })).sort((a, b) => a.ms - b.ms);
}

/** Nearest-rank percentile (p in 0..100) of ascending values; 0 for none. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return 0;
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Deliveries in [0, endMs) in buckets of `bucketMs`: count, rates, latency p50/p99 of each. */
export function bucketize(deliveries: readonly Delivery[], o: { readonly bucketMs: number; readonly endMs: number; readonly valueSize: number }): Bucket[] {
  const n = Math.ceil(o.endMs / o.bucketMs);
  const lat: number[][] = Array.from({ length: n }, () => []);
  for (const d of deliveries) {
    if (d.ms < 0 || d.ms >= o.endMs) continue;
    lat[Math.floor(d.ms / o.bucketMs)]?.push(d.us);
  }
  return lat.map((us, i) => {
    us.sort((a, b) => a - b);
    const seconds = (Math.min(o.endMs, (i + 1) * o.bucketMs) - i * o.bucketMs) / 1000;
    const valuesPerSec = us.length / seconds;
    return {
      t: (i * o.bucketMs) / 1000,
      values: us.length,
      valuesPerSec: round(valuesPerSec, 1),
      mbPerSec: round((valuesPerSec * o.valueSize) / 1e6, 4),
      p50Us: us.length ? percentile(us, 50) : null,
      p99Us: us.length ? percentile(us, 99) : null,
    };
  });
}

/**
 * The longest stretch without a delivery that overlaps [fromMs, toMs): between two consecutive
 * deliveries (the earlier one may lie before fromMs), or from the last delivery to endMs if
 * deliveries never resumed (toMs null). With no delivery before fromMs, a stretch starts at 0.
 * Ties: the earliest.
 */
export function longestGap(times: readonly number[], fromMs: number, toMs: number, endMs: number): Gap {
  let best: Gap = { fromMs, toMs: fromMs, ms: 0 };
  let prev = 0;
  for (const t of times) {
    if (t > fromMs && prev < toMs && t - prev > best.ms) best = { fromMs: prev, toMs: t, ms: t - prev };
    prev = Math.max(prev, t);
    if (prev >= toMs) break;
  }
  if (prev < toMs && endMs - prev > best.ms) best = { fromMs: prev, toMs: null, ms: endMs - prev };
  return { fromMs: round(best.fromMs, 1), toMs: best.toMs === null ? null : round(best.toMs, 1), ms: round(best.ms, 1) };
}

/** The first delivery strictly after `ms`, or null. Times ascending. */
export function firstAfter(times: readonly number[], ms: number): number | null {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((times[mid] as number) <= ms) lo = mid + 1;
    else hi = mid;
  }
  return lo < times.length ? (times[lo] as number) : null;
}

/** Figures of the deliveries in [fromMs, toMs); the medians over the buckets wholly inside it. */
export function phaseFigures(deliveries: readonly Delivery[], buckets: readonly Bucket[], bucketMs: number, fromMs: number, toMs: number): PhaseFigures {
  const inside = deliveries.filter((d) => d.ms >= fromMs && d.ms < toMs);
  const us = inside.map((d) => d.us).sort((a, b) => a - b);
  const whole = buckets.filter((b) => b.t * 1000 >= fromMs && b.t * 1000 + bucketMs <= toMs);
  const seconds = (toMs - fromMs) / 1000;
  return {
    fromMs,
    toMs,
    values: inside.length,
    medianValuesPerSec: round(median(whole.map((b) => b.valuesPerSec)), 1),
    medianMbPerSec: round(median(whole.map((b) => b.mbPerSec)), 3),
    meanValuesPerSec: seconds > 0 ? round(inside.length / seconds, 1) : 0,
    p50Us: percentile(us, 50),
    p99Us: percentile(us, 99),
  };
}

/** Everything the summary table reports for one run. */
export function traceFigures(deliveries: readonly Delivery[], buckets: readonly Bucket[], bucketMs: number, t: TraceTimes): TraceFigures {
  const times = deliveries.map((d) => d.ms);
  const killGap = longestGap(times, t.killMs, Math.min(t.restartMs, t.killMs + t.gapWindowMs), t.endMs);
  const first = firstAfter(times, t.killMs);
  return {
    before: phaseFigures(deliveries, buckets, bucketMs, t.warmupMs, t.killMs),
    during: phaseFigures(deliveries, buckets, bucketMs, t.killMs, t.restartMs),
    after: phaseFigures(deliveries, buckets, bucketMs, t.restartMs, t.endMs),
    baselineGap: longestGap(
      times.filter((ms) => ms < t.killMs),
      t.warmupMs,
      t.killMs,
      t.killMs,
    ),
    killGap,
    firstDeliveryAfterKillMs: first === null ? null : round(first - t.killMs, 1),
    resumedAfterKillMs: killGap.toMs === null ? null : round(Math.max(0, killGap.toMs - t.killMs), 1),
    restartGap: longestGap(times, t.restartMs, Math.min(t.endMs, Math.max(t.restartMs, t.upMs) + t.gapWindowMs), t.endMs),
  };
}

/** Deliveries per `binMs` in [fromMs, toMs), as values/s: a close-up of an outage. */
export function zoom(times: readonly number[], fromMs: number, toMs: number, binMs: number): { ms: number; valuesPerSec: number }[] {
  const n = Math.max(0, Math.ceil((toMs - fromMs) / binMs));
  const counts = new Array<number>(n).fill(0);
  for (const t of times) if (t >= fromMs && t < toMs) counts[Math.floor((t - fromMs) / binMs)]! += 1;
  return counts.map((c, i) => ({ ms: round(fromMs + i * binMs, 1), valuesPerSec: (c * 1000) / binMs }));
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/**
 * Cumulative CPU time of the whole host (jiffies) from the first line of /proc/stat: busy is user,
 * nice, system, irq and softirq; steal is time the hypervisor gave to other machines while this one
 * wanted to run (a virtual machine's own noise).
 */
export interface HostCpuSample {
  /** ms since the load started. */
  readonly ms: number;
  readonly busy: number;
  readonly steal: number;
  readonly total: number;
}

/** The "cpu" line of /proc/stat as cumulative busy, steal and total jiffies; null if the text has none. */
export function parseProcStat(text: string): { busy: number; steal: number; total: number } | null {
  const line = text.split("\n").find((l) => l.startsWith("cpu "));
  if (!line) return null;
  // user nice system idle iowait irq softirq steal (guest time is counted in user already)
  const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (f.length < 4 || f.some((x) => !Number.isFinite(x))) return null;
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
  return { busy: user + nice + system + irq + softirq, steal, total: user + nice + system + idle + iowait + irq + softirq + steal };
}

/** Host CPU between consecutive samples, in % of one core (0 .. cores x 100); t: the start of each interval, s. */
export function hostCpuSeries(samples: readonly HostCpuSample[], cores: number): { t: number; pct: number; stealPct: number }[] {
  const out: { t: number; pct: number; stealPct: number }[] = [];
  for (let i = 1; i < samples.length; i++) {
    const p = samples[i - 1] as HostCpuSample;
    const x = samples[i] as HostCpuSample;
    const dt = x.total - p.total;
    if (dt <= 0) continue;
    out.push({ t: round(p.ms / 1000, 3), pct: round(((x.busy - p.busy) / dt) * cores * 100, 1), stealPct: round(((x.steal - p.steal) / dt) * cores * 100, 1) });
  }
  return out;
}

/**
 * CPU of several processes added up per bucket of [0, endMs), in % of one core. Each process is
 * a series of (ms, cumulative CPU µs) readings (e.g. its stats lines); the CPU used between two
 * readings goes to the bucket of the earlier one.
 */
export function processCpuByBucket(processes: readonly (readonly { ms: number; cpuUs: number }[])[], bucketMs: number, endMs: number): number[] {
  const n = Math.ceil(endMs / bucketMs);
  const us = new Array<number>(n).fill(0);
  for (const readings of processes)
    for (let i = 1; i < readings.length; i++) {
      const p = readings[i - 1] as { ms: number; cpuUs: number };
      const x = readings[i] as { ms: number; cpuUs: number };
      const b = Math.floor(p.ms / bucketMs);
      if (b >= 0 && b < n) us[b]! += Math.max(0, x.cpuUs - p.cpuUs);
    }
  return us.map((u) => round((u / (bucketMs * 1000)) * 100, 1));
}

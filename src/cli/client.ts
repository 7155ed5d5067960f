import { closeSync, openSync, readFileSync, writeSync } from "node:fs";
import * as hdr from "hdr-histogram-js";
import { checkValueSizes, type NodeCliOptions } from "./node.ts";
import { UsageError } from "./errors.ts";
import { openTarget } from "./propose-target.ts";

export interface ClientCliOptions extends NodeCliOptions {
  /** Multi-Ring: the group the values go to (required with a `rings` configuration). */
  readonly group?: number;
  /** Open loop: values per second (0: closed loop with `window` values outstanding). */
  readonly rate: number;
  readonly window: number;
  readonly valueSize: number;
  /** The measured run, after the warm-up (the client runs warmupMs + durationMs in all). */
  readonly durationMs: number;
  /** Proposing but not measured (throughput nor latency) for this long first. */
  readonly warmupMs: number;
  readonly json: boolean;
  /** Write one line per value delivered to this client to this file (see TimelineWriter). */
  readonly timeline?: string;
}

export interface ClientReport {
  readonly client: number;
  readonly mode: "open" | "closed";
  readonly valueSize: number;
  /** The measured window (after the warm-up): its length, and its start and end on the wall clock (ms since the epoch). */
  readonly durationMs: number;
  readonly measuredFrom: number;
  readonly measuredTo: number;
  /** Values proposed over the whole run (warm-up included). */
  readonly proposed: number;
  /** Values delivered to this client within the measured window. */
  readonly acked: number;
  readonly refused: number;
  /** Values sent again because they were not delivered in time (see Proposer). */
  readonly resent: number;
  /** Times the proposer halved its send window for values late (SendWindow). */
  readonly sendWindowCuts: number;
  readonly valuesPerSec: number;
  readonly mbPerSec: number;
  /** Propose-to-delivery latency at this client, microseconds (after warm-up). */
  readonly latencyUs: { readonly p50: number; readonly p90: number; readonly p99: number; readonly p999: number; readonly max: number; readonly count: number };
  /** The same latency distribution sampled at CDF_FRACTIONS (empty when nothing was measured). */
  readonly cdf: readonly CdfPoint[];
  /** This client process' CPU (user + system) over its run, % of one core. */
  readonly cpuPercent: number;
  /** Its peak RSS (sampled every RSS_SAMPLE_MS), and the second half's peak minus the first's after warm-up, MB. */
  readonly peakRssMb: number;
  readonly rssGrowthMb: number;
}

/** How often a client samples its RSS for ClientReport.peakRssMb. */
export const RSS_SAMPLE_MS = 250;

/** One point of a latency distribution: a fraction `p` of the values took at most `us` microseconds. */
export interface CdfPoint {
  readonly p: number;
  readonly us: number;
}

/** Where a client samples its latency distribution: dense in the tail, where the latencies spread. */
export const CDF_FRACTIONS: readonly number[] = [
  0, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.92, 0.94, 0.95,
  0.96, 0.97, 0.98, 0.99, 0.995, 0.997, 0.998, 0.999, 0.9995, 0.9999, 0.99995, 0.99999,
];

/** The histogram's values at CDF_FRACTIONS: non-decreasing in both p and us; [] for an empty histogram. */
export function latencyCdf(hist: hdr.Histogram): CdfPoint[] {
  if (hist.totalCount === 0) return [];
  return CDF_FRACTIONS.map((p) => ({ p, us: hist.getValueAtPercentile(p * 100) }));
}

/** One value delivered to the client: when (ms since the epoch, µs precision) and its propose-to-delivery latency. */
export interface TimelineEntry {
  readonly t: number;
  readonly us: number;
}

/** How often a TimelineWriter hands what it buffered to the OS (so its buffer is bounded by the rate). */
export const TIMELINE_FLUSH_MS = 250;

/**
 * `paxos client --timeline FILE`: one JSON line per value delivered to this client,
 * `{"t":<ms since the epoch>,"us":<latency µs>}`, in delivery order, warm-up included. The time is
 * the wall clock (performance.timeOrigin + performance.now()), so other processes of the same
 * host (e.g. an experiment that kills a node at a known time) can line their events up with it.
 * Lines are buffered and written with one write per flush.
 */
export class TimelineWriter {
  private readonly fd: number;
  private buffered: string[] = [];
  lines = 0;

  constructor(file: string) {
    this.fd = openSync(file, "w");
  }

  record(t: number, us: number): void {
    this.buffered.push(`{"t":${t.toFixed(3)},"us":${Math.round(us)}}\n`);
    this.lines++;
  }

  flush(): void {
    if (this.buffered.length === 0) return;
    writeSync(this.fd, this.buffered.join(""));
    this.buffered = [];
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

/** Reads a --timeline file; a torn last line (the client was killed mid-write) is left out. */
export function readTimeline(file: string): TimelineEntry[] {
  const out: TimelineEntry[] = [];
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (!line) continue;
    try {
      const e = JSON.parse(line) as Partial<TimelineEntry>;
      if (typeof e.t === "number" && typeof e.us === "number") out.push({ t: e.t, us: e.us });
    } catch {
      /* a torn line */
    }
  }
  return out;
}

/** The wall clock in ms since the epoch, with performance.now()'s resolution. */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Bound: values proposed and not yet acked whose start time the client remembers. */
export const MAX_OUTSTANDING_TIMES = 1 << 20;

/** Bound: how long a client waits at the end for the values still in flight to land. */
export const DRAIN_MS = 2000;

/** What a run counted: all of it, and over the measured window (after the warm-up). */
interface RunCounts {
  proposed: number;
  acked: number;
  /** Acks before the measured window began, and at its end. */
  ackedAtStart: number;
  ackedAtEnd: number;
  /** The measured window on the wall clock (ms since the epoch). */
  fromWall: number;
  toWall: number;
}

/**
 * `paxos client`: the load generator. Closed loop keeps `window` values in flight (a new one as
 * each is delivered); open loop proposes at `rate` values/s. Runs `warmupMs`, then measures for
 * `durationMs`: throughput and an HDR histogram of propose-to-delivery latency over that window.
 * Exit 1, with one line on `err`, when no value was delivered in it (e.g. the cluster is down).
 */
export async function runClientCommand(o: ClientCliOptions, out: (s: string) => void, err: (s: string) => void = () => {}): Promise<number> {
  if (o.valueSize < 1) throw new UsageError("--value-size: at least 1 byte");
  if (o.group === undefined) checkValueSizes(o, [o.valueSize]);
  const hist = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  const started = new Map<number, number>();
  const payload = new Uint8Array(o.valueSize).map((_, i) => (i * 31) & 0xff);
  const n: RunCounts = { proposed: 0, acked: 0, ackedAtStart: 0, ackedAtEnd: 0, fromWall: 0, toWall: 0 };
  let measuring = false;
  let stopping = false;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const rss = new RssHalves(t0 + o.warmupMs + o.durationMs / 2);
  // Opened first: a path that cannot be written fails before any socket is bound.
  const timeline = o.timeline !== undefined ? new TimelineWriter(o.timeline) : null;
  const node = await openTarget(
    o,
    (a) => {
      const t = started.get(a.seq);
      started.delete(a.seq);
      n.acked++;
      if (t !== undefined) {
        const now = performance.now();
        const us = Math.max(1, Math.round((now - t) * 1000));
        if (measuring) hist.recordValue(us);
        timeline?.record(performance.timeOrigin + now, us);
      }
      if (o.rate === 0 && !stopping) proposeOne();
    },
    o.rate === 0 ? { proposerWindow: o.window, proposerQueue: o.window } : { proposerWindow: o.window, proposerQueue: 1 << 20 },
    "warn",
  ).catch((e: unknown) => {
    rss.stop();
    timeline?.close();
    throw e;
  });
  if (o.group !== undefined) node.checkSize(o.valueSize);
  const flusher = timeline ? setInterval(() => timeline.flush(), TIMELINE_FLUSH_MS) : undefined;
  function proposeOne(): void {
    if (started.size >= MAX_OUTSTANDING_TIMES) return;
    const t = performance.now();
    // A value the proposer refused (its queue full) took no seq.
    const taken = node.propose(payload);
    if (taken === null) return;
    started.set(taken.seq, t);
    n.proposed++;
  }
  const beginMeasuring = (): void => {
    measuring = true;
    n.ackedAtStart = n.acked;
    n.fromWall = wallClockMs();
  };
  // The window lasts durationMs from when it began (a late warm-up timer must not shorten it),
  // by the wall clock it is reported in (a timer may fire a fraction of a millisecond early).
  const measured = new Promise<void>((resolve) => {
    const begin = (): void => {
      beginMeasuring();
      const end = (): void => {
        if (wallClockMs() >= n.fromWall + o.durationMs) resolve();
        else setTimeout(end, 1);
      };
      setTimeout(end, o.durationMs);
    };
    if (o.warmupMs > 0) setTimeout(begin, o.warmupMs);
    else begin();
  });
  const stopLoad = o.rate === 0 ? closedLoop(o.window, proposeOne) : openLoop(o.rate, proposeOne);
  await measured;
  stopping = true;
  // What lands while draining is outside the window, as it would be for a latency histogram.
  measuring = false;
  stopLoad();
  n.ackedAtEnd = n.acked;
  n.toWall = wallClockMs();
  rss.stop();
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  // Let what is in flight land (bounded), so the node closes cleanly.
  const deadline = performance.now() + DRAIN_MS;
  while (started.size > 0 && node.inFlight() > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  const proposer = node.proposer();
  await node.close();
  clearInterval(flusher);
  timeline?.close();
  const report = clientReport(o, proposer, n, hist, { cpuPercent: Math.round((cpu.user + cpu.system) / 10 / elapsed), ...rss.figures() });
  out(o.json ? `${JSON.stringify(report)}\n` : formatReport(report));
  if (report.acked > 0) return 0;
  err(`paxos: client: no value was delivered in the ${(o.durationMs / 1000).toFixed(1)} s measured (${n.proposed} proposed, ${n.acked} delivered in all): is the cluster up?\n`);
  return 1;
}

/** Closed loop: `window` values at once, then one more per delivery (see the acked handler). */
function closedLoop(window: number, proposeOne: () => void): () => void {
  for (let i = 0; i < window; i++) proposeOne();
  return () => {};
}

/** Open loop: `rate` values/s, on a 1 ms timer that makes up for the time since its last run. */
function openLoop(rate: number, proposeOne: () => void): () => void {
  let credit = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    credit += ((now - last) * rate) / 1000;
    last = now;
    for (; credit >= 1; credit--) proposeOne();
  }, 1);
  return () => clearInterval(timer);
}

/** Peak RSS (sampled every RSS_SAMPLE_MS) before and after the middle of the measured window. */
class RssHalves {
  private before = 0;
  private after = 0;
  private readonly timer: ReturnType<typeof setInterval>;
  constructor(private readonly middle: number) {
    this.timer = setInterval(() => this.sample(), RSS_SAMPLE_MS);
  }
  private sample(): void {
    const rss = process.memoryUsage().rss;
    if (performance.now() < this.middle) this.before = Math.max(this.before, rss);
    else this.after = Math.max(this.after, rss);
  }
  /** Takes a last sample and stops sampling. */
  stop(): void {
    this.sample();
    clearInterval(this.timer);
  }
  figures(): { peakRssMb: number; rssGrowthMb: number } {
    return { peakRssMb: mb(Math.max(this.before, this.after)), rssGrowthMb: this.before > 0 && this.after > 0 ? mb(this.after - this.before) : 0 };
  }
}

function clientReport(
  o: ClientCliOptions,
  proposer: { readonly clientId: number; readonly refused: number; readonly resent: number; readonly sendWindowCuts: number },
  n: RunCounts,
  hist: hdr.Histogram,
  usage: { cpuPercent: number; peakRssMb: number; rssGrowthMb: number },
): ClientReport {
  const acked = n.ackedAtEnd - n.ackedAtStart;
  const seconds = Math.max(1e-3, (n.toWall - n.fromWall) / 1000);
  return {
    client: proposer.clientId,
    mode: o.rate === 0 ? "closed" : "open",
    valueSize: o.valueSize,
    // From the rounded ends, so that measuredTo - measuredFrom is exactly durationMs.
    durationMs: Math.round(n.toWall) - Math.round(n.fromWall),
    measuredFrom: Math.round(n.fromWall),
    measuredTo: Math.round(n.toWall),
    proposed: n.proposed,
    acked,
    refused: proposer.refused,
    resent: proposer.resent,
    sendWindowCuts: proposer.sendWindowCuts,
    valuesPerSec: Math.round(acked / seconds),
    mbPerSec: round2((acked * o.valueSize) / seconds / 1e6),
    latencyUs: {
      p50: hist.getValueAtPercentile(50),
      p90: hist.getValueAtPercentile(90),
      p99: hist.getValueAtPercentile(99),
      p999: hist.getValueAtPercentile(99.9),
      max: hist.maxValue,
      count: hist.totalCount,
    },
    cdf: latencyCdf(hist),
    ...usage,
  };
}

/** Bytes as MB in 0.1 MB steps. */
function mb(bytes: number): number {
  return Math.round(bytes / 1e5) / 10;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

export function formatReport(r: ClientReport): string {
  const l = r.latencyUs;
  return (
    `client ${r.client} (${r.mode} loop, ${r.valueSize} B values, ${(r.durationMs / 1000).toFixed(1)} s): ` +
    `${r.acked.toLocaleString("en-US")} values delivered, ${r.valuesPerSec.toLocaleString("en-US")} values/s, ${r.mbPerSec} MB/s, ${r.resent.toLocaleString("en-US")} re-sent\n` +
    `latency µs: p50 ${l.p50}  p90 ${l.p90}  p99 ${l.p99}  p99.9 ${l.p999}  max ${l.max}  (${l.count} samples)\n`
  );
}

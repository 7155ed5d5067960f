/**
 * One run of the failure trace (thesis Figure 5.11): throughput and latency over time while a
 * process is killed with SIGKILL and restarted. A local cluster of real processes (3 acceptors
 * with write-ahead logs, 1 learner, 1 client; LocalCluster) carries an open-loop load from `paxos
 * client --timeline` (one line per value delivered to the client: wall-clock time and latency). At
 * killAtS the victim gets SIGKILL: the coordinator (whoever leads then; node 0 at start), or an
 * acceptor that is not the coordinator (M-Ring: the other member of the ring, a spare takes its
 * place; U-Ring: the first acceptor after the coordinator on the ring). At restartAtS it is started
 * again from its log. `bench/failure-trace.ts` draws and summarizes runs; `paxos experiment run
 * failure-trace` runs them through the harness. The arithmetic is in failure-trace.ts.
 */
import { availableParallelism, loadavg } from "node:os";
import { join } from "node:path";
import { LocalCluster, type StatsLine } from "./cluster.ts";
import { readHostCpu } from "./host-cpu.ts";
import { readTimeline, wallClockMs, type ClientReport } from "../cli/client.ts";
import {
  bucketize,
  hostCpuSeries,
  processCpuByBucket,
  relativeTo,
  traceFigures,
  zoom,
  type Bucket,
  type HostCpuSample,
  type TraceFigures,
} from "./failure-trace.ts";
import type { NodeStatus } from "../node/status.ts";

export type Variant = "mring" | "uring";
export type VictimKind = "coordinator" | "acceptor";

export interface FailureTraceOptions {
  readonly variant: Variant;
  readonly victim: VictimKind;
  /** Seconds since the load started: warmupS < killAtS < restartAtS < durationS. */
  readonly durationS: number;
  readonly warmupS: number;
  readonly killAtS: number;
  readonly restartAtS: number;
  /** The client's open-loop rate (values/s), its value size and its window. */
  readonly rate: number;
  readonly valueSize: number;
  readonly window: number;
  readonly walSync: "none" | "fsync";
}

export const FAILURE_TRACE_DEFAULTS: Omit<FailureTraceOptions, "variant" | "victim"> = { durationS: 30, warmupS: 5, killAtS: 10, restartAtS: 20, rate: 500, valueSize: 1024, window: 256, walSync: "none" };

export function checkFailureTraceOptions(o: FailureTraceOptions): void {
  if (!(o.warmupS < o.killAtS && o.killAtS < o.restartAtS && o.restartAtS < o.durationS)) throw new RangeError("expected warmup < kill-at < restart-at < duration");
}

export const ACCEPTORS = 3;
export const BUCKET_MS = 250;
/** Close-ups: this long before and after the event, in bins of ZOOM_BIN_MS. */
const ZOOM_BEFORE_MS = 500;
export const ZOOM_AFTER_MS = 1500;
export const ZOOM_BIN_MS = 20;
/** An outage counts as the kill's (the restart's) if it begins within this long of it (of the restarted node being up). */
export const GAP_WINDOW_MS = 2000;
/** Who leads and the ring are read this long before the restart and before the end. */
const SNAPSHOT_BEFORE_MS = 500;
export const NAME: Record<Variant, string> = { mring: "M-Ring", uring: "U-Ring" };

/** Who leads and the ring of its round, as the nodes' /status tell. */
export interface Snapshot {
  /** ms since the load started. */
  readonly ms: number;
  readonly leader: number | null;
  readonly round: number | null;
  readonly ring: readonly number[] | null;
  /** Each node that answered: whether it coordinates, its round and ring, whom it follows, the round it promised. */
  readonly nodes: readonly { id: number; active: boolean | null; round: number | null; ring: readonly number[] | null; follows: number | null; promised: number | null }[];
}

export interface LeadershipEvent {
  readonly ms: number;
  readonly node: number;
  readonly incarnation: number;
  readonly msg: string;
  readonly round: number | null;
}

export interface RunResult {
  readonly variant: Variant;
  readonly victimKind: VictimKind;
  readonly victim: number;
  /** The host's 1-minute load average when the run started and ended (2 cores: above ~2, other work competed). */
  readonly loadAvg: { readonly start: number; readonly end: number };
  /** ms since the load started (the client was spawned): kill sent, victim gone, restart begun, restarted node up (logged it started). */
  readonly times: { readonly killMs: number; readonly goneMs: number; readonly restartMs: number; readonly upMs: number; readonly endMs: number };
  readonly snapshots: { readonly beforeKill: Snapshot; readonly afterKill: Snapshot; readonly afterRestart: Snapshot };
  readonly leadership: readonly LeadershipEvent[];
  readonly client: ClientReport;
  readonly figures: TraceFigures;
  readonly buckets: readonly Bucket[];
  /** Delivered values/s at the learner process, from its stats lines (x: start of each period, s). */
  readonly learner: { readonly id: number; readonly points: readonly { t: number; valuesPerSec: number; mbPerSec: number }[] };
  /**
   * CPU in % of one core: the whole host from /proc/stat (busy, and steal: the hypervisor running
   * other machines), and this cluster's nodes (not the client) from their stats lines, per bucket.
   */
  readonly cpu: {
    readonly cores: number;
    readonly host: readonly { t: number; pct: number; stealPct: number }[];
    readonly nodes: readonly number[];
  };
  readonly zoomKill: readonly { ms: number; valuesPerSec: number }[];
  readonly zoomRestart: readonly { ms: number; valuesPerSec: number }[];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

async function snapshot(c: LocalCluster, t0: number): Promise<Snapshot> {
  const ms = Math.round(wallClockMs() - t0);
  const statuses = (await Promise.all(c.ids("acceptor").map((id) => c.status(id)))).filter((s): s is NodeStatus => s !== null);
  const nodes = statuses.map((s) => ({
    id: s.id,
    active: s.coordinator?.active ?? null,
    round: s.coordinator?.round ?? null,
    ring: s.coordinator?.ring ?? null,
    follows: s.election?.leader ?? null,
    promised: s.acceptor?.promised ?? null,
  }));
  const leading = nodes.filter((n) => n.active && n.ring !== null).sort((x, y) => (y.round ?? 0) - (x.round ?? 0))[0];
  return { ms, leader: leading?.id ?? null, round: leading?.round ?? null, ring: leading?.ring ?? null, nodes };
}

async function waitForLeader(c: LocalCluster, t0: number, timeoutMs: number): Promise<Snapshot> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await snapshot(c, t0);
    if (s.leader !== null) return s;
    if (Date.now() > deadline) throw new Error("no coordinator with a ring after start-up");
    await sleep(50);
  }
}

/**
 * Who leads at `atMs` (since t0): polled from a second before, so that a moment without an answer
 * (a node busy, a round being laid out) does not leave the kill without a victim; the last
 * snapshot that showed a coordinator with a ring counts. If none did by then, waits up to 5 s more.
 */
async function leaderAt(c: LocalCluster, t0: number, atMs: number, log: (s: string) => void): Promise<Snapshot> {
  const rel = () => wallClockMs() - t0;
  await sleep(atMs - 1000 - rel());
  let last: Snapshot | null = null;
  let s: Snapshot;
  do {
    s = await snapshot(c, t0);
    if (s.leader !== null) last = s;
    await sleep(Math.min(100, atMs - rel()));
  } while (rel() < atMs);
  while (last === null && rel() < atMs + 5000) {
    await sleep(50);
    s = await snapshot(c, t0);
    if (s.leader !== null) last = s;
  }
  if (last === null) throw new Error(`no coordinator with a ring at the kill time: ${JSON.stringify(s.nodes)}`);
  if (rel() > atMs + 100) log(`  (no coordinator seen at ${atMs} ms: the kill waited until ${Math.round(rel())} ms)`);
  return last;
}

/** The coordinator; or the first acceptor on its ring after it (M-Ring: the other ring member, never a spare). */
function pickVictim(s: Snapshot, kind: VictimKind): number {
  if (s.leader === null || s.ring === null) throw new Error("no coordinator to kill at the kill time");
  if (kind === "coordinator") return s.leader;
  const ring = s.ring;
  const at = ring.indexOf(s.leader);
  for (let k = 1; k < ring.length; k++) {
    const id = ring[(at + k) % ring.length] as number;
    if (id < ACCEPTORS) return id;
  }
  throw new Error(`no acceptor but the coordinator on the ring ${JSON.stringify(ring)}`);
}

/** "leading" and "stood down" lines of a node's log, on the load's clock. */
function leadership(lines: readonly string[], node: number, incarnation: number, t0: number): LeadershipEvent[] {
  const out: LeadershipEvent[] = [];
  for (const l of lines) {
    if (!l.includes("leading") && !l.includes("stood down")) continue;
    try {
      const j = JSON.parse(l) as { time?: string; msg?: string; round?: number };
      if (!j.time || !j.msg) continue;
      out.push({ ms: Math.round(Date.parse(j.time) - t0), node, incarnation, msg: j.msg, round: j.round ?? null });
    } catch {
      /* not a JSON line */
    }
  }
  return out;
}

function learnerSeries(stats: readonly StatsLine[], t0: number): { t: number; valuesPerSec: number; mbPerSec: number }[] {
  const out: { t: number; valuesPerSec: number; mbPerSec: number }[] = [];
  for (let i = 1; i < stats.length; i++) {
    const p = stats[i - 1] as StatsLine;
    const x = stats[i] as StatsLine;
    const dt = (x.t - p.t) / 1000;
    if (dt <= 0 || p.wall === undefined) continue;
    out.push({ t: Math.round(p.wall - t0) / 1000, valuesPerSec: Math.round((x.delivered - p.delivered) / dt), mbPerSec: Math.round((x.deliveredBytes - p.deliveredBytes) / dt / 1e3) / 1e3 });
  }
  return out;
}


/** A node's stats lines as cumulative CPU readings on the load's clock. */
function cpuReadings(stats: readonly StatsLine[], t0: number): { ms: number; cpuUs: number }[] {
  return stats.filter((x) => x.wall !== undefined).map((x) => ({ ms: (x.wall as number) - t0, cpuUs: x.cpuUserUs + x.cpuSystemUs }));
}

/** One trace: a cluster under load, `o.victim` killed with SIGKILL at `o.killAtS` and restarted from its log at `o.restartAtS`. */
export async function runFailureTrace(o: FailureTraceOptions, log: (s: string) => void): Promise<RunResult> {
  const { variant, victim: kind, walSync, rate, window, valueSize, durationS, warmupS, killAtS, restartAtS } = o;
  checkFailureTraceOptions(o);
  const loadStart = loadavg()[0] ?? 0;
  const cluster = await LocalCluster.start(
    { variant, acceptors: ACCEPTORS, learners: 1, clients: 1, http: true, ledger: { kind: "wal", sync: walSync } },
    { statsMs: BUCKET_MS },
  );
  let sampler: ReturnType<typeof setInterval> | undefined;
  try {
    await waitForLeader(cluster, wallClockMs(), 10_000);
    const timelineFile = join(cluster.dir, "timeline.jsonl");
    const clientId = cluster.ids("client")[0] as number;
    const learnerId = cluster.ids("learner").find((id) => !cluster.ids("acceptor").includes(id)) as number;
    const t0 = wallClockMs();
    const load = cluster.run([
      "client", "--config", cluster.configFile, "--id", String(clientId),
      "--rate", String(rate), "--window", String(window), "--value-size", String(valueSize),
      "--duration", String(durationS), "--warmup", String(warmupS), "--json", "--timeline", timelineFile,
    ]);
    const rel = () => wallClockMs() - t0;
    const cpuSamples: HostCpuSample[] = [];
    const sampleCpu = () => {
      const c = readHostCpu();
      if (c) cpuSamples.push({ ms: rel(), ...c });
    };
    sampleCpu();
    sampler = setInterval(sampleCpu, BUCKET_MS);

    const beforeKill = await leaderAt(cluster, t0, killAtS * 1000, log);
    const victim = pickVictim(beforeKill, kind);
    const killMs = rel();
    await cluster.kill(victim, "SIGKILL");
    const goneMs = rel();
    log(`  leader ${beforeKill.leader}, ring ${JSON.stringify(beforeKill.ring)}: kill -9 node ${victim} at ${(killMs / 1000).toFixed(3)} s`);
    // The restart replaces the victim's log and stats lines: keep its first incarnation's.
    const victimLog = [...(cluster.logs.get(victim) ?? [])];
    const victimStats = [...(cluster.stats.get(victim) ?? [])];

    // What the cluster settled at: just before the restart, and just before the load ends.
    await sleep(restartAtS * 1000 - SNAPSHOT_BEFORE_MS - rel());
    const afterKill = await snapshot(cluster, t0);
    log(`  after the kill: leader ${afterKill.leader}, ring ${JSON.stringify(afterKill.ring)}`);

    await sleep(restartAtS * 1000 - rel());
    const restartMs = rel();
    await cluster.restart(victim);
    const upMs = rel();
    await sleep(Math.max(upMs, durationS * 1000 - SNAPSHOT_BEFORE_MS) - rel());
    const afterRestart = await snapshot(cluster, t0);
    log(`  restarted node ${victim} at ${(restartMs / 1000).toFixed(3)} s (up after ${Math.round(upMs - restartMs)} ms): leader ${afterRestart.leader}, ring ${JSON.stringify(afterRestart.ring)}`);

    const r = await load;
    clearInterval(sampler);
    if (r.code !== 0) throw new Error(`the client failed (exit ${r.code}): ${r.err.trim().split("\n").slice(-3).join(" | ")}`);
    const client = JSON.parse(r.out.trim().split("\n").at(-1) ?? "{}") as ClientReport;
    const deliveries = relativeTo(readTimeline(timelineFile), t0);
    const endMs = durationS * 1000;
    const buckets = bucketize(deliveries, { bucketMs: BUCKET_MS, endMs, valueSize });
    const times = { warmupMs: warmupS * 1000, killMs, restartMs, upMs, endMs, gapWindowMs: GAP_WINDOW_MS };
    const figures = traceFigures(deliveries, buckets, BUCKET_MS, times);
    const at = deliveries.map((d) => d.ms);
    // The victim's first incarnation's log was kept before the restart replaced it.
    const events = [
      ...cluster.ids("acceptor").flatMap((id) => leadership(id === victim ? victimLog : (cluster.logs.get(id) ?? []), id, 0, t0)),
      ...leadership(cluster.logs.get(victim) ?? [], victim, 1, t0),
    ].sort((x, y) => x.ms - y.ms);
    return {
      variant,
      victimKind: kind,
      victim,
      loadAvg: { start: Math.round(loadStart * 100) / 100, end: Math.round((loadavg()[0] ?? 0) * 100) / 100 },
      times: { killMs: Math.round(killMs), goneMs: Math.round(goneMs), restartMs: Math.round(restartMs), upMs: Math.round(upMs), endMs },
      snapshots: { beforeKill, afterKill, afterRestart },
      leadership: events,
      client,
      figures,
      buckets,
      learner: { id: learnerId, points: learnerSeries(cluster.stats.get(learnerId) ?? [], t0).filter((p) => p.t >= 0 && p.t < durationS) },
      cpu: {
        cores: availableParallelism(),
        host: hostCpuSeries(cpuSamples, availableParallelism()).filter((p) => p.t >= 0 && p.t < durationS),
        nodes: processCpuByBucket(
          [...cluster.nodes.filter((n) => !n.roles.includes("client")).map((n) => cpuReadings(cluster.stats.get(n.id) ?? [], t0)), cpuReadings(victimStats, t0)],
          BUCKET_MS,
          endMs,
        ),
      },
      zoomKill: zoom(at, killMs - ZOOM_BEFORE_MS, killMs + ZOOM_AFTER_MS, ZOOM_BIN_MS),
      // Until well after the restarted node is up (starting a process and replaying its log takes a while).
      zoomRestart: zoom(at, restartMs - ZOOM_BEFORE_MS, Math.min(endMs, Math.max(restartMs, upMs) + ZOOM_AFTER_MS), ZOOM_BIN_MS),
    };
  } finally {
    clearInterval(sampler);
    await cluster.stop();
  }
}


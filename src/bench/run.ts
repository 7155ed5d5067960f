import { accessSync, constants, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { ClientReport } from "../cli/client.ts";
import { killEverything, LocalCluster, type StatsLine } from "./cluster.ts";
import { DEFAULT_TIMING, maxValueBytes, PHASE2A_HEADROOM_BYTES, VALUE_OVERHEAD_BYTES } from "../core/config.ts";
import { GC_STEP_INSTANCES } from "../core/process.ts";
import { UsageError } from "../cli/errors.ts";
import { DEFAULT_DATAGRAM, MAX_DATAGRAM } from "../config/schema.ts";
import type { BenchProgress } from "./progress.ts";
import { errnoLine } from "./plots.ts";
import { measuredLines, rate, rssGrowthMb } from "./stats-window.ts";
import { multiRingFigures, type MultiRingFigures } from "./multiring-figures.ts";
import { formatLimits, type Limits } from "./limits.ts";
import { checkSlowSpell, slowSpell, type SlowSpell } from "./slow-learner.ts";
import type { MultiRingLayout } from "./multiring-layout.ts";
import { LEADERSHIP_MESSAGES } from "../node/runtime.ts";

export { measuredLines, rssGrowthMb } from "./stats-window.ts";

/** The run was stopped by SIGINT/SIGTERM; every process it started has been killed. */
export class BenchInterrupted extends Error {
  override readonly name = "BenchInterrupted";
}

export interface BenchOptions {
  readonly variant: "mring" | "uring";
  /** Number of acceptors: f = (ring - 1) / 2. */
  readonly ring: number;
  readonly valueSize: number;
  /** Values each client keeps in flight (closed loop). */
  readonly window: number;
  /** Instances the coordinator keeps in flight. */
  readonly instances: number;
  readonly clients: number;
  /** M-Ring: clients learn every value themselves instead of following a learner's delivery notices (U-Ring clients are ring processes, and learn). */
  readonly clientsLearn: boolean;
  readonly learners: number;
  readonly durationS: number;
  readonly warmupS: number;
  readonly ledger: "ram" | "wal";
  /** Write-ahead log: fdatasync before replies (fsync) or write to the OS only (none). */
  readonly walSync: "fsync" | "none";
  readonly batchBytes?: number;
  /** Open loop: each client proposes at this rate (values/s) instead of keeping `window` in flight. */
  readonly rate?: number;
  readonly json?: string;
  /** Authenticated traffic: the cluster runs with a fresh cluster key (every message carries a MAC). */
  readonly auth?: boolean;
  /**
   * When each client runs (seed 000's workloads B and C), by client in start order: it starts
   * `startDelayS` after the first, and with `killAfterS` it is killed (SIGKILL) that long after its
   * own start. A killed client reports nothing; the figures are the survivors'. Default: all
   * start together and run to the end.
   */
  readonly clientSchedule?: readonly ClientSchedule[];
  /** The socket buffers asked for, bytes: M-Ring's multicast sockets (default: the configuration's), U-Ring's TCP connections (default: the kernel's autotuning). */
  readonly socketBufferBytes?: number;
  /** The last learner slowed for a spell of the measured time (slow-learner.ts); the first learner, measured, stays fast. Needs 2 learners or more. */
  readonly slowLearner?: SlowSpell;
  /**
   * Thesis ch. 7, heterogeneous acceptors (M-Ring, 3 acceptors): the acceptor on the leading
   * coordinator's ring (read from the acceptors' /status before the load: which one Phase 1 put
   * there varies) slowed for a spell.
   */
  readonly slowAcceptor?: SlowSpell;
  /** Flexible quorums (protocol.phase1Quorum, phase2Quorum; default a majority each). */
  readonly quorums?: { readonly phase1: number; readonly phase2: number };
  /** Slow-acceptor avoidance (default on): off, protocol.slowAcceptorMs 0. */
  readonly slowAcceptorAvoidance?: boolean;
  /** With slowAcceptor: the third acceptor, neither the coordinator nor the slowed one (the spare), killed (SIGKILL) `atS` into the measured time and not restarted (thesis ch. 7: a fast acceptor failing while another is slow). */
  readonly killFastAcceptorAtS?: number;
  /** Leases (default on): off, acceptors promise any higher round at once, so competing coordinators supersede each other (seed 002 §6.2). */
  readonly leases?: boolean;
  /**
   * Competing leaders (seed 002 §6.2): every `everyS` of the measured time, the next of `nodes`
   * (acceptors, in turn, the second first) is told to stand for leadership (SIGUSR2). With leases
   * off, each supersedes the other: two servers leading in rotation.
   */
  readonly leaderSwaps?: { readonly everyS: number; readonly nodes: readonly number[] };
  /**
   * Multi-Ring Paxos (`--rings K`): `ring` acceptors per ring, `learners` per ring (one group
   * each) or in all (every group), `clients` per ring, each proposing to its ring's group.
   */
  readonly multiRing?: Pick<MultiRingLayout, "rings" | "groupsPerLearner" | "shareAcceptors" | "lambdaPerSecond" | "deltaMs" | "m">;
}

export interface ClientSchedule {
  readonly startDelayS?: number;
  readonly killAfterS?: number;
}

export interface ProcessFigures {
  readonly id: number;
  readonly roles: readonly string[];
  readonly cpuPercent: number;
  readonly peakRssMb: number;
  /** Memory flat or not: peak RSS over the second half of the measured window minus the first half's (MB). */
  readonly rssGrowthMb: number;
}

export interface LearnerFigures {
  readonly id: number;
  readonly valuesPerSec: number;
  readonly mbPerSec: number;
}

export interface BenchResult {
  readonly options: BenchOptions;
  readonly learners: readonly LearnerFigures[];
  readonly clients: readonly ClientReport[];
  readonly processes: readonly ProcessFigures[];
  /** Delivered values/s and bytes/s at the first measured learner, per stats period of the run. */
  readonly timeline: readonly TimelinePoint[];
  /** With --rings: per ring and aggregate throughput, merge wait, CPU per MB, per-ring rates and merge backlog over time. */
  readonly multiRing?: MultiRingFigures;
  /** With --limits: what the runtime moves on this host, measured just before the run (limits.ts). */
  readonly limits?: Limits;
  /**
   * Over the measured time (t = 0 where it starts, warm-up left out), per stats period: each
   * learner's delivered values/s ("learner N values/s") and each coordinator's window of instances
   * ("coordinator N window").
   */
  readonly timelines?: readonly NamedTimeline[];
  /** New rounds any coordinator started in the whole run, start-up included ("leading: Phase 1 in a new round" in the nodes' logs). */
  readonly roundsStarted: number;
  /** Node 0's coordinator, from its stats lines: how often its ring changed (a new round without a change of leader: a stalled or slow acceptor laid out), and the new rounds slow-acceptor avoidance started. */
  readonly ringChanges: number;
  readonly slowRelayouts: number;
}

export interface NamedTimeline {
  readonly name: string;
  readonly points: readonly { readonly t: number; readonly y: number }[];
}

export interface TimelinePoint {
  /** Seconds since the learner's first stats line (about when the cluster started). */
  readonly t: number;
  readonly valuesPerSec: number;
  readonly bytesPerSec: number;
}

/**
 * M-Ring batch size of a local cluster. Its datagrams cross loopback, whose MTU is 64 KB, so a
 * batch may fill one (a configuration's default stays 8 KB, as in the thesis, for real networks
 * with 1500-byte frames). Per-datagram costs dominate a node's CPU: at 8 KB values seven values
 * share one datagram's costs instead of one.
 */
export const LOOPBACK_MRING_BATCH_BYTES = 56 * 1024;

/**
 * Instances acceptors and learners retain for catch-up, for batches of `batchBytes`: as many bytes
 * as the configuration's defaults retain (512 batches of 8 KB), in whole garbage-collection steps,
 * 64..512. A retained batch keeps its whole datagram alive, and with 56 KB batches 512 of them
 * were 28 MB per process that the collector kept moving to its old generation (README, Results).
 */
export function retainFor(batchBytes: number): number {
  const bytes = DEFAULT_TIMING.retainInstances * DEFAULT_TIMING.batchBytes;
  const steps = Math.ceil(bytes / batchBytes / GC_STEP_INSTANCES);
  return Math.min(DEFAULT_TIMING.retainInstances, Math.max(1, steps) * GC_STEP_INSTANCES);
}

export const BENCH_DEFAULTS: BenchOptions = {
  variant: "mring",
  ring: 3,
  valueSize: 8192,
  // Batches fill when values wait: a client keeps 256 in flight and the coordinator 16 instances
  // of up to 7 values (LOOPBACK_MRING_BATCH_BYTES). With 8 the pipeline was bound by the ring's
  // latency rather than the CPU, so anything a hop adds (a MAC checked) cost throughput: the
  // auth-cost experiment (README, Security); plain runs move the same at 8 and 16.
  window: 256,
  instances: 16,
  clients: 1,
  // A client told of its deliveries by a learner receives no multicast: half a core less (README).
  clientsLearn: false,
  learners: 1,
  durationS: 10,
  warmupS: 1,
  ledger: "ram",
  walSync: "fsync",
};

/** Starts a cluster, drives it with closed-loop clients, measures, and reaps every process. */
export async function runBench(o: BenchOptions, progress: Pick<BenchProgress, "update">): Promise<BenchResult> {
  const statsMs = 250;
  if (o.slowAcceptor) checkSlowSpell(o.slowAcceptor);
  if (o.slowAcceptor && !(o.variant === "mring" && o.ring === 3 && !o.multiRing)) throw new UsageError("a slowed acceptor needs an M-Ring of 3 acceptors (one on the ring, one spare)");
  if (o.killFastAcceptorAtS !== undefined && !(o.slowAcceptor && o.killFastAcceptorAtS >= 0)) throw new UsageError("killing the fast acceptor needs a slowed acceptor, and a time >= 0");
  if (o.slowLearner) {
    checkSlowSpell(o.slowLearner);
    if (o.learners < 2) throw new UsageError("a slowed learner needs another, measured, learner: 2 learners or more");
  }
  // M-Ring: a value rides in one multicast datagram; size the datagram to the values (UDP allows ~64 KB).
  if (o.variant === "mring" && o.valueSize > maxValueBytes(MAX_DATAGRAM))
    throw new UsageError(`--value-size: M-Ring multicasts each value in one datagram: at most ${maxValueBytes(MAX_DATAGRAM)} bytes`);
  const need = o.valueSize + VALUE_OVERHEAD_BYTES + PHASE2A_HEADROOM_BYTES;
  const batchBytes = o.batchBytes ?? (o.variant === "mring" ? LOOPBACK_MRING_BATCH_BYTES : undefined);
  const maxDatagram = o.variant === "mring" ? Math.max(DEFAULT_DATAGRAM, need, (batchBytes ?? 0) + PHASE2A_HEADROOM_BYTES) : undefined;
  if (maxDatagram !== undefined && maxDatagram > MAX_DATAGRAM) throw new UsageError(`--batch-bytes: an M-Ring batch must fit one datagram (at most ${MAX_DATAGRAM - PHASE2A_HEADROOM_BYTES} bytes)`);
  const cluster = await LocalCluster.start(
    {
      variant: o.variant,
      acceptors: o.ring,
      learners: o.learners,
      clients: o.clients,
      clientsLearn: o.clientsLearn || o.variant === "uring",
      window: o.instances,
      ...(batchBytes ? { batchBytes } : {}),
      ...(maxDatagram !== undefined ? { maxDatagram } : {}),
      ...(o.socketBufferBytes ? { socketBufferBytes: o.socketBufferBytes } : {}),
      protocol: {
        ...(batchBytes ? { retainInstances: retainFor(batchBytes), learnerRetainInstances: retainFor(batchBytes) } : {}),
        ...(o.leases === false ? { leaseMs: 0 } : {}),
        ...(o.slowAcceptorAvoidance === false ? { slowAcceptorMs: 0 } : {}),
        ...(o.quorums ? { phase1Quorum: o.quorums.phase1, phase2Quorum: o.quorums.phase2 } : {}),
      },
      ...(o.ledger === "wal" ? { ledger: { kind: "wal" as const, sync: o.walSync } } : {}),
      ...(o.auth ? { auth: true } : {}),
      // The slowed acceptor is the one on the coordinator's ring, read from its /status.
      ...(o.slowAcceptor ? { http: true } : {}),
      ...(o.multiRing ? { multiRing: { ...o.multiRing, acceptorsPerRing: o.ring, learners: o.learners, clientsPerRing: o.clients } } : {}),
    },
    { statsMs },
  );
  let interrupted = false;
  const stop = () => {
    interrupted = true;
    killEverything();
    void cluster.stop();
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  let stopSpell = () => {};
  let stopSwaps = () => {};
  let stopAcceptorSpell = () => {};
  let stopKills = () => {};
  try {
    const startedAt = Date.now();
    const measured = learnerIds(cluster, o);
    const watched = measured[0] ?? -1;
    const slowed = measured.at(-1) ?? -1;
    stopSpell = o.slowLearner ? slowSpell((sig) => void cluster.signal(slowed, sig), o.slowLearner, o.warmupS * 1000) : () => {};
    stopSwaps = o.leaderSwaps ? swapLeaders((id) => void cluster.signal(id, "SIGUSR2"), o.leaderSwaps, o.warmupS * 1000) : () => {};
    if (o.slowAcceptor) [stopAcceptorSpell, stopKills] = slowAcceptor(cluster, await ringAcceptors(cluster), o.slowAcceptor, o.warmupS * 1000, o.killFastAcceptorAtS);
    const ticker = setInterval(() => {
      const l = cluster.stats.get(watched) ?? [];
      const last = l.at(-1);
      const prev = l.at(-5);
      const vps = last && prev ? Math.round(rate(prev, last).values) : 0;
      // The measured run's time: the clients propose for the warm-up first (and take a moment to start).
      progress.update(Math.min(o.durationS, Math.max(0, (Date.now() - startedAt) / 1000 - o.warmupS)), vps);
    }, 1000);
    const schedule = (i: number): ClientSchedule => o.clientSchedule?.[i] ?? {};
    const runs = await Promise.all(
      cluster.clientIds().map(async (id, i) => {
        const { startDelayS = 0, killAfterS } = schedule(i);
        if (startDelayS > 0) await new Promise((r) => setTimeout(r, startDelayS * 1000));
        if (interrupted) return { code: -1, out: "", err: "interrupted before it started" };
        return cluster.run(clientArgs(cluster, o, id), killAfterS === undefined ? {} : { killAfterMs: killAfterS * 1000 });
      }),
    );
    clearInterval(ticker);
    if (interrupted) throw new BenchInterrupted("interrupted: every process of the run was stopped");
    // One more stats period so that every process reported after the clients stopped.
    await new Promise((r) => setTimeout(r, statsMs * 2));
    const clients: (ClientReport | null)[] = [];
    for (const [i, r] of runs.entries()) {
      const killed = schedule(i).killAfterS !== undefined && r.code !== 0;
      if (r.code !== 0 && !killed) throw new Error(`a client failed (exit ${r.code}): ${r.err.trim().split("\n").slice(-3).join(" | ")}`);
      clients.push(killed ? null : (JSON.parse(r.out.trim().split("\n").at(-1) ?? "{}") as ClientReport));
    }
    if (clients.every((c) => c === null)) throw new Error("every client was killed: nothing measured");
    return figures(cluster, o, clients);
  } finally {
    stopSpell();
    stopSwaps();
    stopAcceptorSpell();
    stopKills();
    process.removeListener("SIGINT", stop);
    process.removeListener("SIGTERM", stop);
    await cluster.stop();
  }
}

/**
 * The leading coordinator's M-Ring ring of 3 acceptors, read from the acceptors' /status before
 * the load starts (which acceptor Phase 1 put on it varies, and so, at times, who leads): the
 * acceptor on it besides the coordinator, and the third one, the spare.
 */
async function ringAcceptors(cluster: LocalCluster): Promise<{ onRing: number; spare: number }> {
  const acceptors = cluster.ids("acceptor");
  for (let waited = 0; waited < 10_000; waited += 100) {
    for (const id of acceptors) {
      const c = (await cluster.status(id))?.coordinator;
      const onRing = c?.active ? c.ring?.find((a) => a !== id) : undefined;
      const spare = acceptors.find((a) => a !== id && a !== onRing);
      if (onRing !== undefined && spare !== undefined) return { onRing, spare };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("no coordinator laid out a ring within 10 s: no acceptor to slow");
}

/** The ring's acceptor slowed for `spell` from `delayMs` on, and, with `killAtS`, the spare (fast) killed then; returns the stops of both. */
function slowAcceptor(cluster: LocalCluster, who: { onRing: number; spare: number }, spell: SlowSpell, delayMs: number, killAtS: number | undefined): [() => void, () => void] {
  const stopSpell = slowSpell((sig) => void cluster.signal(who.onRing, sig), spell, delayMs);
  const kill = killAtS === undefined ? null : setTimeout(() => void cluster.signal(who.spare, "SIGKILL"), delayMs + killAtS * 1000);
  return [stopSpell, () => kill !== null && clearTimeout(kill)];
}

/** Tells `nodes[1]`, `nodes[2]`, ..., `nodes[0]`, ... in turn to stand for leadership, every `everyS` from `delayMs` on; returns a stop. */
function swapLeaders(campaign: (id: number) => void, s: NonNullable<BenchOptions["leaderSwaps"]>, delayMs: number): () => void {
  if (!(s.everyS > 0) || s.nodes.length < 2) throw new RangeError(`leader swaps need everyS > 0 and two nodes or more, got ${s.everyS} s and [${s.nodes.join(", ")}]`);
  let k = 0;
  let every: ReturnType<typeof setInterval> | null = null;
  const begin = setTimeout(() => {
    every = setInterval(() => campaign(s.nodes[++k % s.nodes.length] as number), s.everyS * 1000);
  }, delayMs);
  return () => {
    clearTimeout(begin);
    if (every) clearInterval(every);
  };
}

/** `paxos client` for client `id` of the run. */
function clientArgs(c: LocalCluster, o: BenchOptions, id: number): string[] {
  const rate = o.rate ? ["--rate", String(o.rate)] : [];
  const shape = ["--window", String(o.window), "--value-size", String(o.valueSize), "--duration", String(o.durationS), "--warmup", String(o.warmupS)];
  return ["client", "--config", c.configFile, "--id", String(id), ...shape, ...rate, ...groupArgs(c, id), "--json"];
}

/** Multi-Ring: `--group G` for a client of ring G's group. */
function groupArgs(c: LocalCluster, id: number): string[] {
  const group = c.nodes.find((n) => n.id === id)?.group;
  return group === undefined ? [] : ["--group", String(group)];
}

function learnerIds(c: LocalCluster, o: BenchOptions): number[] {
  // M-Ring learners are separate processes; in U-Ring every acceptor learns too.
  const pure = c.ids("learner").filter((id) => !c.nodes.find((n) => n.id === id)?.roles.includes("acceptor"));
  return pure.length > 0 || o.variant === "mring" ? pure : c.ids("learner");
}

/** The run's figures; `reports` by client in start order, null for a client killed on schedule. */
function figures(c: LocalCluster, o: BenchOptions, reports: readonly (ClientReport | null)[]): BenchResult {
  const clients = reports.filter((r): r is ClientReport => r !== null);
  const learners: LearnerFigures[] = [];
  const processes: ProcessFigures[] = [];
  let timeline: TimelinePoint[] = [];
  const measured = learnerIds(c, o);
  // The clients' measured windows on the wall clock: from the first one's start to the last one's end.
  const window = { from: Math.min(...clients.map((x) => x.measuredFrom)), to: Math.max(...clients.map((x) => x.measuredTo)) };
  for (const n of c.nodes) {
    const s = c.stats.get(n.id) ?? [];
    if (s.length < 2) continue;
    const first = s[0] as StatsLine;
    const t0 = first.t;
    const [from, to] = measuredLines(s, window);
    const r = rate(from, to);
    processes.push({
      id: n.id,
      roles: n.roles,
      cpuPercent: Math.round(rate(first, to).cpu * 100),
      peakRssMb: Math.round(Math.max(...s.map((x) => x.rss)) / 1e5) / 10,
      rssGrowthMb: rssGrowthMb(s.filter((x) => x.t >= from.t && x.t <= to.t)),
    });
    if (measured.includes(n.id)) {
      learners.push({ id: n.id, valuesPerSec: Math.round(r.values), mbPerSec: Math.round(r.bytes / 1e4) / 100 });
      if (timeline.length === 0)
        timeline = s.slice(1).map((x, i) => {
          const ri = rate(s[i] as StatsLine, x);
          return { t: Math.round((x.t - t0) / 100) / 10, valuesPerSec: Math.round(ri.values), bytesPerSec: Math.round(ri.bytes) };
        });
    }
  }
  // Clients report their own CPU and memory (they print no stats lines), in the order they were started.
  c.clientIds().forEach((id, i) => {
    const r = reports[i];
    if (r?.cpuPercent !== undefined) processes.push({ id, roles: ["client"], cpuPercent: r.cpuPercent, peakRssMb: r.peakRssMb, rssGrowthMb: r.rssGrowthMb });
  });
  const cpu = processes.reduce((n, p) => n + p.cpuPercent, 0);
  const timelines = namedTimelines(c, measured, window.from);
  const roundsStarted = [...c.logs.values()].reduce((n, lines) => n + lines.filter((l) => l.includes(LEADERSHIP_MESSAGES.leading)).length, 0);
  const rings = (c.stats.get(0) ?? []).map((x) => (x.ring ? x.ring.join(",") : null)).filter((r): r is string => r !== null);
  const ringChanges = rings.filter((r, i) => i > 0 && r !== rings[i - 1]).length;
  const slowRelayouts = (c.stats.get(0) ?? []).at(-1)?.slowRelayouts ?? 0;
  return { options: o, learners, clients, processes, timeline, timelines, roundsStarted, ringChanges, slowRelayouts, ...(o.multiRing ? { multiRing: multiRingFigures(c, window, learners, cpu) } : {}) };
}

/** Learners' rates and coordinators' windows per stats period from `fromMs` (the measured time's start) on. */
function namedTimelines(c: LocalCluster, learners: readonly number[], fromMs: number): NamedTimeline[] {
  const out: NamedTimeline[] = [];
  const t = (x: StatsLine) => Math.round(((x.wall as number) - fromMs) / 100) / 10;
  for (const n of c.nodes) {
    // Stats lines carry the process' own clock (t) and the wall clock the clients' window is on.
    const s = (c.stats.get(n.id) ?? []).filter((x) => x.wall !== undefined && x.wall >= fromMs);
    if (learners.includes(n.id)) out.push({ name: `learner ${n.id} values/s`, points: s.slice(1).map((x, i) => ({ t: t(x), y: Math.round(rate(s[i] as StatsLine, x).values) })) });
    if (n.roles.includes("coordinator") && s.some((x) => x.window !== undefined)) out.push({ name: `coordinator ${n.id} window`, points: s.filter((x) => x.window !== undefined).map((x) => ({ t: t(x), y: x.window as number })) });
  }
  return out;
}

export function formatBench(r: BenchResult): string {
  const o = r.options;
  const lines = [
    `paxos bench: ${o.variant}, ${o.ring} acceptors, ${o.ledger === "wal" ? `WAL (${o.walSync === "fsync" ? "fdatasync" : "no sync"})` : "RAM"} ledger, ${o.valueSize} B values, ${o.clients} client(s) x window ${o.window}, ` +
      `${o.instances} instances in flight, ${o.durationS} s (${o.warmupS} s warm-up)${o.auth ? ", authenticated" : ""}` +
      (o.multiRing
        ? `\n  ${o.multiRing.rings} ring(s)${o.multiRing.shareAcceptors ? " sharing their acceptors" : ""}, learners subscribed to ${o.multiRing.groupsPerLearner === "all" ? "every group" : "one group each"}, ` +
          `λ ${o.multiRing.lambdaPerSecond}/s, Δ ${o.multiRing.deltaMs} ms, M ${o.multiRing.m}; acceptors, learners and clients per ring${o.multiRing.groupsPerLearner === "all" ? " (learners: in all)" : ""}`
        : ""),
    "",
    "learner   values/s        MB/s",
    ...r.learners.map((l) => `${String(l.id).padEnd(9)} ${l.valuesPerSec.toLocaleString("en-US").padStart(10)} ${l.mbPerSec.toFixed(2).padStart(11)}`),
    "",
    // Client ids are 32-bit (up to 10 digits), shown whole: they are what the JSON and the plots name.
    "client       values/s   p50 µs   p90 µs   p99 µs p99.9 µs   re-sent",
    ...r.clients.map(
      (c) =>
        `${String(c.client).padEnd(12)} ${c.valuesPerSec.toLocaleString("en-US").padStart(8)} ${String(c.latencyUs.p50).padStart(8)} ` +
        `${String(c.latencyUs.p90).padStart(8)} ${String(c.latencyUs.p99).padStart(8)} ${String(c.latencyUs.p999).padStart(8)} ${(c.resent ?? 0).toLocaleString("en-US").padStart(9)}`,
    ),
    "",
    "process   roles                         CPU %   peak RSS MB   RSS growth MB (2nd half)",
    ...r.processes.map(
      (p) =>
        `${String(p.id).padEnd(9)} ${p.roles.join(",").padEnd(28)} ${String(p.cpuPercent).padStart(6)} ${p.peakRssMb.toFixed(1).padStart(13)} ${p.rssGrowthMb.toFixed(1).padStart(13)}`,
    ),
    ...(r.multiRing ? multiRingLines(r.multiRing) : []),
    ...(r.limits ? ["", formatLimits(r.limits), ...limitFractions(r, r.limits)] : []),
  ];
  return `${lines.join("\n")}\n`;
}

/** The run's figures as fractions of the matching limits (issue 14: ratios, not absolutes, on a shared host). */
export function limitFractions(r: BenchResult, l: Limits): string[] {
  const mb = r.learners[0]?.mbPerSec ?? 0;
  const ring = Math.max(l.tcpRing.nodeNetMBps, l.tcpRing.bunNativeMBps ?? 0);
  const p50 = r.clients[0]?.latencyUs.p50 ?? 0;
  const frac = (x: number, of: number): string => (of > 0 ? (x / of).toFixed(2) : "n/a");
  const lines = ["this run against them:"];
  if (r.options.variant === "mring") lines.push(`  learner ${mb.toFixed(1)} MB/s = ${frac(mb, l.multicast.losslessMBps)} of the multicast fan-out limit`);
  else lines.push(`  learner ${mb.toFixed(1)} MB/s = ${frac(mb, ring)} of the TCP ring limit (the faster of the two socket kinds)`);
  // Latency against the floor of a hop means something with one value in flight only.
  if (r.options.window === 1 && r.options.rate === undefined) lines.push(`  client p50 ${p50} µs = ${frac(p50, l.pingPong.oneHopUs)} one-hop floors (ping-pong)`);
  return lines;
}

function multiRingLines(m: MultiRingFigures): string[] {
  return [
    "",
    "ring  measured at     values/s        MB/s",
    ...m.rings.map((x) => `${String(x.ring).padEnd(5)} learner ${String(x.learner).padEnd(6)} ${x.valuesPerSec.toLocaleString("en-US").padStart(10)} ${x.mbPerSec.toFixed(2).padStart(11)}`),
    `all   (each group once) ${m.aggregate.valuesPerSec.toLocaleString("en-US").padStart(9)} ${m.aggregate.mbPerSec.toFixed(2).padStart(11)}    CPU ${m.cpuMsPerMb} ms per MB`,
    "",
    "learner   merge wait µs: mean      p50      p99      max   instances",
    ...m.mergeWait.map(
      (w) =>
        `${String(w.learner).padEnd(9)} ${String(w.meanUs).padStart(19)} ${String(w.p50Us).padStart(8)} ${String(w.p99Us).padStart(8)} ${String(w.maxUs).padStart(8)} ${w.instances.toLocaleString("en-US").padStart(11)}`,
    ),
  ];
}

export function benchJson(r: BenchResult): string {
  return `${JSON.stringify(r, null, 2)}\n`;
}

export function writeBenchJson(file: string, r: BenchResult): void {
  writeFileSync(file, benchJson(r));
}

/**
 * `--json FILE`: checked before the cluster starts, so that a run is not lost at its end to a
 * path that cannot be written (one line, exit 2). "-" is standard output. Nothing is created.
 */
export function checkJsonTarget(file: string): void {
  if (file === "-") return;
  if (file.trim() === "") throw new UsageError("--json: expected a file name or -, got an empty path");
  let st: ReturnType<typeof statSync> | undefined;
  try {
    st = statSync(file, { throwIfNoEntry: false });
    if (st?.isDirectory()) throw new UsageError(`--json: ${file} is a directory`);
    // A new file: its directory must let us create it (a path under a file fails the stat: ENOTDIR).
    accessSync(st === undefined ? dirname(file) : file, constants.W_OK);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`--json: cannot write ${file}: ${errnoLine(e)}`);
  }
}

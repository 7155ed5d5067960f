/**
 * The failure trace (thesis Figure 5.11): throughput and latency over time while a process is
 * killed with SIGKILL and restarted.
 *
 * For each variant and victim, a local cluster of real processes (3 acceptors with write-ahead
 * logs, 1 learner, 1 client; `LocalCluster`) carries an open-loop load from `paxos client
 * --timeline` (one line per value delivered to the client: wall-clock time and latency). At
 * --kill-at s the victim gets SIGKILL: the coordinator (whoever leads then; node 0 at start), or
 * an acceptor that is not the coordinator (M-Ring: the other member of the ring, a spare takes its
 * place; U-Ring: the first acceptor after the coordinator on the ring). At --restart-at s it is
 * started again from its log. Writes per run an SVG (values/s, MB/s and latency p50/p99 per 250 ms
 * bucket, close-ups of the kill and the restart), one JSON with every series and figure, and
 * summary.md.
 *
 *   ./node_modules/.bin/bun bench/failure-trace.ts [--variant mring|uring|both] [--victim coordinator|acceptor|both]
 *       [--out bench/results/failure-trace] [--duration 30] [--kill-at 10] [--restart-at 20]
 *       [--rate 500] [--value-size 1024] [--window 256] [--warmup 5] [--wal-sync none|fsync]
 *
 * Every child process is reaped on success, on error and on SIGINT/SIGTERM (exit 130).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, getPriority, loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { killEverything, LocalCluster, type StatsLine } from "../src/bench/cluster.ts";
import { stackedChartsSvg, type ChartMarker, type LineChart } from "../src/bench/chart.ts";
import { readTimeline, wallClockMs, type ClientReport } from "../src/cli/client.ts";
import {
  bucketize,
  hostCpuSeries,
  median,
  parseProcStat,
  processCpuByBucket,
  relativeTo,
  traceFigures,
  zoom,
  type Bucket,
  type HostCpuSample,
  type TraceFigures,
} from "../src/bench/failure-trace.ts";
import type { NodeStatus } from "../src/node/status.ts";

type Variant = "mring" | "uring";
type VictimKind = "coordinator" | "acceptor";

const { values: a } = parseArgs({
  options: {
    variant: { type: "string", default: "both" },
    victim: { type: "string", default: "both" },
    out: { type: "string", default: "bench/results/failure-trace" },
    duration: { type: "string", default: "30" },
    "kill-at": { type: "string", default: "10" },
    "restart-at": { type: "string", default: "20" },
    rate: { type: "string", default: "500" },
    "value-size": { type: "string", default: "1024" },
    window: { type: "string", default: "256" },
    warmup: { type: "string", default: "5" },
    "wal-sync": { type: "string", default: "none" },
  },
});

function usage(msg: string): never {
  process.stderr.write(`failure-trace: ${msg}\n`);
  process.exit(2);
}

function choice<T extends string>(flag: string, v: string, all: readonly T[]): T[] {
  if (v === "both") return [...all];
  if (!(all as readonly string[]).includes(v)) usage(`--${flag}: expected one of ${all.join("|")}|both, got ${v}`);
  return [v as T];
}

function num(flag: string, v: string, min: number): number {
  const x = Number(v);
  if (!Number.isFinite(x) || x < min) usage(`--${flag}: expected a number >= ${min}, got ${v}`);
  return x;
}

const variants = choice<Variant>("variant", a.variant, ["mring", "uring"]);
const victims = choice<VictimKind>("victim", a.victim, ["coordinator", "acceptor"]);
const durationS = num("duration", a.duration, 1);
const killAtS = num("kill-at", a["kill-at"], 0);
const restartAtS = num("restart-at", a["restart-at"], 0);
const rate = Math.round(num("rate", a.rate, 1));
const valueSize = Math.round(num("value-size", a["value-size"], 1));
const window = Math.round(num("window", a.window, 1));
const warmupS = num("warmup", a.warmup, 0);
const walSync = a["wal-sync"] === "fsync" ? "fsync" : a["wal-sync"] === "none" ? "none" : usage(`--wal-sync: expected none|fsync, got ${a["wal-sync"]}`);
if (!(warmupS < killAtS && killAtS < restartAtS && restartAtS < durationS)) usage("expected --warmup < --kill-at < --restart-at < --duration");

const ACCEPTORS = 3;
const BUCKET_MS = 250;
/** Close-ups: this long before and after the event, in bins of ZOOM_BIN_MS. */
const ZOOM_BEFORE_MS = 500;
const ZOOM_AFTER_MS = 1500;
const ZOOM_BIN_MS = 20;
/** An outage counts as the kill's (the restart's) if it begins within this long of it (of the restarted node being up). */
const GAP_WINDOW_MS = 2000;
/** Who leads and the ring are read this long before the restart and before the end. */
const SNAPSHOT_BEFORE_MS = 500;
const NAME: Record<Variant, string> = { mring: "M-Ring", uring: "U-Ring" };

/** Who leads and the ring of its round, as the nodes' /status tell. */
interface Snapshot {
  /** ms since the load started. */
  readonly ms: number;
  readonly leader: number | null;
  readonly round: number | null;
  readonly ring: readonly number[] | null;
  /** Each node that answered: whether it coordinates, its round and ring, whom it follows, the round it promised. */
  readonly nodes: readonly { id: number; active: boolean | null; round: number | null; ring: readonly number[] | null; follows: number | null; promised: number | null }[];
}

interface LeadershipEvent {
  readonly ms: number;
  readonly node: number;
  readonly incarnation: number;
  readonly msg: string;
  readonly round: number | null;
}

interface RunResult {
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

let current: LocalCluster | null = null;

/** The host's CPU counters now (null where /proc/stat does not exist). */
function hostCpuNow(): { busy: number; steal: number; total: number } | null {
  try {
    return parseProcStat(readFileSync("/proc/stat", "utf8"));
  } catch {
    return null;
  }
}

/** A node's stats lines as cumulative CPU readings on the load's clock. */
function cpuReadings(stats: readonly StatsLine[], t0: number): { ms: number; cpuUs: number }[] {
  return stats.filter((x) => x.wall !== undefined).map((x) => ({ ms: (x.wall as number) - t0, cpuUs: x.cpuUserUs + x.cpuSystemUs }));
}

async function runOne(variant: Variant, kind: VictimKind, log: (s: string) => void): Promise<RunResult> {
  const loadStart = loadavg()[0] ?? 0;
  const cluster = await LocalCluster.start(
    { variant, acceptors: ACCEPTORS, learners: 1, clients: 1, http: true, ledger: { kind: "wal", sync: walSync } },
    { statsMs: BUCKET_MS },
  );
  current = cluster;
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
      const c = hostCpuNow();
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
    current = null;
  }
}

const victimName = (r: RunResult) => (r.victimKind === "coordinator" ? `the coordinator (node ${r.victim})` : `acceptor ${r.victim} (not the coordinator)`);
const signed = (ms: number) => `${ms >= 0 ? "+" : "−"}${Math.abs(Math.round(ms)).toLocaleString("en-US")} ms`;
const ms1 = (us: number) => Math.round(us / 100) / 10;
const fmt = (x: number | null, digits = 0) => (x === null ? "never" : x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }));

function charts(r: RunResult): LineChart[] {
  const markers: ChartMarker[] = [
    { x: r.times.killMs / 1000, label: `kill -9 node ${r.victim}` },
    { x: r.times.restartMs / 1000, label: `restart node ${r.victim}` },
  ];
  const x = { label: "time since the load started (s)", min: 0, max: durationS };
  const b = r.buckets;
  const zoomX = (label: string) => ({ label: `ms since the ${label}` });
  return [
    {
      title: `Values delivered per second (${BUCKET_MS} ms buckets)`,
      x,
      y: { label: "values/s", min: 0 },
      series: [
        { name: `at the client (${rate} values/s offered)`, points: b.map((p) => ({ x: p.t, y: p.valuesPerSec })) },
        { name: `at learner ${r.learner.id} (its stats lines, every ${BUCKET_MS} ms)`, points: r.learner.points.map((p) => ({ x: p.t, y: p.valuesPerSec })) },
      ],
      markers,
      height: 200,
    },
    {
      title: `MB/s delivered at the client (${valueSize} B values)`,
      x,
      y: { label: "MB/s (10^6 bytes)", min: 0 },
      series: [{ name: "at the client", points: b.map((p) => ({ x: p.t, y: p.mbPerSec })) }],
      markers,
      height: 140,
    },
    {
      title: "Propose-to-delivery latency of the values delivered in each bucket (log scale)",
      x,
      y: { label: "latency (ms)", log: true },
      series: [
        { name: "p50", points: b.filter((p) => p.p50Us !== null).map((p) => ({ x: p.t, y: (p.p50Us as number) / 1000 })) },
        { name: "p99", points: b.filter((p) => p.p99Us !== null).map((p) => ({ x: p.t, y: (p.p99Us as number) / 1000 })) },
      ],
      markers,
      height: 200,
    },
    {
      title: `CPU, % of one core (the host has ${r.cpu.cores} cores): what else ran beside the cluster`,
      x,
      y: { label: "% of one core", min: 0 },
      series: [
        { name: "whole host, busy (/proc/stat)", points: r.cpu.host.map((p) => ({ x: p.t, y: p.pct })) },
        { name: "this cluster's nodes (acceptors, learner; not the client)", points: r.cpu.nodes.map((pct, i) => ({ x: (i * BUCKET_MS) / 1000, y: pct })) },
        { name: "steal (the hypervisor running other machines)", points: r.cpu.host.map((p) => ({ x: p.t, y: p.stealPct })) },
      ],
      markers,
      height: 140,
    },
    {
      title: `Close-up of the kill: values/s in ${ZOOM_BIN_MS} ms bins (gap ${fmt(r.figures.killGap.ms)} ms)`,
      x: zoomX("kill"),
      y: { label: "values/s", min: 0 },
      series: [{ name: "at the client", points: r.zoomKill.map((p) => ({ x: Math.round(p.ms - r.times.killMs), y: p.valuesPerSec })) }],
      markers: killMarkers(r),
      height: 140,
    },
    {
      title: `Close-up of the restart: values/s in ${ZOOM_BIN_MS} ms bins (longest stretch without deliveries ${fmt(r.figures.restartGap.ms)} ms)`,
      x: zoomX("restart"),
      y: { label: "values/s", min: 0 },
      series: [{ name: "at the client", points: r.zoomRestart.map((p) => ({ x: Math.round(p.ms - r.times.restartMs), y: p.valuesPerSec })) }],
      markers: [
        { x: 0, label: "restart" },
        { x: r.times.upMs - r.times.restartMs, label: `node ${r.victim} up`, row: 1 },
        ...eventMarkers(r, r.times.restartMs, r.times.endMs, 2),
      ],
      height: 140,
    },
  ];
}

/** Leadership changes in [fromMs, toMs) as close-up markers (x: ms since fromMs), one label row each from `row` on. */
function eventMarkers(r: RunResult, fromMs: number, toMs: number, row: number): ChartMarker[] {
  return r.leadership
    .filter((e) => e.ms >= fromMs && e.ms < toMs)
    .map((e, i) => ({ x: e.ms - fromMs, label: `node ${e.node}${e.incarnation > 0 ? " (restarted)" : ""} ${e.msg.startsWith("leading") ? "leads" : "stands down"}`, row: row + i }));
}

function killMarkers(r: RunResult): ChartMarker[] {
  const events = eventMarkers(r, r.times.killMs, r.times.killMs + ZOOM_AFTER_MS, 1);
  const resumed = r.figures.resumedAfterKillMs;
  return [{ x: 0, label: "kill -9" }, ...events, ...(resumed !== null ? [{ x: resumed, label: "deliveries resume", row: events.length + 1 }] : [])];
}

function title(r: RunResult): string[] {
  return [
    `${NAME[r.variant]}: kill -9 of ${victimName(r)} at ${(r.times.killMs / 1000).toFixed(1)} s, restarted at ${(r.times.restartMs / 1000).toFixed(1)} s`,
    `${ACCEPTORS} acceptors (WAL, ${walSync === "none" ? "no sync" : "fdatasync"}), 1 learner, 1 client offering ${rate} values/s of ${valueSize} B`,
  ];
}

function summary(runs: readonly RunResult[]): string {
  const lines = [
    "# Failure trace (thesis Figure 5.11)",
    "",
    `Generated by \`./node_modules/.bin/bun bench/failure-trace.ts\` on ${new Date().toISOString().slice(0, 10)}. Each run: a local cluster of real processes on loopback`,
    `(${ACCEPTORS} acceptors with write-ahead logs, ${walSync === "none" ? "written without fdatasync (a SIGKILL loses nothing written)" : "fdatasync before every reply"}; 1 learner; 1 client), an open-loop client offering`,
    `${rate} values/s of ${valueSize} B (proposer window ${window}) for ${durationS} s; the victim gets SIGKILL at ${killAtS} s and is restarted from its log at ${restartAtS} s.`,
    `Throughput and latency are those of the values delivered to the client (\`paxos client --timeline\`), in ${BUCKET_MS} ms buckets; "before" is ${warmupS}–${killAtS} s.`,
    "",
    "| run | victim | leader / ring before → after the kill | throughput before kill (median per bucket) | gap (ms) | kill → first delivery (ms) | kill → resumed (ms) | kill → restart: median (mean) values/s | after restart: median values/s | gap at restart (ms; its start from the restart) | p99 latency before / kill→restart / after (ms) |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const r of runs) {
    const f = r.figures;
    const s = r.snapshots;
    lines.push(
      `| ${NAME[r.variant]}, ${r.victimKind} | node ${r.victim} | ${s.beforeKill.leader} ${JSON.stringify(s.beforeKill.ring)} → ${s.afterKill.leader ?? "none"} ${JSON.stringify(s.afterKill.ring)} | ` +
        `${fmt(f.before.medianValuesPerSec)} values/s = ${f.before.medianMbPerSec.toFixed(2)} MB/s | **${fmt(f.killGap.ms)}** | ${fmt(f.firstDeliveryAfterKillMs)} | ${fmt(f.resumedAfterKillMs)} | ` +
        `${fmt(f.during.medianValuesPerSec)} (${fmt(f.during.meanValuesPerSec)}) | ${fmt(f.after.medianValuesPerSec)} | ${fmt(f.restartGap.ms)} (at ${signed(f.restartGap.fromMs - r.times.restartMs)}) | ` +
        `${ms1(f.before.p99Us)} / ${ms1(f.during.p99Us)} / ${ms1(f.after.p99Us)} |`,
    );
  }
  lines.push(
    "",
    `- **gap**: the longest stretch without a delivery to the client that overlaps [kill, kill + ${GAP_WINDOW_MS / 1000} s), from the last delivery before it to the first after it (a stretch that begins in that window counts whole; later stalls are the machine's noise).`,
    `  For reference, the longest such stretch between ${warmupS} s and the kill (noise alone): ${runs.map((r) => `${NAME[r.variant]} ${r.victimKind} ${fmt(r.figures.baselineGap.ms)} ms`).join(", ")}.`,
    "- **kill → first delivery**: to the first value delivered after the kill (values decided just before it may still trickle in); **kill → resumed**: to the end of the gap.",
    "- **mean** over kill → restart counts the outage; the **median** per bucket is the rate the cluster settled at.",
    `- **gap at restart**: the same over [restart, restarted node up + ${GAP_WINDOW_MS / 1000} s): the restarted node rejoining (it was up ${runs.map((r) => r.times.upMs - r.times.restartMs).join(", ")} ms after the restart: starting a process and replaying its log).`,
    `- CPU, median per bucket over the run, % of one core (${runs[0]?.cpu.cores ?? "?"} cores): ${runs.map((r) => `${NAME[r.variant]} ${r.victimKind}: host busy ${median(r.cpu.host.map((p) => p.pct)).toFixed(0)} %, of which the cluster's nodes ${median(r.cpu.nodes).toFixed(0)} %, steal ${median(r.cpu.host.map((p) => p.stealPct)).toFixed(0)} %`).join("; ")} (per bucket in the plots and the JSON).`,
    `- The host's 1-minute load average at the start and end of each run (2 cores; other work on the machine competes): ${runs.map((r) => `${NAME[r.variant]} ${r.victimKind} ${r.loadAvg.start}–${r.loadAvg.end}`).join(", ")}; ` +
      `the experiment's processes ran at nice ${getPriority()}${getPriority() < 0 ? " (ahead of the other work on the machine)" : ""}.`,
    "- Leadership changes seen in the nodes' logs (ms since the load started):",
  );
  for (const r of runs)
    lines.push(
      `  - ${NAME[r.variant]}, ${r.victimKind}: ${r.leadership.map((e) => `${e.ms} node ${e.node}${e.incarnation > 0 ? " (restarted)" : ""} ${e.msg.startsWith("leading") ? "leads" : "stood down"}${e.round !== null ? ` (round ${e.round})` : ""}`).join("; ") || "none"}`,
    );
  lines.push("", "Plots: " + runs.map((r) => `[\`${file(r)}\`](${file(r)})`).join(", ") + "; every series and figure: [`failure-trace.json`](failure-trace.json).", "");
  return lines.join("\n");
}

const file = (r: RunResult) => `${r.variant}-${r.victimKind}.svg`;

async function main(): Promise<void> {
  const stop = (sig: string) => {
    process.stderr.write(`\nfailure-trace: ${sig}: stopping every process of the run\n`);
    killEverything();
    void (current?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
  };
  process.once("SIGINT", () => stop("SIGINT"));
  process.once("SIGTERM", () => stop("SIGTERM"));
  mkdirSync(a.out, { recursive: true });
  const runs: RunResult[] = [];
  const total = variants.length * victims.length;
  const started = Date.now();
  for (const variant of variants)
    for (const kind of victims) {
      process.stderr.write(`[${runs.length + 1}/${total}, ${Math.round((Date.now() - started) / 1000)} s] ${NAME[variant]}, kill the ${kind}\n`);
      const r = await runOne(variant, kind, (s) => process.stderr.write(`${s}\n`));
      runs.push(r);
      const f = r.figures;
      process.stderr.write(
        `  before ${fmt(f.before.medianValuesPerSec)} values/s; gap ${fmt(f.killGap.ms)} ms, first delivery after ${fmt(f.firstDeliveryAfterKillMs)} ms, resumed after ${fmt(f.resumedAfterKillMs)} ms; ` +
          `kill→restart ${fmt(f.during.medianValuesPerSec)} values/s; after restart ${fmt(f.after.medianValuesPerSec)} values/s (gap ${fmt(f.restartGap.ms)} ms); ` +
          `p99 ${ms1(f.before.p99Us)} / ${ms1(f.during.p99Us)} / ${ms1(f.after.p99Us)} ms\n`,
      );
      writeFileSync(join(a.out, file(r)), await stackedChartsSvg(charts(r), title(r)));
    }
  const setup = { nice: getPriority(), acceptors: ACCEPTORS, learners: 1, clients: 1, ledger: { kind: "wal", sync: walSync }, rate, valueSize, window, durationS, killAtS, restartAtS, warmupS, bucketMs: BUCKET_MS, zoomBinMs: ZOOM_BIN_MS };
  writeFileSync(join(a.out, "failure-trace.json"), `${JSON.stringify({ setup, runs }, null, 1)}\n`);
  const md = summary(runs);
  writeFileSync(join(a.out, "summary.md"), md);
  process.stdout.write(md);
  process.stderr.write(`wrote ${a.out}/ (summary.md, failure-trace.json, ${runs.map(file).join(", ")}) in ${Math.round((Date.now() - started) / 1000)} s\n`);
}

try {
  await main();
} catch (e) {
  process.stderr.write(`failure-trace: ${e instanceof Error ? e.message : String(e)}\n`);
  killEverything();
  process.exitCode = 1;
}

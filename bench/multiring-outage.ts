/**
 * Multi-Ring Paxos under a coordinator outage (thesis Figure 5.11, §5.4.7): two rings, one
 * learner merging both; ring 1's coordinator is stopped and restarted, and the learner's merged
 * delivery drops to 0 (it cannot merge without ring 1) until a coordinator leads ring 1 again and
 * skips at once what the ring would have decided at rate λ during the outage.
 *
 * A local cluster of real processes (`LocalCluster`, `multiRingLayout`): ring 1 = nodes 0, 1, 2
 * (node 0 coordinates), ring 2 = nodes 3, 4, 5 (node 3 coordinates), every acceptor with a
 * write-ahead log; learner 6 subscribes to groups 1 and 2; clients 7 (group 1) and 8 (group 2)
 * offer the same open-loop rate. At --stop-at s whoever leads ring 1 (node 0) gets SIGKILL; at
 * --restart-at s it is started again from its log. The learner's stats lines (every 250 ms) give
 * per ring the values delivered into the merge, the merge's backlog and the slots its skip
 * instances stood for, and what the merge released. Writes outage.svg, outage.json (every
 * series, the options, the host) and summary.md.
 *
 *   ./node_modules/.bin/bun bench/multiring-outage.ts [--duration 25] [--stop-at 10] [--restart-at 13]
 *       [--rate 2000] [--value-size 1024] [--lambda 5000] [--delta-ms 5] [--m 1] [--window 256]
 *       [--warmup 3] [--wal-sync none|fsync] [--stats-ms 50] [--max-start-offset-ms 0] [--start-attempts 5]
 *       [--out bench/results/multiring-outage]
 *
 * λ defaults to 5,000 instances/s (the thesis' value that kept its rings in step, Fig. 5.8), well
 * above what a ring decides at the default load (up to one instance per value, 2,000/s): a ring
 * whose rate exceeds λ runs ahead of the other for good. The learner reports every --stats-ms
 * (the failover takes a few hundred ms: 250 ms periods would hide the stop of the merge); the
 * plots' rates and most figures are per 250 ms. See startInStep for --max-start-offset-ms.
 *
 * Every child process is reaped on success, on error and on SIGINT/SIGTERM (exit 130).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, getPriority, loadavg, release, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { killEverything, LocalCluster, type StatsLine } from "../src/bench/cluster.ts";
import { stackedChartsSvg, type ChartMarker, type LineChart } from "../src/bench/chart.ts";
import { multiRingLayout, type MultiRingLayout } from "../src/bench/multiring-layout.ts";
import { readTimeline, wallClockMs, type ClientReport } from "../src/cli/client.ts";
import { MultiRingSchema } from "../src/config/schema.ts";
import { hostCpuSeries, median, parseProcStat, processCpuByBucket, type HostCpuSample } from "../src/bench/failure-trace.ts";
import {
  backlogPeaks,
  coarsen,
  learnerPeriods,
  longestStretch,
  medianMerged,
  ratePerBucket,
  recovery,
  skipBurst,
  type LearnerPeriod,
  type SkipBurst,
  type Stretch,
} from "../src/bench/multiring-outage.ts";

const defaults = MultiRingSchema.parse({});
/** The periods of the plots and of most figures; the learner reports every --stats-ms (finer: the outage's gap is a few hundred ms). */
const BUCKET_MS = 250;
const { values: a } = parseArgs({
  options: {
    out: { type: "string", default: "bench/results/multiring-outage" },
    duration: { type: "string", default: "25" },
    "stop-at": { type: "string", default: "10" },
    "restart-at": { type: "string", default: "13" },
    rate: { type: "string", default: "2000" },
    "value-size": { type: "string", default: "1024" },
    // Above the instances a ring decides per second at this load (up to one per value): see LAMBDA.
    lambda: { type: "string", default: "5000" },
    "delta-ms": { type: "string", default: String(defaults.deltaMs) },
    m: { type: "string", default: String(defaults.m) },
    window: { type: "string", default: "256" },
    warmup: { type: "string", default: "3" },
    "wal-sync": { type: "string", default: "none" },
    "stats-ms": { type: "string", default: "50" },
    "max-start-offset-ms": { type: "string", default: "0" },
    "start-attempts": { type: "string", default: "5" },
  },
});

function usage(msg: string): never {
  process.stderr.write(`multiring-outage: ${msg}\n`);
  process.exit(2);
}

function num(flag: string, v: string, min: number): number {
  const x = Number(v);
  if (!Number.isFinite(x) || x < min) usage(`--${flag}: expected a number >= ${min}, got ${v}`);
  return x;
}

const durationS = num("duration", a.duration, 1);
const stopAtS = num("stop-at", a["stop-at"], 0);
const restartAtS = num("restart-at", a["restart-at"], 0);
const rate = Math.round(num("rate", a.rate, 1));
const valueSize = Math.round(num("value-size", a["value-size"], 1));
const lambda = num("lambda", a.lambda, 0);
const deltaMs = Math.round(num("delta-ms", a["delta-ms"], 1));
const m = Math.round(num("m", a.m, 1));
const window = Math.round(num("window", a.window, 1));
const warmupS = num("warmup", a.warmup, 0);
const statsMs = Math.round(num("stats-ms", a["stats-ms"], 10));
const maxStartOffsetMs = num("max-start-offset-ms", a["max-start-offset-ms"], 0);
const startAttempts = Math.round(num("start-attempts", a["start-attempts"], 1));
const walSync = a["wal-sync"] === "fsync" ? "fsync" : a["wal-sync"] === "none" ? "none" : usage(`--wal-sync: expected none|fsync, got ${a["wal-sync"]}`);
if (statsMs > BUCKET_MS || BUCKET_MS % statsMs !== 0) usage(`--stats-ms: expected a divisor of ${BUCKET_MS}, got ${statsMs}`);
if (!(warmupS < stopAtS && stopAtS < restartAtS && restartAtS < durationS)) usage("expected --warmup < --stop-at < --restart-at < --duration");

const RINGS = [1, 2] as const;
const LAYOUT: MultiRingLayout = {
  rings: 2,
  acceptorsPerRing: 3,
  shareAcceptors: false,
  groupsPerLearner: "all",
  learners: 1,
  clientsPerRing: 1,
  lambdaPerSecond: lambda,
  deltaMs,
  m,
};
/** The outage counts from the stop until this long after the restart (a stall later is noise). */
const OUTAGE_WINDOW_S = 2;
/** Recovered: the merged rate at least this fraction of the one before the stop. */
const RECOVERY_FRACTION = 0.9;
/** Drained: every ring's backlog at most its maximum before the stop (at least this) for this many periods. */
const DRAIN_MIN_BACKLOG = 4;
const DRAIN_HOLD_PERIODS = 4;

/** One start of the cluster: the merge's idle backlog per ring (instances) and the lead it means (ms). */
interface StartAttempt {
  readonly attempt: number;
  readonly idleBacklog: readonly number[];
  readonly offsetMs: number;
}

interface LeadershipEvent {
  /** ms since the load started. */
  readonly ms: number;
  readonly node: number;
  /** 0: the first incarnation; 1: after the restart. */
  readonly incarnation: number;
  readonly ring: number;
  readonly msg: string;
  readonly round: number | null;
}

/** Who leads each ring as the learner's /status tells, polled every stats period. */
interface LeaderSample {
  readonly ms: number;
  readonly leaders: Readonly<Record<string, number | null>>;
}

interface ClientResult {
  readonly id: number;
  readonly group: number;
  readonly report: ClientReport;
  /** Values delivered to the client over its whole run (its timeline: warm-up and drain included). */
  readonly ackedTotal: number;
  readonly points: readonly { t: number; valuesPerSec: number }[];
  /** The longest stretch without an ack overlapping the outage window (ms since the load started). */
  readonly longestSilence: { fromMs: number; toMs: number; ms: number };
}

interface Figures {
  readonly before: { valuesPerSec: number; mbPerSec: number; incomingPerRing: number[] };
  /** The longest run of stats periods (--stats-ms) with nothing merged that overlaps [stop, stop + 2 s). */
  readonly mergedZero: Stretch | null;
  /** The same for ring 1's incoming values. */
  readonly ring1Zero: Stretch | null;
  /** Nothing merged, overlapping [restart, restarted node up + 2 s): the restarted node rejoining. */
  readonly restartZero: Stretch | null;
  readonly skips: readonly SkipBurst[];
  /** What the takeover should have skipped at once: λ × (takeover − ring 1's last delivery to the merge before the stop), slots. */
  readonly expectedOwedSlots: number | null;
  readonly backlog: ReturnType<typeof backlogPeaks>;
  readonly recovery: { rateS: number | null; drainedS: number | null };
  /** Median per period of the merge wait's p99 before the stop and from restart + 2 s to the end (µs); its peak in between. */
  readonly mergeWaitUs: { beforeP99: number; peakP99: number; peakAtS: number | null; afterP99: number };
  readonly after: { valuesPerSec: number; mbPerSec: number };
}

interface Result {
  readonly times: { stopMs: number; goneMs: number; restartMs: number; upMs: number; endMs: number };
  readonly victim: number;
  readonly learner: number;
  /** The cluster's starts until its rings were in step (see startInStep); the last one ran. */
  readonly starts: readonly StartAttempt[];
  readonly leadership: readonly LeadershipEvent[];
  /** The first "leading" on ring 1 after the stop by a process other than the victim's first incarnation. */
  readonly takeover: LeadershipEvent | null;
  readonly leaders: readonly LeaderSample[];
  /** Per ring, its leading coordinator's flow window (instances in flight) and cuts so far, from its stats lines (x: s since the load started). */
  readonly windows: Readonly<Record<string, readonly { t: number; node: number; window: number; cuts: number }[]>>;
  /** The learner's stats in BUCKET_MS periods, and as it reported them (every --stats-ms). */
  readonly periods: readonly LearnerPeriod[];
  readonly fine: readonly LearnerPeriod[];
  readonly clients: readonly ClientResult[];
  readonly final: {
    /** The learner's last stats line after the load: merged values, per ring delivered values, backlog, skipped slots. */
    readonly merged: number;
    readonly rings: Readonly<Record<string, { delivered: number; backlog: number | null; skippedSlots: number }>>;
    readonly proposed: number;
    readonly acked: number;
  };
  readonly figures: Figures;
  /**
   * CPU in % of one core: the whole host from /proc/stat (busy, steal), this cluster's nodes (not
   * the clients) per bucket from their stats lines, and each client's over its run.
   */
  readonly cpu: { cores: number; host: readonly { t: number; pct: number; stealPct: number }[]; nodes: readonly number[]; clients: readonly number[] };
  readonly loadAvg: { start: number; end: number };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));
let current: LocalCluster | null = null;

function hostCpuNow(): { busy: number; steal: number; total: number } | null {
  try {
    return parseProcStat(readFileSync("/proc/stat", "utf8"));
  } catch {
    return null;
  }
}

/** "leading" and "stood down" lines of a node's log, on the load's clock (multi-ring lines carry their ring). */
function leadership(lines: readonly string[], node: number, incarnation: number, t0: number): LeadershipEvent[] {
  const out: LeadershipEvent[] = [];
  for (const l of lines) {
    if (!l.includes("leading") && !l.includes("stood down")) continue;
    try {
      const j = JSON.parse(l) as { time?: string; msg?: string; round?: number; ring?: number };
      if (!j.time || !j.msg || j.ring === undefined) continue;
      out.push({ ms: Math.round(Date.parse(j.time) - t0), node, incarnation, ring: j.ring, msg: j.msg, round: j.round ?? null });
    } catch {
      /* not a JSON line */
    }
  }
  return out;
}

/** A node's stats lines as cumulative CPU readings on the load's clock. */
function cpuReadings(stats: readonly StatsLine[], t0: number): { ms: number; cpuUs: number }[] {
  return stats.filter((x) => x.wall !== undefined).map((x) => ({ ms: (x.wall as number) - t0, cpuUs: x.cpuUserUs + x.cpuSystemUs }));
}

async function leaders(c: LocalCluster, learner: number): Promise<Record<string, number | null> | null> {
  const s = await c.status(learner);
  if (!s?.rings) return null;
  return Object.fromEntries(RINGS.map((r) => [String(r), s.rings?.[String(r)]?.leadership.leader ?? null]));
}

/** The longest stretch without an ack overlapping [fromMs, toMs) (acks ascending). */
function silence(acks: readonly number[], fromMs: number, toMs: number, endMs: number): { fromMs: number; toMs: number; ms: number } {
  let best = { fromMs, toMs: fromMs, ms: 0 };
  let prev = 0;
  for (const t of [...acks, endMs]) {
    if (t > fromMs && prev < toMs && t - prev > best.ms) best = { fromMs: Math.round(prev), toMs: Math.round(t), ms: Math.round(t - prev) };
    prev = Math.max(prev, t);
  }
  return best;
}

/**
 * Starts the cluster and measures how far apart its rings run once both are led: idle, a ring
 * decides one skip instance per Δ, so the merge's idle backlog of a ring times Δ is its lead.
 * Rings whose coordinators began at different moments are brought in step by the learner's
 * "lagging" notices (src/multiring/lag-watch.ts), so the lead left is small. With
 * --max-start-offset-ms above 0, a lead above it has the cluster started again (at most
 * --start-attempts times): the check from before the lagging notices existed, kept as an option.
 */
async function startInStep(log: (s: string) => void): Promise<{ cluster: LocalCluster; starts: StartAttempt[] }> {
  const starts: StartAttempt[] = [];
  for (let attempt = 1; ; attempt++) {
    const cluster = await LocalCluster.start(
      { variant: "mring", acceptors: 0, learners: 0, clients: 0, multiRing: LAYOUT, http: true, ledger: { kind: "wal", sync: walSync } },
      { statsMs },
    );
    current = cluster;
    try {
      const learner = cluster.ids("learner")[0] as number;
      // Both rings led before the load starts.
      const deadline = Date.now() + 15_000;
      for (;;) {
        const l = await leaders(cluster, learner);
        if (l && RINGS.every((r) => l[String(r)] !== null)) break;
        if (Date.now() > deadline) throw new Error(`a ring has no leader after start-up: ${JSON.stringify(l)}`);
        await sleep(50);
      }
      await sleep(500);
      const samples: number[][] = [];
      for (let i = 0; i < 5; i++) {
        const st = await cluster.status(learner);
        if (st?.rings) samples.push(RINGS.map((r) => st.rings?.[String(r)]?.mergeBacklog ?? 0));
        await sleep(100);
      }
      const backlog = RINGS.map((_, ri) => median(samples.map((x) => x[ri] ?? 0)));
      const offsetMs = Math.max(...backlog) * deltaMs;
      starts.push({ attempt, idleBacklog: backlog, offsetMs });
      const ok = maxStartOffsetMs === 0 || offsetMs <= maxStartOffsetMs;
      if (ok || attempt >= startAttempts) {
        if (!ok) log(`  the rings start ${offsetMs} ms apart (idle merge backlog ${backlog.join("/")}) after ${attempt} attempts: running anyway`);
        else if (attempt > 1) log(`  the rings start ${offsetMs} ms apart at attempt ${attempt}`);
        return { cluster, starts };
      }
      log(`  attempt ${attempt}: the rings start ${offsetMs} ms apart (idle merge backlog ${backlog.join("/")} instances): starting the cluster again`);
    } catch (e) {
      await cluster.stop();
      throw e;
    }
    await cluster.stop();
  }
}

async function run(log: (s: string) => void): Promise<Result> {
  const loadStart = loadavg()[0] ?? 0;
  const plan = multiRingLayout(LAYOUT);
  const ring1 = plan.rings.find((r) => r.id === 1);
  if (!ring1) throw new Error("the layout has no ring 1");
  const { cluster, starts } = await startInStep(log);
  let sampler: ReturnType<typeof setInterval> | undefined;
  try {
    const learner = cluster.ids("learner")[0] as number;
    const clientIds = cluster.clientIds();
    const t0 = wallClockMs();
    const rel = () => wallClockMs() - t0;
    const loads = clientIds.map((id) => {
      const group = cluster.nodes.find((n) => n.id === id)?.group as number;
      return {
        id,
        group,
        timeline: join(cluster.dir, `timeline-${id}.jsonl`),
        done: cluster.run([
          "client", "--config", cluster.configFile, "--id", String(id), "--group", String(group),
          "--rate", String(rate), "--window", String(window), "--value-size", String(valueSize),
          "--duration", String(durationS - warmupS), "--warmup", String(warmupS), "--json",
          "--timeline", join(cluster.dir, `timeline-${id}.jsonl`),
        ]),
      };
    });
    const cpuSamples: HostCpuSample[] = [];
    const leaderSamples: LeaderSample[] = [];
    let polling = false;
    const sample = () => {
      const c = hostCpuNow();
      if (c) cpuSamples.push({ ms: rel(), ...c });
      if (polling) return;
      polling = true;
      const ms = Math.round(rel());
      void leaders(cluster, learner)
        .then((l) => {
          if (l) leaderSamples.push({ ms, leaders: l });
        })
        .finally(() => (polling = false));
    };
    sample();
    sampler = setInterval(sample, BUCKET_MS);

    await sleep(stopAtS * 1000 - rel());
    // Whoever leads ring 1 now (node 0 unless it lost its leadership before).
    const seen = leaderSamples.at(-1)?.leaders["1"] ?? null;
    const victim = seen !== null && ring1.acceptors.includes(seen) ? seen : ring1.coordinator;
    const stopMs = rel();
    await cluster.kill(victim, "SIGKILL");
    const goneMs = rel();
    log(`  kill -9 node ${victim} (ring 1's leader${seen === null ? ": none seen, the layout's coordinator" : ""}) at ${(stopMs / 1000).toFixed(3)} s`);
    // The restart replaces the victim's log and stats lines: keep its first incarnation's.
    const victimLog = [...(cluster.logs.get(victim) ?? [])];
    const victimStats = [...(cluster.stats.get(victim) ?? [])];

    await sleep(restartAtS * 1000 - rel());
    const restartMs = rel();
    await cluster.restart(victim);
    const upMs = rel();
    log(`  restarted node ${victim} at ${(restartMs / 1000).toFixed(3)} s (up after ${Math.round(upMs - restartMs)} ms)`);

    const done = await Promise.all(loads.map((l) => l.done));
    // Two more stats periods: the learner's counts after the last values landed.
    await sleep(3 * BUCKET_MS);
    clearInterval(sampler);
    const endMs = durationS * 1000;
    const clients: ClientResult[] = loads.map((l, i) => {
      const r = done[i] as { code: number; out: string; err: string };
      if (r.code !== 0) throw new Error(`client ${l.id} failed (exit ${r.code}): ${r.err.trim().split("\n").slice(-3).join(" | ")}`);
      const report = JSON.parse(r.out.trim().split("\n").at(-1) ?? "{}") as ClientReport;
      const acks = readTimeline(l.timeline)
        .map((e) => e.t - t0)
        .sort((x, y) => x - y);
      return {
        id: l.id,
        group: l.group,
        report,
        ackedTotal: acks.length,
        points: ratePerBucket(acks, BUCKET_MS, endMs),
        longestSilence: silence(acks, stopMs, stopMs + OUTAGE_WINDOW_S * 1000, endMs),
      };
    });

    const stats = cluster.stats.get(learner) ?? [];
    const last = stats.at(-1) as StatsLine | undefined;
    const fine = learnerPeriods(stats, t0, RINGS).filter((p) => p.t >= 0 && p.t < durationS + 1);
    const periods = coarsen(fine, BUCKET_MS / 1000);
    const events = [
      ...ring1.acceptors.flatMap((id) => leadership(id === victim ? victimLog : (cluster.logs.get(id) ?? []), id, 0, t0)),
      ...leadership(cluster.logs.get(victim) ?? [], victim, 1, t0),
      ...plan.rings.filter((r) => r.id !== 1).flatMap((r) => r.acceptors.flatMap((id) => leadership(cluster.logs.get(id) ?? [], id, 0, t0))),
    ].sort((x, y) => x.ms - y.ms);
    const windows = Object.fromEntries(
      plan.rings.map((ring) => {
        const lines = ring.acceptors.flatMap((id) => [...(id === victim ? victimStats : []), ...(cluster.stats.get(id) ?? [])]);
        const pts = lines
          .filter((x) => x.wall !== undefined && x.rings?.[String(ring.id)]?.window !== undefined)
          .map((x) => {
            const rr = x.rings?.[String(ring.id)] as { window?: number; windowCuts?: number };
            return { t: Math.round((x.wall as number) - t0) / 1000, node: x.id, window: rr.window as number, cuts: rr.windowCuts ?? 0 };
          })
          .filter((q) => q.t >= 0 && q.t < durationS + 1)
          .sort((x, y) => x.t - y.t);
        return [String(ring.id), pts];
      }),
    );
    const takeover = events.find((e) => e.ring === 1 && e.ms >= stopMs && e.msg.startsWith("leading") && !(e.node === victim && e.incarnation === 0)) ?? null;
    const figures = computeFigures(periods, fine, { stopMs, restartMs, upMs, takeoverMs: takeover?.ms ?? null });
    return {
      times: { stopMs: Math.round(stopMs), goneMs: Math.round(goneMs), restartMs: Math.round(restartMs), upMs: Math.round(upMs), endMs },
      victim,
      learner,
      starts,
      leadership: events,
      takeover,
      leaders: leaderSamples,
      windows,
      periods,
      fine,
      clients,
      final: {
        merged: last?.delivered ?? 0,
        rings: Object.fromEntries(
          RINGS.map((r) => {
            const x = last?.rings?.[String(r)];
            return [String(r), { delivered: x?.delivered ?? 0, backlog: x?.backlog ?? null, skippedSlots: x?.skippedSlots ?? 0 }];
          }),
        ),
        proposed: clients.reduce((n, c) => n + c.report.proposed, 0),
        acked: clients.reduce((n, c) => n + c.ackedTotal, 0),
      },
      figures,
      cpu: {
        cores: availableParallelism(),
        host: hostCpuSeries(cpuSamples, availableParallelism()).filter((p) => p.t >= 0 && p.t < durationS),
        nodes: processCpuByBucket([...cluster.nodes.filter((n) => !clientIds.includes(n.id)).map((n) => cpuReadings(cluster.stats.get(n.id) ?? [], t0)), cpuReadings(victimStats, t0)], BUCKET_MS, endMs),
        clients: clients.map((c) => c.report.cpuPercent),
      },
      loadAvg: { start: Math.round(loadStart * 100) / 100, end: Math.round((loadavg()[0] ?? 0) * 100) / 100 },
    };
  } finally {
    clearInterval(sampler);
    await cluster.stop();
    current = null;
  }
}

function computeFigures(periods: readonly LearnerPeriod[], fine: readonly LearnerPeriod[], t: { stopMs: number; restartMs: number; upMs: number; takeoverMs: number | null }): Figures {
  const stopS = t.stopMs / 1000;
  const windowEndS = t.restartMs / 1000 + OUTAGE_WINDOW_S;
  const before = medianMerged(periods, warmupS, stopS);
  const steady = periods.filter((p) => p.t >= warmupS && p.t + p.dt <= stopS);
  // At the learner's own period (--stats-ms): a failover of a few hundred ms hides in 250 ms periods.
  const mergedZero = longestStretch(fine, (p) => p.merged === 0, stopS, stopS + OUTAGE_WINDOW_S);
  const ring1Zero = longestStretch(fine, (p) => (p.rings[0]?.valuesPerSec ?? 0) === 0, stopS, stopS + OUTAGE_WINDOW_S);
  const restartZero = longestStretch(fine, (p) => p.merged === 0, t.restartMs / 1000, t.upMs / 1000 + OUTAGE_WINDOW_S);
  // The burst: from the stop to 2 s after the restart (a takeover, and the restarted node's return).
  const skips = RINGS.map((_, ri) => skipBurst(periods, ri, warmupS, stopS, windowEndS));
  // Ring 1's last delivery into the merge before the takeover: the end of the last period with ring-1 deliveries before ring1Zero.
  const lastRing1 = ring1Zero ? ring1Zero.fromS : null;
  const expectedOwedSlots = t.takeoverMs !== null && lastRing1 !== null ? Math.round(lambda * Math.max(0, t.takeoverMs / 1000 - lastRing1)) : null;
  const backlog = backlogPeaks(fine, stopS, windowEndS);
  const limit = Math.max(DRAIN_MIN_BACKLOG, ...backlog.map((b) => b.beforeMax));
  const rec = recovery(periods, mergedZero ? mergedZero.toS : stopS, before.valuesPerSec, { fraction: RECOVERY_FRACTION, backlogLimit: limit, holdPeriods: DRAIN_HOLD_PERIODS });
  const during = periods.filter((p) => p.t + p.dt > stopS && p.t < windowEndS && p.mergeWaitP99Us !== null);
  const peak = during.reduce<LearnerPeriod | null>((b, p) => (b === null || (p.mergeWaitP99Us ?? 0) > (b.mergeWaitP99Us ?? 0) ? p : b), null);
  return {
    before: { ...before, incomingPerRing: RINGS.map((_, ri) => Math.round(median(steady.map((p) => p.rings[ri]?.valuesPerSec ?? 0)))) },
    mergedZero,
    ring1Zero,
    restartZero,
    skips,
    expectedOwedSlots,
    backlog,
    recovery: rec,
    mergeWaitUs: {
      beforeP99: Math.round(median(steady.map((p) => p.mergeWaitP99Us ?? 0))),
      peakP99: peak?.mergeWaitP99Us ?? 0,
      peakAtS: peak?.t ?? null,
      afterP99: Math.round(median(periods.filter((p) => p.t >= windowEndS && p.t + p.dt <= durationS).map((p) => p.mergeWaitP99Us ?? 0))),
    },
    after: medianMerged(periods, windowEndS, durationS),
  };
}

const fmt = (x: number | null, digits = 0) => (x === null ? "never" : x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }));
const rel = (s: number | null, from: number) => (s === null ? "never" : `${s - from >= 0 ? "+" : "−"}${Math.abs(s - from).toFixed(2)} s`);

function markers(r: Result): ChartMarker[] {
  const out: ChartMarker[] = [
    { x: r.times.stopMs / 1000, label: `kill -9 node ${r.victim}` },
    { x: r.times.restartMs / 1000, label: `restart node ${r.victim}`, row: 2 },
  ];
  if (r.takeover) out.push({ x: r.takeover.ms / 1000, label: `node ${r.takeover.node} leads ring 1`, row: 1 });
  return out;
}

function charts(r: Result): LineChart[] {
  const x = { label: "time since the load started (s)", min: 0, max: durationS };
  const mk = markers(r);
  const p = r.periods;
  const mid = (q: LearnerPeriod) => Math.round((q.t + q.dt / 2) * 1000) / 1000;
  return [
    {
      title: `Values each ring delivered into the learner's merge, per second (${BUCKET_MS} ms stats periods; ${rate.toLocaleString("en-US")} values/s offered per ring)`,
      x,
      y: { label: "values/s", min: 0 },
      series: RINGS.map((ring, ri) => ({ name: `ring ${ring}`, points: p.map((q) => ({ x: mid(q), y: q.rings[ri]?.valuesPerSec ?? 0 })) })),
      markers: mk,
      height: 180,
    },
    {
      title: `Values the merge delivered at learner ${r.learner}, per second (both groups)`,
      x,
      y: { label: "values/s", min: 0 },
      series: [{ name: "merged delivery", points: p.map((q) => ({ x: mid(q), y: q.mergedPerSec })) }],
      markers: mk,
      height: 180,
    },
    {
      title: `Merged delivery in MB/s (${valueSize} B values)`,
      x,
      y: { label: "MB/s (10^6 bytes)", min: 0 },
      series: [{ name: "merged delivery", points: p.map((q) => ({ x: mid(q), y: q.mergedMbPerSec })) }],
      markers: mk,
      height: 120,
    },
    {
      title: `The merge's backlog per ring, every ${statsMs} ms (instances waiting for the other ring's turn)`,
      x,
      y: { label: "instances", min: 0 },
      series: RINGS.map((ring, ri) => ({ name: `ring ${ring}`, points: r.fine.map((q) => ({ x: q.t + q.dt, y: q.rings[ri]?.backlog ?? 0 })) })),
      markers: mk,
      height: 160,
    },
    {
      title: `Slots skipped per ${BUCKET_MS} ms period (empty instances the skip instances stood for; λ = ${lambda.toLocaleString("en-US")}/s, Δ = ${deltaMs} ms)`,
      x,
      y: { label: "slots per period", min: 0 },
      series: RINGS.map((ring, ri) => ({ name: `ring ${ring}`, points: p.map((q) => ({ x: mid(q), y: q.rings[ri]?.skipped ?? 0 })) })),
      markers: mk,
      height: 180,
    },
    {
      title: `How long released instances waited in the merge, per period (log scale; p99: the largest of the ${statsMs} ms periods' p99)`,
      x,
      y: { label: "merge wait (ms)", log: true },
      series: [
        { name: "p50", points: p.filter((q) => q.mergeWaitP50Us !== null).map((q) => ({ x: mid(q), y: Math.max(0.001, (q.mergeWaitP50Us as number) / 1000) })) },
        { name: "p99", points: p.filter((q) => q.mergeWaitP99Us !== null).map((q) => ({ x: mid(q), y: Math.max(0.001, (q.mergeWaitP99Us as number) / 1000) })) },
      ],
      markers: mk,
      height: 160,
    },
    {
      title: "Each ring's leading coordinator's flow window (instances in flight; the merge's slow-down notices halve it)",
      x,
      y: { label: "instances", min: 0 },
      series: RINGS.map((ring) => ({ name: `ring ${ring}`, points: (r.windows[String(ring)] ?? []).map((q) => ({ x: q.t, y: q.window })) })),
      markers: mk,
      height: 120,
    },
    closeUp(r, r.times.stopMs, "stop", [{ x: 0, label: `kill -9 node ${r.victim}` }, ...(r.takeover ? [{ x: r.takeover.ms - r.times.stopMs, label: `node ${r.takeover.node} leads ring 1`, row: 1 }] : [])]),
    closeUp(r, r.times.restartMs, "restart", [
      { x: 0, label: `restart node ${r.victim}` },
      { x: r.times.upMs - r.times.restartMs, label: `node ${r.victim} up`, row: 1 },
      ...r.leadership
        .filter((e) => e.ring === 1 && e.ms >= r.times.restartMs && e.ms < r.times.upMs + ZOOM_AFTER_MS)
        .map((e, i) => ({ x: e.ms - r.times.restartMs, label: `node ${e.node} ${e.msg.startsWith("leading") ? "leads" : "stands down"}`, row: 2 + i })),
    ], r.times.upMs - r.times.restartMs),
    {
      title: "Values acked to each client per second (the learner's delivery notices)",
      x,
      y: { label: "values/s", min: 0 },
      series: r.clients.map((c) => ({ name: `client ${c.id} (group ${c.group})`, points: c.points.map((q) => ({ x: q.t + BUCKET_MS / 2000, y: q.valuesPerSec })) })),
      markers: mk,
      height: 160,
    },
    {
      title: `Host CPU, % of one core (${r.cpu.cores} cores; other work shares this host)`,
      x,
      y: { label: "% of one core", min: 0 },
      series: [
        { name: "whole host, busy (/proc/stat)", points: r.cpu.host.map((q) => ({ x: q.t, y: q.pct })) },
        { name: "this cluster's nodes (not the clients)", points: r.cpu.nodes.map((pct, i) => ({ x: (i * BUCKET_MS) / 1000, y: pct })) },
        { name: "steal", points: r.cpu.host.map((q) => ({ x: q.t, y: q.stealPct })) },
      ],
      markers: mk,
      height: 120,
    },
  ];
}

/** Close-ups: this long before and after the event, at the learner's own period. */
const ZOOM_BEFORE_MS = 500;
const ZOOM_AFTER_MS = 1500;

/** Merged and per-ring incoming values/s and skipped slots/s every --stats-ms around `atMs` (x: ms since it). */
function closeUp(r: Result, atMs: number, what: string, mk: ChartMarker[], extraMs = 0): LineChart {
  const inside = r.fine.filter((q) => q.t * 1000 >= atMs - ZOOM_BEFORE_MS && q.t * 1000 < atMs + extraMs + ZOOM_AFTER_MS);
  const x = (q: LearnerPeriod) => Math.round((q.t + q.dt / 2) * 1000 - atMs);
  return {
    title: `Close-up of the ${what}, every ${statsMs} ms: values/s merged and into the merge`,
    x: { label: `ms since the ${what}` },
    y: { label: "values/s", min: 0 },
    series: [
      { name: "merged delivery", points: inside.map((q) => ({ x: x(q), y: q.mergedPerSec })) },
      ...RINGS.map((ring, ri) => ({ name: `ring ${ring} into the merge`, points: inside.map((q) => ({ x: x(q), y: q.rings[ri]?.valuesPerSec ?? 0 })) })),
    ],
    markers: mk,
    height: 160,
  };
}

function title(r: Result): string[] {
  return [
    `Multi-Ring Paxos, 2 rings, learner ${r.learner} merging both: kill -9 of ring 1's coordinator (node ${r.victim}) at ${(r.times.stopMs / 1000).toFixed(1)} s, restarted at ${(r.times.restartMs / 1000).toFixed(1)} s`,
    `3 acceptors per ring (WAL, ${walSync === "none" ? "no sync" : "fdatasync"}), 1 client per ring offering ${rate.toLocaleString("en-US")} values/s of ${valueSize} B; λ ${lambda.toLocaleString("en-US")}/s, Δ ${deltaMs} ms, M ${m}`,
  ];
}

/** Flow-control cuts of `ring`'s coordinators' windows in [fromS, toS) (cumulative per coordinator incarnation). */
function cutsIn(r: Result, ring: number, fromS: number, toS: number): number {
  const pts = r.windows[String(ring)] ?? [];
  let n = 0;
  for (let i = 1; i < pts.length; i++) {
    const p = pts[i - 1] as { t: number; node: number; cuts: number };
    const x = pts[i] as { t: number; node: number; cuts: number };
    if (x.node === p.node && x.t >= fromS && x.t < toS) n += Math.max(0, x.cuts - p.cuts);
  }
  return n;
}

function minWindow(r: Result, ring: number, fromS: number): number | string {
  const w = (r.windows[String(ring)] ?? []).filter((p) => p.t >= fromS).map((p) => p.window);
  return w.length ? Math.min(...w) : "?";
}

function summary(r: Result): string {
  const f = r.figures;
  const stopS = r.times.stopMs / 1000;
  const s1 = f.skips[0] as SkipBurst;
  const s2 = f.skips[1] as SkipBurst;
  const ringLeaders = (ring: number) =>
    r.leadership
      .filter((e) => e.ring === ring)
      .map((e) => `${(e.ms / 1000).toFixed(3)} s node ${e.node}${e.incarnation > 0 ? " (restarted)" : ""} ${e.msg.startsWith("leading") ? "leads" : "stood down"}${e.round !== null ? ` (round ${e.round})` : ""}`)
      .join("; ") || "none";
  const lastLeaders = r.leaders.at(-1)?.leaders ?? {};
  const inFlight = r.final.proposed - r.final.acked;
  const ringDelivered = RINGS.reduce((n, ring) => n + (r.final.rings[String(ring)]?.delivered ?? 0), 0);
  const lines = [
    "# Multi-Ring Paxos: a coordinator outage at a merging learner (thesis Figure 5.11)",
    "",
    `Generated by \`./node_modules/.bin/bun bench/multiring-outage.ts\` on ${new Date().toISOString().slice(0, 10)}: a local cluster of real processes on loopback, two rings`,
    `of 3 acceptors each (write-ahead logs, ${walSync === "none" ? "no fdatasync" : "fdatasync"}; ring 1 = nodes 0-2 led by node 0, ring 2 = nodes 3-5 led by node 3), learner ${r.learner} merging both (M = ${m}),`,
    `one open-loop client per ring offering ${rate.toLocaleString("en-US")} values/s of ${valueSize} B (proposer window ${window}) for ${durationS} s; λ = ${lambda.toLocaleString("en-US")} instances/s, Δ = ${deltaMs} ms.`,
    `Ring 1's coordinator (node ${r.victim}) gets SIGKILL at ${stopS.toFixed(3)} s and is restarted from its log at ${(r.times.restartMs / 1000).toFixed(3)} s (up ${r.times.upMs - r.times.restartMs} ms later).`,
    `Every figure is from the learner's stats lines, every ${statsMs} ms, gathered into ${BUCKET_MS} ms periods but for the stretches without deliveries and the backlog (at ${statsMs} ms);`,
    `"before" is ${warmupS} s to the stop.`,
    "",
    "| figure | value |",
    "|---|---|",
    `| merged throughput before the stop (median per period) | **${fmt(f.before.valuesPerSec)} values/s = ${f.before.mbPerSec.toFixed(2)} MB/s** (incoming: ring 1 ${fmt(f.before.incomingPerRing[0] ?? 0)}, ring 2 ${fmt(f.before.incomingPerRing[1] ?? 0)} values/s) |`,
    `| rings in step at the start | ${(() => {
      const st = r.starts.at(-1);
      return st ? `${st.offsetMs} ms apart (idle merge backlog ${st.idleBacklog.join(" / ")} instances × Δ)${r.starts.length > 1 ? `, at start attempt ${r.starts.length} (before: ${r.starts.slice(0, -1).map((x) => `${x.offsetMs} ms`).join(", ")})` : ""}` : "?";
    })()} |`,
    `| flow control (window cuts at each ring's coordinator) | ${RINGS.map((ring) => `ring ${ring}: ${cutsIn(r, ring, 0, stopS)} before the stop, ${cutsIn(r, ring, stopS, durationS + 1)} after it (smallest window after the stop ${minWindow(r, ring, stopS)})`).join("; ")} |`,
    `| ring 1 takes over | ${r.takeover ? `node ${r.takeover.node}${r.takeover.incarnation > 0 ? " (restarted)" : ""} leads ring 1 at ${rel(r.takeover.ms / 1000, stopS)} after the stop (round ${r.takeover.round ?? "?"})` : "no takeover seen in the logs"} |`,
    `| longest stretch with 0 merged delivery | **${f.mergedZero ? `${((f.mergedZero.toS - f.mergedZero.fromS) * 1000).toFixed(0)} ms` : "none"}** ${f.mergedZero ? `(${f.mergedZero.periods} periods, ${rel(f.mergedZero.fromS, stopS)} to ${rel(f.mergedZero.toS, stopS)} from the stop)` : ""} |`,
    `| 0 merged delivery around the restart | ${f.restartZero ? `${((f.restartZero.toS - f.restartZero.fromS) * 1000).toFixed(0)} ms (${rel(f.restartZero.fromS, r.times.restartMs / 1000)} to ${rel(f.restartZero.toS, r.times.restartMs / 1000)} from the restart)` : "none"} |`,
    `| ring 1 delivering nothing into the merge | ${f.ring1Zero ? `${((f.ring1Zero.toS - f.ring1Zero.fromS) * 1000).toFixed(0)} ms (${rel(f.ring1Zero.fromS, stopS)} to ${rel(f.ring1Zero.toS, stopS)})` : "none"} |`,
    `| ring 1 skip burst | **${fmt(s1.peakSlots)} slots** in the period at ${rel(s1.peakAtS, stopS)} vs a steady ${fmt(s1.steadyPerPeriod)} per period; ${fmt(s1.excessSlots)} slots above the steady rate from the stop to restart + ${OUTAGE_WINDOW_S} s` +
      `${f.expectedOwedSlots !== null ? ` (λ × (takeover − ring 1's last delivery period) ≈ ${fmt(f.expectedOwedSlots)})` : ""} |`,
    `| ring 2 skips meanwhile | peak ${fmt(s2.peakSlots)} per period (steady ${fmt(s2.steadyPerPeriod)}), ${fmt(s2.excessSlots)} above steady |`,
    `| merge backlog peak | ${f.backlog.map((b) => `ring ${b.ring}: **${fmt(b.peak)}** instances at ${rel(b.atS, stopS)} (max before the stop ${fmt(b.beforeMax)})`).join("; ")} |`,
    `| merge wait p99 (median per period) | before ${(f.mergeWaitUs.beforeP99 / 1000).toFixed(1)} ms; peak ${(f.mergeWaitUs.peakP99 / 1000).toFixed(1)} ms at ${rel(f.mergeWaitUs.peakAtS, stopS)}; from restart + ${OUTAGE_WINDOW_S} s to the end ${(f.mergeWaitUs.afterP99 / 1000).toFixed(1)} ms |`,
    `| back to the before-level | merged rate ≥ ${RECOVERY_FRACTION * 100} % of before by ${rel(f.recovery.rateS, stopS)}; backlog drained (≤ before for ${DRAIN_HOLD_PERIODS} periods) by ${rel(f.recovery.drainedS, stopS)} |`,
    `| merged throughput from restart + ${OUTAGE_WINDOW_S} s to the end (median) | ${fmt(f.after.valuesPerSec)} values/s = ${f.after.mbPerSec.toFixed(2)} MB/s |`,
    `| lost? | clients proposed ${fmt(r.final.proposed)}, were acked ${fmt(r.final.acked)} (${fmt(inFlight)} not acked${inFlight > 0 ? ": in flight when the clients stopped" : ""}); ` +
      `the rings delivered ${fmt(ringDelivered)} values into the merge (${RINGS.map((ring) => `ring ${ring} ${fmt(r.final.rings[String(ring)]?.delivered ?? 0)}`).join(", ")}), ` +
      `the merge released **${fmt(r.final.merged)}** (backlog left ${RINGS.map((ring) => `ring ${ring} ${r.final.rings[String(ring)]?.backlog ?? "?"}`).join(", ")}) |`,
    "",
    `- Clients (open loop): ${r.clients.map((c) => `client ${c.id} (group ${c.group}) proposed ${fmt(c.report.proposed)}, acked ${fmt(c.ackedTotal)} in all, re-sent ${fmt(c.report.resent)}, longest stretch without an ack around the outage ${fmt(c.longestSilence.ms)} ms (${rel(c.longestSilence.fromMs / 1000, stopS)} to ${rel(c.longestSilence.toMs / 1000, stopS)})`).join("; ")}.`,
    `- Leadership from the nodes' logs (s since the load started): ring 1: ${ringLeaders(1)}; ring 2: ${ringLeaders(2)}.`,
    `- Who leads at the end (learner ${r.learner}'s /status): ${RINGS.map((ring) => `ring ${ring} node ${lastLeaders[String(ring)] ?? "?"}`).join(", ")}.`,
    `- Host: ${r.cpu.cores} cores; busy median ${median(r.cpu.host.map((p) => p.pct)).toFixed(0)} % of one core, of which this cluster's nodes ${median(r.cpu.nodes).toFixed(0)} % and its clients ${r.cpu.clients.join(" + ")} % (over their run) (steal ${median(r.cpu.host.map((p) => p.stealPct)).toFixed(0)} %); 1-minute load average ${r.loadAvg.start} at the start, ${r.loadAvg.end} at the end; nice ${getPriority()}.`,
    `- The skip burst: a coordinator that takes a ring over owes at once what the ring would have decided at rate λ since it last learned a decision (SkipPacer.start); the merge counts a skip(n) instance as n slots, so the backlog of ring 2 drains as soon as ring 1's burst arrives.`,
    `- Rings out of step: each coordinator tops its ring up to λ slots per Δ from when it began to lead (or, taking over, from when it last learned a decision), so pacing alone would keep two rings apart for good; the learner's "lagging" notices have the ring its merge waits for skip the others' lead at once (src/multiring/lag-watch.ts), so the lead measured at the start stays small.`,
    "",
    "Plot: [`outage.svg`](outage.svg); every series: [`outage.json`](outage.json).",
    "",
  ];
  return lines.join("\n");
}

async function main(): Promise<void> {
  const stop = (sig: string) => {
    process.stderr.write(`\nmultiring-outage: ${sig}: stopping every process of the run\n`);
    killEverything();
    void (current?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
  };
  process.once("SIGINT", () => stop("SIGINT"));
  process.once("SIGTERM", () => stop("SIGTERM"));
  mkdirSync(a.out, { recursive: true });
  const started = Date.now();
  process.stderr.write(`multiring-outage: 2 rings, ${rate} values/s of ${valueSize} B per ring, ${durationS} s, kill at ${stopAtS} s, restart at ${restartAtS} s\n`);
  const r = await run((s) => process.stderr.write(`${s}\n`));
  const f = r.figures;
  process.stderr.write(
    `  before ${fmt(f.before.valuesPerSec)} values/s merged; takeover ${r.takeover ? `node ${r.takeover.node} +${r.takeover.ms - r.times.stopMs} ms` : "none"}; ` +
      `0 merged for ${f.mergedZero ? Math.round((f.mergedZero.toS - f.mergedZero.fromS) * 1000) : 0} ms; ring 1 skip peak ${f.skips[0]?.peakSlots} (steady ${f.skips[0]?.steadyPerPeriod}); ` +
      `backlog peak ${f.backlog.map((b) => b.peak).join("/")}; merged ${r.final.merged} of ${r.final.acked} acked (${r.final.proposed} proposed)\n`,
  );
  writeFileSync(join(a.out, "outage.svg"), await stackedChartsSvg(charts(r), title(r)));
  const setup = {
    layout: LAYOUT,
    rate,
    valueSize,
    window,
    durationS,
    stopAtS,
    restartAtS,
    warmupS,
    ledger: { kind: "wal", sync: walSync },
    bucketMs: BUCKET_MS,
    statsMs,
    host: { cores: availableParallelism(), cpu: cpus()[0]?.model ?? null, memoryGb: Math.round(totalmem() / 1e8) / 10, kernel: release(), nice: getPriority(), runtime: `bun ${process.versions.bun ?? "?"}` },
  };
  writeFileSync(join(a.out, "outage.json"), `${JSON.stringify({ setup, ...r }, null, 1)}\n`);
  const md = summary(r);
  writeFileSync(join(a.out, "summary.md"), md);
  process.stdout.write(md);
  process.stderr.write(`wrote ${a.out}/ (summary.md, outage.json, outage.svg) in ${Math.round((Date.now() - started) / 1000)} s\n`);
}

try {
  await main();
} catch (e) {
  process.stderr.write(`multiring-outage: ${e instanceof Error ? e.message : String(e)}\n`);
  killEverything();
  process.exitCode = 1;
}

/**
 * One run of seed 001's experiment on the key-value service (bench/kv-seed001.ts says how the
 * seed maps onto this system, and runs the whole matrix; `paxos experiment run kv-seed001` runs it
 * through the harness): a fresh cluster of `nodes` acceptors and the replicas, `clients` clients
 * each setting `puts` values one after another, every set's latency, and the sets lost.
 */
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { LocalCluster } from "./cluster.ts";
import { readHostCpu } from "./host-cpu.ts";
import { median, percentile } from "./failure-trace.ts";
import { KvClient } from "../index.ts";
import type { NodeStatus } from "../node/status.ts";

export interface Seed001Options {
  /** Acceptor counts (the seed's "Paxos nodes"): odd. */
  readonly nodes: readonly number[];
  /** Concurrent clients per point. */
  readonly clients: readonly number[];
  /** Sequential puts per client (the seed's 100 trials). */
  readonly puts: number;
  readonly repeats: number;
  /** Unmeasured puts after the cluster is ready, spread over the replicas. */
  readonly warmupPuts: number;
  /** Key-value replicas (fixed across node counts). */
  readonly replicas: number;
  readonly variant: "mring" | "uring";
  readonly batchDelayMs: number;
  readonly valueBytes: number;
  /** KvClient's per-attempt timeout. */
  readonly timeoutMs: number;
  /** Before each run, wait (at most maxWaitS) until the host is at most this % busy without our cluster. */
  readonly quietPct: number;
  readonly maxWaitS: number;
  /** A run during whose clients other processes took more than this % of a core is run again (at most `retries` times). */
  readonly maxForeignPct: number;
  readonly retries: number;
}

export const FULL: Seed001Options = { nodes: [3, 7, 15], clients: [1, 2, 4], puts: 100, repeats: 3, warmupPuts: 30, replicas: 3, variant: "mring", batchDelayMs: 1, valueBytes: 100, timeoutMs: 5000, quietPct: 30, maxWaitS: 60, maxForeignPct: 25, retries: 2 };
export const QUICK: Seed001Options = { ...FULL, puts: 20, repeats: 1, warmupPuts: 10 };

/** Latency figures of a set of acknowledged operations, ms. */
export interface LatencyFigures {
  readonly medianMs: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
}

/** One client's run: latency of each put in order (null: lost), and what went wrong. */
export interface ClientRecord {
  readonly client: number;
  /** ms per put, in trial order; null where the put failed. */
  readonly latencyMs: (number | null)[];
  /** Revision each acknowledged put reported (null where it failed). */
  readonly revisions: (number | null)[];
  /** Failed puts and failed read-backs: "op N: message". */
  readonly errors: string[];
}

export interface RunRecord extends LatencyFigures {
  readonly nodes: number;
  readonly clients: number;
  readonly repeat: number;
  /** Position of this run in the whole experiment (0-based). */
  readonly seq: number;
  readonly startedAt: string;
  readonly clusterStartMs: number;
  /** Warm-up puts that failed (not counted as lost: before the measurement). */
  readonly warmupFailures: number;
  /** Puts attempted, acknowledged; lost = not acknowledged + acknowledged but not read back. */
  readonly ops: number;
  readonly acked: number;
  readonly notAcked: number;
  readonly missingOnReadBack: number;
  readonly lost: number;
  /** Puts that failed to acknowledge but whose value is there on read-back (applied, answer lost). */
  readonly appliedThoughNotAcked: number;
  /** A client's later put with a revision not above its earlier one's (sequential sets out of order). */
  readonly revisionOrderViolations: number;
  /** Acknowledged puts per second over the clients' common window. */
  readonly opsPerSec: number;
  readonly wallMs: number;
  /** Host CPU over the clients' window, % of the whole host, and steal. */
  readonly hostBusyPct: number | null;
  readonly hostStealPct: number | null;
  /** CPU over the clients' window, % of one core: this cluster's processes and this one, and every other process of the host. */
  readonly oursPct: number | null;
  readonly foreignPct: number | null;
  /** How long the run waited for a quiet host, and how busy the host was when it started (% of the host, our cluster not running). */
  readonly waitedS: number;
  readonly quietBusyPct: number | null;
  /** Other processes took more than maxForeignPct of a core: left out of the figures and run again. */
  readonly discarded: boolean;
  /** The leader's view before and after the clients: a new round is an election or a new ring during the run. */
  readonly leaderBefore: LeaderView | null;
  readonly leaderAfter: LeaderView | null;
  /** Lines at level warn / error in the nodes' logs over the whole run, except the known start-up warnings (see STARTUP_WARNINGS), by message. */
  readonly logWarnings: number;
  readonly logErrors: number;
  readonly logMessages: Record<string, number>;
  readonly perClient: ClientRecord[];
}

export interface LeaderView {
  readonly leader: number | null;
  readonly round: number | null;
  readonly ring: readonly number[] | null;
  /** Slow-acceptor avoidance: new rounds the leader started to lay a slow acceptor off the ring. */
  readonly slowRelayouts: number | null;
}

/** Rounds are counter × 256 + the owner's id (src/core/round.ts, maxNodes as src/config/protocol.ts sets it). */
const ROUND_STRIDE = 256;

/** How far the leader's round counter advanced between the two views (each new Phase 1 at least one), null if the leader changed. */
export function newRounds(r: Pick<RunRecord, "leaderBefore" | "leaderAfter">): number | null {
  const a = r.leaderBefore;
  const b = r.leaderAfter;
  if (!a || !b || a.leader !== b.leader || a.round === null || b.round === null) return null;
  return Math.round((b.round - a.round) / ROUND_STRIDE);
}

/** Warnings every node logs at start on this host (socket buffers capped by the kernel, no cluster key): not counted. */
export const STARTUP_WARNINGS = /SO_RCVBUF|SO_SNDBUF|not authenticated/;

export interface PointSummary extends LatencyFigures {
  readonly nodes: number;
  readonly clients: number;
  readonly runs: number;
  /** Medians over the repeats (each repeat's figure over all its clients' acknowledged puts). */
  readonly opsPerSec: number;
  /** Lost over all repeats (and the worst single repeat). */
  readonly lostTotal: number;
  readonly lostMaxPerRun: number;
  readonly opsTotal: number;
  readonly hostBusyPct: number | null;
  readonly hostStealPct: number | null;
  readonly foreignPct: number | null;
  /** Runs with a new round (election or new ring) between the warm-up and the end, and the leader's new rounds summed over the runs. */
  readonly leaderChanges: number;
  readonly newRoundsTotal: number;
  readonly discardedRuns: number;
  readonly logWarnings: number;
  readonly logErrors: number;
}

export interface Seed001Report {
  readonly options: Seed001Options;
  readonly host: { readonly cores: number; readonly model: string; readonly memGiB: number; readonly bun: string };
  readonly startedAt: string;
  readonly wallS: number;
  readonly points: PointSummary[];
  readonly runs: RunRecord[];
}

export const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

export function latencyFigures(xs: readonly number[]): LatencyFigures {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return { medianMs: NaN, p90Ms: NaN, p99Ms: NaN, maxMs: NaN, meanMs: NaN };
  return {
    medianMs: round(median(s), 3),
    p90Ms: round(percentile(s, 90), 3),
    p99Ms: round(percentile(s, 99), 3),
    maxMs: round(s[s.length - 1] as number, 3),
    meanMs: round(s.reduce((a, b) => a + b, 0) / s.length, 3),
  };
}


/** utime + stime of a process in clock ticks (USER_HZ, as /proc/stat counts); 0 once it is gone. */
function procTicks(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
    // after the command: state(3) ppid … utime(14) stime(15), counted from field 3
    return Number(f[11]) + Number(f[12]);
  } catch {
    return 0;
  }
}

/** CPU of this process (its own clock, µs) and of the cluster's processes, in ticks of 10 ms. */
function oursTicks(c: LocalCluster): number {
  const self = process.cpuUsage();
  return (self.user + self.system) / 10_000 + [...c.procs.values()].reduce((a, p) => a + procTicks(p.pid), 0);
}

/** Host busy % (of the whole host) over `ms`. */
async function hostBusy(ms: number): Promise<number | null> {
  const a = readHostCpu();
  await new Promise((r) => setTimeout(r, ms));
  const b = readHostCpu();
  return a && b && b.total > a.total ? round(((b.busy - a.busy) / (b.total - a.total)) * 100, 1) : null;
}

/** Waits until the host is at most `pct` % busy over a second (at most maxS); the seconds waited and the last figure. */
async function waitQuiet(pct: number, maxS: number): Promise<{ waitedS: number; busyPct: number | null }> {
  const t0 = Date.now();
  for (;;) {
    const busy = await hostBusy(1000);
    if (busy === null || busy <= pct || Date.now() - t0 > maxS * 1000) return { waitedS: Math.round((Date.now() - t0) / 1000), busyPct: busy };
  }
}

async function leaderView(c: LocalCluster): Promise<LeaderView | null> {
  const s: NodeStatus | null = await c.status(0);
  const leader = s?.leadership?.leader ?? null;
  const ls = leader === null ? null : leader === 0 ? s : await c.status(leader);
  if (!s) return null;
  return {
    leader,
    round: ls?.coordinator?.active ? ls.coordinator.round : null,
    ring: ls?.coordinator?.active ? ls.coordinator.ring : (s.leadership?.ring ?? null),
    slowRelayouts: ls?.coordinator?.slowRelayouts ?? null,
  };
}

async function waitReady(urls: readonly string[], withinMs = 20_000): Promise<void> {
  const until = Date.now() + withinMs;
  for (const u of urls)
    for (;;) {
      const r = await fetch(`${u}/ready`, { signal: AbortSignal.timeout(1000) }).catch(() => null);
      if (r?.ok) break;
      if (Date.now() > until) throw new Error(`replica ${u} not ready within ${withinMs} ms`);
      await new Promise((res) => setTimeout(res, 50));
    }
}

/** A value of `bytes` bytes naming its run, client and trial. */
export function valueOf(tag: string, client: number, op: number, bytes: number): string {
  const head = `${tag}/c${client}/op${op}/`;
  return head.length >= bytes ? head : head + "x".repeat(bytes - head.length);
}

/** One point on a fresh cluster: warm-up, the clients' sequential puts, the read-back. */
export async function runPoint(o: Seed001Options, nodes: number, clients: number, repeat: number, seq: number): Promise<RunRecord> {
  const quiet = o.quietPct < 100 ? await waitQuiet(o.quietPct, o.maxWaitS) : { waitedS: 0, busyPct: null };
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const c = await LocalCluster.start({
    variant: o.variant,
    acceptors: nodes,
    learners: o.replicas,
    clients: 0,
    kv: true,
    http: true,
    ledger: { kind: "wal", sync: "fsync" },
    protocol: { batchDelayMs: o.batchDelayMs },
  });
  try {
    const urls = c.nodes.filter((n) => n.kv !== undefined).map((n) => `http://127.0.0.1:${n.http as number}`);
    await waitReady(urls);
    const clusterStartMs = round(performance.now() - t0, 1);
    // Warm-up: every replica's HTTP path and proposer, the leader's first instances.
    const warm = urls.map((u) => new KvClient({ endpoints: [u], timeoutMs: o.timeoutMs }));
    let warmupFailures = 0;
    for (let i = 0; i < o.warmupPuts; i++)
      await (warm[i % warm.length] as KvClient).put(`warmup/${i}`, valueOf("warmup", 0, i, o.valueBytes)).catch(() => void warmupFailures++);
    const leaderBefore = await leaderView(c);

    const tag = `n${nodes}c${clients}r${repeat}`;
    const records: ClientRecord[] = [];
    const windows: [number, number][] = [];
    const cpu0 = readHostCpu();
    const ours0 = oursTicks(c);
    await Promise.all(
      Array.from({ length: clients }, async (_, k) => {
        const kv = new KvClient({ endpoints: urls, timeoutMs: o.timeoutMs });
        const rec: ClientRecord = { client: k, latencyMs: [], revisions: [], errors: [] };
        records[k] = rec;
        const from = performance.now();
        for (let i = 0; i < o.puts; i++) {
          const s = performance.now();
          try {
            const { revision } = await kv.put(`${tag}/c${k}/op${i}`, valueOf(tag, k, i, o.valueBytes));
            rec.latencyMs.push(round(performance.now() - s, 3));
            rec.revisions.push(revision);
          } catch (e) {
            rec.latencyMs.push(null);
            rec.revisions.push(null);
            rec.errors.push(`op ${i}: put failed after ${round(performance.now() - s, 0)} ms: ${e instanceof Error ? e.message : String(e)}`);
          }
        }
        windows[k] = [from, performance.now()];
      }),
    );
    const cpu1 = readHostCpu();
    const ours1 = oursTicks(c);
    const leaderAfter = await leaderView(c);
    const wallMs = Math.max(...windows.map((w) => w[1])) - Math.min(...windows.map((w) => w[0]));

    // Read-back: every key, through a linearizable get, key i through replica i mod replicas.
    const readers = urls.map((u) => new KvClient({ endpoints: [u, ...urls.filter((x) => x !== u)], timeoutMs: o.timeoutMs }));
    let missing = 0;
    let appliedAnyway = 0;
    let order = 0;
    for (const rec of records) {
      let lastRev = 0;
      for (let i = 0; i < o.puts; i++) {
        const want = valueOf(tag, rec.client, i, o.valueBytes);
        const rev = rec.revisions[i] ?? null;
        if (rev !== null) {
          if (rev <= lastRev) order++;
          lastRev = rev;
        }
        let got: { value: Uint8Array; revision: number } | null = null;
        let why = "";
        try {
          got = await (readers[i % readers.length] as KvClient).get(`${tag}/c${rec.client}/op${i}`);
        } catch (e) {
          why = e instanceof Error ? e.message : String(e);
        }
        const there = got !== null && new TextDecoder().decode(got.value) === want;
        if (rev === null) {
          if (there) appliedAnyway++;
          continue;
        }
        if (!there || got?.revision !== rev) {
          missing++;
          rec.errors.push(`op ${i}: acknowledged at revision ${rev}, read back ${got === null ? `nothing${why ? ` (${why})` : ""}` : `revision ${got.revision}${there ? "" : " with another value"}`}`);
        }
      }
    }

    const acked = records.flatMap((r) => r.latencyMs.filter((x): x is number => x !== null));
    const ops = clients * o.puts;
    const notAcked = ops - acked.length;
    const logs = [...c.logs.values()].flat().filter((l) => !STARTUP_WARNINGS.test(l));
    const warns = logs.filter((l) => l.includes('"level":"warn"'));
    const errors = logs.filter((l) => l.includes('"level":"error"') || l.includes('"level":"fatal"'));
    const logMessages: Record<string, number> = {};
    for (const l of [...errors, ...warns]) {
      let msg = l.slice(0, 200);
      try {
        const j = JSON.parse(l) as { level?: string; msg?: string };
        msg = `${j.level ?? "?"}: ${j.msg ?? "?"}`;
      } catch {
        /* not JSON: the line itself */
      }
      logMessages[msg] = (logMessages[msg] ?? 0) + 1;
    }
    const span = cpu0 && cpu1 && cpu1.total > cpu0.total ? cpu1.total - cpu0.total : 0;
    const cores = cpus().length;
    const busy = span ? round((((cpu1?.busy ?? 0) - (cpu0?.busy ?? 0)) / span) * 100, 1) : null;
    const steal = span ? round((((cpu1?.steal ?? 0) - (cpu0?.steal ?? 0)) / span) * 100, 1) : null;
    const oursPct = span ? round(((ours1 - ours0) / (span / cores)) * 100, 1) : null;
    const foreignPct = span ? round(Math.max(0, (((cpu1?.busy ?? 0) - (cpu0?.busy ?? 0) - (ours1 - ours0)) / (span / cores)) * 100), 1) : null;
    return {
      nodes,
      clients,
      repeat,
      seq,
      startedAt,
      clusterStartMs,
      warmupFailures,
      ops,
      acked: acked.length,
      notAcked,
      missingOnReadBack: missing,
      lost: notAcked + missing,
      appliedThoughNotAcked: appliedAnyway,
      revisionOrderViolations: order,
      ...latencyFigures(acked),
      opsPerSec: round(acked.length / (wallMs / 1000), 1),
      wallMs: round(wallMs, 1),
      hostBusyPct: busy,
      hostStealPct: steal,
      oursPct,
      foreignPct,
      waitedS: quiet.waitedS,
      quietBusyPct: quiet.busyPct,
      discarded: foreignPct !== null && foreignPct > o.maxForeignPct,
      leaderBefore,
      leaderAfter,
      logWarnings: warns.length,
      logErrors: errors.length,
      logMessages,
      perClient: records,
    };
  } finally {
    await c.stop();
  }
}


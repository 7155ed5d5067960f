/**
 * Multi-Ring Paxos scaling with the network as the bottleneck (thesis Fig. 5.4): K rings, each of
 * its own processes (3 acceptors, one learner subscribed to the ring's group, one closed-loop
 * client), every process in a network namespace of its own on one bridge, and the egress of every
 * namespace capped by `tc tbf` (default 100 Mbit/s). Both links that carry a ring's payload are
 * capped: the client's TCP stream of values to the coordinator, and the coordinator's Phase 2A
 * ip-multicast to the ring's acceptors and learner. Aggregate delivered throughput should then grow
 * with K like K x the cap, each learner staying near its ring's cap, as long as the host's CPU is
 * not what limits.
 *
 *   ./node_modules/.bin/bun bench/multiring-scaling.ts [--rings 1,2,3,4] [--repeats 3]
 *       [--cap-mbit 100] [--duration 10] [--warmup 3] [--out bench/results/multiring-scaling]
 *       [--value-size 8192] [--window N] [--retransmit-ms N] [--catchup-ms N] [--tick-ms N] [--lambda N] [--delta-ms N] [--m N]
 *       [--burst-bytes 32768] [--limit-bytes 2000000]
 *       [--quiet-pct 15] [--max-wait-s 900] [--max-foreign-pct 10] [--retries 3]
 *   ./node_modules/.bin/bun bench/multiring-scaling.ts --replot [--out DIR]   (summary.md and
 *       scaling.svg again from DIR/scaling.json)
 *
 * Needs root, iproute2 and tc (exit 2 with one line otherwise). Runs are interleaved: each repeat
 * runs every K once, the order of K rotated by one per repeat, so that a drift of the host (CPU
 * steal of a shared VM) spreads over all K. The host may be shared: before each run the script
 * waits (at most --max-wait-s) until the host is at most --quiet-pct % busy, and runs again (at
 * most --retries times) a run during whose window other processes took more than
 * --max-foreign-pct % of a core (the discarded run stays in scaling.json, marked).
 *
 * Each run: fresh namespaces, the nodes started (--stats-ms 250), 2 s without load (the idle
 * rings' CPU is recorded), then the clients (closed loop) for warm-up + duration. A ring is
 * measured at its learner over its own client's measured window; host CPU (/proc/stat), the CPU of
 * every process (stats lines; clients' own report) and of other processes (/proc/<pid>/stat), the
 * veths' byte counters, the tbf and kernel (/proc/net/snmp) counters and the bridge's multicast
 * database are recorded.
 *
 * Choices (recorded in scaling.json under `setup`):
 * - The configuration's defaults (8 KB M-Ring batches, `protocol.batchBytes` unset; 32 instances
 *   in flight per ring; `multicast.maxDatagram` 12 KB; λ/Δ/M of MultiRingSchema) except
 *   `protocol.retransmitMs` and `protocol.catchupMs`, derived from the cap (see retransmitMs
 *   below: the 20 and 15 ms defaults cannot work behind a 100 Mbit/s link).
 * - 8192-byte values, the thesis' size: one value per batch (a batch closes at 8 KB counting 24
 *   bytes per value), and a 2A of one 8 KB value fits the default 12 KB datagram (values up to
 *   maxValueBytes(12288) = 10216 bytes fit). Per-datagram costs dominate the CPU, and 4 KB values
 *   would also go one per batch: half the bytes for the same CPU.
 * - veth MTU 1500: a 2A datagram leaves the coordinator as 6 IP fragments, as on an Ethernet LAN.
 * - tbf on every namespace's eth0 egress, burst 32 KB (2.6 ms at 100 Mbit/s) and a queue of
 *   2 MB: more than a ring ever queues there (its windows bound it), so the cap delays and never
 *   drops (see qdiscDrops). tc counts the bytes of the Ethernet frame (with its 14-byte header),
 *   not a real wire's preamble, gap and checksum.
 * - The client's window derived from the cap (see clientWindow below), so that values do not
 *   queue past the proposer's re-send timeout (see `resent`).
 * - The bridge snoops IGMP with a querier of its own, so each ring's multicast reaches only its
 *   members (src/bench/netns-lab.ts, Lab.build).
 * - MB = 10^6 bytes; efficiency = a learner's delivered payload MB/s / (cap Mbit/s / 8).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, release, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import type { ClientReport } from "../src/cli/client.ts";
import type { StatsLine } from "../src/bench/cluster.ts";
import { multiRingLayout, MAX_BENCH_RINGS, type LayoutNode, type LayoutRing } from "../src/bench/multiring-layout.ts";
import { childEnv, selfCommand } from "../src/bench/self.ts";
import { measuredLines } from "../src/bench/stats-window.ts";
import { stackedChartsSvg, type LineChart } from "../src/bench/chart.ts";
import { median } from "../src/bench/failure-trace.ts";
import { DEFAULT_DATAGRAM, MultiRingSchema } from "../src/config/schema.ts";
import { maxValueBytes } from "../src/core/config.ts";
import { deleteStaleNamespaces, errText, Lab, labUnavailable, QUERIER_DELAY_MS, reapAllLabs, type LinkCounters, type LabProc } from "../src/bench/netns-lab.ts";

const STATS_MS = 250;
const NODE_PORT = 7000;
const MCAST_PORT = 7100;
const SAMPLE_MS = 500;
/** The cluster runs without load this long before the clients start (its idle CPU is recorded). */
const IDLE_MS = 2000;

function usage(msg: string): never {
  process.stderr.write(`multiring-scaling: ${msg}\n`);
  process.exit(2);
}

let args: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    options: {
      rings: { type: "string", default: "1,2,3,4" },
      repeats: { type: "string", default: "3" },
      "cap-mbit": { type: "string", default: "100" },
      duration: { type: "string", default: "10" },
      warmup: { type: "string", default: "3" },
      out: { type: "string", default: "bench/results/multiring-scaling" },
      "value-size": { type: "string", default: "8192" },
      window: { type: "string" },
      lambda: { type: "string" },
      "delta-ms": { type: "string" },
      m: { type: "string" },
      "burst-bytes": { type: "string", default: "32768" },
      "limit-bytes": { type: "string", default: "2000000" },
      "retransmit-ms": { type: "string" },
      "catchup-ms": { type: "string" },
      "tick-ms": { type: "string" },
      "quiet-pct": { type: "string", default: "15" },
      "max-wait-s": { type: "string", default: "900" },
      "max-foreign-pct": { type: "string", default: "10" },
      retries: { type: "string", default: "3" },
      replot: { type: "boolean", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
}
try {
  args = parse();
} catch (e) {
  usage(e instanceof Error ? e.message : String(e));
}
const a = args.values;

function num(name: string, v: string | undefined, min: number, max: number, int = true): number {
  const x = Number(v);
  if (v === undefined || v.trim() === "" || !Number.isFinite(x) || (int && !Number.isInteger(x)) || x < min || x > max) usage(`--${name}: expected ${int ? "an integer" : "a number"} in ${min}..${max}, got ${JSON.stringify(v)}`);
  return x;
}

const mrDefaults = MultiRingSchema.parse({});
const opts = {
  rings: (a.rings as string).split(",").map((s) => num("rings", s, 1, MAX_BENCH_RINGS)),
  repeats: num("repeats", a.repeats, 1, 100),
  capMbit: num("cap-mbit", a["cap-mbit"], 1, 10_000, false),
  durationS: num("duration", a.duration, 1, 3600, false),
  warmupS: num("warmup", a.warmup, 0, 600, false),
  out: a.out as string,
  valueSize: num("value-size", a["value-size"], 1, maxValueBytes(DEFAULT_DATAGRAM)),
  window: a.window !== undefined ? num("window", a.window, 1, 4096) : null,
  lambdaPerSecond: a.lambda !== undefined ? num("lambda", a.lambda, 0, 10_000_000, false) : mrDefaults.lambdaPerSecond,
  deltaMs: a["delta-ms"] !== undefined ? num("delta-ms", a["delta-ms"], 1, 60_000) : mrDefaults.deltaMs,
  m: a.m !== undefined ? num("m", a.m, 1, 1_000_000) : mrDefaults.m,
  burstBytes: num("burst-bytes", a["burst-bytes"], 1600, 64 << 20),
  limitBytes: num("limit-bytes", a["limit-bytes"], 1600, 1 << 30),
  quietPct: num("quiet-pct", a["quiet-pct"], 0, 100, false),
  maxWaitS: num("max-wait-s", a["max-wait-s"], 0, 86_400),
  maxForeignPct: num("max-foreign-pct", a["max-foreign-pct"], 0, 1000, false),
  retries: num("retries", a.retries, 0, 20),
  retransmitMs: a["retransmit-ms"] !== undefined ? num("retransmit-ms", a["retransmit-ms"], 1, 60_000) : null,
  catchupMs: a["catchup-ms"] !== undefined ? num("catchup-ms", a["catchup-ms"], 0, 60_000) : null,
  tickMs: a["tick-ms"] !== undefined ? num("tick-ms", a["tick-ms"], 1, 1000) : null,
};
if (new Set(opts.rings).size !== opts.rings.length) usage("--rings: each K once");

/** --replot: summary.md and scaling.svg again from --out's scaling.json (its options), no run. */
interface SavedExperiment {
  readonly options: typeof opts;
  readonly host: Record<string, unknown>;
  readonly wallS: number;
  readonly runs: RunRecord[];
}
let saved: SavedExperiment | null = null;
if (a.replot) {
  try {
    saved = JSON.parse(readFileSync(join(opts.out, "scaling.json"), "utf8")) as SavedExperiment;
  } catch (e) {
    usage(`--replot: cannot read ${join(opts.out, "scaling.json")}: ${e instanceof Error ? e.message : String(e)}`);
  }
  Object.assign(opts, { ...saved.options, out: opts.out });
}
const capBytesPerSec = (opts.capMbit * 1e6) / 8;

/**
 * The coordinator's Phase 2A retransmission timeout (protocol.retransmitMs). The default, 20 ms,
 * is fixed (not measured) and shorter than the time the coordinator's own window of 2As takes to
 * leave through a capped link: 32 instances of ~8.5 KB on the wire (one 8 KB batch in 6 IP
 * fragments) are 272 KB, 21.8 ms at 100 Mbit/s. Every instance then times out while still queued
 * behind the others and is sent again, the link fills with copies (1.7 of 12.5 MB/s delivered in
 * the first trial), and after retriesBeforeNewRound of them the coordinator starts a new round.
 * Default here: four times that serialization time, in 10 ms steps, at least the configuration's
 * 20 ms (90 ms at 100 Mbit/s, 180 ms at 50).
 */
const WINDOW_WIRE_BYTES = 32 * 8500;
/**
 * The client's window (values in flight): ~100 ms of the cap (15 values at 10 Mbit/s, 151 at 100,
 * at least 12). Its values queue at the client's capped link and then at the coordinator's, and a
 * value not delivered within the proposer's timeout (80 ms, adapting up to 320 ms) is sent again:
 * a fixed 64 at 10 Mbit/s queued 420 ms and re-sent 93 % of the values (first trials). Too few
 * leave the coordinator's link idle while the next values cross the client's: ~35 ms of the cap
 * (8 values at 10 Mbit/s, the first choice) kept the leaders' egress at 97.5-99 % of the cap and
 * the lowest learner at 88.6-90.0 %; 16 values kept every leader at 100 % and every learner at
 * 91.2 % or more, re-sending 1.3-1.8 % of the values (4 rings, two runs each).
 */
const clientWindow = opts.window ?? Math.min(256, Math.max(12, Math.round((0.1 * capBytesPerSec) / (opts.valueSize + 100))));
const retransmitMs = opts.retransmitMs ?? Math.max(20, Math.ceil((4 * WINDOW_WIRE_BYTES * 1000) / capBytesPerSec / 10) * 10);
/**
 * The learner's catch-up timer (protocol.catchupMs): the same story. A learner that holds a later
 * 2A but no progress for 15 ms (default) asks the acceptors to send the instances again; behind a
 * capped link a decision waits behind the 2As queued before it (up to 21.8 ms at 100 Mbit/s, 50 ms
 * at 10 Mbit/s), so the learner asks every 15 ms for values it is about to get, and the replies
 * (8 KB values over TCP) take the acceptors' links, the coordinator's among them (it is an
 * acceptor): at 10 Mbit/s the coordinator's link was 98 % busy delivering 42 % of the cap
 * (first trials). Default here: the derived retransmission timeout.
 */
const catchupMs = opts.catchupMs ?? Math.max(15, retransmitMs);

if (saved === null) {
  const why = labUnavailable();
  if (why !== null) usage(`needs root, iproute2 and tc with network namespaces: ${why}`);
  const stale = deleteStaleNamespaces();
  if (stale.length > 0) process.stderr.write(`deleted ${stale.length} namespace(s) left by an earlier run\n`);
}

// ---------------------------------------------------------------------------------------------
// Host CPU (/proc/stat)

interface CpuSample {
  readonly wall: number;
  readonly user: number;
  readonly system: number;
  readonly softirq: number;
  readonly idle: number;
  readonly steal: number;
  readonly total: number;
}

function cpuSample(): CpuSample {
  const line = readFileSync("/proc/stat", "utf8").split("\n").find((l) => l.startsWith("cpu ")) ?? "cpu 0 0 0 0";
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).slice(1, 9).map(Number);
  return { wall: Date.now(), user: user + nice, system: system + irq, softirq, idle: idle + iowait, steal, total: user + nice + system + idle + iowait + irq + softirq + steal };
}

/** Host CPU between two samples, in % of the whole host (all cores = 100). */
function cpuBetween(x: CpuSample, y: CpuSample): { busyPct: number; userPct: number; systemPct: number; softirqPct: number; stealPct: number } {
  const dt = y.total - x.total;
  const pct = (k: keyof CpuSample) => (dt > 0 ? round(((y[k] - x[k]) / dt) * 100, 1) : 0);
  return {
    busyPct: dt > 0 ? round(((y.user - x.user + y.system - x.system + y.softirq - x.softirq) / dt) * 100, 1) : 0,
    userPct: pct("user"),
    systemPct: pct("system"),
    softirqPct: pct("softirq"),
    stealPct: pct("steal"),
  };
}

/** CPU time (user + system, clock ticks) of every process on the host, by pid. */
interface ProcSample {
  readonly wall: number;
  readonly ticks: Map<number, { readonly t: number; readonly comm: string; readonly kernel: boolean }>;
}

const CLK_TCK = 100;

function procSample(): ProcSample {
  const ticks = new Map<number, { t: number; comm: string; kernel: boolean }>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const text = readFileSync(`/proc/${d}/stat`, "utf8");
      const close = text.lastIndexOf(")");
      const comm = text.slice(text.indexOf("(") + 1, close);
      const f = text.slice(close + 2).split(" ");
      // After the name: state ppid ... utime (14th field of the line, 12th here) stime.
      const ppid = Number(f[1]);
      ticks.set(Number(d), { t: Number(f[11]) + Number(f[12]), comm, kernel: ppid === 2 || Number(d) === 2 });
    } catch {
      /* gone meanwhile */
    }
  }
  return { wall: Date.now(), ticks };
}

/**
 * CPU of the processes between two samples that are not ours (`ours`: pids), % of one core:
 * user processes (another job on the host) and kernel threads (ksoftirqd: receive work, ours too)
 * apart, with the busiest others named.
 */
function foreignCpu(x: ProcSample, y: ProcSample, ours: ReadonlySet<number>): { othersPct: number; kernelThreadsPct: number; top: string[] } {
  const dt = (y.wall - x.wall) / 1000;
  if (dt <= 0) return { othersPct: 0, kernelThreadsPct: 0, top: [] };
  let others = 0;
  let kernel = 0;
  const list: { comm: string; pct: number }[] = [];
  for (const [pid, b] of y.ticks) {
    if (ours.has(pid) || pid === process.pid) continue;
    const d = b.t - (x.ticks.get(pid)?.t ?? (b.kernel ? b.t : 0));
    if (d <= 0) continue;
    const pct = (d / CLK_TCK / dt) * 100;
    if (b.kernel) kernel += pct;
    else {
      others += pct;
      list.push({ comm: `${b.comm}[${pid}]`, pct });
    }
  }
  list.sort((p, q) => q.pct - p.pct);
  return { othersPct: round(others, 1), kernelThreadsPct: round(kernel, 1), top: list.slice(0, 5).filter((e) => e.pct >= 1).map((e) => `${e.comm} ${e.pct.toFixed(0)}%`) };
}

/** Waits until the host is quiet (busy at most `maxPct` % of the host over a 2 s sample), at most `maxWaitS`; what it saw. */
async function waitQuiet(maxPct: number, maxWaitS: number): Promise<{ waitedS: number; busyPct: number }> {
  const t0 = Date.now();
  for (;;) {
    const a0 = cpuSample();
    await new Promise((r) => setTimeout(r, 2000));
    const busy = cpuBetween(a0, cpuSample()).busyPct;
    const waited = (Date.now() - t0) / 1000;
    if (busy <= maxPct || waited >= maxWaitS) return { waitedS: Math.round(waited), busyPct: busy };
    process.stderr.write(`  host busy ${busy} % with other work: waiting (${Math.round(waited)} s so far, at most ${maxWaitS})\n`);
    await new Promise((r) => setTimeout(r, 3000));
  }
}

/** The samples bounding [from, to]: the first at or after from, the last at or before to (else the nearest outside). */
function bounding<T extends { wall: number }>(xs: readonly T[], from: number, to: number): [T, T] | null {
  if (xs.length < 2) return null;
  const inside = xs.filter((x) => x.wall >= from && x.wall <= to);
  if (inside.length >= 2) return [inside[0] as T, inside.at(-1) as T];
  return [xs.filter((x) => x.wall <= from).at(-1) ?? (xs[0] as T), xs.find((x) => x.wall >= to) ?? (xs.at(-1) as T)];
}

function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function hostInfo(): Record<string, unknown> {
  const s = cpuSample();
  const model = /model name\s*:\s*(.*)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "unknown";
  return {
    cores: cpus().length,
    cpuModel: model,
    kernel: release(),
    memMb: Math.round(totalmem() / 1e6),
    bun: process.versions["bun"] ?? null,
    stealSinceBootPct: s.total > 0 ? round((s.steal / s.total) * 100, 1) : 0,
    wmemMax: Number(readFileSync("/proc/sys/net/core/wmem_max", "utf8").trim()),
    rmemMax: Number(readFileSync("/proc/sys/net/core/rmem_max", "utf8").trim()),
  };
}

// ---------------------------------------------------------------------------------------------
// One run: K rings in namespaces

type Role = "coordinator" | "acceptor" | "learner" | "client";

interface NodeInfo {
  readonly id: number;
  readonly ring: number;
  readonly role: Role;
  readonly roles: readonly string[];
}

interface LearnerFigures {
  readonly id: number;
  readonly ring: number;
  readonly valuesPerSec: number;
  readonly mbPerSec: number;
  /** Delivered payload / the ring's cap. */
  readonly efficiency: number;
  /** What the learner's host received on its interface (all of it: its ring's multicast and anything else), MB/s. */
  readonly rxMbPerSec: number | null;
  readonly skippedSlotsPerSec: number;
}

interface ProcessFigures {
  readonly id: number;
  readonly ring: number;
  readonly role: Role;
  readonly cpuPercent: number;
  readonly peakRssMb: number;
  /** Its host's interface over the window, MB/s, and tx as a fraction of the cap (tc counts frames). */
  readonly txMbPerSec: number | null;
  readonly rxMbPerSec: number | null;
  readonly txOfCap: number | null;
  /** tbf on its eth0 at the end of the run: packets dropped, times the bucket was empty. */
  readonly qdiscDrops: number | null;
  readonly qdiscOverlimits: number | null;
  /** Its namespace's kernel counters at the end (/proc/net/snmp): UDP receive-buffer drops, failed reassemblies, TCP retransmits. */
  readonly kernel: Record<string, number> | null;
  /** The process' own network counters over the window (stats line `net`), non-zero ones. */
  readonly net: Record<string, number> | null;
}

interface ClientFigures {
  readonly id: number;
  readonly ring: number;
  readonly valuesPerSec: number;
  readonly mbPerSec: number;
  readonly proposed: number;
  readonly acked: number;
  readonly resent: number;
  readonly refused: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly cpuPercent: number;
}

interface RunRecord {
  readonly repeat: number;
  readonly rings: number;
  readonly startedAt: string;
  readonly error?: string;
  /** The window the host's CPU is measured over (every client measuring), and how far apart the clients' windows were (ms). */
  readonly window?: { readonly from: number; readonly to: number; readonly seconds: number; readonly clientsSpreadMs: number };
  readonly aggregate?: { readonly valuesPerSec: number; readonly mbPerSec: number; readonly idealMbPerSec: number };
  readonly learners?: readonly LearnerFigures[];
  readonly clients?: readonly ClientFigures[];
  readonly resentPct?: number;
  readonly host?: ReturnType<typeof cpuBetween> & { readonly coresBusy: number };
  /** CPU of processes not of this run during its window, % of one core: other jobs on the host, and kernel threads. */
  readonly foreign?: ReturnType<typeof foreignCpu>;
  /** Before the run: how long it waited for the host to be quiet, and how busy the host was then (% of the host). */
  readonly quiet?: { readonly waitedS: number; readonly busyPct: number };
  /** The cluster before the clients started (IDLE_MS): host busy (% of the host), the nodes' CPU (% of a core), per role. */
  readonly idle?: { readonly hostBusyPct: number; readonly nodesCpuPercent: number; readonly byRole: Record<string, number[]> };
  /** Set when the run was measured but thrown away (other work on the host); it was run again. */
  readonly discarded?: string;
  /** Sum of the processes' CPU (nodes over the window, clients over their run), % of one core. */
  readonly processCpuPercent?: number;
  readonly processes?: readonly ProcessFigures[];
  /** The bridge's multicast database at the end: group -> hosts that joined it. */
  readonly mdb?: Record<string, number[]>;
}

function nodeInfos(nodes: readonly LayoutNode[], rings: readonly LayoutRing[]): NodeInfo[] {
  return nodes.map((n) => {
    const ring = n.group ?? n.subscribe?.[0] ?? rings.find((r) => r.acceptors.includes(n.id))?.id ?? 0;
    const role: Role = n.roles.includes("coordinator") ? "coordinator" : n.roles.includes("acceptor") ? "acceptor" : n.roles.includes("learner") ? "learner" : "client";
    return { id: n.id, ring, role, roles: n.roles };
  });
}

function kernelCounters(lab: Lab, id: number): Record<string, number> | null {
  try {
    const text = readProcIn(lab, id, "/proc/net/snmp");
    const rows = text.split("\n").filter(Boolean);
    const out: Record<string, number> = {};
    for (let i = 0; i + 1 < rows.length; i += 2) {
      const keys = (rows[i] as string).split(/\s+/);
      const vals = (rows[i + 1] as string).split(/\s+/);
      const proto = (keys[0] ?? "").replace(":", "");
      keys.forEach((k, j) => {
        const name = `${proto}${k}`;
        if (["IpReasmFails", "IpReasmOKs", "IpFragFails", "UdpInDatagrams", "UdpInErrors", "UdpRcvbufErrors", "UdpSndbufErrors", "TcpRetransSegs"].includes(name)) out[name] = Number(vals[j]);
      });
    }
    return out;
  } catch {
    return null;
  }
}

function readProcIn(lab: Lab, id: number, file: string): string {
  const r = Bun.spawnSync(["ip", "netns", "exec", lab.host(id).ns, "cat", file]);
  if (r.exitCode !== 0) throw new Error(r.stderr.toString());
  return r.stdout.toString();
}

/** Temporary directories of runs in progress (configurations): removed on exit too. */
const LIVE_DIRS = new Set<string>();
process.once("exit", () => {
  for (const d of LIVE_DIRS) rmSync(d, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function runOnce(k: number, repeat: number): Promise<RunRecord> {
  const startedAt = new Date().toISOString();
  const plan = multiRingLayout({
    rings: k,
    acceptorsPerRing: 3,
    shareAcceptors: false,
    groupsPerLearner: "one",
    learners: 1,
    clientsPerRing: 1,
    lambdaPerSecond: opts.lambdaPerSecond,
    deltaMs: opts.deltaMs,
    m: opts.m,
  });
  const infos = nodeInfos(plan.nodes, plan.rings);
  const lab = new Lab(`k${k}r${repeat}`);
  const dir = mkdtempSync(join(tmpdir(), "paxos-scaling-"));
  LIVE_DIRS.add(dir);
  const nodeProcs = new Map<number, LabProc>();
  const stats = new Map<number, StatsLine[]>();
  const cpuSamples: CpuSample[] = [];
  const procSamples: ProcSample[] = [];
  const portSamples: { wall: number; c: Map<number, LinkCounters> }[] = [];
  let sampler: ReturnType<typeof setInterval> | undefined;
  let portSampler: ReturnType<typeof setInterval> | undefined;
  try {
    lab.build(
      plan.nodes.map((n) => n.id),
      { rateMbit: opts.capMbit, burstBytes: opts.burstBytes, limitBytes: opts.limitBytes },
    );
    const isClient = (id: number) => infos.find((x) => x.id === id)?.role === "client";
    // One configuration for every host: a node's own address is its multicast interface
    // (nodes[].multicastInterface), so each ring's 2A leaves through the sender's capped eth0.
    const config = {
      cluster: 7808,
      variant: "mring",
      nodes: plan.nodes.map((n) => ({
        id: n.id,
        host: lab.host(n.id).addr,
        port: NODE_PORT,
        roles: n.roles,
        ...(n.subscribe ? { subscribe: n.subscribe } : {}),
        ...(isClient(n.id) ? {} : { multicastInterface: lab.host(n.id).addr }),
      })),
      rings: plan.rings.map((r) => ({ ...r, multicast: { group: `239.78.${r.id}.1`, port: MCAST_PORT + r.id, ttl: 1 } })),
      groups: plan.rings.map((r) => ({ id: r.id, ring: r.id })),
      multiRing: { lambdaPerSecond: opts.lambdaPerSecond, deltaMs: opts.deltaMs, m: opts.m },
      protocol: { retransmitMs, catchupMs, ...(opts.tickMs !== null ? { tickMs: opts.tickMs } : {}) },
    };
    const configFile = join(dir, "cluster.json");
    writeFileSync(configFile, JSON.stringify(config, null, 2));
    const self = selfCommand();
    const env = childEnv();
    for (const n of infos.filter((x) => x.role !== "client")) {
      const lines: StatsLine[] = [];
      stats.set(n.id, lines);
      const logs: string[] = [];
      const p = lab.spawn(n.id, self.cmd, [...self.args, "node", "--config", configFile, "--id", String(n.id), "--stats-ms", String(STATS_MS)], {
        env,
        onLine: (l) => {
          if (l.startsWith('{"level":"stats"')) {
            try {
              lines.push(JSON.parse(l) as StatsLine);
            } catch {
              /* a torn line */
            }
          } else {
            logs.push(l);
            if (logs.length > 200) logs.shift();
          }
        },
      });
      (p as { logs?: string[] }).logs = logs;
      nodeProcs.set(n.id, p);
    }
    const logsOf = (p: LabProc) => (p as { logs?: string[] }).logs ?? [];
    const t0 = Date.now();
    while (![...nodeProcs.values()].every((p) => logsOf(p).some((l) => l.includes("node started")))) {
      const dead = [...nodeProcs.values()].find((p) => p.child.exitCode !== null || p.child.signalCode !== null);
      if (dead || Date.now() - t0 > 30_000)
        throw new Error(
          `cluster did not start (${dead ? `node ${dead.id} exited with ${dead.child.exitCode ?? dead.child.signalCode}` : "timed out"}):${[...nodeProcs.values()].map((p) => `\n  node ${p.id}: ${logsOf(p).slice(-3).join(" | ")}`).join("")}`,
        );
      await sleep(50);
    }
    // The bridge floods multicast until its querier's delay has passed: no load before.
    const quiet = lab.querierSince + QUERIER_DELAY_MS + 200 - Date.now();
    if (quiet > 0) await sleep(quiet);
    process.stderr.write(`  K=${k}: ${nodeProcs.size} nodes up in ${((Date.now() - t0) / 1000).toFixed(1)} s; clients run ${opts.warmupS + opts.durationS} s\n`);

    cpuSamples.push(cpuSample());
    procSamples.push(procSample());
    sampler = setInterval(() => {
      cpuSamples.push(cpuSample());
      procSamples.push(procSample());
    }, STATS_MS);
    const samplePorts = () => {
      try {
        portSamples.push({ wall: Date.now(), c: lab.portCounters() });
      } catch {
        /* a sample missed */
      }
    };
    samplePorts();
    portSampler = setInterval(samplePorts, SAMPLE_MS);
    // The cluster idle (no client yet) for IDLE_MS: what the rings cost before any value.
    const idleWindow = { from: Date.now() + STATS_MS, to: 0 };
    await sleep(IDLE_MS + STATS_MS);
    idleWindow.to = Date.now();

    const clients = infos.filter((x) => x.role === "client");
    const clientProcs = clients.map((c) =>
      lab.spawn(
        c.id,
        self.cmd,
        [
          ...self.args,
          "client",
          "--config",
          configFile,
          "--id",
          String(c.id),
          "--group",
          String(c.ring),
          "--window",
          String(clientWindow),
          "--value-size",
          String(opts.valueSize),
          "--duration",
          String(opts.durationS),
          "--warmup",
          String(opts.warmupS),
          "--json",
        ],
        { env, keepStdout: true },
      ),
    );
    const exits = await Promise.all(clientProcs.map((p) => p.exited));
    await sleep(STATS_MS * 2);
    clearInterval(sampler);
    clearInterval(portSampler);
    cpuSamples.push(cpuSample());
    procSamples.push(procSample());
    samplePorts();

    const reports = new Map<number, ClientReport>();
    clientProcs.forEach((p, i) => {
      const e = exits[i];
      const last = p.out.trim().split("\n").at(-1) ?? "";
      if (e?.code !== 0 || !last.startsWith("{")) throw new Error(`client ${p.id} failed (exit ${e?.code ?? e?.signal}): ${p.lines.slice(-3).join(" | ")}`);
      reports.set(p.id, JSON.parse(last) as ClientReport);
    });
    // Each ring is measured over its own client's window (clients start up to a second or more
    // apart on a loaded host); the host's CPU over the window all of them measured (their
    // intersection, or their union when that is shorter than 2 s).
    const all = [...reports.values()];
    const inter = { from: Math.max(...all.map((r) => r.measuredFrom)), to: Math.min(...all.map((r) => r.measuredTo)) };
    const union = { from: Math.min(...all.map((r) => r.measuredFrom)), to: Math.max(...all.map((r) => r.measuredTo)) };
    const window = inter.to - inter.from >= 2000 ? inter : union;
    const seconds = (window.to - window.from) / 1000;
    const ringWindow = (ring: number): { from: number; to: number } => {
      const c = clients.find((x) => x.ring === ring);
      const r = c ? reports.get(c.id) : undefined;
      return r ? { from: r.measuredFrom, to: r.measuredTo } : window;
    };

    // Learners: delivered payload over the window.
    const portRate = (id: number, key: keyof LinkCounters): number | null => {
      const w = ringWindow(infos.find((n) => n.id === id)?.ring ?? 0);
      const ports = bounding(portSamples, w.from, w.to);
      if (!ports) return null;
      const [x, y] = ports;
      const cx = x.c.get(id);
      const cy = y.c.get(id);
      const dt = (y.wall - x.wall) / 1000;
      return cx && cy && dt > 0 ? round((cy[key] - cx[key]) / dt / 1e6, 3) : null;
    };
    const learners: LearnerFigures[] = [];
    for (const n of infos.filter((x) => x.role === "learner")) {
      const lines = stats.get(n.id) ?? [];
      if (lines.length < 2) throw new Error(`learner ${n.id} printed ${lines.length} stats line(s)`);
      const [x, y] = measuredLines(lines, ringWindow(n.ring));
      const dt = (y.t - x.t) / 1000;
      const mbPerSec = dt > 0 ? (y.deliveredBytes - x.deliveredBytes) / dt / 1e6 : 0;
      const rx = x.rings?.[String(n.ring)];
      const ry = y.rings?.[String(n.ring)];
      learners.push({
        id: n.id,
        ring: n.ring,
        valuesPerSec: Math.round(dt > 0 ? (y.delivered - x.delivered) / dt : 0),
        mbPerSec: round(mbPerSec, 3),
        efficiency: round((mbPerSec * 1e6) / capBytesPerSec, 4),
        rxMbPerSec: portRate(n.id, "rxBytes"),
        skippedSlotsPerSec: Math.round(dt > 0 && rx && ry ? ((ry.skippedSlots ?? 0) - (rx.skippedSlots ?? 0)) / dt : 0),
      });
    }
    const clientFigures: ClientFigures[] = clients.map((c) => {
      const r = reports.get(c.id) as ClientReport;
      return {
        id: c.id,
        ring: c.ring,
        valuesPerSec: r.valuesPerSec,
        mbPerSec: r.mbPerSec,
        proposed: r.proposed,
        acked: r.acked,
        resent: r.resent,
        refused: r.refused,
        p50Us: r.latencyUs.p50,
        p99Us: r.latencyUs.p99,
        cpuPercent: r.cpuPercent,
      };
    });
    const processes: ProcessFigures[] = infos.map((n) => {
      const lines = stats.get(n.id) ?? [];
      let cpuPercent = 0;
      let peakRssMb = 0;
      let net: Record<string, number> | null = null;
      if (n.role === "client") {
        const r = reports.get(n.id) as ClientReport;
        cpuPercent = r.cpuPercent;
        peakRssMb = r.peakRssMb;
      } else if (lines.length >= 2) {
        const [x, y] = measuredLines(lines, ringWindow(n.ring));
        const dt = (y.t - x.t) / 1000;
        cpuPercent = dt > 0 ? Math.round((y.cpuUserUs + y.cpuSystemUs - x.cpuUserUs - x.cpuSystemUs) / 1e4 / dt) : 0;
        peakRssMb = round(Math.max(...lines.map((l) => l.rss)) / 1e6, 1);
        const nx = (x as { net?: Record<string, number> }).net ?? {};
        const ny = (y as { net?: Record<string, number> }).net ?? {};
        net = {};
        for (const [key, v] of Object.entries(ny)) if (typeof v === "number" && v - (nx[key] ?? 0) !== 0) net[key] = v - (nx[key] ?? 0);
      }
      const q = (() => {
        try {
          return lab.qdiscCounters(n.id);
        } catch {
          return null;
        }
      })();
      const tx = portRate(n.id, "txBytes");
      return {
        id: n.id,
        ring: n.ring,
        role: n.role,
        cpuPercent,
        peakRssMb,
        txMbPerSec: tx,
        rxMbPerSec: portRate(n.id, "rxBytes"),
        txOfCap: tx === null ? null : round((tx * 1e6) / capBytesPerSec, 4),
        qdiscDrops: q?.drops ?? null,
        qdiscOverlimits: q?.overlimits ?? null,
        kernel: kernelCounters(lab, n.id),
        net,
      };
    });
    const cpuWin = bounding(cpuSamples, window.from, window.to);
    const idleCpu = bounding(cpuSamples, idleWindow.from, idleWindow.to);
    const idleProcCpu = (id: number): number => {
      const lines = stats.get(id) ?? [];
      if (lines.length < 2) return 0;
      const [x, y] = measuredLines(lines, idleWindow);
      const dt = (y.t - x.t) / 1000;
      return dt > 0 ? Math.round((y.cpuUserUs + y.cpuSystemUs - x.cpuUserUs - x.cpuSystemUs) / 1e4 / dt) : 0;
    };
    const host = cpuWin ? cpuBetween(cpuWin[0], cpuWin[1]) : cpuBetween(cpuSample(), cpuSample());
    const procWin = bounding(procSamples, window.from, window.to);
    const ours = new Set([...nodeProcs.values(), ...clientProcs].map((p) => p.child.pid ?? -1));
    const foreign = procWin ? foreignCpu(procWin[0], procWin[1], ours) : { othersPct: 0, kernelThreadsPct: 0, top: [] };
    const proposed = clientFigures.reduce((s, c) => s + c.proposed, 0);
    const resent = clientFigures.reduce((s, c) => s + c.resent, 0);
    const aggregateMb = learners.reduce((s, l) => s + l.mbPerSec, 0);
    return {
      repeat,
      rings: k,
      startedAt,
      window: { ...window, seconds, clientsSpreadMs: union.to - union.from - (window === union ? 0 : inter.to - inter.from) },
      aggregate: {
        valuesPerSec: learners.reduce((s, l) => s + l.valuesPerSec, 0),
        mbPerSec: round(aggregateMb, 3),
        idealMbPerSec: round((k * capBytesPerSec) / 1e6, 3),
      },
      learners,
      clients: clientFigures,
      resentPct: proposed > 0 ? round((100 * resent) / proposed, 3) : 0,
      host: { ...host, coresBusy: round((host.busyPct * cpus().length) / 100, 2) },
      foreign,
      idle: {
        hostBusyPct: idleCpu ? cpuBetween(idleCpu[0], idleCpu[1]).busyPct : 0,
        nodesCpuPercent: infos.filter((n) => n.role !== "client").reduce((sum, n) => sum + idleProcCpu(n.id), 0),
        byRole: Object.fromEntries((["coordinator", "acceptor", "learner"] as const).map((role) => [role, infos.filter((n) => n.role === role).map((n) => idleProcCpu(n.id))])),
      },
      processCpuPercent: processes.reduce((s, p) => s + p.cpuPercent, 0),
      processes,
      mdb: Object.fromEntries(lab.mdb()),
    };
  } catch (e) {
    return { repeat, rings: k, startedAt, error: e instanceof Error ? e.message : String(e) };
  } finally {
    clearInterval(sampler);
    clearInterval(portSampler);
    await lab.destroy();
    rmSync(dir, { recursive: true, force: true });
    LIVE_DIRS.delete(dir);
  }
}

// ---------------------------------------------------------------------------------------------
// The experiment

interface Row {
  readonly rings: number;
  readonly runs: number;
  readonly failed: number;
  /** Runs thrown away (other work on the host) and run again. */
  readonly discarded: number;
  /** Median CPU of other processes on the host during the kept runs, % of one core. */
  readonly foreignPct: number;
  /** Median host CPU (% of the host) with the rings up and no client yet. */
  readonly idleHostPct: number;
  readonly aggregateMbPerSec: number[];
  readonly medianMbPerSec: number;
  readonly idealMbPerSec: number;
  readonly speedup: number | null;
  readonly efficiencyMin: number;
  readonly efficiencyMedian: number;
  readonly resentPct: number;
  readonly hostCpuPct: number;
  readonly stealPct: number;
  readonly softirqPct: number;
  readonly processCpuPercent: number;
}

function summarize(runs: readonly RunRecord[]): Row[] {
  const ok = runs.filter((r) => !r.error && !r.discarded && r.aggregate);
  const rows = opts.rings
    .slice()
    .sort((x, y) => x - y)
    .map((k) => {
      const mine = ok.filter((r) => r.rings === k);
      const effs = mine.flatMap((r) => (r.learners ?? []).map((l) => l.efficiency));
      const proposed = mine.flatMap((r) => r.clients ?? []).reduce((s, c) => s + c.proposed, 0);
      const resent = mine.flatMap((r) => r.clients ?? []).reduce((s, c) => s + c.resent, 0);
      const agg = mine.map((r) => r.aggregate?.mbPerSec ?? 0);
      return {
        rings: k,
        runs: mine.length,
        failed: runs.filter((r) => r.rings === k && r.error).length,
        discarded: runs.filter((r) => r.rings === k && r.discarded).length,
        foreignPct: round(median(mine.map((r) => r.foreign?.othersPct ?? 0)), 1),
        idleHostPct: round(median(mine.map((r) => r.idle?.hostBusyPct ?? 0)), 1),
        aggregateMbPerSec: agg,
        medianMbPerSec: round(median(agg), 2),
        idealMbPerSec: round((k * capBytesPerSec) / 1e6, 2),
        speedup: null as number | null,
        efficiencyMin: effs.length ? round(Math.min(...effs), 4) : 0,
        efficiencyMedian: round(median(effs), 4),
        resentPct: proposed > 0 ? round((100 * resent) / proposed, 3) : 0,
        hostCpuPct: round(median(mine.map((r) => r.host?.busyPct ?? 0)), 1),
        stealPct: round(median(mine.map((r) => r.host?.stealPct ?? 0)), 1),
        softirqPct: round(median(mine.map((r) => r.host?.softirqPct ?? 0)), 1),
        processCpuPercent: Math.round(median(mine.map((r) => r.processCpuPercent ?? 0))),
      };
    });
  const one = rows.find((r) => r.rings === 1 && r.runs > 0);
  return rows.map((r) => ({ ...r, speedup: one && one.medianMbPerSec > 0 && r.runs > 0 ? round(r.medianMbPerSec / one.medianMbPerSec, 2) : null }));
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}`;
}

function summaryMd(rows: readonly Row[], runs: readonly RunRecord[], host: Record<string, unknown>, wallS: number): string {
  const ok = runs.filter((r) => !r.error && !r.discarded);
  const maxK = Math.max(...rows.filter((r) => r.runs > 0).map((r) => r.rings));
  const four = rows.find((r) => r.rings === 4);
  const effMin = Math.min(...rows.filter((r) => r.runs > 0).map((r) => r.efficiencyMin));
  // Per-process CPU of the run at the largest K whose aggregate is that K's median.
  const big = ok.filter((r) => r.rings === maxK).sort((x, y) => (x.aggregate?.mbPerSec ?? 0) - (y.aggregate?.mbPerSec ?? 0));
  const mid = big[Math.floor((big.length - 1) / 2)];
  const byRole = (role: Role) => (mid?.processes ?? []).filter((p) => p.role === role);
  const cpuOf = (role: Role) => byRole(role).map((p) => p.cpuPercent);
  const txOf = (role: Role) => byRole(role).map((p) => (p.txOfCap === null ? "-" : pct(p.txOfCap)));
  // The ring's leader need not be its configured coordinator (a starved host sees failovers): the busiest acceptor's link.
  const leaderTx = [...new Set((mid?.processes ?? []).map((p) => p.ring))].sort((x, y) => x - y).map((ring) => {
    const ps = (mid?.processes ?? []).filter((p) => p.ring === ring && (p.role === "coordinator" || p.role === "acceptor") && p.txOfCap !== null);
    const top = ps.sort((x, y) => (y.txOfCap ?? 0) - (x.txOfCap ?? 0))[0];
    return top ? `${pct(top.txOfCap ?? 0)} (node ${top.id}${top.role === "coordinator" ? "" : ", not the configured coordinator"})` : "-";
  });
  const lines = [
    "# Multi-Ring Paxos scaling, links capped by tc tbf",
    "",
    `\`./node_modules/.bin/bun bench/multiring-scaling.ts --rings ${opts.rings.join(",")} --repeats ${opts.repeats} --cap-mbit ${opts.capMbit} --duration ${opts.durationS} --warmup ${opts.warmupS}` +
      `${opts.lambdaPerSecond !== mrDefaults.lambdaPerSecond ? ` --lambda ${opts.lambdaPerSecond}` : ""}${opts.deltaMs !== mrDefaults.deltaMs ? ` --delta-ms ${opts.deltaMs}` : ""}${opts.m !== mrDefaults.m ? ` --m ${opts.m}` : ""}` +
      `${opts.window !== null ? ` --window ${opts.window}` : ""}${opts.tickMs !== null ? ` --tick-ms ${opts.tickMs}` : ""}${opts.valueSize !== 8192 ? ` --value-size ${opts.valueSize}` : ""} --out ${opts.out}\`` +
      ` (${Math.round(wallS)} s in all)`,
    "",
    `Each ring: 3 acceptors, 1 learner subscribed to the ring's group, 1 closed-loop client (window ${clientWindow}, ${opts.valueSize} B values); ` +
      `every process in its own network namespace on one bridge (IGMP snooping with a querier), egress of each capped by tbf at ${opts.capMbit} Mbit/s ` +
      `(= ${round(capBytesPerSec / 1e6, 3)} MB/s; burst ${opts.burstBytes} B, queue ${opts.limitBytes} B), MTU 1500. ` +
      `Configuration defaults (8 KB batches, 32 instances in flight, maxDatagram ${DEFAULT_DATAGRAM} B; λ ${opts.lambdaPerSecond}/s, Δ ${opts.deltaMs} ms, M ${opts.m}) but protocol.retransmitMs ${retransmitMs} and catchupMs ${catchupMs} (defaults 20 and 15, too short behind a capped link: see bench/multiring-scaling.ts)${opts.tickMs !== null ? ` and tickMs ${opts.tickMs}` : ""}. ` +
      `${opts.repeats} repeat(s), K interleaved (order rotated per repeat); ${opts.durationS} s measured after ${opts.warmupS} s warm-up. MB = 10^6 bytes. ` +
      `Efficiency: a learner's delivered payload / its ring's cap. Host: ${String(host["cores"])} cores (${String(host["cpuModel"])}), kernel ${String(host["kernel"])}; ` +
      `CPU steal since boot ${String(host["stealSinceBootPct"])} %.`,
    "",
    "| rings | aggregate MB/s (median) | each run | ideal K × cap | speed-up vs 1 ring | per-learner efficiency min / median % | re-sent % | host CPU %, no load yet | host CPU % (steal %, softirq %) | the rings' processes, CPU % of a core | other processes, CPU % of a core |",
    "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...rows.map(
      (r) =>
        `| ${r.rings} | ${r.runs > 0 ? r.medianMbPerSec.toFixed(2) : "-"} | ${r.aggregateMbPerSec.map((x) => x.toFixed(2)).join(", ")}${r.failed || r.discarded ? ` (${[r.failed ? `${r.failed} failed` : "", r.discarded ? `${r.discarded} discarded` : ""].filter(Boolean).join(", ")})` : ""} | ${r.idealMbPerSec.toFixed(2)} | ` +
        `${r.speedup === null ? "-" : `${r.speedup.toFixed(2)}×`} | ${r.runs > 0 ? `${pct(r.efficiencyMin)} / ${pct(r.efficiencyMedian)}` : "-"} | ${r.resentPct.toFixed(2)} | ${r.idleHostPct.toFixed(1)} | ` +
        `${r.hostCpuPct.toFixed(1)} (${r.stealPct.toFixed(1)}, ${r.softirqPct.toFixed(1)}) | ${r.processCpuPercent} | ${r.foreignPct.toFixed(1)} |`,
    ),
    "",
    `- Speed-up at 4 rings ≥ 3.6×: ${four?.speedup != null ? (four.speedup >= 3.6 ? `yes (${four.speedup.toFixed(2)}×)` : `no (${four.speedup.toFixed(2)}×)`) : "not measured"}`,
    `- Every learner ≥ 90 % of its ring's cap: ${Number.isFinite(effMin) ? (effMin >= 0.9 ? `yes (lowest ${pct(effMin)} %)` : `no (lowest ${pct(effMin)} %)`) : "not measured"}`,
    `- Runs discarded because other processes on the host took more than ${opts.maxForeignPct} % of a core during the window (each run again): ${runs.filter((r) => r.discarded).length}`,
    `- Failed runs: ${runs.filter((r) => r.error).length} of ${runs.length}${runs.some((r) => r.error) ? ` (${runs.filter((r) => r.error).map((r) => `K=${r.rings}: ${r.error?.split("\n")[0]}`).join("; ")})` : ""}`,
    "",
    ...(mid
      ? [
          `Where the time went at ${maxK} ring(s) (the median run): CPU % of one core per process — coordinators ${cpuOf("coordinator").join(", ")}; ` +
            `acceptors ${cpuOf("acceptor").join(", ")}; learners ${cpuOf("learner").join(", ")}; clients ${cpuOf("client").join(", ")} ` +
            `(sum ${mid.processCpuPercent} % of ${String(host["cores"])} cores; host busy ${mid.host?.busyPct} % of the host, of which softirq ${mid.host?.softirqPct} %, steal ${mid.host?.stealPct} %). ` +
            `Egress as % of the cap — each ring's busiest acceptor (its leader) ${leaderTx.join(", ")}; clients ${txOf("client").join(", ")}. ` +
            `Learners' rx MB/s (all they received) ${(mid.learners ?? []).map((l) => l.rxMbPerSec ?? "-").join(", ")} against delivered ${(mid.learners ?? []).map((l) => l.mbPerSec.toFixed(2)).join(", ")}. ` +
            `tbf drops: ${(mid.processes ?? []).reduce((s, p) => s + (p.qdiscDrops ?? 0), 0)}. ` +
            `Before the clients started, the idle rings already kept the host ${mid.idle?.hostBusyPct ?? "-"} % busy (nodes: ${mid.idle?.nodesCpuPercent ?? "-"} % of a core; ` +
            `per node: ${Object.entries(mid.idle?.byRole ?? {}).map(([role, xs]) => `${role}s ${xs.join(", ")}`).join("; ")}).`,
          "",
        ]
      : []),
    "Files: `scaling.json` (every run: per learner, client and process figures, host CPU, tbf and kernel counters, the bridge's multicast database), `scaling.svg`.",
    "",
  ];
  return lines.join("\n");
}

async function chart(rows: readonly Row[]): Promise<string> {
  const have = rows.filter((r) => r.runs > 0);
  const ks = rows.map((r) => r.rings);
  const xAxis = { label: "rings", min: Math.min(...ks), max: Math.max(...ks) };
  // lineChartSvg puts a tick every 80 px: one per ring.
  const width = Math.max(240, 80 * (Math.max(...ks) - Math.min(...ks)));
  const charts: LineChart[] = [
    {
      title: "Aggregate delivered throughput (sum over the learners)",
      x: xAxis,
      y: { label: "MB/s", min: 0 },
      series: [
        { name: `ideal: rings × cap (${round(capBytesPerSec / 1e6, 2)} MB/s)`, points: rows.map((r) => ({ x: r.rings, y: r.idealMbPerSec })) },
        { name: `measured, median of ${opts.repeats}`, points: have.map((r) => ({ x: r.rings, y: r.medianMbPerSec })) },
        { name: "measured, lowest run", points: have.map((r) => ({ x: r.rings, y: Math.min(...r.aggregateMbPerSec) })) },
        { name: "measured, highest run", points: have.map((r) => ({ x: r.rings, y: Math.max(...r.aggregateMbPerSec) })) },
      ],
      width,
      height: 260,
    },
    {
      title: "Per-learner efficiency (delivered payload / the ring's cap)",
      x: xAxis,
      y: { label: "% of the cap", min: 0, max: 100 },
      series: [
        { name: "90 % (the thesis' efficiency)", points: rows.map((r) => ({ x: r.rings, y: 90 })) },
        { name: "median learner", points: have.map((r) => ({ x: r.rings, y: r.efficiencyMedian * 100 })) },
        { name: "lowest learner", points: have.map((r) => ({ x: r.rings, y: r.efficiencyMin * 100 })) },
      ],
      width,
      height: 200,
    },
    {
      title: "Host CPU during the measured window",
      x: xAxis,
      y: { label: "% of the host", min: 0, max: 100 },
      series: [
        { name: "busy (median of the runs)", points: have.map((r) => ({ x: r.rings, y: r.hostCpuPct })) },
        { name: "of which softirq", points: have.map((r) => ({ x: r.rings, y: r.softirqPct })) },
        { name: "busy with the rings up, before any load", points: have.map((r) => ({ x: r.rings, y: r.idleHostPct })) },
        { name: "steal", points: have.map((r) => ({ x: r.rings, y: r.stealPct })) },
      ],
      width,
      height: 160,
    },
  ];
  return stackedChartsSvg(charts, [
    `Multi-Ring Paxos scaling: every link capped at ${opts.capMbit} Mbit/s (tc tbf), one learner per ring subscribed to its group`,
    `3 acceptors + 1 learner + 1 client per ring, each in its own network namespace; ${opts.valueSize} B values, ${opts.durationS} s measured, ${opts.repeats} repeat(s)`,
  ]);
}

// ---------------------------------------------------------------------------------------------

function onSignal(sig: NodeJS.Signals): void {
  process.stderr.write(`\nmultiring-scaling: ${sig}: stopping every process and deleting every namespace\n`);
  reapAllLabs();
  process.exit(sig === "SIGINT" ? 130 : 143);
}
process.once("SIGINT", onSignal);
process.once("SIGTERM", onSignal);

async function main(): Promise<number> {
  if (saved !== null) {
    const rows = summarize(saved.runs);
    writeFileSync(join(opts.out, "summary.md"), summaryMd(rows, saved.runs, saved.host, saved.wallS));
    writeFileSync(join(opts.out, "scaling.svg"), await chart(rows));
    process.stdout.write(summaryMd(rows, saved.runs, saved.host, saved.wallS));
    return 0;
  }
  mkdirSync(opts.out, { recursive: true });
  const host = hostInfo();
  const t0 = Date.now();
  const steal0 = cpuSample();
  const runs: RunRecord[] = [];
  const setup = {
    acceptorsPerRing: 3,
    learnersPerRing: 1,
    clientsPerRing: 1,
    groupsPerLearner: "one",
    shareAcceptors: false,
    batchBytes: "configuration default (8192)",
    instancesInFlight: "configuration default (32)",
    maxDatagram: DEFAULT_DATAGRAM,
    mtu: 1500,
    bridge: "IGMP snooping on, bridge is the querier",
    tbf: { rateMbit: opts.capMbit, burstBytes: opts.burstBytes, limitBytes: opts.limitBytes, on: "egress of every namespace's eth0" },
    statsMs: STATS_MS,
    clientWindow: `${clientWindow}${opts.window === null ? " (derived from the cap: ~100 ms of it)" : ""}`,
    retransmitMs: `${retransmitMs}${opts.retransmitMs === null ? " (derived from the cap: 4 x the serialization of 32 in-flight 8.5 KB 2As)" : ""}`,
    catchupMs: `${catchupMs}${opts.catchupMs === null ? " (derived: the retransmission timeout)" : ""}`,
    tickMs: opts.tickMs === null ? "the default" : String(opts.tickMs),
  };
  const save = (done: boolean) => {
    const rows = summarize(runs);
    const s1 = cpuSample();
    writeFileSync(
      join(opts.out, "scaling.json"),
      `${JSON.stringify({ options: opts, setup, host: { ...host, stealDuringExperimentPct: s1.total > steal0.total ? round(((s1.steal - steal0.steal) / (s1.total - steal0.total)) * 100, 1) : 0 }, done, wallS: Math.round((Date.now() - t0) / 1000), summary: rows, runs }, null, 2)}\n`,
    );
    return rows;
  };
  for (let rep = 0; rep < opts.repeats; rep++) {
    const order = opts.rings.map((_, i) => opts.rings[(i + rep) % opts.rings.length] as number);
    for (const k of order) {
      process.stderr.write(`repeat ${rep + 1}/${opts.repeats}, ${k} ring(s)\n`);
      // A shared host: other jobs' CPU would be taken for the rings'. Wait for quiet, and run
      // again (at most --retries times) when other processes took more than --max-foreign-pct
      // of a core during the measured window.
      for (let attempt = 0; ; attempt++) {
        const quiet = await waitQuiet(opts.quietPct, opts.maxWaitS);
        const r0 = await runOnce(k, rep);
        const foreignPct = r0.foreign?.othersPct ?? 0;
        const again = !r0.error && foreignPct > opts.maxForeignPct && attempt < opts.retries;
        const r: RunRecord = { ...r0, quiet, ...(again ? { discarded: `other processes took ${foreignPct} % of a core (${(r0.foreign?.top ?? []).join(", ")})` } : {}) };
        runs.push(r);
        if (r.error) process.stderr.write(`  failed: ${r.error}\n`);
        else
          process.stderr.write(
            `  aggregate ${r.aggregate?.mbPerSec.toFixed(2)} MB/s (ideal ${r.aggregate?.idealMbPerSec}); learners ${(r.learners ?? []).map((l) => `${l.mbPerSec.toFixed(2)} (${pct(l.efficiency)} %)`).join(", ")}; ` +
              `re-sent ${r.resentPct} %; host CPU ${r.host?.busyPct} % (steal ${r.host?.stealPct} %); others ${foreignPct} % of a core${r.discarded ? ": discarded, running again" : ""}\n`,
          );
        save(false);
        if (!again) break;
      }
    }
  }
  const rows = save(true);
  const wallS = (Date.now() - t0) / 1000;
  writeFileSync(join(opts.out, "summary.md"), summaryMd(rows, runs, host, wallS));
  writeFileSync(join(opts.out, "scaling.svg"), await chart(rows));
  process.stdout.write(summaryMd(rows, runs, host, wallS));
  return runs.some((r) => r.error) ? 1 : 0;
}

main().then(
  (code) => {
    reapAllLabs();
    process.exit(code);
  },
  (e: unknown) => {
    process.stderr.write(`multiring-scaling: ${errText(e)}\n`);
    reapAllLabs();
    process.exit(1);
  },
);

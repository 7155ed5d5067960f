/**
 * The experiments `paxos experiment` knows, each a description (spec.ts) run by the one harness.
 * Most are `paxos bench` clusters (bench-point.ts), one is the runtime's limits; the failure
 * trace, the Multi-Ring and the key-value studies still run as their own scripts under bench/
 * (README, Results) until they are described here too.
 */
import type { BenchOptions } from "../bench/run.ts";
import { LIMIT_DEFAULTS, measureLimits } from "../bench/limits.ts";
import { BENCH_OVERHEAD_S, benchOptions, runBenchPoint } from "./bench-point.ts";
import type { Experiment, MetricSpec, Mode, Params, PlotSpec } from "./spec.ts";

/** Measured seconds and warm-up of a bench run, per mode. */
interface Timing {
  readonly full: { readonly durationS: number; readonly warmupS: number };
  readonly quick: { readonly durationS: number; readonly warmupS: number };
}

const STEADY: Timing = { full: { durationS: 10, warmupS: 2 }, quick: { durationS: 3, warmupS: 1 } };

interface BenchExperiment<P extends Params> {
  readonly name: string;
  readonly title: string;
  readonly source: string;
  readonly description: string;
  readonly params: readonly (keyof P & string)[];
  readonly full: readonly P[];
  readonly quick: readonly P[];
  readonly repeat?: { readonly full: number; readonly quick: number };
  readonly timing?: Timing;
  /** The bench options of a point; `t`: the run's measured time and warm-up (a schedule may depend on them). */
  readonly options: (p: P, t: Timing["full"]) => Partial<BenchOptions>;
  readonly metrics: readonly MetricSpec[];
  readonly plots: readonly PlotSpec[];
}

/**
 * An experiment whose every run is one bench cluster with the point's options. Its points are
 * typed here and plain parameters to the harness, which hands back only points it was given.
 */
function benchExperiment<P extends Params>(d: BenchExperiment<P>): Experiment {
  const timing = d.timing ?? STEADY;
  const repeat = d.repeat ?? { full: 3, quick: 1 };
  const t = (m: Mode) => (m.quick ? timing.quick : timing.full);
  return {
    name: d.name,
    title: d.title,
    source: d.source,
    description: d.description,
    params: d.params,
    points: (m) => (m.quick ? d.quick : d.full),
    repeat: (m) => (m.quick ? repeat.quick : repeat.full),
    metrics: d.metrics,
    plots: () => d.plots,
    estimateS: (_p, m) => t(m).durationS + t(m).warmupS + BENCH_OVERHEAD_S,
    run: (p, m) => runBenchPoint(benchOptions({ ...d.options(p as P, t(m)), durationS: t(m).durationS, warmupS: t(m).warmupS })),
  };
}

const cross = <A, B, R>(as: readonly A[], bs: readonly B[], f: (a: A, b: B) => R): R[] => as.flatMap((a) => bs.map((b) => f(a, b)));

const M = {
  mbPerSec: { key: "mbPerSec", label: "throughput (MB/s)", digits: 1 },
  valuesPerSec: { key: "valuesPerSec", label: "throughput (values/s)" },
  /** A value a second per proposer: the rate with its fraction. */
  slowRate: { key: "valuesPerSec", label: "throughput (values/s)", digits: 2 },
  p50Us: { key: "p50Us", label: "latency p50 (µs)" },
  p99Us: { key: "p99Us", label: "latency p99 (µs)" },
  cpuPercent: { key: "cpuPercent", label: "CPU, all processes (% of a core)" },
  cpuPerMb: { key: "cpuPerMb", label: "CPU per MB delivered (core-s)", digits: 3 },
  peakRssMb: { key: "peakRssMb", label: "peak RSS, largest process (MB)" },
  resentPct: { key: "resentPct", label: "re-sent (% of delivered)", digits: 2 },
} as const satisfies Record<string, MetricSpec>;

type VariantSize = { readonly variant: string; readonly valueSize: number };

const ringValueSize = benchExperiment<VariantSize>({
  name: "ring-value-size",
  title: "M-Ring and U-Ring Paxos against value size",
  source: "thesis §3.5, Figs. 3.10–3.11",
  description:
    "Throughput and latency of M-Ring and U-Ring Paxos as the value size grows: 3 acceptors, RAM ledger, one closed-loop client keeping 256 values in flight, one learner. Small values cost per-value work; large ones cost bytes.",
  params: ["variant", "valueSize"],
  full: cross(["mring", "uring"], [256, 1024, 4096, 8192, 32768], (variant, valueSize) => ({ variant, valueSize })),
  quick: cross(["mring", "uring"], [1024, 32768], (variant, valueSize) => ({ variant, valueSize })),
  options: (p) => ({ variant: p.variant as BenchOptions["variant"], valueSize: p.valueSize }),
  metrics: [M.mbPerSec, M.valuesPerSec, M.p50Us, M.p99Us, M.cpuPerMb, M.resentPct],
  plots: [
    { file: "throughput.svg", title: "Throughput against value size", x: { param: "valueSize", label: "value size (bytes)", log: true }, y: { metric: "mbPerSec", label: "MB/s" }, seriesBy: ["variant"] },
    { file: "values.svg", title: "Values per second against value size", x: { param: "valueSize", label: "value size (bytes)", log: true }, y: { metric: "valuesPerSec", label: "values/s", log: true }, seriesBy: ["variant"] },
    { file: "latency.svg", title: "Latency against value size", x: { param: "valueSize", label: "value size (bytes)", log: true }, y: { metric: "p50Us", label: "p50 latency (µs)", log: true }, seriesBy: ["variant"] },
  ],
});

const socketBuffers = benchExperiment<{ readonly bufferKB: number }>({
  name: "socket-buffers",
  title: "M-Ring against the multicast socket buffers",
  source: "thesis §3.5, Figs. 3.12–3.13",
  description:
    "The default M-Ring bench (3 acceptors, RAM, 8 KB values, 256 in flight) with the multicast sockets' receive and send buffers asked for from 64 KB to 4 MB (multicast.recvBufferBytes, sendBufferBytes; this host caps both at net.core.rmem_max = 4 MB, so the 16 MB default is 4 MB here). A small buffer drops datagrams while a receiver is busy, and every loss costs a retransmission. U-Ring's TCP links have no such option yet.",
  params: ["bufferKB"],
  full: [64, 256, 1024, 4096].map((bufferKB) => ({ bufferKB })),
  quick: [64, 4096].map((bufferKB) => ({ bufferKB })),
  options: (p) => ({ socketBufferBytes: p.bufferKB * 1024 }),
  metrics: [M.mbPerSec, M.p50Us, M.p99Us, M.resentPct, M.cpuPerMb],
  plots: [
    { file: "throughput.svg", title: "Throughput against socket buffer size", x: { param: "bufferKB", label: "socket buffer (KB)", log: true }, y: { metric: "mbPerSec", label: "MB/s" } },
    { file: "p99.svg", title: "Tail latency against socket buffer size", x: { param: "bufferKB", label: "socket buffer (KB)", log: true }, y: { metric: "p99Us", label: "p99 latency (µs)", log: true } },
  ],
});

type VariantRing = { readonly variant: string; readonly ring: number };

const ringSize = benchExperiment<VariantRing>({
  name: "ring-size",
  title: "Throughput against the number of acceptors",
  source: "thesis §3.5, Fig. 3.8",
  description:
    "M-Ring keeps f+1 acceptors on its ring and the rest as spares; U-Ring puts every process on the ring. 8 KB values, RAM ledgers, one closed-loop client (256 in flight), one learner; acceptors 3 to 9.",
  params: ["variant", "ring"],
  full: cross(["mring", "uring"], [3, 5, 7, 9], (variant, ring) => ({ variant, ring })),
  quick: cross(["mring", "uring"], [3, 5], (variant, ring) => ({ variant, ring })),
  options: (p) => ({ variant: p.variant as BenchOptions["variant"], ring: p.ring, valueSize: 8192 }),
  metrics: [M.mbPerSec, M.p50Us, M.p99Us, M.cpuPercent, M.cpuPerMb],
  plots: [
    { file: "throughput.svg", title: "Throughput against acceptors", x: { param: "ring", label: "acceptors" }, y: { metric: "mbPerSec", label: "MB/s" }, seriesBy: ["variant"] },
    { file: "latency.svg", title: "Latency against acceptors", x: { param: "ring", label: "acceptors" }, y: { metric: "p50Us", label: "p50 latency (µs)" }, seriesBy: ["variant"] },
  ],
});

const windowSweep = benchExperiment<{ readonly window: number }>({
  name: "window",
  title: "Latency and throughput against the client's window",
  source: "seed 002 §6.2 (latency against window size)",
  description:
    "One closed-loop client keeps WINDOW values of 1 KB in flight on an M-Ring of 3 acceptors (RAM): a window of 1 is the latency floor of one value; larger windows fill batches and trade latency for throughput.",
  params: ["window"],
  full: [1, 2, 4, 8, 16, 32, 64, 128, 256, 1024].map((window) => ({ window })),
  quick: [1, 16, 256].map((window) => ({ window })),
  options: (p) => ({ window: p.window, valueSize: 1024 }),
  metrics: [M.valuesPerSec, M.p50Us, M.p99Us, M.cpuPercent],
  plots: [
    { file: "latency.svg", title: "Latency against window", x: { param: "window", label: "values in flight", log: true }, y: { metric: "p50Us", label: "p50 latency (µs)", log: true } },
    { file: "p99.svg", title: "Tail latency against window", x: { param: "window", label: "values in flight", log: true }, y: { metric: "p99Us", label: "p99 latency (µs)", log: true } },
    { file: "throughput.svg", title: "Throughput against window", x: { param: "window", label: "values in flight", log: true }, y: { metric: "valuesPerSec", label: "values/s", log: true } },
  ],
});

const ROLES = ["coordinator", "acceptor", "learner", "client"] as const;

const cpuPerRole = benchExperiment<{ readonly variant: string }>({
  name: "cpu-per-role",
  title: "CPU and memory per role at full load",
  source: "thesis §3.5, Tables 3.3–3.4",
  description:
    "The default bench load (8 KB values for M-Ring, 32 KB for U-Ring; 3 acceptors, RAM; one client with 256 in flight, one learner): CPU (% of one core) and peak RSS of each role's processes (the coordinator is also an acceptor; an acceptor's figure is the mean of the others).",
  params: ["variant"],
  full: [{ variant: "mring" }, { variant: "uring" }],
  quick: [{ variant: "mring" }, { variant: "uring" }],
  options: (p) => ({ variant: p.variant as BenchOptions["variant"], valueSize: p.variant === "uring" ? 32768 : 8192 }),
  metrics: [M.mbPerSec, ...ROLES.map((r) => ({ key: `cpu.${r}`, label: `${r} CPU (%)` })), ...ROLES.map((r) => ({ key: `rss.${r}`, label: `${r} peak RSS (MB)` }))],
  plots: [],
});

const LEDGERS: Record<string, Partial<BenchOptions>> = { ram: { ledger: "ram" }, wal: { ledger: "wal", walSync: "fsync" }, "wal-nosync": { ledger: "wal", walSync: "none" } };

/** Seed 000's runs: a value a second per proposer, so a run's figures rest on a dozen values each (12 s measured). */
const ONE_A_SECOND: Timing = { full: { durationS: 12, warmupS: 2 }, quick: { durationS: 6, warmupS: 1 } };
/** Two proposers at a value a second each: 15 s measured (the committed runs of workloads B and C). */
const TWO_A_SECOND: Timing = { full: { durationS: 15, warmupS: 2 }, quick: { durationS: 6, warmupS: 1 } };

type LedgerRingSize = { readonly ledger: string; readonly ring: number; readonly valueSize: number };

const workloadA = benchExperiment<LedgerRingSize>({
  name: "workload-a",
  title: "Workload A: one proposer at one proposal a second, RAM against disk",
  source: "seed 000 §3–4 (workload A)",
  description:
    "One client proposes one value a second (open loop) to an M-Ring whose acceptors keep their ledger in RAM, in a write-ahead log with fdatasync before every vote, or in one without sync: the latency of a lone value and what the ink adds to it, against the value size (3 acceptors) and against the number of acceptors (1 KB values), the two sweeps of the seed.",
  params: ["ledger", "ring", "valueSize"],
  full: [
    ...cross(["ram", "wal", "wal-nosync"], [64, 1024, 32768], (ledger, valueSize) => ({ ledger, ring: 3, valueSize })),
    ...cross(["ram", "wal"], [5, 7], (ledger, ring) => ({ ledger, ring, valueSize: 1024 })),
  ],
  quick: cross(["ram", "wal"], [1024], (ledger, valueSize) => ({ ledger, ring: 3, valueSize })),
  timing: ONE_A_SECOND,
  options: (p) => ({ ...LEDGERS[p.ledger], ring: p.ring, valueSize: p.valueSize, rate: 1 }),
  metrics: [M.p50Us, M.p99Us, M.slowRate],
  plots: [
    { file: "latency-size.svg", title: "Latency of a lone value against value size (3 acceptors)", where: { ring: 3 }, x: { param: "valueSize", label: "value size (bytes)", log: true }, y: { metric: "p50Us", label: "p50 latency (µs)", log: true }, seriesBy: ["ledger"] },
    { file: "latency-ring.svg", title: "Latency of a lone value against acceptors (1 KB)", where: { valueSize: 1024 }, x: { param: "ring", label: "acceptors" }, y: { metric: "p50Us", label: "p50 latency (µs)", log: true }, seriesBy: ["ledger"] },
  ],
});

type Ring = { readonly ring: number };

const workloadB = benchExperiment<Ring>({
  name: "workload-b",
  title: "Workload B: two proposers at one proposal a second, the second starting later",
  source: "seed 000 §3–4 (workload B)",
  description:
    "Two clients (M0, then M1 half a second later) each propose one 1 KB value a second to an M-Ring with RAM ledgers; 3 to 9 acceptors. Both send to the one coordinator, so they do not duel: the figure is the latency of a value with another proposer at work.",
  params: ["ring"],
  full: [3, 5, 7, 9].map((ring) => ({ ring })),
  quick: [3, 5].map((ring) => ({ ring })),
  timing: TWO_A_SECOND,
  options: (p) => ({ ring: p.ring, clients: 2, valueSize: 1024, rate: 1, clientSchedule: [{}, { startDelayS: 0.5 }] }),
  metrics: [M.p50Us, M.p99Us, M.slowRate],
  plots: [{ file: "latency.svg", title: "Latency with two proposers against acceptors", x: { param: "ring", label: "acceptors" }, y: { metric: "p50Us", label: "p50 latency (µs)" } }],
});

type Ledger = { readonly ledger: string };

const workloadC = benchExperiment<Ledger>({
  name: "workload-c",
  title: "Workload C: two proposers, the first dies",
  source: "seed 000 §3 (workload C)",
  description:
    "As workload B on 3 acceptors (RAM or a write-ahead log with fdatasync), but M0 is killed (SIGKILL) half-way through the measured time: M1 goes on, and its values keep being decided. Figures are M1's; the learner's rate halves when M0 dies. Agreement and order under such crashes are checked by the simulator and the process tests.",
  params: ["ledger"],
  full: [{ ledger: "ram" }, { ledger: "wal" }],
  quick: [{ ledger: "ram" }],
  timing: TWO_A_SECOND,
  // M0 dies half-way through the measured time.
  options: (p, t) => ({ ...LEDGERS[p.ledger], clients: 2, valueSize: 1024, rate: 1, clientSchedule: [{ killAfterS: t.warmupS + t.durationS / 2 }, { startDelayS: 0.5 }] }),
  metrics: [M.p50Us, M.p99Us, M.slowRate],
  plots: [],
});

type LedgerClients = { readonly ledger: string; readonly clients: number };

const workloadD = benchExperiment<LedgerClients>({
  name: "workload-d",
  title: "Workload D: NUM_PROPOSERS proposers at one proposal a second",
  source: "seed 000 §3 (workload D)",
  description: "NUM_PROPOSERS clients each propose one 1 KB value a second to an M-Ring of 3 acceptors, RAM ledger or a write-ahead log with fdatasync: latency as proposers are added.",
  params: ["ledger", "clients"],
  full: cross(["ram", "wal"], [1, 2, 4, 8], (ledger, clients) => ({ ledger, clients })),
  quick: cross(["ram"], [1, 4], (ledger, clients) => ({ ledger, clients })),
  timing: ONE_A_SECOND,
  options: (p) => ({ ...LEDGERS[p.ledger], clients: p.clients, valueSize: 1024, rate: 1 }),
  metrics: [M.p50Us, M.p99Us, M.slowRate],
  plots: [{ file: "latency.svg", title: "Latency against proposers (one value a second each)", x: { param: "clients", label: "proposers" }, y: { metric: "p50Us", label: "p50 latency (µs)" }, seriesBy: ["ledger"] }],
});

const proposers = benchExperiment<LedgerClients>({
  name: "proposers",
  title: "NUM_PROPOSERS proposers at full speed, RAM against disk",
  source: "seed 000 §3 (workload D at full speed)",
  description:
    "NUM_PROPOSERS closed-loop clients (32 values of 1 KB in flight each) on an M-Ring of 3 acceptors, RAM ledger against a write-ahead log with fdatasync (group commit): throughput and latency as proposers are added.",
  params: ["ledger", "clients"],
  full: cross(["ram", "wal"], [1, 2, 4, 8], (ledger, clients) => ({ ledger, clients })),
  quick: cross(["ram", "wal"], [1, 4], (ledger, clients) => ({ ledger, clients })),
  options: (p) => ({ ...LEDGERS[p.ledger], clients: p.clients, window: 32, valueSize: 1024 }),
  metrics: [M.valuesPerSec, M.mbPerSec, M.p50Us, M.p99Us, M.cpuPerMb],
  plots: [
    { file: "throughput.svg", title: "Throughput against proposers", x: { param: "clients", label: "proposers" }, y: { metric: "valuesPerSec", label: "values/s" }, seriesBy: ["ledger"] },
    { file: "latency.svg", title: "Latency against proposers", x: { param: "clients", label: "proposers" }, y: { metric: "p50Us", label: "p50 latency (µs)", log: true }, seriesBy: ["ledger"] },
  ],
});

/** Thesis Fig. 3.14's run: a minute, the learner slowed from 20 s to 40 s (a quarter of that in quick mode). */
const FLOW: Timing = { full: { durationS: 60, warmupS: 2 }, quick: { durationS: 15, warmupS: 1 } };
const spell = (t: Timing["full"]) => ({ fromS: t.durationS / 3, toS: (2 * t.durationS) / 3 });

const flowControl: Experiment = {
  ...benchExperiment<{ readonly runPercent: number }>({
    name: "flow-control",
    title: "Flow control over time: a learner slowed for a third of the run",
    source: "thesis §3.5, Fig. 3.14",
    description:
      "The default M-Ring bench with two learners; the second is slowed from 20 s to 40 s of a 60 s run (stopped for 70 % of every 100 ms, as if it had 30 % of a CPU). It falls behind, tells the coordinator, which halves its window of instances until the learner catches up: every learner's rate follows the slow one's, then recovers. The first learner's rate and the coordinator's window over time.",
    params: ["runPercent"],
    full: [{ runPercent: 30 }],
    quick: [{ runPercent: 30 }],
    timing: FLOW,
    // The client learns from the multicast itself: a client told by the slowed learner would slow the loop by itself.
    options: (p, t) => ({ learners: 2, clientsLearn: true, slowLearner: { ...spell(t), runPercent: p.runPercent } }),
    metrics: [M.mbPerSec, M.p50Us, M.p99Us],
    plots: [],
  }),
  plots: (m) => {
    const { fromS, toS } = spell(m.quick ? FLOW.quick : FLOW.full);
    const markers = [
      { t: fromS, label: "slowed" },
      { t: toS, label: "full speed" },
    ];
    return [
      { kind: "timeline", file: "learners.svg", title: `Learners' delivery rate over time (second learner slowed ${fromS}–${toS} s)`, match: "values/s", y: { label: "values/s" }, markers },
      { kind: "timeline", file: "window.svg", title: "Coordinator's window of instances over time", match: "window", y: { label: "instances in flight (window)" }, markers },
    ];
  },
};

/**
 * Thesis Fig. 3.2 with this runtime's own sockets: the limits' TCP ring (a pipeline: every
 * process forwards each block to the next) and multicast fan-out (bench/limits.ts), each receiver
 * getting the whole stream. Not a bench cluster: child processes that move bytes and decode nothing.
 */
const oneToMany: Experiment = {
  name: "one-to-many",
  title: "One-to-many: ip-multicast against a TCP pipeline, per receiver",
  source: "thesis §3.1, Fig. 3.2",
  description:
    "What one sender can get to every one of N receivers on this host, with nothing decoded: ip-multicast of 8 KB datagrams (the highest rate of 5,000–130,000 a second at which every receiver takes 99.9 %) and a pipeline (a TCP ring of N + 1 processes forwarding 32 KB blocks, node:net and Bun's native sockets). Unicast to each receiver in turn is not measured yet.",
  params: ["receivers"],
  points: (m) => (m.quick ? [1, 3] : [1, 2, 3, 4, 6]).map((receivers) => ({ receivers })),
  repeat: (m) => (m.quick ? 1 : 3),
  metrics: [
    { key: "multicastMBps", label: "ip-multicast, per receiver (MB/s)" },
    { key: "pipelineMBps", label: "TCP pipeline node:net, per receiver (MB/s)" },
    { key: "pipelineNativeMBps", label: "TCP pipeline Bun native, per receiver (MB/s)" },
  ],
  plots: () => [
    { file: "multicast.svg", title: "ip-multicast: per-receiver throughput against receivers", x: { param: "receivers", label: "receivers" }, y: { metric: "multicastMBps", label: "MB/s" } },
    { file: "pipeline.svg", title: "TCP pipeline: per-receiver throughput against receivers", x: { param: "receivers", label: "receivers" }, y: { metric: "pipelineMBps", label: "MB/s" } },
  ],
  estimateS: (p, m) => (m.quick ? 20 : 25) + 2 * Number(p["receivers"]),
  run: async (p, m) => {
    const receivers = Number(p["receivers"]);
    const options = { ...LIMIT_DEFAULTS, ringProcesses: receivers + 1, receivers, stepMs: m.quick ? 1000 : LIMIT_DEFAULTS.stepMs };
    const l = await measureLimits(options);
    return { config: { ...options }, metrics: { multicastMBps: l.multicast.losslessMBps, pipelineMBps: l.tcpRing.nodeNetMBps, ...(l.tcpRing.bunNativeMBps === null ? {} : { pipelineNativeMBps: l.tcpRing.bunNativeMBps }) } };
  },
};

export const EXPERIMENTS: readonly Experiment[] = [ringValueSize, ringSize, windowSweep, cpuPerRole, socketBuffers, flowControl, oneToMany, workloadA, workloadB, workloadC, workloadD, proposers];

export function findExperiment(name: string): Experiment | undefined {
  return EXPERIMENTS.find((e) => e.name === name);
}

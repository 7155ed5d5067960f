/** Ring Paxos itself (thesis ch. 3, seed 002 §6.2's window): value size, ring size, the client's window, socket buffers, CPU per role, flow control, one-to-many. */
import type { BenchOptions } from "../../bench/run.ts";
import { LIMIT_DEFAULTS, measureLimits, unicastFanOut } from "../../bench/limits.ts";
import type { Experiment } from "../spec.ts";
import { benchExperiment, cross, M, type Timing } from "./bench-experiment.ts";

type VariantSize = { readonly variant: string; readonly valueSize: number };

export const ringValueSize = benchExperiment<VariantSize>({
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

export const socketBuffers = benchExperiment<{ readonly variant: string; readonly bufferKB: number }>({
  name: "socket-buffers",
  title: "M-Ring and U-Ring against their socket buffers",
  source: "thesis §3.5.7, Figs. 3.12–3.13",
  description:
    "The bench (3 acceptors, RAM, one client keeping 256 values in flight, one learner; 8 KB values for M-Ring, 32 KB for U-Ring as in the thesis) with every process's socket buffers asked for from 32 KB to 4 MB: M-Ring's multicast sockets (multicast.recvBufferBytes, sendBufferBytes), U-Ring's TCP connections (tcp.sendBufferBytes, recvBufferBytes, set on each connection's descriptor). A small multicast buffer drops datagrams while a receiver is busy, and every loss costs a retransmission; a small TCP buffer bounds what a link has in flight. This host caps both at net.core.rmem_max / wmem_max = 4 MB (the thesis used 16 MB for M-Ring and 32 MB for U-Ring; M-Ring's default is 16 MB, U-Ring's the kernel's autotuning).",
  params: ["variant", "bufferKB"],
  full: cross(["mring", "uring"], [32, 128, 512, 1024, 4096], (variant, bufferKB) => ({ variant, bufferKB })),
  quick: cross(["mring", "uring"], [32, 4096], (variant, bufferKB) => ({ variant, bufferKB })),
  options: (p) => ({ variant: p.variant as BenchOptions["variant"], valueSize: p.variant === "uring" ? 32768 : 8192, socketBufferBytes: p.bufferKB * 1024 }),
  metrics: [M.mbPerSec, M.p50Us, M.p99Us, M.resentPct, M.cpuPerMb],
  plots: [
    { file: "throughput.svg", title: "Throughput against socket buffer size", x: { param: "bufferKB", label: "socket buffer (KB)", log: true }, y: { metric: "mbPerSec", label: "MB/s" }, seriesBy: ["variant"] },
    { file: "latency.svg", title: "Latency against socket buffer size", x: { param: "bufferKB", label: "socket buffer (KB)", log: true }, y: { metric: "p50Us", label: "p50 latency (µs)", log: true }, seriesBy: ["variant"] },
    { file: "p99.svg", title: "Tail latency against socket buffer size", x: { param: "bufferKB", label: "socket buffer (KB)", log: true }, y: { metric: "p99Us", label: "p99 latency (µs)", log: true }, seriesBy: ["variant"] },
  ],
});

type VariantRing = { readonly variant: string; readonly ring: number };

export const ringSize = benchExperiment<VariantRing>({
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

export const windowSweep = benchExperiment<{ readonly window: number }>({
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

export const cpuPerRole = benchExperiment<{ readonly variant: string }>({
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

/** Thesis Fig. 3.14's run: a minute, the learner slowed from 20 s to 40 s (a quarter of that in quick mode). */
const FLOW: Timing = { full: { durationS: 60, warmupS: 2 }, quick: { durationS: 15, warmupS: 1 } };
const spell = (t: Timing["full"]) => ({ fromS: t.durationS / 3, toS: (2 * t.durationS) / 3 });

export const flowControl: Experiment = benchExperiment<{ readonly runPercent: number }>({
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
});

/**
 * Thesis Fig. 3.2 with this runtime's own sockets: the limits' TCP ring (a pipeline: every
 * process forwards each block to the next) and multicast fan-out (bench/limits.ts), each receiver
 * getting the whole stream. Not a bench cluster: child processes that move bytes and decode nothing.
 */
export const oneToMany: Experiment = {
  name: "one-to-many",
  title: "One-to-many: ip-multicast against a TCP pipeline, per receiver",
  source: "thesis §3.1, Fig. 3.2",
  description:
    "What one sender can get to every one of N receivers on this host, with nothing decoded: ip-multicast of 8 KB datagrams (the highest rate of 5,000–130,000 a second at which every receiver takes 99.9 %), unicast (the sender writes every 32 KB block to each receiver in turn over TCP, node:net; the slowest receiver's rate) and a pipeline (a TCP ring of N + 1 processes forwarding 32 KB blocks, node:net and Bun's native sockets).",
  params: ["receivers"],
  points: (m) => (m.quick ? [1, 3] : [1, 2, 3, 4, 6]).map((receivers) => ({ receivers })),
  repeat: (m) => (m.quick ? 1 : 3),
  metrics: [
    { key: "multicastMBps", label: "ip-multicast, per receiver (MB/s)" },
    { key: "unicastMBps", label: "unicast TCP, per receiver (MB/s)" },
    { key: "pipelineMBps", label: "TCP pipeline node:net, per receiver (MB/s)" },
    { key: "pipelineNativeMBps", label: "TCP pipeline Bun native, per receiver (MB/s)" },
  ],
  plots: () => [
    { file: "multicast.svg", title: "ip-multicast: per-receiver throughput against receivers", x: { param: "receivers", label: "receivers" }, y: { metric: "multicastMBps", label: "MB/s" } },
    { file: "pipeline.svg", title: "TCP pipeline: per-receiver throughput against receivers", x: { param: "receivers", label: "receivers" }, y: { metric: "pipelineMBps", label: "MB/s" } },
    { file: "unicast.svg", title: "Unicast: per-receiver throughput against receivers", x: { param: "receivers", label: "receivers" }, y: { metric: "unicastMBps", label: "MB/s" } },
  ],
  estimateS: (p, m) => (m.quick ? 22 : 28) + 2 * Number(p["receivers"]),
  run: async (p, m) => {
    const receivers = Number(p["receivers"]);
    const options = { ...LIMIT_DEFAULTS, ringProcesses: receivers + 1, receivers, stepMs: m.quick ? 1000 : LIMIT_DEFAULTS.stepMs };
    const l = await measureLimits(options);
    const unicastMBps = await unicastFanOut(receivers, options.ringBlockBytes, options.stepMs);
    return { config: { ...options }, metrics: { multicastMBps: l.multicast.losslessMBps, unicastMBps, pipelineMBps: l.tcpRing.nodeNetMBps, ...(l.tcpRing.bunNativeMBps === null ? {} : { pipelineNativeMBps: l.tcpRing.bunNativeMBps }) } };
  },
};


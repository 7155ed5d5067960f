/** Seed 000's workloads A–D, exactly as defined, and its proposers at full speed. */
import type { BenchOptions } from "../../bench/run.ts";
import { benchExperiment, cross, M, type Timing } from "./bench-experiment.ts";

const LEDGERS: Record<string, Partial<BenchOptions>> = { ram: { ledger: "ram" }, wal: { ledger: "wal", walSync: "fsync" }, "wal-nosync": { ledger: "wal", walSync: "none" } };

/** Seed 000's runs: a value a second per proposer, so a run's figures rest on a dozen values each (12 s measured). */
const ONE_A_SECOND: Timing = { full: { durationS: 12, warmupS: 2 }, quick: { durationS: 6, warmupS: 1 } };
/** Two proposers at a value a second each: 15 s measured (the committed runs of workloads B and C). */
const TWO_A_SECOND: Timing = { full: { durationS: 15, warmupS: 2 }, quick: { durationS: 6, warmupS: 1 } };

type LedgerRingSize = { readonly ledger: string; readonly ring: number; readonly valueSize: number };

export const workloadA = benchExperiment<LedgerRingSize>({
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

export const workloadB = benchExperiment<Ring>({
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

export const workloadC = benchExperiment<Ledger>({
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

export const workloadD = benchExperiment<LedgerClients>({
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

export const proposers = benchExperiment<LedgerClients>({
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


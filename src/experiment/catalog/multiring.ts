/** Multi-Ring Paxos (thesis ch. 5) on loopback: rings added, and the merge's parameters Δ and M swept. */
import type { BenchOptions } from "../../bench/run.ts";
import { MultiRingSchema } from "../../config/schema.ts";
import { benchExperiment, cross, M, type Timing } from "./bench-experiment.ts";

const DEFAULTS = MultiRingSchema.parse({});

/** Two rings of three acceptors each, one learner merging both, one open-loop client per ring (bench/multiring-sweeps.ts' setting). */
function twoRings(over: Partial<NonNullable<BenchOptions["multiRing"]>>): NonNullable<BenchOptions["multiRing"]> {
  return { rings: 2, groupsPerLearner: "all", shareAcceptors: false, lambdaPerSecond: DEFAULTS.lambdaPerSecond, deltaMs: DEFAULTS.deltaMs, m: DEFAULTS.m, ...over };
}

const SWEEP: Timing = { full: { durationS: 5, warmupS: 1 }, quick: { durationS: 3, warmupS: 1 } };

const MERGE = {
  merged: { key: "mbPerSec", label: "merged throughput (MB/s)", digits: 1 },
  waitMean: { key: "mergeWaitMeanUs", label: "merge wait, mean (µs)" },
  waitP99: { key: "mergeWaitP99Us", label: "merge wait, p99 (µs)" },
  aggregate: { key: "aggregateMbPerSec", label: "aggregate throughput (MB/s)", digits: 1 },
  cpuMsPerMb: { key: "cpuMsPerMb", label: "CPU per MB, all processes (ms)", digits: 1 },
} as const;

type DeltaRate = { readonly deltaMs: number; readonly rate: number };

export const multiringDelta = benchExperiment<DeltaRate>({
  name: "multiring-delta",
  title: "Multi-Ring: the skip interval Δ",
  source: "thesis §5.3.2, Fig. 5.6",
  description:
    "Two M-Ring rings of 3 acceptors, one learner merging both, one open-loop client per ring offering 500, 2,000 or 4,500 values/s of 8 KB; λ 2,000 instances/s, M 1, Δ from 1 to 100 ms. A longer Δ lets a ring run idle longer before its skips fill the merge's turn: the merge waits longer; a shorter one costs the coordinators CPU.",
  params: ["deltaMs", "rate"],
  full: cross([1, 5, 20, 100], [500, 2000, 4500], (deltaMs, rate) => ({ deltaMs, rate })),
  quick: cross([1, 100], [2000], (deltaMs, rate) => ({ deltaMs, rate })),
  timing: SWEEP,
  options: (p) => ({ rate: p.rate, multiRing: twoRings({ deltaMs: p.deltaMs }) }),
  metrics: [MERGE.merged, MERGE.waitMean, MERGE.waitP99, { key: "cpu.coordinator", label: "coordinator CPU (%)" }, M.p50Us],
  plots: [
    { file: "wait.svg", title: "The merge's wait against Δ", x: { param: "deltaMs", label: "Δ (ms)", log: true }, y: { metric: "mergeWaitMeanUs", label: "mean merge wait (µs)", log: true }, seriesBy: ["rate"] },
    { file: "cpu.svg", title: "Coordinators' CPU against Δ", x: { param: "deltaMs", label: "Δ (ms)", log: true }, y: { metric: "cpu.coordinator", label: "CPU (% of a core)" }, seriesBy: ["rate"] },
  ],
});

type MRate = { readonly m: number; readonly rate: number };

export const multiringM = benchExperiment<MRate>({
  name: "multiring-m",
  title: "Multi-Ring: instances per ring per merge turn, M",
  source: "thesis §5.3.2, Fig. 5.7",
  description:
    "As multiring-delta with Δ 5 ms, and M, the instances the learner takes from each ring per turn of its merge, from 1 to 16: merged throughput, the merge's wait and the learner's CPU.",
  params: ["m", "rate"],
  full: cross([1, 4, 16], [500, 2000, 4500], (m, rate) => ({ m, rate })),
  quick: cross([1, 16], [2000], (m, rate) => ({ m, rate })),
  timing: SWEEP,
  options: (p) => ({ rate: p.rate, multiRing: twoRings({ m: p.m }) }),
  metrics: [MERGE.merged, MERGE.waitMean, MERGE.waitP99, { key: "cpu.learner", label: "learner CPU (%)" }, M.p50Us],
  plots: [
    { file: "wait.svg", title: "The merge's wait against M", x: { param: "m", label: "M", log: true }, y: { metric: "mergeWaitMeanUs", label: "mean merge wait (µs)", log: true }, seriesBy: ["rate"] },
    { file: "throughput.svg", title: "Merged throughput against M", x: { param: "m", label: "M", log: true }, y: { metric: "mbPerSec", label: "MB/s" }, seriesBy: ["rate"] },
  ],
});

type RingsGroups = { readonly rings: number; readonly groups: string };

export const multiringRings = benchExperiment<RingsGroups>({
  name: "multiring-rings",
  title: "Multi-Ring: throughput as rings are added, on one host",
  source: "thesis §5.3.1, Figs. 5.4–5.5 (on loopback: the CPU, not the network, is the limit)",
  description:
    "K rings of 3 acceptors each (processes of their own), one closed-loop client per ring (256 values of 8 KB in flight), and learners subscribed to one group each (one learner per ring: the thesis' best case, Fig. 5.4) or to every group (one learner: the worst case, Fig. 5.5). On this 2-core host every process competes for the same CPU, so aggregate throughput cannot grow with K as it does when each ring has its own network links (bench/multiring-scaling.ts caps each namespace's link instead: README, Multi-Ring).",
  params: ["rings", "groups"],
  full: cross([1, 2, 3], ["one", "all"], (rings, groups) => ({ rings, groups })),
  quick: cross([1, 2], ["one"], (rings, groups) => ({ rings, groups })),
  options: (p) => ({ multiRing: { rings: p.rings, groupsPerLearner: p.groups as "one" | "all", shareAcceptors: false, lambdaPerSecond: DEFAULTS.lambdaPerSecond, deltaMs: DEFAULTS.deltaMs, m: DEFAULTS.m } }),
  metrics: [MERGE.aggregate, MERGE.waitMean, MERGE.cpuMsPerMb, M.p50Us, M.cpuPercent],
  plots: [{ file: "throughput.svg", title: "Aggregate throughput against rings", x: { param: "rings", label: "rings" }, y: { metric: "aggregateMbPerSec", label: "MB/s" }, seriesBy: ["groups"] }],
});

/** Seed 003 ch. 4: quorum sizes. Flexible quorums: a smaller Phase 2 quorum, a larger Phase 1 one. */
import type { BenchOptions } from "../../bench/run.ts";
import { benchExperiment, M } from "./bench-experiment.ts";

type VariantQuorums = { readonly variant: string; readonly q1: number; readonly q2: number };

const PAIRS = [
  [3, 3],
  [4, 2],
  [5, 1],
] as const;

export const flexibleQuorums = benchExperiment<VariantQuorums>({
  name: "flexible-quorums",
  title: "Flexible quorums: Phase 2 over fewer acceptors",
  source: "seed 003 ch. 4 (configuration and quorum sizes); Howard et al., Flexible Paxos",
  description:
    "5 acceptors (RAM), 8 KB values for M-Ring and 32 KB for U-Ring, one closed-loop client (256 in flight), one learner; Phase 1 and Phase 2 quorums (protocol.phase1Quorum, phase2Quorum) of 3 and 3 (majorities), 4 and 2, 5 and 1. M-Ring's ring holds the Phase 2 quorum (the coordinator last), so a smaller one is a shorter ring; U-Ring decides at the acceptor that completes it. Fewer votes per decision cost less; the price is paid on a change of leader, which needs a larger Phase 1 quorum (with 5 and 1, every acceptor).",
  params: ["variant", "q1", "q2"],
  full: ["mring", "uring"].flatMap((variant) => PAIRS.map(([q1, q2]) => ({ variant, q1, q2 }))),
  quick: PAIRS.filter(([q1]) => q1 !== 4).map(([q1, q2]) => ({ variant: "mring", q1, q2 })),
  options: (p) => ({ variant: p.variant as BenchOptions["variant"], ring: 5, valueSize: p.variant === "uring" ? 32768 : 8192, quorums: { phase1: p.q1, phase2: p.q2 } }),
  metrics: [M.mbPerSec, M.p50Us, M.p99Us, M.cpuPercent, M.cpuPerMb],
  plots: [
    { file: "throughput.svg", title: "Throughput against the Phase 2 quorum (5 acceptors)", x: { param: "q2", label: "Phase 2 quorum (acceptors)" }, y: { metric: "mbPerSec", label: "MB/s" }, seriesBy: ["variant"] },
    { file: "latency.svg", title: "Latency against the Phase 2 quorum (5 acceptors)", x: { param: "q2", label: "Phase 2 quorum (acceptors)" }, y: { metric: "p50Us", label: "p50 latency (µs)", log: true }, seriesBy: ["variant"] },
  ],
});

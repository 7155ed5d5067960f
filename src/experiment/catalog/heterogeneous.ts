/** Thesis ch. 7 (Paxos in the cloud): one slow acceptor, with and without slow-acceptor avoidance. */
import type { Experiment, Mode } from "../spec.ts";
import { benchExperiment, M, type Timing } from "./bench-experiment.ts";

const HETERO: Timing = { full: { durationS: 20, warmupS: 2 }, quick: { durationS: 10, warmupS: 1 } };

/** The ring acceptor is slow from a fifth of the run on; in `kill` points the fast one dies half-way. */
const moments = (t: Timing["full"]) => ({ slowFromS: t.durationS / 5, killAtS: t.durationS / 2 });

/**
 * How slow (a SIGSTOP duty cycle): `stalls` runs 20 % of every 500 ms (stopped 400 ms at a time,
 * longer than Phase 2's retries wait); `slow` runs 25 % of every 20 ms (a fifth of a CPU, never
 * stopped longer than a retransmission takes).
 */
const SLOWNESS = { stalls: { runPercent: 20, periodMs: 500 }, slow: { runPercent: 25, periodMs: 20 } } as const;

type Point = { readonly slowness: string; readonly avoidance: string; readonly failure: string };

export const heterogeneousAcceptors: Experiment = benchExperiment<Point>({
  name: "heterogeneous-acceptors",
  title: "One slow acceptor, with and without slow-acceptor avoidance",
  source: "thesis ch. 7 (Libpaxos against Libpaxos+)",
  description:
    "The default M-Ring bench (3 acceptors, RAM, 8 KB values); the acceptor on the coordinator's ring (node 0's ring is [a, 0]) is slowed from a fifth of the run to its end with a SIGSTOP duty cycle: `stalls` (running 20 % of every 500 ms) or `slow` (25 % of every 20 ms, a fifth of a CPU in short slices). With avoidance (protocol.slowAcceptorMs 50, the default) the coordinator measures late heartbeat acks and lays the acceptor off the ring in a new round, the spare taking its place; without (slowAcceptorMs 0) only Phase 2's retries do, when a 2A goes unanswered past them (a new round whose Phase 1 the late acceptor answers last). `kill`: the other acceptor, fast, dies (SIGKILL) half-way, so the slow one must be on the ring again.",
  params: ["slowness", "avoidance", "failure"],
  full: [
    ...["on", "off"].flatMap((avoidance) => ["none", "kill"].map((failure) => ({ slowness: "stalls", avoidance, failure }))),
    ...["on", "off"].map((avoidance) => ({ slowness: "slow", avoidance, failure: "none" })),
  ],
  quick: ["on", "off"].map((avoidance) => ({ slowness: "stalls", avoidance, failure: "none" })),
  timing: HETERO,
  options: (p, t) => {
    const { slowFromS, killAtS } = moments(t);
    return {
      slowAcceptor: { ...SLOWNESS[p.slowness as keyof typeof SLOWNESS], fromS: slowFromS, toS: t.durationS + t.warmupS + 5 },
      slowAcceptorAvoidance: p.avoidance === "on",
      ...(p.failure === "kill" ? { killFastAcceptorAtS: killAtS } : {}),
    };
  },
  metrics: [M.mbPerSec, M.p50Us, M.p99Us, { key: "ringChanges", label: "ring changes" }, { key: "slowRelayouts", label: "new rounds of slow-acceptor avoidance" }, M.resentPct],
  plots: (m: Mode) => {
    const { slowFromS, killAtS } = moments(m.quick ? HETERO.quick : HETERO.full);
    const markers = [
      { t: slowFromS, label: "ring acceptor slowed" },
      { t: killAtS, label: "fast acceptor killed (kill points)" },
    ];
    return [{ kind: "timeline", file: "learner.svg", title: "The learner's delivery rate over time", match: "values/s", y: { label: "values/s" }, markers }];
  },
});

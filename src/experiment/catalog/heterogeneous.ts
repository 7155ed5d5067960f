/** Thesis ch. 7 (Paxos in the cloud): one slow acceptor, with and without slow-acceptor avoidance. */
import type { Experiment, Mode } from "../spec.ts";
import { benchExperiment, cross, M, type Timing } from "./bench-experiment.ts";

const HETERO: Timing = { full: { durationS: 30, warmupS: 2 }, quick: { durationS: 12, warmupS: 1 } };

/** Acceptor 1 is slow from a sixth of the run on; in `kill` points the fast spare, acceptor 2, dies half-way. */
const moments = (t: Timing["full"]) => ({ slowFromS: t.durationS / 6, killAtS: t.durationS / 2 });

/** Runs 20 % of every 500 ms: its heartbeat acks come ~200 ms late on average, far past slowAcceptorMs (50). */
const SLOW = { runPercent: 20, periodMs: 500 };

type AvoidanceFailure = { readonly avoidance: string; readonly failure: string };

const base = benchExperiment<AvoidanceFailure>({
  name: "heterogeneous-acceptors",
  title: "One slow acceptor, with and without slow-acceptor avoidance",
  source: "thesis ch. 7 (Libpaxos against Libpaxos+)",
  description:
    "The default M-Ring bench (3 acceptors, RAM, 8 KB values); acceptor 1, on the ring [1, 0], is slowed from a sixth of the run to its end (stopped 80 % of every 500 ms with SIGSTOP, as if it had a fifth of a CPU). With avoidance (protocol.slowAcceptorMs 50, the default) the coordinator measures its late heartbeat acks and lays it off the ring in a new round, the spare (acceptor 2) taking its place; without (slowAcceptorMs 0) the ring keeps it. `kill`: acceptor 2, fast, dies (SIGKILL) half-way, so the slow one must be on the ring again.",
  params: ["avoidance", "failure"],
  full: cross(["on", "off"], ["none", "kill"], (avoidance, failure) => ({ avoidance, failure })),
  quick: cross(["on", "off"], ["none"], (avoidance, failure) => ({ avoidance, failure })),
  timing: HETERO,
  options: (p, t) => {
    const { slowFromS, killAtS } = moments(t);
    return {
      slowAcceptor: { ...SLOW, fromS: slowFromS, toS: t.durationS + t.warmupS + 5 },
      slowAcceptorAvoidance: p.avoidance === "on",
      ...(p.failure === "kill" ? { acceptorKills: [{ acceptor: 2, atS: killAtS }] } : {}),
    };
  },
  metrics: [M.mbPerSec, M.p50Us, M.p99Us, { key: "newRounds", label: "new rounds" }, M.resentPct],
  plots: [],
});

export const heterogeneousAcceptors: Experiment = {
  ...base,
  plots: (m: Mode) => {
    const { slowFromS, killAtS } = moments(m.quick ? HETERO.quick : HETERO.full);
    const markers = [
      { t: slowFromS, label: "acceptor 1 slowed" },
      { t: killAtS, label: "acceptor 2 killed (kill points)" },
    ];
    return [{ kind: "timeline", file: "learner.svg", title: "The learner's delivery rate over time", match: "values/s", y: { label: "values/s" }, markers }];
  },
};

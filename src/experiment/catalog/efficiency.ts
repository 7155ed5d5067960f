/** Efficiency per learner on a capped network (thesis §3.5, Table 3.2): one process per network namespace, every link shaped by tbf. */
import { runCapped } from "../../bench/capped-run.ts";
import type { Experiment } from "../spec.ts";
import { cross, STEADY } from "./bench-experiment.ts";

/** Nodes starting in their namespaces, the bridge's querier delay, the lab made and taken down. */
const LAB_OVERHEAD_S = 8;

export const cappedEfficiency: Experiment = {
  name: "capped-efficiency",
  title: "Efficiency per learner on capped links",
  source: "thesis §3.5, Table 3.2 (M-Ring 90 %, U-Ring 90.4 %, Libpaxos 3 % at 1 Gbit/s)",
  description:
    "One process per network namespace on a bridge, every host's egress shaped by tc tbf to the cap (100 Mbit/s or 1 Gbit/s, a 4 MB queue); 3 acceptors, 1 or 3 learner-only processes, one closed-loop client keeping 256 values in flight (8 KB values for M-Ring, its multicast leaving through the sender's capped link; 32 KB for U-Ring, whose ring processes learn too and are not counted). A learner's efficiency is the payload it delivers over what one link carries (the thesis' definition: throughput per receiver over the nominal capacity per receiver); the table gives the lowest learner's. How full the busiest link was (its bytes sent, headers and retransmissions included, over the cap) and how busy this 2-core host was tell whether the network or the CPU bounded a run. Needs root and network namespaces.",
  params: ["variant", "capMbit", "learners"],
  points: (m) => (m.quick ? cross(["mring", "uring"], [100], (variant, capMbit) => ({ variant, capMbit, learners: 1 })) : cross(["mring", "uring"], [100, 1000], (variant, capMbit) => [1, 3].map((learners) => ({ variant, capMbit, learners }))).flat()),
  repeat: (m) => (m.quick ? 1 : 3),
  metrics: [
    { key: "efficiency", label: "efficiency (lowest learner, of the cap)", digits: 3 },
    { key: "learnerMBps", label: "per learner (MB/s, lowest)", digits: 1 },
    { key: "busiestLinkUse", label: "busiest link (of the cap)", digits: 2 },
    { key: "hostBusyPct", label: "host CPU busy (%)", digits: 0 },
    { key: "leaderChanges", label: "leader changes", digits: 0 },
    { key: "p50Us", label: "latency p50 (µs)" },
    { key: "resentPct", label: "re-sent (% of delivered)", digits: 2 },
  ],
  plots: () => [
    { file: "efficiency.svg", title: "Efficiency per learner against learners", x: { param: "learners", label: "learners" }, y: { metric: "efficiency", label: "delivered per learner / cap" }, seriesBy: ["variant", "capMbit"] },
    { file: "link.svg", title: "Use of the busiest link against learners", x: { param: "learners", label: "learners" }, y: { metric: "busiestLinkUse", label: "bytes sent / cap" }, seriesBy: ["variant", "capMbit"] },
  ],
  estimateS: (p, m) => (m.quick ? STEADY.quick : STEADY.full).durationS + (m.quick ? STEADY.quick : STEADY.full).warmupS + LAB_OVERHEAD_S + Number(p["learners"]),
  run: async (p, m) => {
    const t = m.quick ? STEADY.quick : STEADY.full;
    const variant = p["variant"] === "uring" ? "uring" : "mring";
    const options = { variant, capMbit: Number(p["capMbit"]), learners: Number(p["learners"]), valueSize: variant === "uring" ? 32768 : 8192, window: 256, instances: 16, durationS: t.durationS, warmupS: t.warmupS } as const;
    const r = await runCapped(options);
    if (r.learners.length === 0) throw new Error("no learner reported two stats lines");
    const lowest = r.learners.reduce((a, b) => (b.mbPerSec < a.mbPerSec ? b : a));
    const resentPct = r.client.acked > 0 ? (r.client.resent / r.client.acked) * 100 : 0;
    return {
      config: { ...options, linkUse: r.linkUse, learners: r.learners },
      metrics: {
        efficiency: lowest.efficiency,
        learnerMBps: lowest.mbPerSec,
        busiestLinkUse: r.busiestLinkUse,
        ...(r.hostBusyPct === null ? {} : { hostBusyPct: r.hostBusyPct }),
        leaderChanges: r.leaderChanges,
        p50Us: r.client.latencyUs.p50,
        resentPct,
      },
    };
  },
};

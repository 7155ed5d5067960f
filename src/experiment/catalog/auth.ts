/** The cost of authenticated traffic (issue: hardening): the default bench with and without a cluster key, interleaved. */
import { benchExperiment, cross, M } from "./bench-experiment.ts";

export const authCost = benchExperiment<{ readonly auth: string; readonly instances: number }>({
  name: "auth-cost",
  title: "Authenticated against plain cluster traffic",
  source: "README, Security (the benchmark pair: within 10 %)",
  description:
    "The default bench (M-Ring, 3 acceptors, RAM, 8 KB values, one client keeping 256 in flight, one learner; the coordinator keeping 8 instances in flight, the bench's default until session 15, or 16, its default since) without a cluster key and with one (every datagram and TCP bundle carries a GMAC, checked before decoding), the two runs of each pair one after the other: the throughput with authentication over the throughput without is the figure.",
  params: ["auth", "instances"],
  full: cross([8, 16], ["off", "on"], (instances, auth) => ({ auth, instances })),
  quick: [{ auth: "off", instances: 8 }, { auth: "on", instances: 8 }],
  repeat: { full: 9, quick: 1 },
  options: (p) => ({ auth: p.auth === "on", instances: p.instances }),
  metrics: [M.mbPerSec, M.cpuPercent, M.cpuPerMb, M.p50Us, M.p99Us, M.resentPct],
  plots: [],
});

/** Seed 002 §6.2: one stable leader against two competing ones. */
import type { Experiment, Mode } from "../spec.ts";
import { benchExperiment, M, type Timing } from "./bench-experiment.ts";

/** Seconds between two changes of leader while two compete (seed 002: each competes again ~2 s after it lost). */
const SWAP_EVERY_S = 2;

const LEADERS: Timing = { full: { durationS: 12, warmupS: 2 }, quick: { durationS: 5, warmupS: 1 } };

/** The moments the leader changes hands in a competing run (the first swap comes one period into the measured time). */
function swaps(m: Mode): { t: number; label: string }[] {
  const { durationS } = m.quick ? LEADERS.quick : LEADERS.full;
  const out: { t: number; label: string }[] = [];
  for (let t = SWAP_EVERY_S, k = 1; t < durationS; t += SWAP_EVERY_S, k++) out.push({ t, label: `node ${k % 2} stands` });
  return out;
}

type LeadersServers = { readonly leaders: string; readonly servers: number };

export const leaders: Experiment = benchExperiment<LeadersServers>({
  name: "leaders",
  title: "One stable leader against two competing leaders",
  source: "seed 002 §6.2, Figs. 6.1, 6.2 and 6.4",
  description:
    "M-Ring with 2 to 5 servers (acceptors, RAM; with 2 and 4 the majority quorums are given explicitly, as the configuration asks for an even number), one closed-loop client keeping 32 values of 1 KB in flight, one learner. `stable`: one leader, kept by leases (Figs. 6.1–6.2). `competing`: leases off, and two servers take the leadership from each other every 2 s (each told to stand with SIGUSR2, as `paxos node` takes it), each new round superseding the other's (Fig. 6.4). Latency is the client's, from proposing a value to its delivery; new rounds count the changes of leader. The marks on the rate over time are when each signal was sent, give or take the client's start (a few hundred ms).",
  params: ["leaders", "servers"],
  full: [...[2, 3, 4, 5].map((servers) => ({ leaders: "stable", servers })), ...[3, 5].map((servers) => ({ leaders: "competing", servers }))],
  quick: [
    { leaders: "stable", servers: 3 },
    { leaders: "competing", servers: 3 },
  ],
  timing: LEADERS,
  options: (p) => ({
    ring: p.servers,
    // An even number of acceptors is accepted with its quorums spelled out: majorities, as in the seed.
    ...(p.servers % 2 === 0 ? { quorums: { phase1: p.servers / 2 + 1, phase2: p.servers / 2 + 1 } } : {}),
    valueSize: 1024,
    window: 32,
    ...(p.leaders === "competing" ? { leases: false, leaderSwaps: { everyS: SWAP_EVERY_S, nodes: [0, 1] } } : {}),
  }),
  metrics: [M.valuesPerSec, M.p50Us, M.p99Us, { key: "newRounds", label: "new rounds (changes of leader)" }, M.resentPct],
  plots: (m) => [
    { file: "throughput.svg", title: "Throughput against servers", x: { param: "servers", label: "servers" }, y: { metric: "valuesPerSec", label: "values/s" }, seriesBy: ["leaders"] },
    { file: "latency.svg", title: "Latency against servers", x: { param: "servers", label: "servers" }, y: { metric: "p50Us", label: "p50 latency (µs)", log: true }, seriesBy: ["leaders"] },
    { kind: "timeline", file: "cdf.svg", title: "Latency distribution (CDF), one run per point", match: "latency CDF", x: { label: "latency (ms)", log: true }, y: { label: "fraction of values" } },
    { kind: "timeline", file: "competing.svg", title: `Delivery rate while two leaders compete (3 servers, a change every ${SWAP_EVERY_S} s)`, match: "values/s", where: { leaders: "competing", servers: 3 }, y: { label: "values/s" }, markers: swaps(m) },
  ],
});

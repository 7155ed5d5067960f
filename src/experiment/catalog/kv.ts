/** Seed 001's DHT matrix on the key-value service (`paxos kv`). */
import { FULL, newRounds, QUICK, runPoint, type RunRecord } from "../../bench/kv-seed001.ts";
import type { Experiment, Metrics, NamedSeries } from "../spec.ts";
import { cross } from "./bench-experiment.ts";

/** Cluster start-up (up to 15 acceptors and 3 replicas), warm-up puts and the read-back, on top of the puts themselves. */
const OVERHEAD_S = 10;

let seq = 0;

function kvMetrics(r: RunRecord): Metrics {
  const rounds = newRounds(r);
  return { medianMs: r.medianMs, p99Ms: r.p99Ms, maxMs: r.maxMs, opsPerSec: r.opsPerSec, lost: r.lost, ...(rounds === null ? {} : { newRounds: rounds }) };
}

/** Each trial's latency, the median over the clients (t: the trial number, 1-based). */
function trialSeries(r: RunRecord): NamedSeries[] {
  const trials = Math.max(0, ...r.perClient.map((c) => c.latencyMs.length));
  const points: { t: number; y: number }[] = [];
  for (let i = 0; i < trials; i++) {
    const ys = r.perClient.map((c) => c.latencyMs[i]).filter((y): y is number => typeof y === "number").sort((a, b) => a - b);
    if (ys.length > 0) points.push({ t: i + 1, y: ys[Math.floor((ys.length - 1) / 2)] as number });
  }
  return [{ name: "latency per trial (ms)", points }];
}

export const kvSeed001: Experiment = {
  name: "kv-seed001",
  title: "Seed 001's matrix: sequential sets on the key-value service",
  source: "seed 001 §3 (Paxos Made Experimentally: 3/7/15 nodes × 1/2/4 clients)",
  description:
    "3, 7 or 15 acceptors (the seed's Paxos nodes; write-ahead logs with fdatasync; M-Ring) and 3 key-value replicas, with 1, 2 or 4 clients each setting 100 values one after another through the client library (KvClient), awaiting each. Latency is per set as the client sees it; a set is lost when it is not acknowledged or, acknowledged, not read back by a linearizable get afterwards. bench/kv-seed001.ts explains the mapping of the seed's nodes and draws the per-trial plots per point.",
  params: ["nodes", "clients"],
  points: (m) => (m.quick ? cross([3, 7], [1, 4], (nodes, clients) => ({ nodes, clients })) : cross([...FULL.nodes], [...FULL.clients], (nodes, clients) => ({ nodes, clients }))),
  repeat: (m) => (m.quick ? 1 : FULL.repeats),
  metrics: [
    { key: "medianMs", label: "latency p50 (ms)", digits: 1 },
    { key: "p99Ms", label: "latency p99 (ms)", digits: 1 },
    { key: "maxMs", label: "latency max (ms)", digits: 1 },
    { key: "opsPerSec", label: "sets/s, all clients" },
    { key: "lost", label: "sets lost" },
    { key: "newRounds", label: "new rounds (changes of leader)" },
  ],
  plots: () => [
    { file: "latency.svg", title: "Set latency against nodes", x: { param: "nodes", label: "Paxos nodes (acceptors)" }, y: { metric: "medianMs", label: "p50 latency (ms)" }, seriesBy: ["clients"] },
    { file: "throughput.svg", title: "Sets per second against nodes", x: { param: "nodes", label: "Paxos nodes (acceptors)" }, y: { metric: "opsPerSec", label: "sets/s" }, seriesBy: ["clients"] },
    { kind: "timeline", file: "trials.svg", title: "Latency of each set (median over the clients), one run per point", match: "per trial", x: { label: "trial" }, y: { label: "latency (ms)", log: true } },
  ],
  estimateS: (p, m) => OVERHEAD_S + Number(p["nodes"]) * 0.3 + ((m.quick ? QUICK : FULL).puts * 0.01 * Number(p["clients"])),
  run: async (p, m) => {
    // The harness watches the host (steal) and interleaves repeats: no quiet-host wait of the script's own.
    const o = { ...(m.quick ? QUICK : FULL), quietPct: 100, retries: 0 };
    const r = await runPoint(o, Number(p["nodes"]), Number(p["clients"]), 0, seq++);
    if (r.acked === 0) throw new Error(`no set was acknowledged: ${r.perClient.flatMap((c) => c.errors).slice(0, 3).join("; ")}`);
    return { metrics: kvMetrics(r), series: trialSeries(r), config: { ...o, nodes: p["nodes"], clients: p["clients"], leaderBefore: r.leaderBefore, leaderAfter: r.leaderAfter, logWarnings: r.logWarnings, logErrors: r.logErrors } };
  },
};

/**
 * The run most experiments make: one `paxos bench` cluster on this host (bench/run.ts), its
 * figures reduced to the metrics the experiments tabulate. Warm-up is excluded by the bench itself.
 */
import { BENCH_DEFAULTS, runBench, type BenchOptions, type BenchResult } from "../bench/run.ts";
import { median } from "../bench/failure-trace.ts";
import type { Metrics, RunOutput } from "./spec.ts";

/** Start-up and shut-down of a bench cluster, on top of its warm-up and measured time (measured here: 3-5 s). */
export const BENCH_OVERHEAD_S = 5;

/** The bench's options for a run: its defaults, then the experiment's. */
export function benchOptions(over: Partial<BenchOptions>): BenchOptions {
  return { ...BENCH_DEFAULTS, ...over };
}

/** One bench run: its metrics, and the learners' rates and coordinators' windows over time. */
export async function runBenchPoint(o: BenchOptions): Promise<RunOutput> {
  const r = await runBench(o, { update: () => {} });
  return { metrics: benchMetrics(r), config: { ...o }, ...(r.timelines ? { series: r.timelines } : {}) };
}

/** The role a process is counted under in per-role figures (a coordinator is an acceptor too: it counts as coordinator). */
export function primaryRole(roles: readonly string[]): string {
  for (const r of ["coordinator", "acceptor", "learner", "client", "proposer"]) if (roles.includes(r)) return r;
  return roles[0] ?? "process";
}

/**
 * Throughput at the measured learners (medians across them), latency at the clients (the median
 * client's percentiles), CPU of all processes and per delivered MB, peak RSS, re-sends as % of
 * delivered values, and CPU and peak RSS per role (`cpu.acceptor`: mean over the role's processes).
 */
export function benchMetrics(r: BenchResult): Metrics {
  const m: Record<string, number> = {};
  const learners = r.learners;
  if (learners.length > 0) {
    m["valuesPerSec"] = median(learners.map((l) => l.valuesPerSec));
    m["mbPerSec"] = median(learners.map((l) => l.mbPerSec));
  }
  const measured = r.clients.filter((c) => c.latencyUs.count > 0);
  if (measured.length > 0) {
    m["p50Us"] = median(measured.map((c) => c.latencyUs.p50));
    m["p99Us"] = median(measured.map((c) => c.latencyUs.p99));
  }
  const acked = r.clients.reduce((s, c) => s + c.acked, 0);
  if (acked > 0) m["resentPct"] = (100 * r.clients.reduce((s, c) => s + c.resent, 0)) / acked;
  const cpu = r.processes.reduce((s, p) => s + p.cpuPercent, 0);
  m["cpuPercent"] = cpu;
  if ((m["mbPerSec"] ?? 0) > 0) m["cpuPerMb"] = cpu / 100 / (m["mbPerSec"] as number);
  m["peakRssMb"] = Math.max(0, ...r.processes.map((p) => p.peakRssMb));
  const byRole = new Map<string, { cpu: number[]; rss: number[] }>();
  for (const p of r.processes) {
    const role = primaryRole(p.roles);
    const e = byRole.get(role) ?? { cpu: [], rss: [] };
    e.cpu.push(p.cpuPercent);
    e.rss.push(p.peakRssMb);
    byRole.set(role, e);
  }
  for (const [role, e] of byRole) {
    m[`cpu.${role}`] = e.cpu.reduce((a, b) => a + b, 0) / e.cpu.length;
    m[`rss.${role}`] = e.rss.reduce((a, b) => a + b, 0) / e.rss.length;
  }
  return m;
}

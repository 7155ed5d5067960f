/**
 * The run most experiments make: one `paxos bench` cluster on this host (bench/run.ts), its
 * figures reduced to the metrics the experiments tabulate. Warm-up is excluded by the bench itself.
 */
import { BENCH_DEFAULTS, runBench, type BenchOptions, type BenchResult } from "../bench/run.ts";
import type { MultiRingFigures } from "../bench/multiring-figures.ts";
import { median } from "../bench/failure-trace.ts";
import type { Metrics, NamedSeries, RunOutput } from "./spec.ts";

/** Start-up and shut-down of a bench cluster, on top of its warm-up and measured time (measured here: 3-5 s). */
export const BENCH_OVERHEAD_S = 5;

/** The bench's options for a run: its defaults, then the experiment's. */
export function benchOptions(over: Partial<BenchOptions>): BenchOptions {
  return { ...BENCH_DEFAULTS, ...over };
}

/** One bench run: its metrics, and the learners' rates and coordinators' windows over time. */
export async function runBenchPoint(o: BenchOptions): Promise<RunOutput> {
  const r = await runBench(o, { update: () => {} });
  const series = [...(r.timelines ?? []), ...latencyCdfs(r)];
  return { metrics: benchMetrics(r), config: { ...o }, ...(series.length > 0 ? { series } : {}) };
}

/** Each measured client's latency distribution as a series: t is the latency in ms, y the fraction of values at most that late. */
function latencyCdfs(r: BenchResult): NamedSeries[] {
  return r.clients
    .filter((c) => c.latencyUs.count > 0 && c.cdf.length > 0)
    .map((c, i) => ({ name: `client ${i + 1} latency CDF`, points: c.cdf.map((p) => ({ t: p.us / 1000, y: p.p })) }));
}

/** The role a process is counted under in per-role figures (a coordinator is an acceptor too: it counts as coordinator). */
export function primaryRole(roles: readonly string[]): string {
  for (const r of ["coordinator", "acceptor", "learner", "client", "proposer"]) if (roles.includes(r)) return r;
  return roles[0] ?? "process";
}

/**
 * Throughput at the measured learners (medians across them), latency at the clients (the median
 * client's percentiles), CPU of all processes and per delivered MB, peak RSS, re-sends as % of
 * delivered values, new rounds after the first (changes of leader), and CPU and peak RSS per role (`cpu.acceptor`: mean over the role's processes).
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
  // The first round is the start-up's: the others are changes of leader (or a leader's retries).
  m["newRounds"] = Math.max(0, r.roundsStarted - 1);
  m["ringChanges"] = r.ringChanges;
  m["slowRelayouts"] = r.slowRelayouts;
  if (r.multiRing) Object.assign(m, multiRingMetrics(r.multiRing));
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

/** Multi-Ring runs: every group's throughput counted once, the merge's wait (median over merging learners), CPU per MB. */
function multiRingMetrics(f: MultiRingFigures): Metrics {
  const m: Record<string, number> = { aggregateMbPerSec: f.aggregate.mbPerSec, aggregateValuesPerSec: f.aggregate.valuesPerSec, cpuMsPerMb: f.cpuMsPerMb };
  const waits = f.mergeWait.filter((w) => w.instances > 0);
  if (waits.length > 0) {
    m["mergeWaitMeanUs"] = median(waits.map((w) => w.meanUs));
    m["mergeWaitP99Us"] = median(waits.map((w) => w.p99Us));
  }
  return m;
}

/** What a run's figures are read against: the host that made them, and how busy it was meanwhile. */
import os from "node:os";
import process from "node:process";
import type { CpuReading } from "../bench/host-cpu.ts";
import { buildCommit, VERSION } from "../version.ts";

export { readHostCpu, type CpuReading } from "../bench/host-cpu.ts";

export interface HostInfo {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly kernel: string;
  readonly memoryMb: number;
  readonly runtime: string;
  readonly paxos: string;
}

export function hostInfo(): HostInfo {
  const cpus = os.cpus();
  const bun = (process.versions as Record<string, string | undefined>)["bun"];
  const deno = (process.versions as Record<string, string | undefined>)["deno"];
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? "unknown",
    kernel: `${os.type()} ${os.release()}`,
    memoryMb: Math.round(os.totalmem() / 2 ** 20),
    runtime: bun ? `bun ${bun}` : deno ? `deno ${deno}` : `node ${process.versions.node}`,
    paxos: `${VERSION} (commit ${buildCommit()})`,
  };
}

/** Host CPU busy and stolen between two readings, in % of all cores (0..100); null without readings. */
export function cpuBetween(a: CpuReading, b: CpuReading): { readonly busyPct: number; readonly stealPct: number } | null {
  if (a === null || b === null || b.total <= a.total) return null;
  const dt = b.total - a.total;
  return { busyPct: (100 * (b.busy - a.busy)) / dt, stealPct: (100 * (b.steal - a.steal)) / dt };
}

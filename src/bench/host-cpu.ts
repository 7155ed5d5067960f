/** The whole host's CPU counters, read from /proc/stat: the one reader for the bench's runs and the experiment harness. */
import { readFileSync } from "node:fs";
import { parseProcStat } from "./failure-trace.ts";

/** Cumulative CPU jiffies of the whole host; null where there is no /proc/stat. */
export type CpuReading = { readonly busy: number; readonly steal: number; readonly total: number } | null;

export function readHostCpu(): CpuReading {
  try {
    return parseProcStat(readFileSync("/proc/stat", "utf8"));
  } catch {
    return null;
  }
}

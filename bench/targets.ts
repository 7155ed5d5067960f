/**
 * The issue's performance targets, side by side in one run: each configuration runs `paxos bench`
 * --runs times, interleaved (configuration by configuration, then again), and the table gives
 * medians. Also measures host CPU steal over the run: on a shared VM it is the noise.
 *
 *   ./node_modules/.bin/bun bench/targets.ts [--bin ./paxos] [--baseline OLD_BINARY] [--runs 3]
 *       [--duration 5] [--out bench/results/targets]
 *
 * --baseline runs an older build with its own defaults beside this one (same flags otherwise).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { median, parseProcStat } from "../src/bench/failure-trace.ts";

const { values: a } = parseArgs({
  options: {
    bin: { type: "string", default: "./paxos" },
    baseline: { type: "string" },
    runs: { type: "string", default: "3" },
    duration: { type: "string", default: "5" },
    out: { type: "string", default: "bench/results/targets" },
    only: { type: "string" },
  },
});

interface Target {
  readonly name: string;
  readonly goal: string;
  readonly args: readonly string[];
}

const TARGETS: Target[] = [
  { name: "mring-8k", goal: "M-Ring 3 acceptors, RAM, 8 KB values: >= 350 MB/s", args: [] },
  { name: "mring-64b", goal: "M-Ring 64 B values (batched): >= 1,000,000 values/s", args: ["--value-size", "64", "--window", "4096", "--instances", "8"] },
  { name: "uring-32k", goal: "U-Ring 5 processes, 32 KB values: >= 1.2 GB/s", args: ["--variant", "uring", "--ring", "5", "--value-size", "32768", "--batch-bytes", "262144", "--window", "64"] },
  { name: "latency-w1", goal: "window 1, 64 B: p50 <= 60 us, p99 <= 200 us", args: ["--value-size", "64", "--window", "1", "--instances", "1"] },
];

interface Figures {
  readonly mbPerSec: number;
  readonly valuesPerSec: number;
  readonly p50: number;
  readonly p99: number;
  readonly peakRssMb: number;
  readonly resent: number;
}

function hostCpu(): { steal: number; total: number } {
  return parseProcStat(readFileSync("/proc/stat", "utf8")) ?? { steal: 0, total: 0 };
}

function once(bin: string, t: Target, tmp: string): Figures | null {
  rmSync(tmp, { force: true });
  const r = spawnSync(bin, ["bench", "--duration", a.duration as string, ...t.args, "--json", tmp], { encoding: "utf8" });
  if (r.status !== 0) {
    process.stderr.write(`${bin} ${t.name}: exit ${r.status}\n${r.stderr.slice(-400)}\n`);
    return null;
  }
  const j = JSON.parse(readFileSync(tmp, "utf8")) as {
    learners: { mbPerSec: number; valuesPerSec: number }[];
    clients: { latencyUs: { p50: number; p99: number }; resent?: number }[];
    processes: { peakRssMb: number }[];
  };
  const l = j.learners[0];
  const c = j.clients[0];
  if (!l || !c) return null;
  return {
    mbPerSec: l.mbPerSec,
    valuesPerSec: l.valuesPerSec,
    p50: c.latencyUs.p50,
    p99: c.latencyUs.p99,
    peakRssMb: Math.max(...j.processes.map((p) => p.peakRssMb)),
    resent: c.resent ?? 0,
  };
}

const builds = [{ label: "this build", bin: a.bin as string }, ...(a.baseline ? [{ label: "baseline", bin: a.baseline }] : [])];
const targets = TARGETS.filter((t) => a.only === undefined || a.only.split(",").includes(t.name));
const runs = Number(a.runs);
mkdirSync(a.out as string, { recursive: true });
const tmp = join(a.out as string, ".run.json");
const results: Record<string, Record<string, Figures[]>> = {};
const s0 = hostCpu();
for (let r = 0; r < runs; r++)
  for (const t of targets)
    for (const b of builds) {
      const f = once(b.bin, t, tmp);
      process.stderr.write(`run ${r + 1}/${runs} ${t.name} ${b.label}: ${f ? `${f.mbPerSec} MB/s, ${f.valuesPerSec} values/s, p50 ${f.p50} us, p99 ${f.p99} us, peak RSS ${f.peakRssMb} MB, re-sent ${f.resent}` : "failed"}\n`);
      if (f) ((results[t.name] ??= {})[b.label] ??= []).push(f);
    }
rmSync(tmp, { force: true });
const s1 = hostCpu();
const total = s1.total - s0.total;
const stealPct = total > 0 ? Math.round((100 * (s1.steal - s0.steal)) / total) : 0;

const med = (fs: Figures[], k: keyof Figures): number => median(fs.map((f) => f[k]));
const lines = [
  `Medians of ${runs} runs of ${a.duration} s each, interleaved; host CPU steal over the whole run: ${stealPct}%.`,
  "",
  "| target | build | MB/s | values/s | p50 µs | p99 µs | peak RSS MB | re-sent |",
  "|---|---|---:|---:|---:|---:|---:|---:|",
];
for (const t of targets)
  for (const b of builds) {
    const fs = results[t.name]?.[b.label] ?? [];
    if (fs.length === 0) continue;
    lines.push(
      `| ${t.goal} | ${b.label} | ${med(fs, "mbPerSec").toFixed(1)} | ${Math.round(med(fs, "valuesPerSec")).toLocaleString("en-US")} | ${med(fs, "p50")} | ${med(fs, "p99")} | ${med(fs, "peakRssMb").toFixed(0)} | ${med(fs, "resent")} |`,
    );
  }
const md = `${lines.join("\n")}\n`;
writeFileSync(join(a.out as string, "summary.md"), md);
writeFileSync(join(a.out as string, "targets.json"), `${JSON.stringify({ runs, durationS: Number(a.duration), stealPct, targets, results }, null, 2)}\n`);
process.stdout.write(md);

/**
 * The failure trace (thesis Figure 5.11): throughput and latency over time while a process is
 * killed with SIGKILL and restarted.
 *
 * For each variant and victim, a local cluster of real processes (3 acceptors with write-ahead
 * logs, 1 learner, 1 client; `LocalCluster`) carries an open-loop load from `paxos client
 * --timeline` (one line per value delivered to the client: wall-clock time and latency). At
 * --kill-at s the victim gets SIGKILL: the coordinator (whoever leads then; node 0 at start), or
 * an acceptor that is not the coordinator (M-Ring: the other member of the ring, a spare takes its
 * place; U-Ring: the first acceptor after the coordinator on the ring). At --restart-at s it is
 * started again from its log. Writes per run an SVG (values/s, MB/s and latency p50/p99 per 250 ms
 * bucket, close-ups of the kill and the restart), one JSON with every series and figure, and
 * summary.md.
 *
 *   ./node_modules/.bin/bun bench/failure-trace.ts [--variant mring|uring|both] [--victim coordinator|acceptor|both]
 *       [--out bench/results/failure-trace] [--duration 30] [--kill-at 10] [--restart-at 20]
 *       [--rate 500] [--value-size 1024] [--window 256] [--warmup 5] [--wal-sync none|fsync]
 *
 * Every child process is reaped on success, on error and on SIGINT/SIGTERM (exit 130).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { getPriority } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { killEverything } from "../src/bench/cluster.ts";
import { stackedChartsSvg, type ChartMarker, type LineChart } from "../src/bench/chart.ts";
import { median } from "../src/bench/failure-trace.ts";
import { ACCEPTORS, BUCKET_MS, GAP_WINDOW_MS, NAME, runFailureTrace, ZOOM_AFTER_MS, ZOOM_BIN_MS, type RunResult, type Variant, type VictimKind } from "../src/bench/failure-run.ts";

const { values: a } = parseArgs({
  options: {
    variant: { type: "string", default: "both" },
    victim: { type: "string", default: "both" },
    out: { type: "string", default: "bench/results/failure-trace" },
    duration: { type: "string", default: "30" },
    "kill-at": { type: "string", default: "10" },
    "restart-at": { type: "string", default: "20" },
    rate: { type: "string", default: "500" },
    "value-size": { type: "string", default: "1024" },
    window: { type: "string", default: "256" },
    warmup: { type: "string", default: "5" },
    "wal-sync": { type: "string", default: "none" },
  },
});

function usage(msg: string): never {
  process.stderr.write(`failure-trace: ${msg}\n`);
  process.exit(2);
}

function choice<T extends string>(flag: string, v: string, all: readonly T[]): T[] {
  if (v === "both") return [...all];
  if (!(all as readonly string[]).includes(v)) usage(`--${flag}: expected one of ${all.join("|")}|both, got ${v}`);
  return [v as T];
}

function num(flag: string, v: string, min: number): number {
  const x = Number(v);
  if (!Number.isFinite(x) || x < min) usage(`--${flag}: expected a number >= ${min}, got ${v}`);
  return x;
}

const variants = choice<Variant>("variant", a.variant, ["mring", "uring"]);
const victims = choice<VictimKind>("victim", a.victim, ["coordinator", "acceptor"]);
const durationS = num("duration", a.duration, 1);
const killAtS = num("kill-at", a["kill-at"], 0);
const restartAtS = num("restart-at", a["restart-at"], 0);
const rate = Math.round(num("rate", a.rate, 1));
const valueSize = Math.round(num("value-size", a["value-size"], 1));
const window = Math.round(num("window", a.window, 1));
const warmupS = num("warmup", a.warmup, 0);
const walSync = a["wal-sync"] === "fsync" ? "fsync" : a["wal-sync"] === "none" ? "none" : usage(`--wal-sync: expected none|fsync, got ${a["wal-sync"]}`);
if (!(warmupS < killAtS && killAtS < restartAtS && restartAtS < durationS)) usage("expected --warmup < --kill-at < --restart-at < --duration");

const victimName = (r: RunResult) => (r.victimKind === "coordinator" ? `the coordinator (node ${r.victim})` : `acceptor ${r.victim} (not the coordinator)`);
const signed = (ms: number) => `${ms >= 0 ? "+" : "−"}${Math.abs(Math.round(ms)).toLocaleString("en-US")} ms`;
const ms1 = (us: number) => Math.round(us / 100) / 10;
const fmt = (x: number | null, digits = 0) => (x === null ? "never" : x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }));

function charts(r: RunResult): LineChart[] {
  const markers: ChartMarker[] = [
    { x: r.times.killMs / 1000, label: `kill -9 node ${r.victim}` },
    { x: r.times.restartMs / 1000, label: `restart node ${r.victim}` },
  ];
  const x = { label: "time since the load started (s)", min: 0, max: durationS };
  const b = r.buckets;
  const zoomX = (label: string) => ({ label: `ms since the ${label}` });
  return [
    {
      title: `Values delivered per second (${BUCKET_MS} ms buckets)`,
      x,
      y: { label: "values/s", min: 0 },
      series: [
        { name: `at the client (${rate} values/s offered)`, points: b.map((p) => ({ x: p.t, y: p.valuesPerSec })) },
        { name: `at learner ${r.learner.id} (its stats lines, every ${BUCKET_MS} ms)`, points: r.learner.points.map((p) => ({ x: p.t, y: p.valuesPerSec })) },
      ],
      markers,
      height: 200,
    },
    {
      title: `MB/s delivered at the client (${valueSize} B values)`,
      x,
      y: { label: "MB/s (10^6 bytes)", min: 0 },
      series: [{ name: "at the client", points: b.map((p) => ({ x: p.t, y: p.mbPerSec })) }],
      markers,
      height: 140,
    },
    {
      title: "Propose-to-delivery latency of the values delivered in each bucket (log scale)",
      x,
      y: { label: "latency (ms)", log: true },
      series: [
        { name: "p50", points: b.filter((p) => p.p50Us !== null).map((p) => ({ x: p.t, y: (p.p50Us as number) / 1000 })) },
        { name: "p99", points: b.filter((p) => p.p99Us !== null).map((p) => ({ x: p.t, y: (p.p99Us as number) / 1000 })) },
      ],
      markers,
      height: 200,
    },
    {
      title: `CPU, % of one core (the host has ${r.cpu.cores} cores): what else ran beside the cluster`,
      x,
      y: { label: "% of one core", min: 0 },
      series: [
        { name: "whole host, busy (/proc/stat)", points: r.cpu.host.map((p) => ({ x: p.t, y: p.pct })) },
        { name: "this cluster's nodes (acceptors, learner; not the client)", points: r.cpu.nodes.map((pct, i) => ({ x: (i * BUCKET_MS) / 1000, y: pct })) },
        { name: "steal (the hypervisor running other machines)", points: r.cpu.host.map((p) => ({ x: p.t, y: p.stealPct })) },
      ],
      markers,
      height: 140,
    },
    {
      title: `Close-up of the kill: values/s in ${ZOOM_BIN_MS} ms bins (gap ${fmt(r.figures.killGap.ms)} ms)`,
      x: zoomX("kill"),
      y: { label: "values/s", min: 0 },
      series: [{ name: "at the client", points: r.zoomKill.map((p) => ({ x: Math.round(p.ms - r.times.killMs), y: p.valuesPerSec })) }],
      markers: killMarkers(r),
      height: 140,
    },
    {
      title: `Close-up of the restart: values/s in ${ZOOM_BIN_MS} ms bins (longest stretch without deliveries ${fmt(r.figures.restartGap.ms)} ms)`,
      x: zoomX("restart"),
      y: { label: "values/s", min: 0 },
      series: [{ name: "at the client", points: r.zoomRestart.map((p) => ({ x: Math.round(p.ms - r.times.restartMs), y: p.valuesPerSec })) }],
      markers: [
        { x: 0, label: "restart" },
        { x: r.times.upMs - r.times.restartMs, label: `node ${r.victim} up`, row: 1 },
        ...eventMarkers(r, r.times.restartMs, r.times.endMs, 2),
      ],
      height: 140,
    },
  ];
}

/** Leadership changes in [fromMs, toMs) as close-up markers (x: ms since fromMs), one label row each from `row` on. */
function eventMarkers(r: RunResult, fromMs: number, toMs: number, row: number): ChartMarker[] {
  return r.leadership
    .filter((e) => e.ms >= fromMs && e.ms < toMs)
    .map((e, i) => ({ x: e.ms - fromMs, label: `node ${e.node}${e.incarnation > 0 ? " (restarted)" : ""} ${e.msg.startsWith("leading") ? "leads" : "stands down"}`, row: row + i }));
}

function killMarkers(r: RunResult): ChartMarker[] {
  const events = eventMarkers(r, r.times.killMs, r.times.killMs + ZOOM_AFTER_MS, 1);
  const resumed = r.figures.resumedAfterKillMs;
  return [{ x: 0, label: "kill -9" }, ...events, ...(resumed !== null ? [{ x: resumed, label: "deliveries resume", row: events.length + 1 }] : [])];
}

function title(r: RunResult): string[] {
  return [
    `${NAME[r.variant]}: kill -9 of ${victimName(r)} at ${(r.times.killMs / 1000).toFixed(1)} s, restarted at ${(r.times.restartMs / 1000).toFixed(1)} s`,
    `${ACCEPTORS} acceptors (WAL, ${walSync === "none" ? "no sync" : "fdatasync"}), 1 learner, 1 client offering ${rate} values/s of ${valueSize} B`,
  ];
}

function summary(runs: readonly RunResult[]): string {
  const lines = [
    "# Failure trace (thesis Figure 5.11)",
    "",
    `Generated by \`./node_modules/.bin/bun bench/failure-trace.ts\` on ${new Date().toISOString().slice(0, 10)}. Each run: a local cluster of real processes on loopback`,
    `(${ACCEPTORS} acceptors with write-ahead logs, ${walSync === "none" ? "written without fdatasync (a SIGKILL loses nothing written)" : "fdatasync before every reply"}; 1 learner; 1 client), an open-loop client offering`,
    `${rate} values/s of ${valueSize} B (proposer window ${window}) for ${durationS} s; the victim gets SIGKILL at ${killAtS} s and is restarted from its log at ${restartAtS} s.`,
    `Throughput and latency are those of the values delivered to the client (\`paxos client --timeline\`), in ${BUCKET_MS} ms buckets; "before" is ${warmupS}–${killAtS} s.`,
    "",
    "| run | victim | leader / ring before → after the kill | throughput before kill (median per bucket) | gap (ms) | kill → first delivery (ms) | kill → resumed (ms) | kill → restart: median (mean) values/s | after restart: median values/s | gap at restart (ms; its start from the restart) | p99 latency before / kill→restart / after (ms) |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const r of runs) {
    const f = r.figures;
    const s = r.snapshots;
    lines.push(
      `| ${NAME[r.variant]}, ${r.victimKind} | node ${r.victim} | ${s.beforeKill.leader} ${JSON.stringify(s.beforeKill.ring)} → ${s.afterKill.leader ?? "none"} ${JSON.stringify(s.afterKill.ring)} | ` +
        `${fmt(f.before.medianValuesPerSec)} values/s = ${f.before.medianMbPerSec.toFixed(2)} MB/s | **${fmt(f.killGap.ms)}** | ${fmt(f.firstDeliveryAfterKillMs)} | ${fmt(f.resumedAfterKillMs)} | ` +
        `${fmt(f.during.medianValuesPerSec)} (${fmt(f.during.meanValuesPerSec)}) | ${fmt(f.after.medianValuesPerSec)} | ${fmt(f.restartGap.ms)} (at ${signed(f.restartGap.fromMs - r.times.restartMs)}) | ` +
        `${ms1(f.before.p99Us)} / ${ms1(f.during.p99Us)} / ${ms1(f.after.p99Us)} |`,
    );
  }
  lines.push(
    "",
    `- **gap**: the longest stretch without a delivery to the client that overlaps [kill, kill + ${GAP_WINDOW_MS / 1000} s), from the last delivery before it to the first after it (a stretch that begins in that window counts whole; later stalls are the machine's noise).`,
    `  For reference, the longest such stretch between ${warmupS} s and the kill (noise alone): ${runs.map((r) => `${NAME[r.variant]} ${r.victimKind} ${fmt(r.figures.baselineGap.ms)} ms`).join(", ")}.`,
    "- **kill → first delivery**: to the first value delivered after the kill (values decided just before it may still trickle in); **kill → resumed**: to the end of the gap.",
    "- **mean** over kill → restart counts the outage; the **median** per bucket is the rate the cluster settled at.",
    `- **gap at restart**: the same over [restart, restarted node up + ${GAP_WINDOW_MS / 1000} s): the restarted node rejoining (it was up ${runs.map((r) => r.times.upMs - r.times.restartMs).join(", ")} ms after the restart: starting a process and replaying its log).`,
    `- CPU, median per bucket over the run, % of one core (${runs[0]?.cpu.cores ?? "?"} cores): ${runs.map((r) => `${NAME[r.variant]} ${r.victimKind}: host busy ${median(r.cpu.host.map((p) => p.pct)).toFixed(0)} %, of which the cluster's nodes ${median(r.cpu.nodes).toFixed(0)} %, steal ${median(r.cpu.host.map((p) => p.stealPct)).toFixed(0)} %`).join("; ")} (per bucket in the plots and the JSON).`,
    `- The host's 1-minute load average at the start and end of each run (2 cores; other work on the machine competes): ${runs.map((r) => `${NAME[r.variant]} ${r.victimKind} ${r.loadAvg.start}–${r.loadAvg.end}`).join(", ")}; ` +
      `the experiment's processes ran at nice ${getPriority()}${getPriority() < 0 ? " (ahead of the other work on the machine)" : ""}.`,
    "- Leadership changes seen in the nodes' logs (ms since the load started):",
  );
  for (const r of runs)
    lines.push(
      `  - ${NAME[r.variant]}, ${r.victimKind}: ${r.leadership.map((e) => `${e.ms} node ${e.node}${e.incarnation > 0 ? " (restarted)" : ""} ${e.msg.startsWith("leading") ? "leads" : "stood down"}${e.round !== null ? ` (round ${e.round})` : ""}`).join("; ") || "none"}`,
    );
  lines.push("", "Plots: " + runs.map((r) => `[\`${file(r)}\`](${file(r)})`).join(", ") + "; every series and figure: [`failure-trace.json`](failure-trace.json).", "");
  return lines.join("\n");
}

const file = (r: RunResult) => `${r.variant}-${r.victimKind}.svg`;

async function main(): Promise<void> {
  const stop = (sig: string) => {
    process.stderr.write(`\nfailure-trace: ${sig}: stopping every process of the run\n`);
    killEverything();
    process.exit(130);
  };
  process.once("SIGINT", () => stop("SIGINT"));
  process.once("SIGTERM", () => stop("SIGTERM"));
  mkdirSync(a.out, { recursive: true });
  const runs: RunResult[] = [];
  const total = variants.length * victims.length;
  const started = Date.now();
  for (const variant of variants)
    for (const kind of victims) {
      process.stderr.write(`[${runs.length + 1}/${total}, ${Math.round((Date.now() - started) / 1000)} s] ${NAME[variant]}, kill the ${kind}\n`);
      const r = await runFailureTrace({ variant, victim: kind, walSync, rate, window, valueSize, durationS, warmupS, killAtS, restartAtS }, (s) => process.stderr.write(`${s}\n`));
      runs.push(r);
      const f = r.figures;
      process.stderr.write(
        `  before ${fmt(f.before.medianValuesPerSec)} values/s; gap ${fmt(f.killGap.ms)} ms, first delivery after ${fmt(f.firstDeliveryAfterKillMs)} ms, resumed after ${fmt(f.resumedAfterKillMs)} ms; ` +
          `kill→restart ${fmt(f.during.medianValuesPerSec)} values/s; after restart ${fmt(f.after.medianValuesPerSec)} values/s (gap ${fmt(f.restartGap.ms)} ms); ` +
          `p99 ${ms1(f.before.p99Us)} / ${ms1(f.during.p99Us)} / ${ms1(f.after.p99Us)} ms\n`,
      );
      writeFileSync(join(a.out, file(r)), await stackedChartsSvg(charts(r), title(r)));
    }
  const setup = { nice: getPriority(), acceptors: ACCEPTORS, learners: 1, clients: 1, ledger: { kind: "wal", sync: walSync }, rate, valueSize, window, durationS, killAtS, restartAtS, warmupS, bucketMs: BUCKET_MS, zoomBinMs: ZOOM_BIN_MS };
  writeFileSync(join(a.out, "failure-trace.json"), `${JSON.stringify({ setup, runs }, null, 1)}\n`);
  const md = summary(runs);
  writeFileSync(join(a.out, "summary.md"), md);
  process.stdout.write(md);
  process.stderr.write(`wrote ${a.out}/ (summary.md, failure-trace.json, ${runs.map(file).join(", ")}) in ${Math.round((Date.now() - started) / 1000)} s\n`);
}

try {
  await main();
} catch (e) {
  process.stderr.write(`failure-trace: ${e instanceof Error ? e.message : String(e)}\n`);
  killEverything();
  process.exitCode = 1;
}

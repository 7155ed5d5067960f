/**
 * Multi-Ring Paxos' parameters swept (thesis §5.3.2-5.3.3, Figs. 5.6-5.10), on loopback: two
 * M-Ring rings of three acceptors each, one learner merging both, one open-loop client per ring.
 *
 *   delta   Δ (the skip interval) in DELTAS ms, each at RATES values/s per ring: merged
 *           throughput against the merge's wait, and the ring coordinators' CPU (Fig. 5.6).
 *   m       M (instances per ring per merge turn) in MS, each at RATES: merged throughput against
 *           the merge's wait, and the learner's CPU (Fig. 5.7).
 *   lambda  λ in LAMBDAS, the rings' rates stepping up every --phase s, at 1:1, 2:1, and 2:1
 *           oscillating around the same means: each ring's merge backlog and the merged
 *           throughput over time (Figs. 5.8-5.10).
 *
 * Points of delta and m are repeated --repeats times, interleaved (every point once, then again),
 * and reported as medians. Writes sweeps.json, one SVG per sweep and summary.md into --out.
 *
 *   ./node_modules/.bin/bun bench/multiring-sweeps.ts [--sweep delta,m,lambda] [--repeats 3]
 *       [--duration 4] [--warmup 1] [--phase 4] [--value-size 8192] [--out bench/results/multiring-sweeps]
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { killEverything, LocalCluster, type StatsLine } from "../src/bench/cluster.ts";
import { stackedChartsSvg, type LineChart } from "../src/bench/chart.ts";
import { runBench, BENCH_DEFAULTS, LOOPBACK_MRING_BATCH_BYTES, retainFor, type BenchResult } from "../src/bench/run.ts";
import type { ClientReport } from "../src/cli/client.ts";
import { MultiRingSchema } from "../src/config/schema.ts";
import { PHASE2A_HEADROOM_BYTES } from "../src/core/config.ts";

const { values: a } = parseArgs({
  options: {
    sweep: { type: "string", default: "delta,m,lambda" },
    repeats: { type: "string", default: "3" },
    duration: { type: "string", default: "4" },
    warmup: { type: "string", default: "1" },
    phase: { type: "string", default: "4" },
    "value-size": { type: "string", default: "8192" },
    out: { type: "string", default: "bench/results/multiring-sweeps" },
  },
});

function usage(msg: string): never {
  process.stderr.write(`multiring-sweeps: ${msg}\n`);
  process.exit(2);
}
function num(flag: string, v: string | undefined, min: number): number {
  const x = Number(v);
  if (!Number.isFinite(x) || x < min) usage(`--${flag}: expected a number >= ${min}, got ${v}`);
  return x;
}

const SWEEPS = ["delta", "m", "lambda"] as const;
type Sweep = (typeof SWEEPS)[number];
const sweeps = (a.sweep ?? "").split(",").map((s) => s.trim()) as Sweep[];
for (const s of sweeps) if (!SWEEPS.includes(s)) usage(`--sweep: expected a list of ${SWEEPS.join(",")}, got ${s}`);
const repeats = Math.round(num("repeats", a.repeats, 1));
const durationS = num("duration", a.duration, 1);
const warmupS = num("warmup", a.warmup, 0);
const phaseS = num("phase", a.phase, 1);
const valueSize = Math.round(num("value-size", a["value-size"], 1));
const out = a.out ?? "bench/results/multiring-sweeps";

/** Per-ring offered loads (values/s per client) of the delta and m sweeps: light to near this host's limit for two rings of 8 KB values. */
const RATES = [500, 2000, 4500];
const DELTAS = [1, 5, 20, 100];
const MS = [1, 4, 16];
/** λ in instances/s: none, below the rings' instance rates at the top steps, above them. */
const LAMBDAS = [0, 1000, 5000];
/** The rate steps (values/s) of ring 1 in the lambda sweep; ring 2 runs at these (1:1) or half (2:1). */
const STEPS = [500, 1000, 2000, 4000];
const DEFAULTS = MultiRingSchema.parse({});

process.on("SIGINT", () => {
  killEverything();
  process.exit(130);
});

interface Point {
  readonly sweep: "delta" | "m";
  readonly setting: number;
  readonly rate: number;
  readonly repeat: number;
  readonly mergedMbPerSec: number;
  readonly mergedValuesPerSec: number;
  readonly mergeWaitMeanUs: number;
  readonly mergeWaitP99Us: number;
  readonly clientP50Us: number;
  readonly coordinatorCpuPercent: number;
  readonly learnerCpuPercent: number;
  readonly resent: number;
}

async function point(sweep: "delta" | "m", setting: number, rate: number, repeat: number): Promise<Point> {
  const r: BenchResult = await runBench(
    {
      ...BENCH_DEFAULTS,
      valueSize,
      durationS,
      warmupS,
      rate,
      multiRing: {
        rings: 2,
        groupsPerLearner: "all",
        shareAcceptors: false,
        lambdaPerSecond: DEFAULTS.lambdaPerSecond,
        deltaMs: sweep === "delta" ? setting : DEFAULTS.deltaMs,
        m: sweep === "m" ? setting : DEFAULTS.m,
      },
    },
    { update: () => {} },
  );
  const m = r.multiRing;
  const wait = m?.mergeWait[0];
  const coordinators = r.processes.filter((p) => p.roles.includes("coordinator"));
  const learner = r.processes.find((p) => p.roles.includes("learner"));
  return {
    sweep,
    setting,
    rate,
    repeat,
    mergedMbPerSec: r.learners[0]?.mbPerSec ?? 0,
    mergedValuesPerSec: r.learners[0]?.valuesPerSec ?? 0,
    mergeWaitMeanUs: wait?.meanUs ?? 0,
    mergeWaitP99Us: wait?.p99Us ?? 0,
    clientP50Us: median(r.clients.map((c) => c.latencyUs.p50)),
    coordinatorCpuPercent: Math.round(coordinators.reduce((n, p) => n + p.cpuPercent, 0) / Math.max(1, coordinators.length)),
    learnerCpuPercent: learner?.cpuPercent ?? 0,
    resent: r.clients.reduce((n, c) => n + (c.resent ?? 0), 0),
  };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  if (s.length === 0) return 0;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : Math.round(((s[mid - 1] as number) + (s[mid] as number)) / 2);
}

/** Every (setting, rate) once per repeat, the settings' order rotated per repeat so that no setting always runs first. */
async function parameterSweep(sweep: "delta" | "m", settings: readonly number[]): Promise<Point[]> {
  const points: Point[] = [];
  const total = repeats * settings.length * RATES.length;
  for (let rep = 0; rep < repeats; rep++)
    for (let i = 0; i < settings.length; i++) {
      const setting = settings[(i + rep) % settings.length] as number;
      for (const rate of RATES) {
        process.stderr.write(`multiring-sweeps: ${sweep} ${setting}, ${rate} values/s per ring, repeat ${rep + 1} (${points.length + 1}/${total})\n`);
        points.push(await point(sweep, setting, rate, rep));
      }
    }
  return points;
}

/** Medians over repeats, one row per (setting, rate). */
function medians(points: readonly Point[]): Point[] {
  const keys = [...new Set(points.map((p) => `${p.setting}/${p.rate}`))];
  return keys.map((k) => {
    const ps = points.filter((p) => `${p.setting}/${p.rate}` === k);
    const first = ps[0] as Point;
    const med = (f: (p: Point) => number) => median(ps.map(f));
    return {
      ...first,
      repeat: -1,
      mergedMbPerSec: Math.round(median(ps.map((p) => p.mergedMbPerSec * 100))) / 100,
      mergedValuesPerSec: med((p) => p.mergedValuesPerSec),
      mergeWaitMeanUs: med((p) => p.mergeWaitMeanUs),
      mergeWaitP99Us: med((p) => p.mergeWaitP99Us),
      clientP50Us: med((p) => p.clientP50Us),
      coordinatorCpuPercent: med((p) => p.coordinatorCpuPercent),
      learnerCpuPercent: med((p) => p.learnerCpuPercent),
      resent: med((p) => p.resent),
    };
  });
}

function parameterCharts(sweep: "delta" | "m", rows: readonly Point[]): LineChart[] {
  const name = sweep === "delta" ? "Δ" : "M";
  const unit = sweep === "delta" ? " ms" : "";
  const settings = [...new Set(rows.map((p) => p.setting))].sort((x, y) => x - y);
  const series = (y: (p: Point) => number) =>
    settings.map((s) => ({ name: `${name} = ${s}${unit}`, points: rows.filter((p) => p.setting === s).sort((p, q) => p.rate - q.rate).map((p) => ({ x: p.mergedMbPerSec, y: y(p) })) }));
  return [
    { title: `Merge wait against merged throughput, per ${name}`, x: { label: "merged delivery at the learner (MB/s)" }, y: { label: "mean merge wait (µs, log scale)", log: true }, series: series((p) => p.mergeWaitMeanUs), height: 240 },
    sweep === "delta"
      ? { title: "CPU of a ring coordinator", x: { label: "merged delivery at the learner (MB/s)" }, y: { label: "CPU % of one core", min: 0 }, series: series((p) => p.coordinatorCpuPercent), height: 200 }
      : { title: "CPU of the learner", x: { label: "merged delivery at the learner (MB/s)" }, y: { label: "CPU % of one core", min: 0 }, series: series((p) => p.learnerCpuPercent), height: 200 },
  ];
}

interface LambdaRun {
  readonly scenario: "1:1" | "2:1" | "2:1 oscillating";
  readonly lambda: number;
  /** Per stats period at the learner: seconds since the load started, each ring's incoming values/s and merge backlog, the merged values/s. */
  readonly timeline: readonly { t: number; merged: number; in1: number; in2: number; backlog1: number; backlog2: number }[];
  /** Each step's offered rates (values/s): ring 1, ring 2, from t. */
  readonly steps: readonly { t: number; rate1: number; rate2: number }[];
  readonly clients: readonly ClientReport[];
  readonly peakBacklog: number;
}

/** The offered rates of one scenario: per phase, ring 1's and ring 2's values/s (oscillating: each phase split in two halves, ±50 %). */
function schedule(scenario: LambdaRun["scenario"]): { seconds: number; rate1: number; rate2: number }[] {
  return STEPS.flatMap((r) => {
    if (scenario === "1:1") return [{ seconds: phaseS, rate1: r, rate2: r }];
    if (scenario === "2:1") return [{ seconds: phaseS, rate1: r, rate2: r / 2 }];
    const half = phaseS / 4;
    return [0.5, 1.5, 0.5, 1.5].map((f, i) => ({ seconds: half, rate1: Math.round(r * f), rate2: Math.round((r / 2) * (i % 2 === 0 ? 1.5 : 0.5)) }));
  });
}

async function lambdaRun(scenario: LambdaRun["scenario"], lambda: number): Promise<LambdaRun> {
  const cluster = await LocalCluster.start(
    {
      variant: "mring",
      acceptors: 0,
      learners: 0,
      clients: 0,
      window: BENCH_DEFAULTS.instances,
      batchBytes: LOOPBACK_MRING_BATCH_BYTES,
      maxDatagram: LOOPBACK_MRING_BATCH_BYTES + PHASE2A_HEADROOM_BYTES,
      protocol: { retainInstances: retainFor(LOOPBACK_MRING_BATCH_BYTES), learnerRetainInstances: retainFor(LOOPBACK_MRING_BATCH_BYTES) },
      multiRing: { rings: 2, acceptorsPerRing: 3, shareAcceptors: false, groupsPerLearner: "all", learners: 1, clientsPerRing: 1, lambdaPerSecond: lambda, deltaMs: DEFAULTS.deltaMs, m: DEFAULTS.m },
    },
    { statsMs: 250 },
  );
  try {
    const learner = cluster.ids("learner")[0] as number;
    const clients = cluster.clientIds();
    const t0 = Date.now();
    const steps: LambdaRun["steps"][number][] = [];
    const reports: ClientReport[] = [];
    for (const s of schedule(scenario)) {
      steps.push({ t: (Date.now() - t0) / 1000, rate1: s.rate1, rate2: s.rate2 });
      const runs = await Promise.all(
        clients.map((id, i) => {
          const group = cluster.nodes.find((n) => n.id === id)?.group ?? i + 1;
          const rate = group === 1 ? s.rate1 : s.rate2;
          return cluster.run(["client", "--config", cluster.configFile, "--id", String(id), "--group", String(group), "--rate", String(Math.max(1, rate)), "--value-size", String(valueSize), "--duration", String(s.seconds), "--warmup", "0", "--json"]);
        }),
      );
      for (const r of runs) if (r.code === 0) reports.push(JSON.parse(r.out.trim().split("\n").at(-1) ?? "{}") as ClientReport);
    }
    await new Promise((r) => setTimeout(r, 1000));
    const lines = (cluster.stats.get(learner) ?? []).filter((x) => (x.wall ?? 0) >= t0);
    const timeline = lines.slice(1).map((x, i) => lambdaPoint(lines[i] as StatsLine, x, t0));
    return { scenario, lambda, timeline, steps, clients: reports, peakBacklog: Math.max(0, ...timeline.map((p) => Math.max(p.backlog1, p.backlog2))) };
  } finally {
    await cluster.stop();
  }
}

function lambdaPoint(prev: StatsLine, x: StatsLine, t0: number): LambdaRun["timeline"][number] {
  const dt = (x.t - prev.t) / 1000;
  const rate = (f: (l: StatsLine) => number) => (dt > 0 ? Math.round((f(x) - f(prev)) / dt) : 0);
  const ring = (l: StatsLine, r: string) => l.rings?.[r];
  return {
    t: Math.round(((x.wall ?? 0) - t0) / 100) / 10,
    merged: rate((l) => l.delivered),
    in1: rate((l) => ring(l, "1")?.delivered ?? 0),
    in2: rate((l) => ring(l, "2")?.delivered ?? 0),
    backlog1: ring(x, "1")?.backlog ?? 0,
    backlog2: ring(x, "2")?.backlog ?? 0,
  };
}

function lambdaCharts(runs: readonly LambdaRun[], scenario: LambdaRun["scenario"]): LineChart[] {
  const rs = runs.filter((r) => r.scenario === scenario);
  const x = { label: "time since the load started (s)" };
  const first = rs[0];
  return [
    {
      title: `Offered load per ring (${scenario})`,
      x,
      y: { label: "values/s", min: 0 },
      series: first
        ? [
            { name: "ring 1", points: first.steps.flatMap((s, i) => [{ x: s.t, y: s.rate1 }, { x: first.steps[i + 1]?.t ?? s.t + phaseS, y: s.rate1 }]) },
            { name: "ring 2", points: first.steps.flatMap((s, i) => [{ x: s.t, y: s.rate2 }, { x: first.steps[i + 1]?.t ?? s.t + phaseS, y: s.rate2 }]) },
          ]
        : [],
      height: 160,
    },
    { title: "Merge backlog at the learner (the larger ring's, instances)", x, y: { label: "instances held", min: 0 }, series: rs.map((r) => ({ name: `λ = ${r.lambda}`, points: r.timeline.map((p) => ({ x: p.t, y: Math.max(p.backlog1, p.backlog2) })) })), height: 200 },
    { title: "Merged delivery at the learner", x, y: { label: "values/s", min: 0 }, series: rs.map((r) => ({ name: `λ = ${r.lambda}`, points: r.timeline.map((p) => ({ x: p.t, y: p.merged })) })), height: 200 },
  ];
}

async function main(): Promise<void> {
  mkdirSync(out, { recursive: true });
  const host: { cores: number; loadAvgStart: number; loadAvgEnd?: number } = { cores: availableParallelism(), loadAvgStart: loadavg()[0] as number };
  const result: Record<string, unknown> = { options: { repeats, durationS, warmupS, phaseS, valueSize, rates: RATES, deltas: DELTAS, ms: MS, lambdas: LAMBDAS, steps: STEPS, defaults: DEFAULTS }, host };
  const summary: string[] = ["# Multi-Ring Paxos parameter sweeps", "", `Two M-Ring rings on loopback (3 acceptors each), one learner merging both, one open-loop client per ring, ${valueSize} B values; ${repeats} interleaved repeats of ${durationS} s (after ${warmupS} s warm-up), medians. Host: ${host.cores} cores.`, ""];
  for (const [sweep, settings] of [["delta", DELTAS], ["m", MS]] as const) {
    if (!sweeps.includes(sweep)) continue;
    const points = await parameterSweep(sweep, settings);
    const rows = medians(points);
    result[sweep] = { points, medians: rows };
    writeFileSync(join(out, `${sweep}.svg`), await stackedChartsSvg(parameterCharts(sweep, rows), sweep === "delta" ? "The skip interval Δ (thesis Fig. 5.6)" : "Instances per ring per merge turn, M (thesis Fig. 5.7)"));
    summary.push(`## ${sweep === "delta" ? "Δ (skip interval, ms)" : "M (instances per ring per turn)"}`, "", `| ${sweep === "delta" ? "Δ ms" : "M"} | offered values/s per ring | merged MB/s | merge wait mean µs | p99 µs | client p50 µs | coordinator CPU % | learner CPU % | re-sent |`, "|---|---|---|---|---|---|---|---|---|");
    for (const p of rows) summary.push(`| ${p.setting} | ${p.rate} | ${p.mergedMbPerSec} | ${p.mergeWaitMeanUs} | ${p.mergeWaitP99Us} | ${p.clientP50Us} | ${p.coordinatorCpuPercent} | ${p.learnerCpuPercent} | ${p.resent} |`);
    summary.push("");
  }
  if (sweeps.includes("lambda")) {
    const runs: LambdaRun[] = [];
    for (const scenario of ["1:1", "2:1", "2:1 oscillating"] as const)
      for (const lambda of LAMBDAS) {
        process.stderr.write(`multiring-sweeps: lambda ${lambda}, ${scenario}\n`);
        runs.push(await lambdaRun(scenario, lambda));
      }
    result["lambda"] = runs;
    for (const [i, scenario] of (["1:1", "2:1", "2:1 oscillating"] as const).entries())
      writeFileSync(join(out, `lambda-${i + 1}.svg`), await stackedChartsSvg(lambdaCharts(runs, scenario), `λ with two rings at ${scenario} (thesis Fig. ${["5.8", "5.9", "5.10"][i]})`));
    summary.push("## λ (skip rate, instances/s)", "", `Ring 1 offered ${STEPS.join(", ")} values/s for ${phaseS} s each; ring 2 the same (1:1), half (2:1), or half oscillating ±50 % (ring 1 too) around the same means.`, "", "| scenario | λ | peak merge backlog (instances) | merged values/s in the last step (median) | acked by the clients |", "|---|---|---|---|---|");
    for (const r of runs) {
      const last = r.steps.at(-1)?.t ?? 0;
      summary.push(`| ${r.scenario} | ${r.lambda} | ${r.peakBacklog} | ${median(r.timeline.filter((p) => p.t > last + 0.5).map((p) => p.merged))} | ${r.clients.reduce((n, c) => n + c.acked, 0)} |`);
    }
    summary.push("");
  }
  host.loadAvgEnd = loadavg()[0] as number;
  writeFileSync(join(out, "sweeps.json"), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(out, "summary.md"), `${summary.join("\n")}\n`);
  process.stderr.write(`multiring-sweeps: wrote ${out}/summary.md\n`);
}

await main().catch((e: unknown) => {
  killEverything();
  process.stderr.write(`multiring-sweeps: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});

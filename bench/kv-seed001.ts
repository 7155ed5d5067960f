/**
 * Seed 001's experiment ("Paxos Made Experimentally", ../shared/seeds/001_…, section 3) on the
 * key-value service: 3, 7 and 15 Paxos nodes × 1, 2 and 4 clients, each client setting 100 values
 * one after another (awaiting each), the latency of every set plotted against its trial number;
 * fewer than 100 acknowledged trials are lost sets.
 *
 *   ./node_modules/.bin/bun bench/kv-seed001.ts [--quick] [--out DIR] [--nodes 3,7,15]
 *       [--clients 1,2,4] [--puts 100] [--repeats 3] [--warmup-puts 30] [--replicas 3]
 *       [--variant mring|uring] [--batch-delay-ms 1] [--value-bytes 100] [--timeout-ms 5000]
 *       [--quiet-pct 30] [--max-wait-s 60] [--max-foreign-pct 25] [--retries 2]
 *   ./node_modules/.bin/bun bench/kv-seed001.ts --replot [--out DIR]   (summary.md and the plots
 *       again from DIR/results.json)
 *
 * --quick: 20 puts per client, one repeat, 10 warm-up puts, every point; written to
 * $TMPDIR/kv-seed001-quick unless --out says otherwise (the full run's results stay as they are).
 *
 * How seed 001's "nodes" map onto this system. In the seed every Paxos node is one machine running
 * a proposer, an acceptor and a learner, and the replicated hash table's replicas sit on those
 * machines; what the experiment varies, and what its conclusion blames ("on the order of n²
 * messages per decree, and the breakdown becomes clear when scaled up to 15 machines"), is the
 * number of processes that must agree on each decree. Here that number is the acceptors: a node
 * of the seed is an acceptor process (node 0 also the coordinator, the seed's distinguished
 * proposer), and the key-value replicas (learner + proposer + SQLite store + HTTP API: the seed's
 * hash-table replicas with their client-facing interface) are a fixed set of `--replicas` (3)
 * processes beside them that the clients talk to. Keeping the replicas fixed changes one thing
 * per step, the consensus group (3, 7, 15 acceptors: f = 1, 3, 7), as the seed's figures do. The
 * other reading, replicas on every node (n replicas applying and fsyncing every write), would
 * also scale the state machine's work with n, and on this 2-core host 15 replicas would measure
 * SQLite commits more than Paxos; it is not what the seed's analysis attributes its slowdown to.
 * In M-Ring (the default, the service's own configuration) Phase 2 runs over a ring of f+1 = 2,
 * 4, 8 of the acceptors and the others stand by (they follow heartbeats and take over if ring
 * members fail); `--variant uring` puts every acceptor on the ring instead.
 *
 * Durability as the seed's (its acceptors log promises and accepted values before answering):
 * acceptors with write-ahead logs that fdatasync before they vote; `protocol.batchDelayMs` 1 as
 * in configs/kv-3.json. Each client is a KvClient (src/index.ts) over all replicas (it starts at a
 * random one and moves to the next on a failure or a 503, the same (client, seq): at most once);
 * a set is acknowledged when put() resolves with its revision (the command was decided and the
 * replica applied it), which is the seed's "time from the proposal of the value to the acceptance
 * of that value" as a client sees it. A set is lost when put() fails (every attempt failed or
 * timed out: 2 × replicas attempts of --timeout-ms), or when, after all clients finished, a
 * linearizable get (read index; key i through replica i mod replicas) does not return the value
 * with the revision put() reported.
 *
 * Each (nodes, clients, repeat) runs on a fresh cluster: started, every replica /ready, then
 * --warmup-puts puts spread over the replicas (not measured: the first writes of fresh processes
 * pay for JIT compilation and the leader's first Phase 1), then the clients all at once. Repeats
 * are interleaved: each repeat runs every point once, in an order rotated per repeat, so a drift
 * of this shared host spreads over all points; per point the figures are medians over repeats.
 * The host may be shared with other work: before each run the script waits (at most --max-wait-s)
 * until the host is at most --quiet-pct % busy, and runs again (at most --retries times) a run
 * during whose clients other processes took more than --max-foreign-pct % of a core (host CPU
 * from /proc/stat minus this process' and the cluster's, from /proc/<pid>/stat); the discarded
 * run stays in results.json, marked.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import { stackedChartsSvg, type LineChart } from "../src/bench/chart.ts";
import { median } from "../src/bench/failure-trace.ts";
import {
  FULL,
  newRounds,
  QUICK,
  round,
  runPoint,
  type LeaderView,
  type PointSummary,
  type RunRecord,
  type Seed001Options,
  type Seed001Report,
} from "../src/bench/kv-seed001.ts";

export { FULL, latencyFigures, QUICK, runPoint, type RunRecord, type Seed001Options, type Seed001Report } from "../src/bench/kv-seed001.ts";

/** The points in the order of repeat r: all points, rotated so that each repeat starts elsewhere. */
export function schedule(o: Seed001Options): { nodes: number; clients: number; repeat: number }[] {
  const points = o.nodes.flatMap((n) => o.clients.map((c) => ({ nodes: n, clients: c })));
  const step = Math.max(1, Math.floor(points.length / Math.max(1, o.repeats)));
  const out: { nodes: number; clients: number; repeat: number }[] = [];
  for (let r = 0; r < o.repeats; r++) for (let i = 0; i < points.length; i++) out.push({ ...(points[(i + r * step) % points.length] as { nodes: number; clients: number }), repeat: r });
  return out;
}

/** A new round between the warm-up and the end (an election, or the leader laying out a new ring). */
export const leaderChanged = (r: RunRecord) =>
  r.leaderBefore?.leader !== r.leaderAfter?.leader || r.leaderBefore?.round !== r.leaderAfter?.round || JSON.stringify(r.leaderBefore?.ring) !== JSON.stringify(r.leaderAfter?.ring);

export function summarizePoints(o: Seed001Options, runs: readonly RunRecord[]): PointSummary[] {
  const out: PointSummary[] = [];
  const med = (xs: readonly number[]) => round(median(xs.filter((x) => Number.isFinite(x))), 3);
  const medOrNull = (xs: readonly (number | null)[]) => {
    const v = xs.filter((x): x is number => x !== null);
    return v.length ? round(median(v), 1) : null;
  };
  for (const n of o.nodes)
    for (const c of o.clients) {
      const all = runs.filter((r) => r.nodes === n && r.clients === c);
      const rs = all.filter((r) => !r.discarded);
      if (rs.length === 0) continue;
      out.push({
        nodes: n,
        clients: c,
        runs: rs.length,
        medianMs: med(rs.map((r) => r.medianMs)),
        p90Ms: med(rs.map((r) => r.p90Ms)),
        p99Ms: med(rs.map((r) => r.p99Ms)),
        maxMs: med(rs.map((r) => r.maxMs)),
        meanMs: med(rs.map((r) => r.meanMs)),
        opsPerSec: med(rs.map((r) => r.opsPerSec)),
        lostTotal: rs.reduce((a, r) => a + r.lost, 0),
        lostMaxPerRun: Math.max(...rs.map((r) => r.lost)),
        opsTotal: rs.reduce((a, r) => a + r.ops, 0),
        hostBusyPct: medOrNull(rs.map((r) => r.hostBusyPct)),
        hostStealPct: medOrNull(rs.map((r) => r.hostStealPct)),
        foreignPct: medOrNull(rs.map((r) => r.foreignPct)),
        leaderChanges: rs.filter(leaderChanged).length,
        newRoundsTotal: rs.reduce((a, r) => a + (newRounds(r) ?? 0), 0),
        discardedRuns: all.length - rs.length,
        logWarnings: rs.reduce((a, r) => a + r.logWarnings, 0),
        logErrors: rs.reduce((a, r) => a + r.logErrors, 0),
      });
    }
  return out;
}

/** The whole experiment. `log` gets one line per run. */
export async function runSeed001(o: Seed001Options, log: (line: string) => void = () => {}): Promise<Seed001Report> {
  for (const n of o.nodes) if (!Number.isInteger(n) || n < 1 || n % 2 === 0) throw new RangeError(`nodes: odd acceptor counts, not ${n}`);
  const t0 = Date.now();
  const startedAt = new Date(t0).toISOString();
  const runs: RunRecord[] = [];
  const plan = schedule(o);
  let seq = 0;
  for (const [i, p] of plan.entries())
    for (let attempt = 0; ; attempt++) {
      let r: RunRecord;
      try {
        r = await runPoint(o, p.nodes, p.clients, p.repeat, seq++);
      } catch (e) {
        // A cluster that did not start (or a replica never ready): say so, and try once more.
        log(`[${i + 1}/${plan.length}] ${p.nodes} nodes, ${p.clients} client(s), repeat ${p.repeat + 1}: FAILED: ${e instanceof Error ? e.message : String(e)}`);
        if (attempt >= o.retries) throw e;
        continue;
      }
      runs.push(r);
      log(
        `[${i + 1}/${plan.length}] ${p.nodes} nodes, ${p.clients} client(s), repeat ${p.repeat + 1}: median ${r.medianMs} ms, p99 ${r.p99Ms} ms, max ${r.maxMs} ms, ` +
          `lost ${r.lost}${r.appliedThoughNotAcked ? ` (${r.appliedThoughNotAcked} applied though not acknowledged)` : ""}, ${r.opsPerSec} puts/s; ` +
          `CPU: host ${r.hostBusyPct} % (steal ${r.hostStealPct} %), ours ${r.oursPct} % of a core, others ${r.foreignPct} %; waited ${r.waitedS} s for a quiet host; start ${r.clusterStartMs} ms` +
          `${leaderChanged(r) ? `; NEW ROUND(S): ${newRounds(r) ?? "leader changed"} ${JSON.stringify(r.leaderBefore)} -> ${JSON.stringify(r.leaderAfter)}` : ""}${r.logErrors + r.logWarnings ? `; log: ${JSON.stringify(r.logMessages)}` : ""}` +
          `${r.discarded ? `; DISCARDED (others took ${r.foreignPct} % of a core > ${o.maxForeignPct})${attempt < o.retries ? ", running again" : ", no retries left: kept"}` : ""}`,
      );
      if (!r.discarded) break;
      if (attempt >= o.retries) {
        // Out of retries: keep the last one in the figures, marked by its foreignPct.
        runs[runs.length - 1] = { ...r, discarded: false };
        break;
      }
    }
  return {
    options: o,
    host: { cores: cpus().length, model: cpus()[0]?.model ?? "?", memGiB: Math.round(totalmem() / 2 ** 30), bun: process.versions["bun"] ?? "?" },
    startedAt,
    wallS: Math.round((Date.now() - t0) / 1000),
    points: summarizePoints(o, runs),
    runs,
  };
}

/** Per trial index i (0-based), latency over every client and repeat of a point: median and worst. */
export function perTrial(report: Seed001Report, nodes: number, clients: number): { median: (number | null)[]; max: (number | null)[]; lost: number[] } {
  const rs = report.runs.filter((r) => r.nodes === nodes && r.clients === clients && !r.discarded);
  const med: (number | null)[] = [];
  const max: (number | null)[] = [];
  const lost: number[] = [];
  for (let i = 0; i < report.options.puts; i++) {
    const xs = rs.flatMap((r) => r.perClient.map((c) => c.latencyMs[i] ?? null));
    const ok = xs.filter((x): x is number => x !== null);
    med.push(ok.length ? round(median(ok), 3) : null);
    max.push(ok.length ? Math.max(...ok) : null);
    lost.push(xs.length - ok.length);
  }
  return { median: med, max, lost };
}

const series = (name: string, ys: readonly (number | null)[]) => ({ name, points: ys.flatMap((y, i) => (y === null ? [] : [{ x: i + 1, y }])) });

/** One plot per node count: latency per trial, one series per client count (median, and below it the worst, over clients × repeats). */
export function trialCharts(report: Seed001Report, nodes: number): LineChart[] {
  const o = report.options;
  const trials = o.clients.map((c) => ({ c, t: perTrial(report, nodes, c) }));
  const name = (c: number) => `${c} client${c === 1 ? "" : "s"}`;
  const x = { label: `trial (the client's n-th sequential put, of ${o.puts})`, min: 1, max: o.puts };
  return [
    { title: `Median over the clients and ${o.repeats} repeat(s)`, x, y: { label: "put latency, ms (log)", log: true }, series: trials.map(({ c, t }) => series(name(c), t.median)), width: 760, height: 260 },
    { title: `Worst over the clients and ${o.repeats} repeat(s)`, x, y: { label: "put latency, ms (log)", log: true }, series: trials.map(({ c, t }) => series(name(c), t.max)), width: 760, height: 260 },
  ];
}

export function summaryCharts(report: Seed001Report): LineChart[] {
  const o = report.options;
  const x = { label: "Paxos nodes (acceptors)", min: 0, max: Math.max(...o.nodes) + 1 };
  const line = (c: number, f: (p: PointSummary) => number) => ({
    name: `${c} client${c === 1 ? "" : "s"}`,
    points: o.nodes.flatMap((n) => {
      const p = report.points.find((q) => q.nodes === n && q.clients === c);
      return p ? [{ x: n, y: f(p) }] : [];
    }),
  });
  return [
    { title: "Median put latency", x, y: { label: "ms (log)", log: true }, series: o.clients.map((c) => line(c, (p) => p.medianMs)), width: 640, height: 240 },
    { title: "p99 put latency", x, y: { label: "ms (log)", log: true }, series: o.clients.map((c) => line(c, (p) => p.p99Ms)), width: 640, height: 240 },
  ];
}

function setupLines(r: Seed001Report): [string, string] {
  const o = r.options;
  return [
    `${o.variant === "mring" ? "M-Ring" : "U-Ring"}; nodes = acceptors (WAL + fdatasync), ${o.replicas} key-value replicas; ${o.puts} sequential puts of ${o.valueBytes} B per client; batchDelayMs ${o.batchDelayMs}`,
    `${o.warmupPuts} warm-up puts per cluster; medians of ${o.repeats} interleaved repeat(s), a fresh cluster per run; ${r.host.cores} cores`,
  ];
}

const setupLine = (r: Seed001Report) => setupLines(r).join("; ");

export function summaryMd(r: Seed001Report, command: string): string {
  const o = r.options;
  const fmt = (x: number) => (Number.isFinite(x) ? (x >= 100 ? x.toFixed(0) : x.toFixed(1)) : "–");
  const kept = r.runs.filter((x) => !x.discarded);
  const runsOf = (p: PointSummary) => kept.filter((x) => x.nodes === p.nodes && x.clients === p.clients);
  const lines = [
    "# Seed 001's experiment on the key-value service",
    "",
    `\`${command}\``,
    "",
    `Host: ${r.host.cores} cores (${r.host.model}), ${r.host.memGiB} GiB, Bun ${r.host.bun}; started ${r.startedAt}; the whole run took ${r.wallS} s ` +
      `(${r.runs.length} runs, ${r.runs.filter((x) => x.discarded).length} of them discarded and re-done; ${r.runs.reduce((a, x) => a + x.waitedS, 0)} s waiting for a quiet host).`,
    "",
    `Setup: ${setupLine(r)}.`,
    "",
    "**Mapping.** Seed 001 varies the number of Paxos nodes (each a proposer, an acceptor and a learner; the hash table's replicas on them) " +
      "and blames the slowdown at 15 on the messages per decree among them. Here a node is an acceptor process (node 0 the coordinator: " +
      `the seed's distinguished proposer), and the clients write through a fixed set of ${o.replicas} key-value replicas (learner + proposer + ` +
      "store + HTTP API), so the consensus group is the one thing that changes: f = 1, 3, 7 at 3, 7, 15 nodes. " +
      (o.variant === "mring"
        ? "In M-Ring Phase 2 runs over a ring of f+1 acceptors (2, 4, 8 hops for every decision, each acceptor fdatasyncing its vote); the other f stand by. "
        : "In U-Ring every acceptor is on the ring: each decision travels all of them. ") +
      "Replicas on every node instead would also scale the state machine's work (n SQLite replicas per write) on this 2-core host.",
    "",
    "A put is acknowledged when KvClient.put resolves (decided and applied by the replica it asked); lost = not acknowledged + acknowledged but not " +
      "returned with its revision by a linearizable get after all clients finished. Latency figures over every acknowledged put of all clients of a run (nearest rank), then the median over repeats.",
    "",
    "| nodes | clients | median ms | p90 ms | p99 ms | max ms | mean ms | puts/s (all clients) | lost (of puts) | host busy % (steal %) | other processes, % of a core | new rounds during the clients (all runs) | each run's median / p99 ms |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ...r.points.map(
      (p) =>
        `| ${p.nodes} | ${p.clients} | ${fmt(p.medianMs)} | ${fmt(p.p90Ms)} | ${fmt(p.p99Ms)} | ${fmt(p.maxMs)} | ${fmt(p.meanMs)} | ${p.opsPerSec.toFixed(0)} | ${p.lostTotal} (of ${p.opsTotal}) | ` +
        `${p.hostBusyPct ?? "–"} (${p.hostStealPct ?? "–"}) | ${p.foreignPct ?? "–"} | ${p.newRoundsTotal} | ${runsOf(p)
          .sort((a, b) => a.repeat - b.repeat)
          .map((x) => `${fmt(x.medianMs)} / ${fmt(x.p99Ms)}`)
          .join(", ")} |`,
    ),
    "",
  ];
  const lost = kept.filter((x) => x.lost > 0 || x.appliedThoughNotAcked > 0);
  const changed = kept.filter(leaderChanged);
  const order = kept.reduce((a, x) => a + x.revisionOrderViolations, 0);
  const logErr = kept.reduce((a, x) => a + x.logErrors, 0);
  const logWarn = kept.reduce((a, x) => a + x.logWarnings, 0);
  const messages: Record<string, number> = {};
  for (const x of kept) for (const [m, n] of Object.entries(x.logMessages)) messages[m] = (messages[m] ?? 0) + n;
  const discarded = r.runs.filter((x) => x.discarded);
  const noisy = kept.filter((x) => x.foreignPct !== null && x.foreignPct > o.maxForeignPct);
  const view = (v: LeaderView | null) => (v ? `leader ${v.leader}, ring [${v.ring?.join(",") ?? ""}]` : "?");
  const change = (x: RunRecord) => {
    const n = newRounds(x);
    const slow = (x.leaderAfter?.slowRelayouts ?? 0) - (x.leaderBefore?.slowRelayouts ?? 0);
    return `${x.nodes}×${x.clients} r${x.repeat + 1}: ${n === null ? `${view(x.leaderBefore)} → ${view(x.leaderAfter)}` : `${n} new round${n === 1 ? "" : "s"}${slow ? ` (${slow} for slow acceptors)` : ""}${JSON.stringify(x.leaderBefore?.ring) !== JSON.stringify(x.leaderAfter?.ring) ? `, ring [${x.leaderBefore?.ring?.join(",")}] → [${x.leaderAfter?.ring?.join(",")}]` : ""}`}`;
  };
  lines.push(
    `Checks over the ${kept.length} runs in the figures:`,
    "",
    `- lost puts: ${kept.reduce((a, x) => a + x.lost, 0)} of ${kept.reduce((a, x) => a + x.ops, 0)}` +
      (lost.length ? ` (${lost.map((x) => `${x.nodes} nodes × ${x.clients} clients repeat ${x.repeat + 1}: ${x.notAcked} not acknowledged, ${x.missingOnReadBack} missing on read-back, ${x.appliedThoughNotAcked} applied though not acknowledged`).join("; ")})` : ""),
    `- a client's sets with revisions out of order: ${order}; warm-up puts that failed: ${kept.reduce((a, x) => a + (x.warmupFailures ?? 0), 0)}`,
    `- runs with a new round (election, or the leader laying out a new ring) between the warm-up and the end: ${changed.length}` +
      (changed.length ? `: ${changed.map(change).join("; ")}` : ""),
    `- node log lines at level error / warn (apart from the start-up warnings about socket buffers and the missing cluster key): ${logErr} / ${logWarn}` +
      (Object.keys(messages).length ? `: ${Object.entries(messages).map(([m, n]) => `${n}× "${m}"`).join(", ")}` : ""),
    `- host: each run waited for the host to be at most ${o.quietPct} % busy before it started (longest wait ${Math.max(0, ...r.runs.map((x) => x.waitedS))} s); ` +
      `runs re-done because other processes took more than ${o.maxForeignPct} % of a core during the clients: ${discarded.length}` +
      (discarded.length ? ` (${discarded.map((x) => `${x.nodes}×${x.clients} r${x.repeat + 1}: ${x.foreignPct} %`).join(", ")})` : "") +
      (noisy.length ? `; kept though noisy (out of retries): ${noisy.map((x) => `${x.nodes}×${x.clients} r${x.repeat + 1}: ${x.foreignPct} %`).join(", ")}` : ""),
    "",
    "Plots: `trials-nN.svg` (latency per trial at N nodes, one series per client count: median and worst over clients × repeats, log scale; the seed's figures 1–9), `summary.svg` (median and p99 against nodes). Raw per-put latencies: `results.json` (`runs[].perClient[].latencyMs`).",
    "",
  );
  return lines.join("\n");
}

/** Writes results.json, summary.md, trials-nN.svg and summary.svg into `out`; returns the paths. */
export async function writeSeed001(r: Seed001Report, out: string, command: string, json = true): Promise<string[]> {
  mkdirSync(out, { recursive: true });
  const paths: string[] = [];
  const put = (name: string, text: string) => {
    const p = join(out, name);
    writeFileSync(p, text);
    paths.push(p);
  };
  if (json) put("results.json", `${JSON.stringify({ command, ...r }, null, 1)}\n`);
  put("summary.md", summaryMd(r, command));
  for (const n of r.options.nodes)
    put(`trials-n${n}.svg`, await stackedChartsSvg(trialCharts(r, n), [`Seed 001 on paxos kv: ${n} Paxos nodes (acceptors), put latency per trial`, ...setupLines(r)]));
  put("summary.svg", await stackedChartsSvg(summaryCharts(r), ["Seed 001 on paxos kv: put latency against Paxos nodes", ...setupLines(r)]));
  return paths;
}

function usage(msg: string): never {
  process.stderr.write(`kv-seed001: ${msg}\n`);
  process.exit(2);
}

function list(name: string, v: string | undefined, fallback: readonly number[]): number[] {
  if (v === undefined) return [...fallback];
  const xs = v.split(",").map(Number);
  if (xs.some((x) => !Number.isInteger(x) || x < 1)) usage(`--${name}: a comma-separated list of positive integers, not ${v}`);
  return xs;
}

function int(name: string, v: string | undefined, fallback: number, min: number): number {
  if (v === undefined) return fallback;
  const x = Number(v);
  if (!Number.isInteger(x) || x < min) usage(`--${name}: an integer >= ${min}, not ${v}`);
  return x;
}

async function main(): Promise<void> {
  const { values: a } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      replot: { type: "boolean", default: false },
      out: { type: "string" },
      nodes: { type: "string" },
      clients: { type: "string" },
      puts: { type: "string" },
      repeats: { type: "string" },
      "warmup-puts": { type: "string" },
      replicas: { type: "string" },
      variant: { type: "string" },
      "batch-delay-ms": { type: "string" },
      "value-bytes": { type: "string" },
      "timeout-ms": { type: "string" },
      "quiet-pct": { type: "string" },
      "max-wait-s": { type: "string" },
      "max-foreign-pct": { type: "string" },
      retries: { type: "string" },
    },
  });
  const base = a.quick ? QUICK : FULL;
  const out = a.out ?? (a.quick ? join(tmpdir(), "kv-seed001-quick") : "bench/results/kv-seed001");
  const command = `./node_modules/.bin/bun bench/kv-seed001.ts ${process.argv.slice(2).join(" ")}`.trim();
  if (a.replot) {
    const saved = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as Seed001Report & { command: string };
    // The figures again from the runs (so that a change of the summary applies to saved runs).
    for (const p of await writeSeed001({ ...saved, points: summarizePoints(saved.options, saved.runs) }, out, saved.command, false)) process.stderr.write(`wrote ${p}\n`);
    return;
  }
  if (a.variant !== undefined && a.variant !== "mring" && a.variant !== "uring") usage(`--variant: mring or uring, not ${a.variant}`);
  const o: Seed001Options = {
    nodes: list("nodes", a.nodes, base.nodes),
    clients: list("clients", a.clients, base.clients),
    puts: int("puts", a.puts, base.puts, 1),
    repeats: int("repeats", a.repeats, base.repeats, 1),
    warmupPuts: int("warmup-puts", a["warmup-puts"], base.warmupPuts, 0),
    replicas: int("replicas", a.replicas, base.replicas, 1),
    variant: (a.variant as "mring" | "uring" | undefined) ?? base.variant,
    batchDelayMs: int("batch-delay-ms", a["batch-delay-ms"], base.batchDelayMs, 0),
    valueBytes: int("value-bytes", a["value-bytes"], base.valueBytes, 1),
    timeoutMs: int("timeout-ms", a["timeout-ms"], base.timeoutMs, 100),
    quietPct: int("quiet-pct", a["quiet-pct"], base.quietPct, 0),
    maxWaitS: int("max-wait-s", a["max-wait-s"], base.maxWaitS, 0),
    maxForeignPct: int("max-foreign-pct", a["max-foreign-pct"], base.maxForeignPct, 0),
    retries: int("retries", a.retries, base.retries, 0),
  };
  if (o.nodes.some((n) => n % 2 === 0)) usage("--nodes: acceptor counts must be odd (the configuration refuses an even number)");
  process.stderr.write(`kv-seed001: ${schedule(o).length} runs, results in ${out}\n`);
  const r = await runSeed001(o, (l) => process.stderr.write(`${l}\n`));
  const paths = await writeSeed001(r, out, command);
  process.stdout.write(summaryMd(r, command));
  for (const p of paths) process.stderr.write(`wrote ${p}\n`);
}

if (import.meta.main) {
  const stop = () => process.exit(130);
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  await main();
}

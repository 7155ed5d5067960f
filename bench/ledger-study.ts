/**
 * The RAM-vs-disk study (seed 000, "RAM-ified Part-Time Parliament"): what does the ink cost?
 *
 * Sweeps value size x ring size x ledger (RAM, WAL with fdatasync, WAL without sync) for
 * workload A (one proposer) and B (two proposers), each point the median of --repeat runs of
 * `paxos bench` (a real cluster of processes on loopback, WAL segments on this machine's disk).
 * Then the latency question: at half of RAM mode's peak load (open loop), p99 latency of each
 * ledger. Prints tables, writes JSON and SVG plots.
 *
 *   ./node_modules/.bin/bun bench/ledger-study.ts [--sizes 64,1024,8192,32768] [--rings 3,5,7]
 *       [--ledgers ram,wal,wal-nosync] [--workloads A,B] [--variant mring] [--duration 4]
 *       [--repeat 3] [--out bench/results/ledger-study] [--no-latency]
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { BENCH_DEFAULTS, runBench, type BenchOptions, type BenchResult } from "../src/bench/run.ts";
import { lineChartSvg, type ChartSeries } from "../src/bench/chart.ts";

type LedgerKind = "ram" | "wal" | "wal-nosync";
type Workload = "A" | "B";

const LEDGER_LABEL: Record<LedgerKind, string> = { ram: "RAM", wal: "WAL + fdatasync", "wal-nosync": "WAL, no sync" };

interface Point {
  readonly workload: Workload;
  readonly ring: number;
  readonly valueSize: number;
  readonly ledger: LedgerKind;
  readonly runs: number;
  /** Medians over the runs, at the measured learner and the clients. */
  readonly mbPerSec: number;
  readonly valuesPerSec: number;
  readonly p50Us: number;
  readonly p99Us: number;
}

interface LatencyPoint {
  readonly ledger: LedgerKind;
  readonly ratePerClient: number;
  readonly valuesPerSec: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly cdf: readonly { readonly p: number; readonly us: number }[];
}

const { values: a } = parseArgs({
  options: {
    sizes: { type: "string", default: "64,1024,8192,32768" },
    rings: { type: "string", default: "3,5,7" },
    ledgers: { type: "string", default: "ram,wal,wal-nosync" },
    workloads: { type: "string", default: "A,B" },
    variant: { type: "string", default: "mring" },
    duration: { type: "string", default: "4" },
    repeat: { type: "string", default: "1" },
    out: { type: "string", default: "bench/results/ledger-study" },
    "no-latency": { type: "boolean", default: false },
  },
});

const list = (s: string): string[] => s.split(",").map((x) => x.trim()).filter(Boolean);
const sizes = list(a.sizes).map(Number);
const rings = list(a.rings).map(Number);
const ledgers = list(a.ledgers) as LedgerKind[];
const workloads = list(a.workloads) as Workload[];
const variant = a.variant === "uring" ? "uring" : "mring";
const durationS = Number(a.duration);
const repeat = Math.max(1, Number(a.repeat));
for (const l of ledgers) if (!(l in LEDGER_LABEL)) throw new Error(`--ledgers: unknown ledger ${l}`);

const median = (xs: number[]): number => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length === 0 ? 0 : s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};

function options(ledger: LedgerKind, over: Partial<BenchOptions>): BenchOptions {
  return {
    ...BENCH_DEFAULTS,
    variant,
    durationS,
    warmupS: 1,
    ledger: ledger === "ram" ? "ram" : "wal",
    walSync: ledger === "wal" ? "fsync" : "none",
    ...over,
  };
}

async function bench(o: BenchOptions): Promise<BenchResult> {
  return runBench(o, { update: () => {} });
}

const clientP = (r: BenchResult, k: "p50" | "p99"): number => Math.max(...r.clients.map((c) => c.latencyUs[k]));

async function point(workload: Workload, ring: number, valueSize: number, ledger: LedgerKind): Promise<Point> {
  const results: BenchResult[] = [];
  for (let i = 0; i < repeat; i++) results.push(await bench(options(ledger, { ring, valueSize, clients: workload === "A" ? 1 : 2 })));
  const l = (r: BenchResult) => r.learners[0] ?? { mbPerSec: 0, valuesPerSec: 0 };
  return {
    workload,
    ring,
    valueSize,
    ledger,
    runs: repeat,
    mbPerSec: median(results.map((r) => l(r).mbPerSec)),
    valuesPerSec: median(results.map((r) => l(r).valuesPerSec)),
    p50Us: median(results.map((r) => clientP(r, "p50"))),
    p99Us: median(results.map((r) => clientP(r, "p99"))),
  };
}

const pad = (s: string | number, n: number) => String(s).padStart(n);
const t0 = Date.now();
const points: Point[] = [];
const total = workloads.length * rings.length * sizes.length * ledgers.length;
for (const w of workloads)
  for (const ring of rings)
    for (const size of sizes)
      for (const ledger of ledgers) {
        const p = await point(w, ring, size, ledger);
        points.push(p);
        process.stderr.write(
          `[${points.length}/${total}, ${Math.round((Date.now() - t0) / 1000)} s] ${w} ring ${ring} ${size} B ${LEDGER_LABEL[ledger]}: ${p.mbPerSec} MB/s, ${p.valuesPerSec} values/s, p99 ${p.p99Us} µs\n`,
        );
      }

const lines = [
  `RAM vs disk (${variant}, ${durationS} s runs, median of ${repeat}): MB/s delivered at a learner (values/s); ratio to RAM`,
  "",
  `wl ring  value B  ${ledgers.map((l) => LEDGER_LABEL[l].padStart(26)).join("")}`,
];
for (const w of workloads)
  for (const ring of rings)
    for (const size of sizes) {
      const row = points.filter((p) => p.workload === w && p.ring === ring && p.valueSize === size);
      const ram = row.find((p) => p.ledger === "ram");
      const cells = ledgers.map((l) => {
        const p = row.find((x) => x.ledger === l);
        if (!p) return pad("-", 26);
        const ratio = ram && ram.mbPerSec > 0 && l !== "ram" ? ` ${(p.mbPerSec / ram.mbPerSec).toFixed(2)}x` : "";
        return pad(`${p.mbPerSec.toFixed(1)} (${p.valuesPerSec})${ratio}`, 26);
      });
      lines.push(`${w.padEnd(3)}${pad(ring, 4)} ${pad(size, 8)}  ${cells.join("")}`);
    }

// Latency at half of peak load: 8 KB values (or the largest size below it), the smallest ring, workload A.
const latency: LatencyPoint[] = [];
if (!a["no-latency"] && ledgers.includes("ram")) {
  const size = sizes.includes(8192) ? 8192 : (sizes.at(-1) as number);
  const ring = rings[0] as number;
  const peak = points.find((p) => p.workload === (workloads[0] as Workload) && p.ring === ring && p.valueSize === size && p.ledger === "ram");
  const rate = Math.max(1, Math.round((peak?.valuesPerSec ?? 0) / 2));
  for (const ledger of ledgers) {
    const rs: BenchResult[] = [];
    for (let i = 0; i < repeat; i++) rs.push(await bench(options(ledger, { ring, valueSize: size, clients: 1, rate, window: 4096 })));
    const best = rs[Math.floor(rs.length / 2)] as BenchResult;
    latency.push({
      ledger,
      ratePerClient: rate,
      valuesPerSec: median(rs.map((r) => r.learners[0]?.valuesPerSec ?? 0)),
      p50Us: median(rs.map((r) => clientP(r, "p50"))),
      p99Us: median(rs.map((r) => clientP(r, "p99"))),
      cdf: best.clients[0]?.cdf ?? [],
    });
  }
  const ram = latency.find((l) => l.ledger === "ram");
  lines.push("", `Latency at half of RAM's peak (${rate} values/s of ${size} B, ring ${ring}, open loop): p50 / p99 µs`);
  for (const l of latency)
    lines.push(`${LEDGER_LABEL[l.ledger].padEnd(18)} ${pad(l.valuesPerSec, 8)} values/s  p50 ${pad(l.p50Us, 8)}  p99 ${pad(l.p99Us, 8)}${ram && l.ledger !== "ram" ? `  (${(l.p99Us / Math.max(1, ram.p99Us)).toFixed(2)}x RAM's p99)` : ""}`);
}

const text = `${lines.join("\n")}\n`;
process.stdout.write(text);
mkdirSync(a.out, { recursive: true });
writeFileSync(join(a.out, "ledger-study.json"), `${JSON.stringify({ variant, durationS, repeat, points, latency }, null, 2)}\n`);
writeFileSync(join(a.out, "ledger-study.txt"), text);
for (const w of workloads) {
  const ring = rings[0] as number;
  const series: ChartSeries[] = ledgers.map((l) => ({
    name: LEDGER_LABEL[l],
    points: points.filter((p) => p.workload === w && p.ring === ring && p.ledger === l).map((p) => ({ x: p.valueSize, y: p.mbPerSec })),
  }));
  writeFileSync(
    join(a.out, `throughput-vs-value-size-${w}.svg`),
    await lineChartSvg({ title: `Workload ${w} (${w === "A" ? "one proposer" : "two proposers"}), ${variant}, ${ring} acceptors`, x: { label: "value size (bytes)", log: true }, y: { label: "MB/s delivered" }, series }),
  );
}
if (latency.length > 0)
  writeFileSync(
    join(a.out, "latency-cdf-half-load.svg"),
    await lineChartSvg({
      title: `Latency at half of RAM's peak load (${latency[0]?.ratePerClient} values/s)`,
      x: { label: "latency (µs)", log: true },
      y: { label: "fraction of values", min: 0, max: 1 },
      series: latency.map((l) => ({ name: LEDGER_LABEL[l.ledger], points: l.cdf.filter((c) => c.us > 0).map((c) => ({ x: c.us, y: c.p })) })),
    }),
  );
process.stderr.write(`wrote ${a.out}/ (json, txt, svg) in ${Math.round((Date.now() - t0) / 1000)} s\n`);

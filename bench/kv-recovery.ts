/**
 * How long a key-value replica takes to come back, on real processes (3 acceptors with fsynced
 * write-ahead logs, 2 durable replicas, loopback), with a state of `--records` keys of 1 KB:
 *
 * - restart: SIGKILL a replica that is up to date, start it again: it resumes from its store's
 *   cursor; measured from the new process' start to its first answer of a linearizable get that
 *   sees the last write (it caught up), and to /ready;
 * - transfer: SIGKILL a replica, write on while it is down until every acceptor trimmed what it
 *   missed (garbage collection), start it again: its learner gives the range up as lost and it
 *   fetches the other replica's snapshot; measured: the snapshot's size, the replica's own figure
 *   from the loss to the installed state, and from the new process' start to the first get that
 *   sees the last write.
 *
 *   ./node_modules/.bin/bun bench/kv-recovery.ts [--records 20000] [--repeats 3] [--out bench/results/kv-recovery]
 */
import { mkdirSync, writeFileSync } from "node:fs";
import process from "node:process";
import { parseArgs } from "node:util";
import { LocalCluster, type NodeSpec } from "../src/bench/cluster.ts";

const { values: a } = parseArgs({
  options: {
    records: { type: "string", default: "20000" },
    repeats: { type: "string", default: "3" },
    out: { type: "string", default: "bench/results/kv-recovery" },
  },
});
const records = Number(a.records);
const repeats = Number(a.repeats);
if (!Number.isSafeInteger(records) || records < 1 || !Number.isSafeInteger(repeats) || repeats < 1) {
  process.stderr.write("kv-recovery: --records and --repeats are positive integers\n");
  process.exit(2);
}
const VALUE = "v".repeat(1024);
/** Garbage collection that trims soon after a replica is suspected (as the real-process tests set it). */
const PROTOCOL = { gcSuspectMs: 400, catchupGiveUpMs: 500, maxUnappliedInstances: 128, retainInstances: 16, learnerRetainInstances: 16, appliedMs: 20, batchDelayMs: 1 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function put(port: number, key: string, value: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const r = await fetch(`http://127.0.0.1:${port}/v1/kv/${key}`, { method: "PUT", body: value, signal: AbortSignal.timeout(10_000) }).catch(() => null);
    if (r?.status === 200) return void (await r.arrayBuffer());
    if (attempt > 20) throw new Error(`put ${key}: ${r?.status ?? "no answer"}`);
    await sleep(100);
  }
}

async function load(port: number, from: number, count: number): Promise<void> {
  const inFlight = 32;
  for (let k = from; k < from + count; k += inFlight) await Promise.all(Array.from({ length: Math.min(inFlight, from + count - k) }, (_, j) => put(port, `user${k + j}`, VALUE)));
}

/** Ms from `t0` until the replica answers a linearizable get of `key` with `value`. */
async function untilSees(port: number, key: string, value: string, t0: number): Promise<number> {
  for (;;) {
    const r = await fetch(`http://127.0.0.1:${port}/v1/kv/${key}`, { signal: AbortSignal.timeout(2000) }).catch(() => null);
    if (r?.status === 200 && ((await r.json()) as { value?: string }).value === value) return performance.now() - t0;
    await sleep(20);
  }
}

async function untilReady(port: number, t0: number): Promise<number> {
  for (;;) {
    const r = await fetch(`http://127.0.0.1:${port}/ready`, { signal: AbortSignal.timeout(2000) }).catch(() => null);
    if (r?.status === 200) return performance.now() - t0;
    await sleep(20);
  }
}

interface Round {
  readonly restartSeesMs: number;
  readonly restartReadyMs: number;
  readonly snapshotBytes: number;
  readonly transferMs: number;
  readonly transferDownloadMs: number;
  readonly transferSeesMs: number;
}

async function round(i: number): Promise<Round> {
  const c = await LocalCluster.start({ variant: "mring", acceptors: 3, learners: 2, clients: 0, kv: true, http: true, ledger: { kind: "wal", sync: "fsync" }, protocol: PROTOCOL });
  const [r1, r2] = c.nodes.filter((n) => n.kv !== undefined) as [NodeSpec, NodeSpec];
  const p1 = r1.http as number;
  const p2 = r2.http as number;
  try {
    await load(p1, 0, records);
    await put(p1, "last", `r${i}-a`);
    await untilSees(p2, "last", `r${i}-a`, performance.now());
    await c.kill(r2.id, "SIGKILL");
    let t0 = performance.now();
    await c.restart(r2.id);
    const restartReadyMs = await untilReady(p2, t0);
    const restartSeesMs = await untilSees(p2, "last", `r${i}-a`, t0);
    // Down again while the others write on: acceptors and the other learner trim past it.
    await c.kill(r2.id, "SIGKILL");
    await sleep(600);
    await load(p1, records, 300);
    await put(p1, "last", `r${i}-b`);
    await sleep(300);
    t0 = performance.now();
    await c.restart(r2.id);
    const transferSeesMs = await untilSees(p2, "last", `r${i}-b`, t0);
    const t = (await c.status(r2.id))?.kv?.lastTransfer;
    if (!t) throw new Error("the restarted replica caught up without a state transfer: garbage collection did not trim past it");
    return { restartSeesMs, restartReadyMs, snapshotBytes: t.bytes, transferMs: t.ms, transferDownloadMs: t.downloadMs, transferSeesMs };
  } finally {
    await c.stop();
  }
}

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] as number;
const rounds: Round[] = [];
for (let i = 0; i < repeats; i++) {
  rounds.push(await round(i));
  process.stderr.write(`kv-recovery: round ${i + 1}/${repeats}: ${JSON.stringify(rounds.at(-1))}\n`);
}
const med = (k: keyof Round) => Math.round(median(rounds.map((r) => r[k])));
const summary = [
  `# Key-value replica recovery (${records} keys of 1 KB, 3 acceptors with fsynced WALs, 2 replicas; medians of ${repeats})`,
  "",
  "| what | median |",
  "|---|---|",
  `| restart from durable state: process start to /ready | ${med("restartReadyMs")} ms |`,
  `| restart from durable state: process start to a linearizable get that sees the last write | ${med("restartSeesMs")} ms |`,
  `| state transfer: snapshot size | ${(med("snapshotBytes") / 1e6).toFixed(1)} MB |`,
  `| state transfer: loss reported to snapshot installed (the replica's figure) | ${med("transferMs")} ms (download ${med("transferDownloadMs")} ms) |`,
  `| state transfer: process start to a linearizable get that sees the last write | ${med("transferSeesMs")} ms |`,
  "",
].join("\n");
mkdirSync(a.out as string, { recursive: true });
writeFileSync(`${a.out}/results.json`, `${JSON.stringify({ records, repeats, rounds }, null, 2)}\n`);
writeFileSync(`${a.out}/summary.md`, summary);
process.stdout.write(summary);

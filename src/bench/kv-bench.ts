/**
 * The key-value service's benchmark (`paxos bench --app kv`, and bench/kv-vs-etcd.ts, which
 * drives etcd with the same load): YCSB-style workloads (a: 50 % reads / 50 % updates, b: 95 / 5,
 * c: read-only) on `records` keys of 1 KB values, uniform or Zipfian (YCSB's θ 0.99), a closed
 * loop of `concurrency` requests in flight over HTTP/JSON spread over the replicas; latency and
 * throughput over the measured window only.
 */
import { LocalCluster } from "./cluster.ts";

export type Workload = "a" | "b" | "c";
export const WORKLOADS: readonly Workload[] = ["a", "b", "c"];
export const READ_SHARE: Record<Workload, number> = { a: 0.5, b: 0.95, c: 1 };
export const VALUE_BYTES = 1024;
const VALUE = "x".repeat(VALUE_BYTES);

export interface KvLoadOptions {
  readonly workload: Workload;
  readonly zipf: boolean;
  readonly records: number;
  readonly concurrency: number;
  readonly warmupMs: number;
  readonly durationMs: number;
}

/** One system under test: a write and a linearizable read of a key through its endpoint `i`. */
export interface KvTarget {
  readonly name: string;
  put(i: number, key: string, value: string): Promise<boolean>;
  get(i: number, key: string): Promise<boolean>;
  stop(): Promise<void>;
}

export interface KvLoadResult {
  readonly opsPerSec: number;
  readonly reads: number;
  readonly writes: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
}

/**
 * Our service on this host: 3 acceptors whose write-ahead logs fdatasync before they vote, 3
 * replicas, `batchDelayMs` (1: each replica proposes each write alone, and 1 ms lets writes of
 * several replicas share an instance; see the README's results).
 */
export async function startKvService(protocol: Readonly<Record<string, number>> = { batchDelayMs: 1 }): Promise<KvTarget> {
  const c = await LocalCluster.start({ variant: "mring", acceptors: 3, learners: 3, clients: 0, kv: true, http: true, ledger: { kind: "wal", sync: "fsync" }, protocol });
  const urls = c.nodes.filter((n) => n.kv !== undefined).map((n) => `http://127.0.0.1:${n.http as number}/v1/kv/`);
  const url = (i: number) => urls[i % urls.length] as string;
  return {
    name: "paxos kv",
    put: async (i, key, value) => (await fetch(url(i) + key, { method: "PUT", body: value })).status === 200,
    get: async (i, key) => {
      const r = await fetch(url(i) + key);
      await r.arrayBuffer();
      return r.status === 200;
    },
    stop: () => c.stop(),
  };
}

/** Writes every record once (64 at a time). */
export async function preload(t: KvTarget, records: number): Promise<void> {
  const batch = 64;
  for (let k = 0; k < records; k += batch) await Promise.all(Array.from({ length: Math.min(batch, records - k) }, (_, j) => t.put(k + j, `user${k + j}`, VALUE)));
}

/** YCSB's Zipfian generator (θ 0.99) over [0, n), or uniform. */
export function keyChooser(n: number, zipf: boolean, random: () => number = Math.random): () => number {
  if (!zipf) return () => Math.floor(random() * n);
  const theta = 0.99;
  let zetan = 0;
  for (let i = 1; i <= n; i++) zetan += 1 / i ** theta;
  const zeta2 = 1 + 1 / 2 ** theta;
  const alpha = 1 / (1 - theta);
  const eta = (1 - (2 / n) ** (1 - theta)) / (1 - zeta2 / zetan);
  return () => {
    const u = random();
    const uz = u * zetan;
    if (uz < 1) return 0;
    if (uz < 1 + 0.5 ** theta) return 1;
    return Math.min(n - 1, Math.floor(n * (eta * u - eta + 1) ** alpha));
  };
}

/** One run of the closed loop against `t`. */
export async function runKvLoad(t: KvTarget, o: KvLoadOptions): Promise<KvLoadResult> {
  const next = keyChooser(o.records, o.zipf);
  const lat: number[] = [];
  let errors = 0;
  let reads = 0;
  const measureFrom = performance.now() + o.warmupMs;
  const end = measureFrom + o.durationMs;
  const worker = async (id: number) => {
    for (let i = id; performance.now() < end; i += o.concurrency) {
      const key = `user${next()}`;
      const read = Math.random() < READ_SHARE[o.workload];
      const t0 = performance.now();
      let ok = false;
      try {
        ok = read ? await t.get(i, key) : await t.put(i, key, VALUE);
      } catch {
        ok = false;
      }
      const t1 = performance.now();
      if (t0 < measureFrom || t1 > end) continue;
      if (!ok) errors++;
      else {
        lat.push(t1 - t0);
        if (read) reads++;
      }
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, (_, id) => worker(id)));
  lat.sort((x, y) => x - y);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))] ?? NaN;
  return { opsPerSec: lat.length / (o.durationMs / 1000), reads, writes: lat.length - reads, p50Ms: q(0.5), p99Ms: q(0.99), errors };
}

/** `paxos bench --app kv`: our service alone, one run. */
export async function runKvBench(o: KvLoadOptions & { readonly protocol?: Readonly<Record<string, number>> }): Promise<KvLoadResult & { readonly options: KvLoadOptions }> {
  const t = await startKvService(o.protocol);
  try {
    await preload(t, o.records);
    return { ...(await runKvLoad(t, o)), options: o };
  } finally {
    await t.stop();
  }
}

/** The bench's table for one run. */
export function formatKvBench(r: KvLoadResult & { readonly options: KvLoadOptions }): string {
  const o = r.options;
  return (
    `paxos bench --app kv: workload ${o.workload} (${Math.round(READ_SHARE[o.workload] * 100)} % reads), ${o.records} records of ${VALUE_BYTES} B, ${o.zipf ? "Zipfian" : "uniform"} keys, ` +
    `${o.concurrency} requests in flight over 3 replicas (3 acceptors, WAL + fdatasync), ${o.durationMs / 1000} s (${o.warmupMs / 1000} s warm-up)\n\n` +
    `ops/s      reads    writes   p50 ms   p99 ms   errors\n` +
    `${r.opsPerSec.toFixed(0).padEnd(10)} ${String(r.reads).padEnd(8)} ${String(r.writes).padEnd(8)} ${r.p50Ms.toFixed(2).padEnd(8)} ${r.p99Ms.toFixed(2).padEnd(8)} ${r.errors}\n`
  );
}

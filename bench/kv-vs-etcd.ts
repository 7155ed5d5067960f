/**
 * The key-value service against etcd, side by side on this host: YCSB-style workloads (a: 50 %
 * reads / 50 % updates, b: 95 / 5, c: read-only), 1 KB values, uniform or Zipfian keys, one load
 * generator (this process: closed loop, `--concurrency` requests in flight, spread over the
 * replicas) driving both over HTTP/JSON: our replicas' /v1/kv API and etcd's JSON gateway
 * (/v3/kv/put, /v3/kv/range: linearizable reads, etcd's default). Durability is equal: a write
 * is acknowledged once it is on disk in a majority's log (our acceptors' write-ahead logs
 * fdatasync before they vote; etcd's members fsync their raft WAL), and both keep their applied
 * state with group commits (our replicas' SQLite every 10 ms, etcd's bbolt backend in batches). Runs are interleaved
 * (ours, etcd, ours, …) per workload; medians of the repeats; ratios in the summary.
 *
 *   ./node_modules/.bin/bun bench/kv-vs-etcd.ts [--workloads a,b,c] [--keys uniform|zipf]
 *       [--repeats 3] [--duration 8] [--warmup 2] [--concurrency 32] [--records 1000] [--batch-delay-ms 1]
 *       [--out bench/results/kv-vs-etcd]
 *
 * etcd: Debian's `etcd-server` (apt-get install etcd-server); without an `etcd` binary on the
 * PATH the script says so and measures ours alone.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import { freePorts } from "../src/bench/cluster.ts";
import { type KvLoadResult, type KvTarget, preload, READ_SHARE, runKvLoad, startKvService, type Workload } from "../src/bench/kv-bench.ts";

const { values: a } = parseArgs({
  options: {
    workloads: { type: "string", default: "a,b,c" },
    keys: { type: "string", default: "zipf" },
    repeats: { type: "string", default: "3" },
    duration: { type: "string", default: "8" },
    warmup: { type: "string", default: "2" },
    concurrency: { type: "string", default: "32" },
    records: { type: "string", default: "1000" },
    "batch-delay-ms": { type: "string", default: "1" },
    out: { type: "string", default: "bench/results/kv-vs-etcd" },
  },
});
const workloads = (a.workloads as string).split(",") as Workload[];
for (const w of workloads) if (!(w in READ_SHARE)) fail(`--workloads: a, b or c, not ${w}`);
const zipf = a.keys === "zipf";
const repeats = Number(a.repeats);
const durationMs = Number(a.duration) * 1000;
const warmupMs = Number(a.warmup) * 1000;
const concurrency = Number(a.concurrency);
const records = Number(a.records);
/**
 * protocol.batchDelayMs of our cluster: the coordinator holds a batch this long for more values.
 * Each replica proposes each write alone, so without a delay every write is an instance of its
 * own (~900 instances/s here, each with its fsyncs and messages); 1 ms put ~4 writes in an
 * instance and raised writes from ~900/s to ~1,350/s (32 in flight), 2 ms lowered them again.
 */
const batchDelayMs = Number(a["batch-delay-ms"]);

function fail(msg: string): never {
  process.stderr.write(`kv-vs-etcd: ${msg}\n`);
  process.exit(2);
}

const b64 = (s: string) => Buffer.from(s).toString("base64");

async function etcd(): Promise<KvTarget | null> {
  if (spawnSync("etcd", ["--version"]).status !== 0) {
    process.stderr.write("kv-vs-etcd: no etcd on the PATH (apt-get install etcd-server): measuring paxos kv alone\n");
    return null;
  }
  const dir = mkdtempSync(join(tmpdir(), "etcd-bench-"));
  const ports = await freePorts(6);
  const members = [0, 1, 2].map((i) => ({ name: `m${i}`, client: ports[2 * i] as number, peer: ports[2 * i + 1] as number }));
  const initial = members.map((m) => `${m.name}=http://127.0.0.1:${m.peer}`).join(",");
  const procs: ChildProcess[] = members.map((m) =>
    spawn("etcd", ["--name", m.name, "--data-dir", join(dir, m.name), "--listen-client-urls", `http://127.0.0.1:${m.client}`, "--advertise-client-urls", `http://127.0.0.1:${m.client}`,
      "--listen-peer-urls", `http://127.0.0.1:${m.peer}`, "--initial-advertise-peer-urls", `http://127.0.0.1:${m.peer}`, "--initial-cluster", initial, "--initial-cluster-state", "new", "--log-level", "error"],
      { stdio: "ignore" }),
  );
  const url = (i: number) => `http://127.0.0.1:${(members[i % 3] as { client: number }).client}/v3/kv/`;
  for (let t = 0; ; t += 100) {
    try {
      if ((await fetch(url(0) + "put", { method: "POST", body: JSON.stringify({ key: b64("ready"), value: b64("1") }) })).ok) break;
    } catch {
      // not up yet
    }
    if (t > 20_000) fail("etcd did not start within 20 s");
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    name: "etcd",
    put: async (i, key, value) => (await fetch(url(i) + "put", { method: "POST", body: JSON.stringify({ key: b64(key), value: b64(value) }) })).ok,
    get: async (i, key) => {
      const r = await fetch(url(i) + "range", { method: "POST", body: JSON.stringify({ key: b64(key) }) });
      await r.arrayBuffer();
      return r.ok;
    },
    stop: async () => {
      for (const p of procs) p.kill("SIGKILL");
      await new Promise((r) => setTimeout(r, 200));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] as number;

async function main(): Promise<void> {
  const results: Record<string, Record<string, KvLoadResult[]>> = {};
  const targets: KvTarget[] = [];
  const mine = await startKvService({ batchDelayMs });
  targets.push(mine);
  const theirs = await etcd();
  if (theirs) targets.push(theirs);
  try {
    for (const t of targets) await preload(t, records);
    for (const w of workloads)
      for (let r = 0; r < repeats; r++)
        for (const t of r % 2 === 0 ? targets : [...targets].reverse()) {
          const res = await runKvLoad(t, { workload: w, zipf, records, concurrency, warmupMs, durationMs });
          ((results[w] ??= {})[t.name] ??= []).push(res);
          process.stderr.write(`workload ${w} repeat ${r + 1}/${repeats} ${t.name}: ${res.opsPerSec.toFixed(0)} ops/s, p50 ${res.p50Ms.toFixed(2)} ms, p99 ${res.p99Ms.toFixed(2)} ms, errors ${res.errors}\n`);
        }
  } finally {
    for (const t of targets) await t.stop();
  }
  summarize(results, targets.map((t) => t.name));
}

function summarize(results: Record<string, Record<string, KvLoadResult[]>>, names: string[]): void {
  const out = a.out as string;
  mkdirSync(out, { recursive: true });
  const lines = [
    "# paxos kv against etcd",
    "",
    `\`./node_modules/.bin/bun bench/kv-vs-etcd.ts --workloads ${workloads.join(",")} --keys ${a.keys} --repeats ${repeats} --duration ${a.duration} --warmup ${a.warmup} --concurrency ${concurrency} --records ${records} --batch-delay-ms ${batchDelayMs}\``,
    "",
    `Host: ${cpus().length} cores (${cpus()[0]?.model ?? "?"}). ${records} records of 1 KB, ${zipf ? "Zipfian (θ 0.99)" : "uniform"} keys; ${concurrency} requests in flight from one load generator over HTTP/JSON, spread over 3 replicas (paxos kv: 3 acceptors with fdatasync'd WALs, protocol.batchDelayMs ${batchDelayMs}, 3 replicas whose SQLite state is fsync'd in groups every 10 ms: a write is acknowledged once the log holds it) or 3 members (etcd ${spawnSync("etcd", ["--version"]).stdout?.toString().split("\n")[0]?.replace("etcd Version: ", "") ?? "?"}, defaults); medians of ${repeats} interleaved runs of ${a.duration} s after ${a.warmup} s.`,
    "",
    `| workload | ${names.map((n) => `${n} ops/s | p50 ms | p99 ms`).join(" | ")} | ${names.length === 2 ? "throughput ratio | p99 ratio |" : ""}`,
    `|---|${names.map(() => "---:|---:|---:").join("|")}|${names.length === 2 ? "---:|---:|" : ""}`,
  ];
  for (const w of workloads) {
    const cells = names.map((n) => {
      const rs = results[w]?.[n] ?? [];
      return [median(rs.map((r) => r.opsPerSec)), median(rs.map((r) => r.p50Ms)), median(rs.map((r) => r.p99Ms))];
    });
    const ratio = names.length === 2 ? ` ${((cells[0]?.[0] ?? 0) / (cells[1]?.[0] ?? 1)).toFixed(2)}× | ${((cells[0]?.[2] ?? 0) / (cells[1]?.[2] ?? 1)).toFixed(2)}× |` : "";
    lines.push(`| ${w} (${Math.round(READ_SHARE[w] * 100)} % reads) | ${cells.map((c) => `${(c[0] ?? 0).toFixed(0)} | ${(c[1] ?? 0).toFixed(2)} | ${(c[2] ?? 0).toFixed(2)}`).join(" | ")} |${ratio}`);
  }
  writeFileSync(join(out, "summary.md"), `${lines.join("\n")}\n`);
  writeFileSync(join(out, "results.json"), JSON.stringify({ options: a, results }, null, 2));
  process.stdout.write(`${lines.join("\n")}\n`);
}

await main();

/**
 * Micro-benchmarks of the pure protocol cores (no I/O): how many consensus instances per second
 * the protocol logic itself sustains on one core, with messages routed in memory.
 * Run: ./node_modules/.bin/bun bench/cores.bench.ts   (or: deno run -A bench/cores.bench.ts)
 */
import { Bench } from "tinybench";
import { defaultBatchBytes, DEFAULT_TIMING, type ProtocolConfig, type Variant } from "../src/core/config.ts";
import { createProcess } from "../src/core/factory.ts";
import type { RingProcess } from "../src/core/process.ts";
import type { Input, Msg, NodeId } from "../src/core/types.ts";
import { Acceptor } from "../src/core/acceptor.ts";
import { OutputBuilder } from "../src/core/output.ts";

/** A loss-free in-memory cluster: every send is delivered, breadth first. */
class Cluster {
  readonly procs = new Map<NodeId, RingProcess>();
  private readonly queue: { from: NodeId; to: NodeId; msg: Msg }[] = [];
  private now = 0;
  delivered = 0;

  constructor(readonly cfg: ProtocolConfig) {
    for (const id of cfg.processes) this.procs.set(id, createProcess(id, cfg));
    this.input(cfg.coordinator, { k: "lead" });
    this.run();
    for (let t = 0; t < cfg.phase1GraceTicks + 1; t++) this.tickAll();
  }

  private group(): NodeId[] {
    return [...new Set([...this.cfg.acceptors, ...this.cfg.learners])];
  }

  input(id: NodeId, input: Input): void {
    const out = (this.procs.get(id) as RingProcess).step(input, this.now);
    for (const d of out.deliver) this.delivered += d.values.length;
    for (const e of out.send) {
      if ("to" in e.dest) this.queue.push({ from: id, to: e.dest.to, msg: e.msg });
      else for (const to of this.group()) this.queue.push({ from: id, to, msg: e.msg });
    }
  }

  run(): void {
    for (let m = this.queue.shift(); m; m = this.queue.shift()) this.input(m.to, { k: "msg", from: m.from, msg: m.msg });
  }

  tickAll(): void {
    this.now++;
    for (const id of this.procs.keys()) this.input(id, { k: "tick" });
    this.run();
  }
}

function config(variant: Variant, acceptors: number, extraLearners: number): ProtocolConfig {
  const accs = Array.from({ length: acceptors }, (_, i) => i);
  const others = Array.from({ length: extraLearners }, (_, i) => acceptors + i);
  const client = acceptors + extraLearners;
  return {
    ...DEFAULT_TIMING,
    variant,
    maxNodes: 32,
    processes: [...accs, ...others, client],
    acceptors: accs,
    learners: variant === "mring" ? [...others, client] : [...accs, ...others, client],
    proposers: [client],
    coordinator: 0,
    batchBytes: defaultBatchBytes(variant),
    proposerWindow: 64,
  };
}

const payload = new Uint8Array(8 * 1024);
const bench = new Bench({ time: 1500, warmupTime: 300 });
for (const [variant, n] of [
  ["mring", 3],
  ["mring", 5],
  ["uring", 3],
  ["uring", 5],
] as const) {
  const c = new Cluster(config(variant, n, 1));
  const client = c.cfg.proposers[0] as NodeId;
  bench.add(`${variant} ${n} acceptors: one 8 KB value proposed, decided, delivered`, () => {
    c.input(client, { k: "propose", payload });
    c.run();
  });
}

const cfg = config("mring", 3, 1);
const acc = new Acceptor(1, cfg);
const batch = { vid: "1.0", values: [{ client: 1, seq: 0, payload }] };
let instance = 0;
bench.add("acceptor: one Phase 2B vote (record built, no I/O)", () => {
  acc.vote(32, instance++, batch, new OutputBuilder());
});

await bench.run();
console.table(
  bench.tasks.map((t) => {
    const r = t.result as { throughput?: { mean: number }; latency?: { p50?: number; p99?: number } } | undefined;
    return {
      task: t.name,
      "ops/s": Math.round(r?.throughput?.mean ?? 0).toLocaleString("en-US"),
      "p50 µs": ((r?.latency?.p50 ?? 0) * 1000).toFixed(2),
      "p99 µs": ((r?.latency?.p99 ?? 0) * 1000).toFixed(2),
    };
  }),
);

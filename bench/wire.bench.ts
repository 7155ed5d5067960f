/**
 * Micro-benchmarks of the wire codec: encode and decode of a "2a" carrying an 8 KB batch (one
 * 8 KB value; 128 values of 64 B) and of a "2b". MB/s counts whole frames (header + body),
 * 1 MB = 10^6 bytes.
 * Run: ./node_modules/.bin/bun bench/wire.bench.ts   (or: ./node_modules/.bin/deno run -A bench/wire.bench.ts)
 */
import { Bench } from "tinybench";
import type { Msg } from "../src/core/types.ts";
import { decode, encode } from "../src/wire/index.ts";

const H = { cluster: 7, sender: 2 };

function payload(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

const cases: [string, Msg][] = [
  [
    "2a, 1 value of 8 KB",
    {
      t: "2a",
      rnd: 97,
      instance: 123_456,
      batch: { vid: "97.123456", values: [{ client: 3, seq: 42, payload: payload(8192, 1) }] },
      ring: [1, 2, 0],
      decisions: [{ instance: 123_455, vid: "97.123455" }],
    },
  ],
  [
    "2a, 128 values of 64 B",
    {
      t: "2a",
      rnd: 97,
      instance: 123_456,
      batch: {
        vid: "97.123456",
        values: Array.from({ length: 128 }, (_, i) => ({ client: i % 4, seq: 1000 + i, payload: payload(64, i) })),
      },
      ring: [1, 2, 0],
      decisions: [{ instance: 123_455, vid: "97.123455" }],
    },
  ],
  ["2b", { t: "2b", rnd: 97, instance: 123_456, vid: "97.123456", ring: [1, 2, 0], voters: [1, 2] }],
];

const bench = new Bench({ time: 1500, warmupTime: 300 });
const frameBytes = new Map<string, number>();
let sink = 0;
for (const [name, msg] of cases) {
  const frame = encode(msg, H);
  // Sanity: the frame decodes back to the message.
  if (JSON.stringify(decode(frame, H.cluster).msg, (_k, v: unknown) => (v instanceof Uint8Array ? Array.from(v) : v)) !==
    JSON.stringify(msg, (_k, v: unknown) => (v instanceof Uint8Array ? Array.from(v) : v)))
    throw new Error(`${name}: round trip failed`);
  frameBytes.set(`encode ${name}`, frame.byteLength);
  frameBytes.set(`decode ${name}`, frame.byteLength);
  bench.add(`encode ${name}`, () => {
    sink += encode(msg, H).byteLength;
  });
  bench.add(`decode ${name}`, () => {
    const m = decode(frame, H.cluster).msg;
    sink += m.t === "2a" ? m.batch.values.length : m.t.length;
  });
}

await bench.run();
console.table(
  bench.tasks.map((t) => {
    const r = t.result as { throughput?: { mean: number }; latency?: { p50?: number; p99?: number } } | undefined;
    const ops = r?.throughput?.mean ?? 0;
    const bytes = frameBytes.get(t.name) ?? 0;
    return {
      task: t.name,
      "frame B": bytes,
      "ops/s": Math.round(ops).toLocaleString("en-US"),
      "MB/s": ((ops * bytes) / 1e6).toFixed(1),
      "p50 µs": ((r?.latency?.p50 ?? 0) * 1000).toFixed(2),
      "p99 µs": ((r?.latency?.p99 ?? 0) * 1000).toFixed(2),
    };
  }),
);
if (sink === 0) console.log("(no work done)");

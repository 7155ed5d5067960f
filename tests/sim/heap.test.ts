import { expect, test } from "bun:test";
import { EventHeap } from "../../src/sim/heap.ts";
import { Prng } from "../../src/sim/prng.ts";

test("events come out by time, ties in insertion order", () => {
  const h = new EventHeap<{ time: number; seq: number }>();
  const r = new Prng(3);
  const input = Array.from({ length: 500 }, (_, seq) => ({ time: r.int(0, 50), seq }));
  for (const e of input) h.push(e);
  const out: { time: number; seq: number }[] = [];
  for (let e = h.pop(); e; e = h.pop()) out.push(e);
  const expected = [...input].sort((a, b) => a.time - b.time || a.seq - b.seq);
  expect(out).toEqual(expected);
  expect(h.size).toBe(0);
});

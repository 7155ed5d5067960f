import { describe, expect, test } from "bun:test";
import { DeterministicMerge, type Merged, type RingEntry } from "../../src/multiring/merge.ts";
import { InvariantError } from "../../src/core/assert.ts";

const v = (instance: number, ...values: string[]): RingEntry<string> => ({ instance, slots: 1, values });
const skip = (instance: number, n: number): RingEntry<string> => ({ instance, slots: n, values: [] });
const names = (ms: Merged<string>[]) => ms.flatMap((m) => m.values);

/** Deterministic pseudo-random numbers (a failing case replays). */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

describe("DeterministicMerge (thesis §5.2.2)", () => {
  test("one ring: every instance is released at once, in order; empty instances release nothing", () => {
    const m = new DeterministicMerge<string>([1], 1);
    expect(names(m.push(1, v(0, "a")))).toEqual(["a"]);
    expect(m.push(1, v(1))).toEqual([]);
    expect(names(m.push(1, v(2, "b", "c")))).toEqual(["b", "c"]);
  });

  test("two rings, M = 1: one instance from each in ascending ring id; a ring ahead waits in its buffer", () => {
    const m = new DeterministicMerge<string>([2, 1], 1);
    expect(names(m.push(1, v(0, "a0")))).toEqual(["a0"]);
    expect(names(m.push(1, v(1, "a1")))).toEqual([]); // ring 2's turn
    expect(m.backlog(1)).toBe(1);
    expect(names(m.push(2, v(0, "b0")))).toEqual(["b0", "a1"]);
    expect(names(m.push(2, v(1, "b1")))).toEqual(["b1"]);
  });

  test("M = 2: two instances of a ring per turn", () => {
    const m = new DeterministicMerge<string>([1, 2], 2);
    const out = [...m.push(2, v(0, "b0")), ...m.push(2, v(1, "b1")), ...m.push(1, v(0, "a0")), ...m.push(2, v(2, "b2")), ...m.push(1, v(1, "a1"))];
    expect(names(out)).toEqual(["a0", "a1", "b0", "b1"]);
    // Ring 1's turn again: a2 now, then it waits for a3 (b2 stays buffered).
    expect(names(m.push(1, v(2, "a2")))).toEqual(["a2"]);
    expect(m.backlog(2)).toBe(1);
  });

  test("a skip(n) instance counts as n: an idle ring releases the busy one for n turns", () => {
    const m = new DeterministicMerge<string>([1, 2], 1);
    for (let i = 0; i < 4; i++) m.push(1, v(i, `a${i}`));
    // Only a0 so far: ring 2 owes an instance.
    expect(names(m.push(2, skip(0, 3)))).toEqual(["a1", "a2", "a3"]);
    expect(m.cursor().carry.get(2)).toBe(0);
    // Ring 2's turn: its skip is spent; it waits for ring 2's next instance.
    expect(names(m.push(1, v(4, "a4")))).toEqual([]);
    expect(names(m.push(2, v(1, "b1")))).toEqual(["b1", "a4"]);
  });

  test("a skip longer than the rest of a turn carries over to the ring's next turns", () => {
    const m = new DeterministicMerge<string>([1, 2], 2);
    m.push(2, skip(0, 5)); // ring 1's turn: nothing happens yet
    const out: Merged<string>[] = [];
    for (let i = 0; i < 6; i++) out.push(...m.push(1, v(i, `a${i}`)));
    // Turns: 1: a0 a1 | 2: 2 of the 5 | 1: a2 a3 | 2: 2 more | 1: a4 a5 | 2: the last one, then it waits for instance 1.
    expect(names(out)).toEqual(["a0", "a1", "a2", "a3", "a4", "a5"]);
    expect(m.cursor()).toEqual({ next: new Map([[1, 6], [2, 1]]), carry: new Map([[1, 0], [2, 0]]), slots: new Map([[1, 6], [2, 5]]), turn: 2, takenInTurn: 1 });
  });

  test("two learners fed the same rings in different interleavings release the very same sequence", () => {
    for (let seed = 1; seed <= 50; seed++) {
      const r = rng(seed);
      const rings = [1, 2, 3];
      const streams = new Map(rings.map((ring) => [ring, Array.from({ length: 40 }, (_, i) => (r() < 0.2 ? skip(i, 1 + Math.floor(r() * 5)) : v(i, `${ring}.${i}`)))]));
      const feed = (order: () => number) => {
        const m = new DeterministicMerge<string>(rings, 1 + (seed % 3));
        const pos = new Map(rings.map((x) => [x, 0]));
        const out: string[] = [];
        while ([...pos.values()].some((p) => p < 40)) {
          const open = rings.filter((x) => (pos.get(x) as number) < 40);
          const ring = open[Math.floor(order() * open.length)] as number;
          const p = pos.get(ring) as number;
          out.push(...names(m.push(ring, (streams.get(ring) as RingEntry<string>[])[p] as RingEntry<string>)));
          pos.set(ring, p + 1);
        }
        return out;
      };
      const a = feed(rng(seed * 7 + 1));
      const b = feed(rng(seed * 13 + 5));
      expect(b).toEqual(a);
      expect(a.length).toBeGreaterThan(0);
    }
  });

  test("a merge restored from a cursor continues exactly as the original", () => {
    const rings = [1, 2];
    const streams = new Map(rings.map((ring) => [ring, Array.from({ length: 30 }, (_, i) => (i % 7 === 3 ? skip(i, 4) : v(i, `${ring}.${i}`)))]));
    const whole = new DeterministicMerge<string>(rings, 2);
    const first = new DeterministicMerge<string>(rings, 2);
    const expected: string[] = [];
    const got: string[] = [];
    for (let i = 0; i < 15; i++) for (const ring of rings) {
      const e = (streams.get(ring) as RingEntry<string>[])[i] as RingEntry<string>;
      expected.push(...names(whole.push(ring, e)));
      got.push(...names(first.push(ring, e)));
    }
    // Restart: nothing buffered survives, so feed each ring again from the cursor's next instance.
    const c = first.cursor();
    const again = new DeterministicMerge<string>(rings, 2, undefined, c);
    for (let i = 15; i < 30; i++) for (const ring of rings) expected.push(...names(whole.push(ring, (streams.get(ring) as RingEntry<string>[])[i] as RingEntry<string>)));
    const from = new Map(rings.map((ring) => [ring, c.next.get(ring) as number]));
    for (let i = 0; i < 30; i++) for (const ring of rings) if (i >= (from.get(ring) as number)) got.push(...names(again.push(ring, (streams.get(ring) as RingEntry<string>[])[i] as RingEntry<string>)));
    expect(got).toEqual(expected);
  });

  test("bounded: a ring's buffer fills at its bound (full), and a push past it is refused", () => {
    const m = new DeterministicMerge<string>([1, 2], 1, 3);
    m.push(1, v(0, "a0")); // released: ring 2's turn now
    for (let i = 1; i <= 3; i++) m.push(1, v(i));
    expect(m.full(1)).toBe(true);
    expect(() => m.push(1, v(4))).toThrow(InvariantError);
    m.push(2, v(0, "b0"));
    expect(m.full(1)).toBe(false);
  });

  test("instances out of order, a ring not merged here, or a bad M are refused", () => {
    const m = new DeterministicMerge<string>([1], 1);
    expect(() => m.push(1, v(1))).toThrow(InvariantError);
    expect(() => m.push(3, v(0))).toThrow(InvariantError);
    expect(() => new DeterministicMerge<string>([1], 0)).toThrow(InvariantError);
    expect(() => new DeterministicMerge<string>([1, 1], 1)).toThrow(InvariantError);
  });
});

import { describe, expect, test } from "bun:test";
import { Prng } from "../../src/sim/prng.ts";

describe("Prng", () => {
  test("one seed gives one sequence; another seed another", () => {
    const a = new Prng(42);
    const b = new Prng(42);
    const c = new Prng(43);
    const xs = Array.from({ length: 100 }, () => a.u32());
    expect(Array.from({ length: 100 }, () => b.u32())).toEqual(xs);
    expect(Array.from({ length: 100 }, () => c.u32())).not.toEqual(xs);
  });

  test("int stays within its inclusive bounds and reaches both ends", () => {
    const r = new Prng(7);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const x = r.int(3, 9);
      expect(x).toBeGreaterThanOrEqual(3);
      expect(x).toBeLessThanOrEqual(9);
      seen.add(x);
    }
    expect([...seen].sort()).toEqual([3, 4, 5, 6, 7, 8, 9]);
  });

  test("float is in [0, 1) and roughly uniform", () => {
    const r = new Prng(1);
    let below = 0;
    for (let i = 0; i < 10000; i++) {
      const f = r.float();
      expect(f >= 0 && f < 1).toBe(true);
      if (f < 0.5) below++;
    }
    expect(below).toBeGreaterThan(4700);
    expect(below).toBeLessThan(5300);
  });

  test("chance(0) never fires; pick refuses an empty list", () => {
    const r = new Prng(9);
    for (let i = 0; i < 1000; i++) expect(r.chance(0)).toBe(false);
    expect(() => r.pick([])).toThrow(RangeError);
  });
});

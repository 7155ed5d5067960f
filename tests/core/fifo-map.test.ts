import { describe, expect, test } from "bun:test";
import { FifoMap } from "../../src/core/fifo-map.ts";

describe("FifoMap", () => {
  test("keeps the newest `max` insertions and forgets the oldest first", () => {
    const m = new FifoMap<number, string>(3);
    for (let i = 0; i < 5; i++) m.set(i, `v${i}`);
    expect(m.size).toBe(3);
    expect(m.has(0)).toBe(false);
    expect(m.has(1)).toBe(false);
    expect([...m.entries()]).toEqual([
      [2, "v2"],
      [3, "v3"],
      [4, "v4"],
    ]);
  });

  test("setting a present key updates its value in place, without making it newer", () => {
    const m = new FifoMap<string, number>(2);
    m.set("a", 1);
    m.set("b", 2);
    m.set("a", 10);
    expect(m.get("a")).toBe(10);
    m.set("c", 3); // "a" is still the oldest insertion
    expect(m.has("a")).toBe(false);
    expect([...m.entries()]).toEqual([
      ["b", 2],
      ["c", 3],
    ]);
  });

  test("agrees with a plain Map bounded by deleting its first key, over many operations", () => {
    const max = 100;
    const m = new FifoMap<number, number>(max);
    const ref = new Map<number, number>();
    let seed = 7;
    for (let step = 0; step < 20_000; step++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const k = seed % 400;
      m.set(k, step);
      ref.set(k, step);
      while (ref.size > max) ref.delete(ref.keys().next().value as number);
      if (step % 997 === 0) {
        m.clear();
        ref.clear();
      }
    }
    expect([...m.entries()]).toEqual([...ref.entries()]);
  });

  test("onEvict hears of each entry dropped for the bound, oldest first, and of no replaced or cleared one", () => {
    const evicted: [number, string][] = [];
    const m = new FifoMap<number, string>(2, (k, v) => evicted.push([k, v]));
    m.set(1, "a");
    m.set(2, "b");
    m.set(2, "b2");
    expect(evicted).toEqual([]);
    m.set(3, "c");
    m.set(4, "d");
    expect(evicted).toEqual([
      [1, "a"],
      [2, "b2"],
    ]);
    m.clear();
    expect(evicted).toHaveLength(2);
  });

  test("refuses a bound below one", () => {
    expect(() => new FifoMap(0)).toThrow();
  });
});

import { describe, expect, test } from "bun:test";
import { MAX_SKIP_SLOTS, SkipPacer } from "../../../src/core/coordinator/skip-pacer.ts";
import { MAX_SKIP } from "../../../src/wire/limits.ts";
import { InvariantError } from "../../../src/core/assert.ts";

describe("SkipPacer: skip instances up to λ·Δ per interval (thesis §5.2.2)", () => {
  test("an idle ring skips λ·Δ instances per interval, in one skip each interval", () => {
    const p = new SkipPacer(5, 5);
    p.start(0, 0, 0);
    expect(p.due(0, 0)).toBe(0);
    expect(p.due(4, 0)).toBe(0);
    expect(p.due(5, 0)).toBe(5);
    p.skipProposed();
    expect(p.due(6, 1)).toBe(0);
    // The skip instance itself (1 → 2) is no proposal of the interval: the next one owes 5 again.
    expect(p.due(10, 1)).toBe(5);
  });

  test("instances proposed in the interval (k - prev_k) count: only the shortfall is skipped; a busy interval banks nothing", () => {
    const p = new SkipPacer(5, 5);
    p.start(0, 100, 0);
    expect(p.due(5, 102)).toBe(3);
    p.skipProposed();
    expect(p.due(10, 103 + 9)).toBe(0);
    expect(p.due(15, 112)).toBe(5); // the busy interval left no credit against the next idle one
  });

  test("fractions carry: λ·Δ = 0.5 skips one instance every second interval", () => {
    const p = new SkipPacer(0.5, 5);
    p.start(0, 0, 0);
    const skips = [5, 10, 15, 20].map((t) => p.due(t, 0));
    expect(skips).toEqual([0, 1, 0, 1]);
  });

  test("intervals missed (a late tick) are owed together", () => {
    const p = new SkipPacer(5, 5);
    p.start(0, 0, 0);
    expect(p.due(17, 0)).toBe(15);
    expect(p.due(20, 0)).toBe(5);
  });

  test("a coordinator taking the ring over owes the outage at rate λ at once", () => {
    const p = new SkipPacer(10, 5); // 2 instances per tick
    p.start(100, 40, 1500);
    expect(p.due(100, 40)).toBe(3000);
    expect(p.due(101, 40)).toBe(0);
  });

  test("λ = 0 turns skips off; reset forgets what was owed; Δ below a tick is refused", () => {
    const off = new SkipPacer(0, 5);
    off.start(0, 0, 1000);
    expect(off.enabled).toBe(false);
    expect(off.due(50, 0)).toBe(0);
    const p = new SkipPacer(5, 5);
    p.start(0, 0, 100);
    p.reset();
    expect(p.due(0, 0)).toBe(0);
    expect(() => new SkipPacer(5, 0)).toThrow(InvariantError);
  });

  test("one skip stands for at most MAX_SKIP_SLOTS (what the wire carries); the rest waits for the next call", () => {
    expect(MAX_SKIP_SLOTS).toBe(MAX_SKIP);
    const p = new SkipPacer(1000, 1);
    p.start(0, 0, 3 * 2 ** 30); // owes 3·2^33 slots at once
    expect(p.due(0, 0)).toBe(MAX_SKIP_SLOTS);
    expect(p.due(0, 0)).toBe(MAX_SKIP_SLOTS);
  });
});

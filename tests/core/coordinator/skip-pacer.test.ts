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
    p.skipProposed(0);
    expect(p.due(6, 1)).toBe(0);
    // The skip instance itself (1 → 2) is no proposal of the interval: the next one owes 5 again.
    expect(p.due(10, 1)).toBe(5);
  });

  test("instances proposed in the interval (k - prev_k) count: only the shortfall is skipped; a busy interval banks nothing", () => {
    const p = new SkipPacer(5, 5);
    p.start(0, 100, 0);
    expect(p.due(5, 102)).toBe(3);
    p.skipProposed(102);
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

describe("SkipPacer.lagging: a merge waiting for this ring is caught up at once", () => {
  test("the slots a learner's other rings are ahead are owed at once, on top of the pacing", () => {
    const p = new SkipPacer(5, 5);
    p.start(0, 0, 0);
    expect(p.lagging(0, 40)).toBe(true);
    expect(p.due(1, 0)).toBe(40);
  });

  test("one catch-up at a time: further notices count only from learners that merged past the catch-up skip", () => {
    const p = new SkipPacer(5, 5);
    p.start(0, 0, 0);
    expect(p.lagging(3, 40)).toBe(true);
    // Owed and not yet proposed: another learner's notice (the same lag, seen from elsewhere) is not added.
    expect(p.lagging(3, 40)).toBe(false);
    expect(p.due(1, 3)).toBe(40);
    p.skipProposed(3);
    // Sent before its learner merged instance 3, the catch-up: stale.
    expect(p.lagging(3, 40)).toBe(false);
    expect(p.lagging(2, 40)).toBe(false);
    // A learner past it that still waits: a lag of its own.
    expect(p.lagging(4, 7)).toBe(true);
    expect(p.due(2, 4)).toBe(7);
  });

  test("no skips configured (λ = 0): notices are ignored; a new leadership (reset) takes the next notice", () => {
    const off = new SkipPacer(0, 5);
    expect(off.lagging(0, 10)).toBe(false);
    expect(off.due(100, 0)).toBe(0);
    const p = new SkipPacer(5, 5);
    p.start(0, 0, 0);
    p.lagging(9, 10);
    p.due(1, 9);
    p.skipProposed(9);
    p.reset();
    p.start(50, 20, 0);
    expect(p.lagging(5, 10)).toBe(true);
  });
});

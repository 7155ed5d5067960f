import { describe, expect, test } from "bun:test";
import { SkipPacer } from "../../../src/core/coordinator/skip-pacer.ts";
import { InvariantError } from "../../../src/core/assert.ts";

describe("SkipPacer: skip instances up to λ per Δ (thesis §5.2.2)", () => {
  test("an idle ring skips λ·Δ instances per interval, in one skip each interval", () => {
    // λ = 1000/s, Δ = 5 ticks of 1 ms: 5 instances per interval.
    const p = new SkipPacer(1000, 5, 1);
    p.start(0, 0);
    expect(p.due(0)).toBe(0);
    expect(p.due(4)).toBe(0);
    expect(p.due(5)).toBe(5);
    expect(p.due(6)).toBe(0);
    expect(p.due(10)).toBe(5);
  });

  test("what the ring proposed in the interval counts: only the shortfall is skipped; a busy interval banks nothing", () => {
    const p = new SkipPacer(1000, 5, 1);
    p.start(0, 0);
    p.proposed();
    p.proposed();
    expect(p.due(5)).toBe(3);
    for (let i = 0; i < 9; i++) p.proposed();
    expect(p.due(10)).toBe(0);
    expect(p.due(15)).toBe(5); // the busy interval left no credit against the next idle one
  });

  test("fractions carry: λ·Δ = 0.5 skips one instance every second interval", () => {
    const p = new SkipPacer(100, 5, 1); // 0.5 per interval
    p.start(0, 0);
    const skips = [5, 10, 15, 20].map((t) => p.due(t));
    expect(skips).toEqual([0, 1, 0, 1]);
  });

  test("intervals missed (a late tick) are owed together", () => {
    const p = new SkipPacer(1000, 5, 1);
    p.start(0, 0);
    expect(p.due(17)).toBe(15);
    expect(p.due(20)).toBe(5);
  });

  test("a coordinator taking the ring over owes the outage at rate λ at once", () => {
    const p = new SkipPacer(1000, 5, 2); // 2 ms ticks: 2 instances per tick
    p.start(100, 1500);
    expect(p.due(100)).toBe(3000);
    expect(p.due(101)).toBe(0);
  });

  test("λ = 0 turns skips off; reset forgets what was owed; Δ below a tick is refused", () => {
    const off = new SkipPacer(0, 5, 1);
    off.start(0, 1000);
    expect(off.enabled).toBe(false);
    expect(off.due(50)).toBe(0);
    const p = new SkipPacer(1000, 5, 1);
    p.start(0, 100);
    p.reset();
    expect(p.due(0)).toBe(0);
    expect(() => new SkipPacer(1000, 0, 1)).toThrow(InvariantError);
  });
});

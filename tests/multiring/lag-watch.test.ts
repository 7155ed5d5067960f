import { describe, expect, test } from "bun:test";
import { DeterministicMerge } from "../../src/multiring/merge.ts";
import { LAG_INTERVALS, LagWatch } from "../../src/multiring/lag-watch.ts";

const entry = (instance: number, slots = 1) => ({ instance, slots, values: slots === 1 ? [instance] : [] });

describe("DeterministicMerge.lag: the ring a merge waits for, and how far the others are ahead", () => {
  test("waiting for ring 2 while ring 1 holds 5 instances and a skip(20): 25 slots", () => {
    const m = new DeterministicMerge<number>([1, 2], 1);
    expect(m.lag()).toBeNull(); // its turn is ring 1's, which holds nothing: ring 2 is not ahead
    m.push(1, entry(0)); // released: ring 2's turn
    expect(m.lag()).toBeNull(); // ring 1 holds nothing either
    for (let i = 1; i <= 5; i++) m.push(1, entry(i));
    m.push(1, entry(6, 20));
    expect(m.lag()).toEqual({ ring: 2, at: 0, slots: 25 });
    // Ring 2 skips 25: everything of ring 1 is released, ring 2's carry is what is left ahead.
    m.push(2, entry(0, 25));
    expect(m.backlog(1)).toBe(0);
    expect(m.lag()).toBeNull();
  });

  test("with three rings, the least of the others counts; one ring not ahead means no lag of this ring's alone", () => {
    const m = new DeterministicMerge<number>([1, 2, 3], 1);
    m.push(1, entry(0));
    for (let i = 0; i < 3; i++) m.push(3, entry(i));
    for (let i = 1; i < 10; i++) m.push(1, entry(i));
    expect(m.lag()).toEqual({ ring: 2, at: 0, slots: 3 });
  });

  test("a merge of one ring never lags", () => {
    const m = new DeterministicMerge<number>([1], 1);
    m.push(1, entry(0));
    expect(m.lag()).toBeNull();
  });
});

describe("LagWatch: which lagging notice a merging learner sends", () => {
  const merge = () => {
    const m = new DeterministicMerge<number>([1, 2], 1);
    m.push(1, entry(0));
    for (let i = 1; i <= 40; i++) m.push(1, entry(i));
    return m;
  };

  test(`from ${LAG_INTERVALS} skip intervals' worth of slots ahead, at most once per gap to a ring`, () => {
    const w = new LagWatch(new Map([[1, 10], [2, 10]]), 50);
    expect(w.check(merge(), 0)).toEqual({ ring: 2, msg: { t: "lagging", at: 0, slots: 40, hops: 0 } });
    expect(w.check(merge(), 49)).toBeNull();
    expect(w.check(merge(), 50)).not.toBeNull();
  });

  test("under the threshold, or a lagging ring without skips (λ = 0): nothing", () => {
    expect(new LagWatch(new Map([[1, 11], [2, 11]]), 50).check(merge(), 0)).toBeNull();
    expect(new LagWatch(new Map([[1, 10], [2, 0]]), 50).check(merge(), 0)).toBeNull();
    expect(new LagWatch(new Map([[1, 10]]), 50).check(merge(), 0)).toBeNull();
  });
});

import { describe, expect, test } from "bun:test";
import { MAX_WAIT_SAMPLES, MergeWaitClock } from "../../src/multiring/merge-wait.ts";

describe("MergeWaitClock: how long released instances waited in the merge", () => {
  test("each release is matched with its ring's arrival; take() gives the period's figures and starts a new one", () => {
    const c = new MergeWaitClock([1, 2], 16);
    c.arrived(1, 0, 10);
    c.arrived(2, 0, 11);
    c.arrived(1, 1, 12);
    c.released(1, 0, 10); // 0 µs
    c.released(2, 0, 13); // 2 ms
    c.released(1, 1, 16); // 4 ms
    expect(c.take()).toEqual({ count: 3, meanUs: 2000, p50Us: 2000, p99Us: 4000, maxUs: 4000 });
    expect(c.take()).toEqual({ count: 0, meanUs: 0, p50Us: 0, p99Us: 0, maxUs: 0 });
  });

  test("a release out of arrival order, or of an instance that never arrived, is the host's bug: asserted", () => {
    const c = new MergeWaitClock([1], 16);
    c.arrived(1, 5, 0);
    c.arrived(1, 7, 0);
    expect(() => c.released(1, 7, 1)).toThrow(/in the order they arrived/);
    expect(() => new MergeWaitClock([1], 4).released(1, 0, 0)).toThrow(/in the order they arrived/);
    expect(() => c.arrived(3, 0, 0)).toThrow(/ring 3 is merged here/);
  });

  test("a merge restarted elsewhere (a state transfer) forgets what arrived before: later arrivals are released in order again", () => {
    const c = new MergeWaitClock([1, 2], 16);
    c.arrived(1, 3, 0);
    c.arrived(1, 4, 0);
    c.arrived(2, 9, 0);
    // Without the restart, instance 700 released first would break the arrival order.
    expect(() => new MergeWaitClock([1], 16).released(1, 700, 1)).toThrow(/in the order they arrived/);
    c.restart();
    c.arrived(1, 700, 5);
    c.arrived(2, 800, 5);
    c.released(1, 700, 6);
    c.released(2, 800, 7);
    expect(c.take().count).toBe(2);
  });

  test("the queue is bounded: more arrivals than the bound without releases is asserted", () => {
    const c = new MergeWaitClock([1], 3);
    for (let i = 0; i < 3; i++) c.arrived(1, i, 0);
    expect(() => c.arrived(1, 3, 0)).toThrow(/within its bound/);
    c.released(1, 0, 0);
    c.arrived(1, 3, 0);
  });

  test("100,000 releases: consumed heads are dropped as it goes, the mean and maximum count every release, percentiles a bounded sample", () => {
    const c = new MergeWaitClock([1], 4);
    for (let i = 0; i < 100_000; i++) {
      c.arrived(1, i, i);
      c.released(1, i, i + (i % 10) / 1000);
    }
    const f = c.take();
    expect(f.count).toBe(100_000);
    expect(f.maxUs).toBe(9);
    expect(f.meanUs).toBe(5); // 4.5 rounded
    expect(f.p99Us).toBeLessThanOrEqual(9);
    expect(MAX_WAIT_SAMPLES).toBeLessThan(100_000);
  });
});

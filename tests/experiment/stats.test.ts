import { describe, expect, test } from "bun:test";
import { summarize, tQuantile975 } from "../../src/experiment/stats.ts";

describe("experiment statistics", () => {
  test("the median of an odd and an even number of runs, unsorted input; none without runs", () => {
    expect(summarize([3, 1, 2]).median).toBe(2);
    expect(summarize([4, 1, 3, 2]).median).toBe(2.5);
    expect(summarize([]).median).toBeNaN();
  });

  test("the 95 % interval is Student's t interval of the mean", () => {
    const s = summarize([11, 12, 13]);
    expect(s.mean).toBe(12);
    expect(s.median).toBe(12);
    // s = 1, t(0.975, 2) = 4.303: half-width 4.303 / sqrt(3)
    const half = 4.303 / Math.sqrt(3);
    expect(s.ci95?.[0]).toBeCloseTo(12 - half, 6);
    expect(s.ci95?.[1]).toBeCloseTo(12 + half, 6);
  });

  test("a quantity that is never negative gets no negative lower bound; one that can be keeps it", () => {
    expect(summarize([1, 1, 30]).ci95?.[0]).toBe(0);
    expect(summarize([-1, 1, 30]).ci95?.[0]).toBeLessThan(0);
  });

  test("identical runs give a zero-width interval; one run gives none", () => {
    expect(summarize([5, 5, 5]).ci95).toEqual([5, 5]);
    expect(summarize([7]).ci95).toBeNull();
    expect(summarize([7]).median).toBe(7);
  });

  test("t quantiles: the table, then the normal quantile for many degrees of freedom", () => {
    expect(tQuantile975(1)).toBe(12.706);
    expect(tQuantile975(30)).toBe(2.042);
    expect(tQuantile975(500)).toBe(1.96);
    expect(() => tQuantile975(0)).toThrow(RangeError);
  });
});

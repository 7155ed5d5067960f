import { describe, expect, test } from "bun:test";
import type { StatsLine } from "../../src/bench/cluster.ts";
import { retainFor, rssGrowthMb } from "../../src/bench/run.ts";

const line = (t: number, rssMb: number): StatsLine => ({ id: 0, t, delivered: 0, deliveredBytes: 0, cpuUserUs: 0, cpuSystemUs: 0, rss: rssMb * 1e6 });

describe("rssGrowthMb: is memory flat over a run?", () => {
  test("a flat run: the second half's peak (119) stays under the first half's (120)", () => {
    expect(rssGrowthMb([100, 120, 110, 118, 119, 115].map((mb, i) => line(i, mb)))).toBe(-1);
  });
  test("a leak shows as the second half's peak above the first half's", () => {
    expect(rssGrowthMb([100, 110, 120, 130, 140, 150.25].map((mb, i) => line(i, mb)))).toBe(30.3);
  });
  test("memory given back counts as negative growth; fewer than two lines say nothing", () => {
    expect(rssGrowthMb([150, 140, 100, 90].map((mb, i) => line(i, mb)))).toBe(-50);
    expect(rssGrowthMb([line(0, 100)])).toBe(0);
  });
});

test("retainFor: bigger batches retain fewer instances, as many bytes as 512 batches of 8 KB, in steps of 64", () => {
  expect(retainFor(8 * 1024)).toBe(512);
  expect(retainFor(4 * 1024)).toBe(512);
  expect(retainFor(56 * 1024)).toBe(128);
  expect(retainFor(32 * 1024)).toBe(128);
  expect(retainFor(33 * 1024)).toBe(128);
  expect(retainFor(256 * 1024)).toBe(64);
  expect(retainFor(60 * 1024 * 1024)).toBe(64);
});

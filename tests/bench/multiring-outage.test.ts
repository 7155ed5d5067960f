import { describe, expect, test } from "bun:test";
import type { StatsLine } from "../../src/bench/cluster.ts";
import {
  backlogPeaks,
  coarsen,
  learnerPeriods,
  longestStretch,
  medianMerged,
  ratePerBucket,
  recovery,
  skipBurst,
  type LearnerPeriod,
} from "../../src/bench/multiring-outage.ts";

/** A learner's stats line at `wall` ms with cumulative counters. */
function line(wall: number, merged: number, r1: [number, number, number], r2: [number, number, number], wait: { count: number; p50Us: number; p99Us: number } | null = null): StatsLine {
  return {
    id: 6,
    t: wall - 1000,
    wall,
    delivered: merged,
    deliveredBytes: merged * 1000,
    cpuUserUs: 0,
    cpuSystemUs: 0,
    rss: 0,
    rings: {
      "1": { delivered: r1[0], deliveredBytes: r1[0] * 1000, backlog: r1[1], skippedSlots: r1[2] },
      "2": { delivered: r2[0], deliveredBytes: r2[0] * 1000, backlog: r2[1], skippedSlots: r2[2] },
    },
    mergeWait: wait ? { ...wait, meanUs: wait.p50Us, maxUs: wait.p99Us } : null,
  };
}

/** A period with the given merged count and per-ring (values/s, backlog, skipped). */
function period(t: number, merged: number, r1: [number, number, number] = [0, 0, 0], r2: [number, number, number] = [0, 0, 0], dt = 0.25): LearnerPeriod {
  return {
    t,
    dt,
    merged,
    mergedPerSec: merged / dt,
    mergedMbPerSec: (merged * 1000) / dt / 1e6,
    rings: [
      { ring: 1, valuesPerSec: r1[0], backlog: r1[1], skipped: r1[2] },
      { ring: 2, valuesPerSec: r2[0], backlog: r2[1], skipped: r2[2] },
    ],
    mergeWaitP50Us: null,
    mergeWaitP99Us: null,
  };
}

describe("learnerPeriods", () => {
  test("rates, backlog at the period's end, skipped slots and merge wait per period, on the load's clock", () => {
    const t0 = 10_000;
    const ps = learnerPeriods(
      [line(10_000, 0, [0, 0, 0], [0, 0, 0]), line(10_250, 100, [50, 3, 20], [60, 7, 10], { count: 40, p50Us: 900, p99Us: 5000 }), line(10_500, 100, [50, 0, 520], [110, 40, 30], { count: 0, p50Us: 0, p99Us: 0 })],
      t0,
      [1, 2],
    );
    expect(ps).toHaveLength(2);
    expect(ps[0]).toEqual({
      t: 0,
      dt: 0.25,
      merged: 100,
      mergedPerSec: 400,
      mergedMbPerSec: 0.4,
      rings: [
        { ring: 1, valuesPerSec: 200, backlog: 3, skipped: 20 },
        { ring: 2, valuesPerSec: 240, backlog: 7, skipped: 10 },
      ],
      mergeWaitP50Us: 900,
      mergeWaitP99Us: 5000,
    });
    expect(ps[1]?.merged).toBe(0);
    expect(ps[1]?.rings[0]).toEqual({ ring: 1, valuesPerSec: 0, backlog: 0, skipped: 500 });
    expect(ps[1]?.mergeWaitP50Us).toBeNull(); // nothing released: no wait figure
  });

  test("lines without a wall clock and periods of no length are left out", () => {
    const { wall: _w, ...noWall } = line(10_100, 5, [5, 0, 0], [0, 0, 0]);
    const ps = learnerPeriods([line(10_000, 0, [0, 0, 0], [0, 0, 0]), noWall as StatsLine, line(10_000, 0, [0, 0, 0], [0, 0, 0]), line(10_200, 10, [10, 0, 0], [0, 0, 0])], 10_000, [1, 2]);
    expect(ps.map((p) => p.t)).toEqual([0]);
    expect(ps[0]?.mergedPerSec).toBe(50);
  });
});

describe("longestStretch", () => {
  const zero = (p: LearnerPeriod) => p.merged === 0;
  const ps = [period(0, 5), period(0.25, 0), period(0.5, 5), period(0.75, 0), period(1, 0), period(1.25, 0), period(1.5, 5), period(1.75, 0)];

  test("the longest run overlapping the window, from its first period's start to its last's end", () => {
    expect(longestStretch(ps, zero, 0.8, 1.2)).toEqual({ fromS: 0.75, toS: 1.5, periods: 3 });
    expect(longestStretch(ps, zero, 0, 10)).toEqual({ fromS: 0.75, toS: 1.5, periods: 3 });
  });

  test("runs outside the window do not count; none: null", () => {
    expect(longestStretch(ps, zero, 0.2, 0.5)).toEqual({ fromS: 0.25, toS: 0.5, periods: 1 });
    expect(longestStretch(ps, zero, 0.5, 0.75)).toBeNull();
    expect(longestStretch([period(0, 1)], zero, 0, 1)).toBeNull();
  });

  test("a run at the very end counts", () => {
    expect(longestStretch(ps, zero, 1.6, 2)).toEqual({ fromS: 1.75, toS: 2, periods: 1 });
  });
});

describe("skipBurst", () => {
  test("steady: the median before the stop; the peak and the slots above steady from the stop on", () => {
    const ps = [
      period(0, 1, [0, 0, 100]),
      period(0.25, 1, [0, 0, 120]),
      period(0.5, 1, [0, 0, 100]),
      period(0.75, 0, [0, 0, 0]), // the stop at 0.8: this period overlaps it
      period(1, 0, [0, 0, 0]),
      period(1.25, 1, [0, 0, 900]),
      period(1.5, 1, [0, 0, 150]),
      period(1.75, 1, [0, 0, 400]), // past toS
    ];
    expect(skipBurst(ps, 0, 0, 0.8, 1.75)).toEqual({ ring: 1, steadyPerPeriod: 100, peakAtS: 1.25, peakSlots: 900, excessSlots: 850 });
  });

  test("no period after the stop: no peak", () => {
    expect(skipBurst([period(0, 1, [0, 0, 10])], 0, 0, 1, 2)).toEqual({ ring: 1, steadyPerPeriod: 10, peakAtS: null, peakSlots: 0, excessSlots: 0 });
  });
});

describe("backlogPeaks", () => {
  test("per ring: the maximum before, the peak after and when", () => {
    const ps = [period(0, 1, [0, 2, 0], [0, 30, 0]), period(0.25, 1, [0, 0, 0], [0, 10, 0]), period(0.5, 0, [0, 0, 0], [0, 200, 0]), period(0.75, 1, [0, 5, 0], [0, 350, 0]), period(1, 1, [0, 0, 0], [0, 20, 0])];
    expect(backlogPeaks(ps, 0.5, 2)).toEqual([
      { ring: 1, beforeMax: 2, peak: 5, atS: 1 },
      { ring: 2, beforeMax: 30, peak: 350, atS: 1 },
    ]);
  });
});

describe("recovery", () => {
  test("rate back and backlog drained after the outage", () => {
    const ps = [
      period(0, 250, [0, 0, 0], [0, 10, 0]),
      period(0.25, 0, [0, 0, 0], [0, 300, 0]),
      period(0.5, 100, [0, 0, 0], [0, 200, 0]),
      period(0.75, 240, [0, 0, 0], [0, 8, 0]),
      period(1, 250, [0, 0, 0], [0, 9, 0]),
      period(1.25, 250, [0, 0, 0], [0, 50, 0]),
      period(1.5, 250, [0, 0, 0], [0, 2, 0]),
      period(1.75, 250, [0, 0, 0], [0, 2, 0]),
      period(2, 250, [0, 0, 0], [0, 2, 0]),
    ];
    // 1000 values/s before; 240 in 0.25 s = 960/s >= 90 %.
    expect(recovery(ps, 0.5, 1000, { fraction: 0.9, backlogLimit: 10, holdPeriods: 2 })).toEqual({ rateS: 1, drainedS: 1 });
    expect(recovery(ps, 0.5, 1000, { fraction: 0.9, backlogLimit: 10, holdPeriods: 3 })).toEqual({ rateS: 1, drainedS: 1.75 });
    // A hold that the run ends inside does not count.
    expect(recovery(ps, 0.5, 1000, { fraction: 0.9, backlogLimit: 10, holdPeriods: 4 })).toEqual({ rateS: 1, drainedS: null });
    expect(recovery(ps, 0.5, 2000, { fraction: 0.9, backlogLimit: 1, holdPeriods: 2 })).toEqual({ rateS: null, drainedS: null });
  });
});

describe("medianMerged", () => {
  test("over the periods wholly inside", () => {
    const ps = [period(0, 100), period(0.25, 300), period(0.5, 200), period(0.75, 0)];
    expect(medianMerged(ps, 0, 0.75)).toEqual({ valuesPerSec: 800, mbPerSec: 0.8 });
    expect(medianMerged([], 0, 1)).toEqual({ valuesPerSec: 0, mbPerSec: 0 });
  });
});

describe("coarsen", () => {
  test("fine periods into buckets by their start: sums, rates over their length, last backlog, merge wait bounds", () => {
    const fine = [0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3].map((t, i) => ({
      ...period(t, i === 2 ? 0 : 10, [200, i, 7], [100, 10 * i, 3], 0.05),
      mergeWaitP50Us: i === 2 ? null : 100 * (i + 1),
      mergeWaitP99Us: i === 2 ? null : 1000 * (i + 1),
    }));
    const c = coarsen(fine, 0.25);
    expect(c).toHaveLength(2);
    expect(c[0]).toEqual({
      t: 0,
      dt: 0.25,
      merged: 40,
      mergedPerSec: 160,
      mergedMbPerSec: 0.16,
      rings: [
        { ring: 1, valuesPerSec: 200, backlog: 4, skipped: 35 },
        { ring: 2, valuesPerSec: 100, backlog: 40, skipped: 15 },
      ],
      mergeWaitP50Us: 300, // median of 100, 200, 400, 500
      mergeWaitP99Us: 5000,
    });
    expect(c[1]).toMatchObject({ t: 0.25, dt: 0.1, merged: 20, mergedPerSec: 200 });
  });
});

describe("ratePerBucket", () => {
  test("counts per bucket as values/s, the last bucket cut at the end", () => {
    expect(ratePerBucket([0, 10, 260, 499, 500, 600, -5], 250, 600)).toEqual([
      { t: 0, valuesPerSec: 8 },
      { t: 0.25, valuesPerSec: 8 },
      { t: 0.5, valuesPerSec: 10 },
    ]);
  });
});

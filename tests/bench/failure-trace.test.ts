import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import {
  bucketize,
  firstAfter,
  hostCpuSeries,
  longestGap,
  parseProcStat,
  processCpuByBucket,
  median,
  percentile,
  phaseFigures,
  relativeTo,
  traceFigures,
  zoom,
  type Delivery,
} from "../../src/bench/failure-trace.ts";

/** Deliveries every `everyMs` in [fromMs, toMs), each with latency `us`. */
function steady(fromMs: number, toMs: number, everyMs: number, us: number): Delivery[] {
  const out: Delivery[] = [];
  for (let ms = fromMs; ms < toMs; ms += everyMs) out.push({ ms, us });
  return out;
}

describe("percentile and median", () => {
  test("nearest rank over ascending values", () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(xs, 50)).toBe(50);
    expect(percentile(xs, 99)).toBe(99);
    expect(percentile(xs, 100)).toBe(100);
    expect(percentile(xs, 0)).toBe(1);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([1, 2, 3, 1000], 99)).toBe(1000); // the tail is a value that occurred, not an interpolation
    expect(percentile([], 50)).toBe(0);
  });

  test("median of odd and even counts, unsorted input, empty", () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBe(0);
  });
});

describe("relativeTo", () => {
  test("wall-clock entries become ms since the load started, sorted by time", () => {
    expect(
      relativeTo(
        [
          { t: 1_000_010.5, us: 3 },
          { t: 1_000_002, us: 9 },
        ],
        1_000_000,
      ),
    ).toEqual([
      { ms: 2, us: 9 },
      { ms: 10.5, us: 3 },
    ]);
  });
});

describe("bucketize", () => {
  test("counts, rates and latency percentiles per bucket; empty buckets have no latency; outside [0, end) is left out", () => {
    const d: Delivery[] = [
      { ms: -1, us: 1 },
      { ms: 0, us: 100 },
      { ms: 10, us: 300 },
      { ms: 249.9, us: 200 },
      { ms: 600, us: 5000 },
      { ms: 1000, us: 1 },
    ];
    const b = bucketize(d, { bucketMs: 250, endMs: 1000, valueSize: 1000 });
    expect(b.map((x) => x.t)).toEqual([0, 0.25, 0.5, 0.75]);
    expect(b.map((x) => x.values)).toEqual([3, 0, 1, 0]);
    expect(b[0]).toEqual({ t: 0, values: 3, valuesPerSec: 12, mbPerSec: 0.012, p50Us: 200, p99Us: 300 });
    expect(b[1]).toEqual({ t: 0.25, values: 0, valuesPerSec: 0, mbPerSec: 0, p50Us: null, p99Us: null });
    expect(b[2]?.p99Us).toBe(5000);
  });

  test("a last, shorter bucket is rated over its own length", () => {
    const b = bucketize(steady(0, 900, 10, 1), { bucketMs: 250, endMs: 900, valueSize: 8192 });
    expect(b).toHaveLength(4);
    expect(b.map((x) => x.values)).toEqual([25, 25, 25, 15]);
    // 100 values/s in every bucket, the 150 ms one included.
    expect(b.map((x) => x.valuesPerSec)).toEqual([100, 100, 100, 100]);
    expect(b[3]?.mbPerSec).toBe(0.8192);
  });
});

describe("longestGap", () => {
  const times = [...steady(0, 10_000, 10, 1), ...steady(10_350, 30_000, 10, 1)].map((d) => d.ms);

  test("an outage after the kill: from the last delivery before it to the first after it", () => {
    expect(longestGap(times, 10_000, 20_000, 30_000)).toEqual({ fromMs: 9990, toMs: 10_350, ms: 360 });
    // The outage overlaps any window that reaches the kill; cut at the kill, only the regular spacing is left.
    expect(longestGap(times, 1000, 10_000, 30_000).ms).toBe(360);
    expect(longestGap(times.filter((t) => t < 10_000), 1000, 10_000, 10_000)).toEqual({ fromMs: 1000, toMs: 1010, ms: 10 });
  });

  test("a trickle right after the kill does not hide the outage behind it", () => {
    const trickle = [...times, 10_003].sort((a, b) => a - b);
    expect(longestGap(trickle, 10_000, 20_000, 30_000)).toEqual({ fromMs: 10_003, toMs: 10_350, ms: 347 });
  });

  test("deliveries that never resume: the stretch runs to the end, with no end delivery", () => {
    const dead = steady(0, 10_000, 10, 1).map((d) => d.ms);
    expect(longestGap(dead, 10_000, 20_000, 30_000)).toEqual({ fromMs: 9990, toMs: null, ms: 20_010 });
  });

  test("a stretch that starts before the window and ends after it still counts; one wholly outside does not", () => {
    const t = [0, 100, 5000, 5010, 9000];
    // [100, 5000) overlaps [1000, 2000): 4900 ms.
    expect(longestGap(t, 1000, 2000, 9000)).toEqual({ fromMs: 100, toMs: 5000, ms: 4900 });
    // In [5005, 5008) only the 10 ms one overlaps; the 4900 ms and 3990 ms stretches lie outside.
    expect(longestGap(t, 5005, 5008, 9000)).toEqual({ fromMs: 5000, toMs: 5010, ms: 10 });
  });

  test("no delivery before the window: the stretch starts at 0", () => {
    expect(longestGap([500, 600], 0, 1000, 1000)).toEqual({ fromMs: 0, toMs: 500, ms: 500 });
  });
});

describe("firstAfter", () => {
  test("the first time strictly after, or null", () => {
    const t = [1, 5, 5, 9];
    expect(firstAfter(t, 0)).toBe(1);
    expect(firstAfter(t, 5)).toBe(9);
    expect(firstAfter(t, 4.9)).toBe(5);
    expect(firstAfter(t, 9)).toBeNull();
    expect(firstAfter([], 0)).toBeNull();
  });
});

describe("phaseFigures and traceFigures", () => {
  // 1,000 values/s of 1 KB at 2 ms; at 10 s the coordinator dies: nothing for 400 ms, then the
  // 400 values that waited arrive at once (latency 2..400 ms), and the load goes on; the restart
  // at 20 s costs a 100 ms stall.
  const valueSize = 1000;
  const d: Delivery[] = [
    ...steady(0, 10_000, 1, 2000),
    ...Array.from({ length: 400 }, (_, i) => ({ ms: 10_400, us: 400_000 - i * 1000 })),
    ...steady(10_401, 20_000, 1, 2000),
    ...steady(20_100, 30_000, 1, 3000),
  ];
  const buckets = bucketize(d, { bucketMs: 250, endMs: 30_000, valueSize });
  const times = { warmupMs: 1000, killMs: 10_000, restartMs: 20_000, upMs: 20_050, endMs: 30_000, gapWindowMs: 2000 };

  test("a phase's median ignores the outage's buckets, its mean counts the lost time", () => {
    const during = phaseFigures(d, buckets, 250, 10_000, 20_000);
    expect(during.medianValuesPerSec).toBe(1000);
    expect(during.medianMbPerSec).toBe(1);
    expect(during.values).toBe(400 + 9599);
    expect(during.meanValuesPerSec).toBe(999.9);
    // Latency: 4 % of the phase's values waited out the outage.
    expect(during.p50Us).toBe(2000);
    expect(during.p99Us).toBeGreaterThan(300_000);
  });

  test("the figures of the table: throughput per phase, gap, time to deliveries after the kill, p99 per phase", () => {
    const f = traceFigures(d, buckets, 250, times);
    expect(f.before.medianValuesPerSec).toBe(1000);
    expect(f.before.p99Us).toBe(2000);
    expect(f.before.values).toBe(9000);
    expect(f.baselineGap.ms).toBe(1);
    expect(f.killGap).toEqual({ fromMs: 9999, toMs: 10_400, ms: 401 });
    expect(f.firstDeliveryAfterKillMs).toBe(400);
    expect(f.resumedAfterKillMs).toBe(400);
    expect(f.after.medianValuesPerSec).toBe(1000);
    expect(f.after.p99Us).toBe(3000);
    expect(f.restartGap).toEqual({ fromMs: 19_999, toMs: 20_100, ms: 101 });
    // The bucket of the outage: nothing delivered in [10.0, 10.25) s, and a burst in [10.25, 10.5).
    expect(buckets.find((b) => b.t === 10)?.values).toBe(0);
    expect(buckets.find((b) => b.t === 10.25)?.values).toBe(400 + 99);
  });

  test("a stall later than the window after the kill (or after the restarted node is up) is noise, not the failure's gap", () => {
    // 500 ms without deliveries at 15 s and at 25 s: longer than either outage, but long after the events.
    const noisy = d.filter((x) => !(x.ms >= 15_000 && x.ms < 15_500) && !(x.ms >= 25_000 && x.ms < 25_500));
    const f = traceFigures(noisy, bucketize(noisy, { bucketMs: 250, endMs: 30_000, valueSize }), 250, times);
    expect(f.killGap.ms).toBe(401);
    expect(f.restartGap.ms).toBe(101);
    // With a window reaching them, they count.
    const wide = traceFigures(noisy, bucketize(noisy, { bucketMs: 250, endMs: 30_000, valueSize }), 250, { ...times, gapWindowMs: 10_000 });
    expect(wide.killGap).toEqual({ fromMs: 14_999, toMs: 15_500, ms: 501 });
    expect(wide.restartGap).toEqual({ fromMs: 24_999, toMs: 25_500, ms: 501 });
  });

  test("a run whose deliveries never resume after the kill", () => {
    const dead = d.filter((x) => x.ms < 10_000);
    const f = traceFigures(dead, bucketize(dead, { bucketMs: 250, endMs: 30_000, valueSize }), 250, times);
    expect(f.firstDeliveryAfterKillMs).toBeNull();
    expect(f.resumedAfterKillMs).toBeNull();
    expect(f.killGap).toEqual({ fromMs: 9999, toMs: null, ms: 20_001 });
    expect(f.during.values).toBe(0);
    expect(f.during.medianValuesPerSec).toBe(0);
    expect(f.during.p99Us).toBe(0);
  });
});

describe("zoom", () => {
  test("deliveries per bin as values/s, over [from, to)", () => {
    expect(zoom([0, 1, 12, 25, 29, 30], 0, 30, 10)).toEqual([
      { ms: 0, valuesPerSec: 200 },
      { ms: 10, valuesPerSec: 100 },
      { ms: 20, valuesPerSec: 200 },
    ]);
  });
});

describe("CPU of the host and of the cluster's processes", () => {
  test("parseProcStat reads the aggregate cpu line: busy (user nice system irq softirq), steal, total", () => {
    const text = "cpu  100 5 20 800 10 1 4 60 0 0\ncpu0 50 2 10 400 5 0 2 30 0 0\nintr 1\n";
    expect(parseProcStat(text)).toEqual({ busy: 130, steal: 60, total: 1000 });
    expect(parseProcStat("intr 1\n")).toBeNull();
    expect(parseProcStat("cpu  a b c d\n")).toBeNull();
  });

  test("parseProcStat on this machine: busy and steal within total", () => {
    let text = "";
    try {
      text = readFileSync("/proc/stat", "utf8");
    } catch {
      return; // not Linux
    }
    const s = parseProcStat(text);
    expect(s).not.toBeNull();
    if (s === null) return;
    expect(s.total).toBeGreaterThan(0);
    expect(s.busy + s.steal).toBeLessThanOrEqual(s.total);
  });

  test("hostCpuSeries: the share of each interval, scaled to % of one core", () => {
    const samples = [
      { ms: 0, busy: 0, steal: 0, total: 0 },
      { ms: 250, busy: 50, steal: 10, total: 100 }, // half busy on 2 cores: 100 % of one core
      { ms: 500, busy: 50, steal: 10, total: 200 }, // idle
      { ms: 750, busy: 50, steal: 10, total: 200 }, // no time passed: left out
    ];
    expect(hostCpuSeries(samples, 2)).toEqual([
      { t: 0, pct: 100, stealPct: 20 },
      { t: 0.25, pct: 0, stealPct: 0 },
    ]);
  });

  test("processCpuByBucket adds up processes per bucket, each reading's CPU going to the bucket of the reading before it", () => {
    const a = [
      { ms: 0, cpuUs: 0 },
      { ms: 250, cpuUs: 125_000 }, // 125 ms of CPU in [0, 250): 50 %
      { ms: 500, cpuUs: 375_000 }, // 250 ms in [250, 500): 100 %
    ];
    const b = [
      { ms: 100, cpuUs: 1_000_000 },
      { ms: 350, cpuUs: 1_062_500 }, // 62.5 ms from the reading at 100 ms: bucket 0
      { ms: 900, cpuUs: 1_000_000 }, // a restarted process' counter going back: nothing, not a negative
    ];
    expect(processCpuByBucket([a, b], 250, 1000)).toEqual([75, 100, 0, 0]);
    expect(processCpuByBucket([], 250, 500)).toEqual([0, 0]);
  });
});

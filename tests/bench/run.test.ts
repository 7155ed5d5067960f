import { describe, expect, test } from "bun:test";
import type { StatsLine } from "../../src/bench/cluster.ts";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BENCH_DEFAULTS, checkJsonTarget, formatBench, measuredLines, retainFor, rssGrowthMb, type BenchResult } from "../../src/bench/run.ts";
import { UsageError } from "../../src/cli/errors.ts";

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

describe("measuredLines: the stats lines within the clients' measured window", () => {
  const at = (t: number, wall: number): StatsLine => ({ ...line(t, 100), wall });
  const lines = [0, 250, 500, 750, 1000, 1250, 1500, 1750, 2000].map((t) => at(t, 1_000_000 + t));
  test("the first line at or after its start and the last at or before its end", () => {
    expect(measuredLines(lines, { from: 1_000_600, to: 1_001_600 })).toEqual([lines[3] as StatsLine, lines[6] as StatsLine]);
    expect(measuredLines(lines, { from: 1_000_500, to: 1_001_500 })).toEqual([lines[2] as StatsLine, lines[6] as StatsLine]);
  });
  test("a window holding fewer than two lines: the lines just outside it", () => {
    expect(measuredLines(lines, { from: 1_000_600, to: 1_000_800 })).toEqual([lines[2] as StatsLine, lines[4] as StatsLine]);
    expect(measuredLines(lines, { from: 1_001_900, to: 1_003_000 })).toEqual([lines[7] as StatsLine, lines[8] as StatsLine]);
  });
  test("lines without a wall clock, or no window: the whole run", () => {
    const old = [line(0, 1), line(250, 1), line(500, 1)];
    expect(measuredLines(old, { from: 0, to: 1e15 })).toEqual([old[0] as StatsLine, old[2] as StatsLine]);
    expect(measuredLines(lines, { from: Infinity, to: -Infinity })).toEqual([lines[0] as StatsLine, lines[8] as StatsLine]);
  });
});

describe("checkJsonTarget: --json FILE is checked before the cluster starts", () => {
  test("- (standard output), a new file in a directory, an existing file: fine, and nothing is created", () => {
    const dir = mkdtempSync(join(tmpdir(), "paxos-json-"));
    try {
      checkJsonTarget("-");
      checkJsonTarget(join(dir, "new.json"));
      writeFileSync(join(dir, "old.json"), "{}");
      checkJsonTarget(join(dir, "old.json"));
      expect(readdirSync(dir)).toEqual(["old.json"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  test("a directory, a missing directory, a path under a file, an empty path: one UsageError line each", () => {
    const dir = mkdtempSync(join(tmpdir(), "paxos-json-"));
    try {
      const file = join(dir, "taken");
      writeFileSync(file, "x");
      const cases: [string, string][] = [
        [dir, `--json: ${dir} is a directory`],
        [join(dir, "missing", "b.json"), `--json: cannot write ${join(dir, "missing", "b.json")}: ENOENT`],
        [join(file, "b.json"), `--json: cannot write ${join(file, "b.json")}: ENOTDIR`],
        ["", "--json: expected a file name or -, got an empty path"],
      ];
      for (const [path, message] of cases) {
        let thrown: unknown;
        try {
          checkJsonTarget(path);
        } catch (e) {
          thrown = e;
        }
        expect(thrown).toBeInstanceOf(UsageError);
        expect((thrown as Error).message.startsWith(message)).toBe(true);
        expect((thrown as Error).message).not.toContain("\n");
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test("formatBench shows client ids whole (32-bit ids have up to 10 digits)", () => {
  const result = {
    options: BENCH_DEFAULTS,
    learners: [{ id: 3, valuesPerSec: 1000, mbPerSec: 8.19 }],
    clients: [{ client: 4_123_456_789, valuesPerSec: 1000, resent: 0, latencyUs: { p50: 1, p90: 2, p99: 3, p999: 4, max: 5, count: 6 } }],
    processes: [],
    timeline: [],
  } as unknown as BenchResult;
  expect(formatBench(result)).toMatch(/^4123456789\s+1,000\s+1\s+2\s+3\s+4\s+0$/m);
});

import type { StatsLine } from "./cluster.ts";

/**
 * The stats lines that bound the measured window (wall clock, ms since the epoch): the first line
 * at or after its start and the last at or before its end, so the rate between them is a rate
 * within the window (whose ends it misses by at most a stats period each). A window shorter than
 * two periods may hold fewer than two lines: then the lines just outside it. Lines without a wall
 * clock (older nodes) fall back to the whole run.
 */
export function measuredLines(lines: readonly StatsLine[], window: { from: number; to: number }): [StatsLine, StatsLine] {
  const first = lines[0] as StatsLine;
  const last = lines.at(-1) as StatsLine;
  if (lines.some((x) => x.wall === undefined) || !Number.isFinite(window.from) || !Number.isFinite(window.to)) return [first, last];
  const wall = (x: StatsLine): number => x.wall as number;
  const inside = lines.filter((x) => wall(x) >= window.from && wall(x) <= window.to);
  if (inside.length >= 2) return [inside[0] as StatsLine, inside.at(-1) as StatsLine];
  const before = lines.filter((x) => wall(x) <= window.from).at(-1) ?? first;
  const after = lines.find((x) => wall(x) >= window.to) ?? last;
  return [before, after];
}

/** Figures between two stats lines of one process, per second (zeros when no time passed). */
export function rate(a: StatsLine, b: StatsLine): { values: number; bytes: number; cpu: number } {
  const dt = (b.t - a.t) / 1000;
  if (dt <= 0) return { values: 0, bytes: 0, cpu: 0 };
  return {
    values: (b.delivered - a.delivered) / dt,
    bytes: (b.deliveredBytes - a.deliveredBytes) / dt,
    cpu: (b.cpuUserUs + b.cpuSystemUs - a.cpuUserUs - a.cpuSystemUs) / 1e6 / dt,
  };
}

/** Peak RSS of the second half of these stats lines minus the first half's, in MB (0.1 MB steps). */
export function rssGrowthMb(lines: readonly StatsLine[]): number {
  if (lines.length < 2) return 0;
  const half = Math.floor(lines.length / 2);
  const peak = (xs: readonly StatsLine[]) => Math.max(...xs.map((x) => x.rss));
  return Math.round((peak(lines.slice(half)) - peak(lines.slice(0, half))) / 1e5) / 10;
}

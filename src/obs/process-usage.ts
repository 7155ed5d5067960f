/**
 * The fields every `--stats-ms` line starts with (single-ring and multi-ring nodes alike): when it
 * was made (ms since the process started, and the wall clock to line up with other processes) and
 * what the process has cost so far (CPU µs, resident and heap memory, bytes of ArrayBuffers).
 */
export function processUsage(): {
  readonly t: number;
  readonly wall: number;
  readonly cpuUserUs: number;
  readonly cpuSystemUs: number;
  readonly rss: number;
  readonly heapUsed: number;
  readonly arrayBuffers: number;
} {
  const cpu = process.cpuUsage();
  const mem = process.memoryUsage();
  const now = performance.now();
  return {
    t: Math.round(now),
    wall: Math.round(performance.timeOrigin + now),
    cpuUserUs: cpu.user,
    cpuSystemUs: cpu.system,
    rss: mem.rss,
    heapUsed: mem.heapUsed,
    arrayBuffers: mem.arrayBuffers,
  };
}

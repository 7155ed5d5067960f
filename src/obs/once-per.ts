/**
 * Rate limit for log lines keyed by source (a peer): at most one line per key per `periodMs`,
 * the line saying how many were suppressed since the last one. Bounded: at most `maxKeys` keys.
 */
export class OncePer {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly periodMs: number,
    private readonly clock: () => number = () => performance.now(),
    private readonly maxKeys = 1024,
  ) {}

  /** Whether to log now for `key`; if so, with how many earlier occurrences went unlogged. */
  take(key: string): { suppressed: number } | null {
    const now = this.clock();
    const e = this.last.get(key);
    if (e && now - e.at < this.periodMs) {
      e.suppressed++;
      return null;
    }
    const suppressed = e?.suppressed ?? 0;
    this.last.delete(key);
    if (this.last.size >= this.maxKeys) this.last.delete(this.last.keys().next().value as string);
    this.last.set(key, { at: now, suppressed: 0 });
    return { suppressed };
  }
}

/**
 * Rates over the last few seconds from monotonic counters (values and bytes delivered, instances
 * decided), for the HTML page: an operator wants "how fast now", not totals since start.
 */
export interface RateSample {
  /** Milliseconds, monotonic. */
  readonly t: number;
  readonly values: number;
  readonly bytes: number;
  readonly instances: number;
}

export interface Rates {
  readonly valuesPerSec: number;
  readonly mbPerSec: number;
  readonly instancesPerSec: number;
  /** The span the rates were measured over (ms); 0: not enough samples yet. */
  readonly overMs: number;
}

/** Keeps the samples of the last `windowMs` (plus one older, the window's base). */
export class RateMeter {
  private readonly samples: RateSample[] = [];

  constructor(private readonly windowMs = 5000) {}

  add(s: RateSample): void {
    const last = this.samples[this.samples.length - 1];
    if (last !== undefined && s.t <= last.t) return;
    this.samples.push(s);
    // Drop samples while the next one is still old enough to be the base.
    while (this.samples.length > 2 && (this.samples[1] as RateSample).t <= s.t - this.windowMs) this.samples.shift();
  }

  rates(): Rates {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (first === undefined || last === undefined || last.t <= first.t) return { valuesPerSec: 0, mbPerSec: 0, instancesPerSec: 0, overMs: 0 };
    const s = (last.t - first.t) / 1000;
    return {
      valuesPerSec: Math.max(0, (last.values - first.values) / s),
      mbPerSec: Math.max(0, (last.bytes - first.bytes) / s / 1e6),
      instancesPerSec: Math.max(0, (last.instances - first.instances) / s),
      overMs: Math.round(last.t - first.t),
    };
  }
}

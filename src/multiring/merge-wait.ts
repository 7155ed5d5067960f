import { invariant } from "../core/assert.ts";
import type { Instance } from "../core/types.ts";
import type { RingId } from "./merge.ts";

/** How long the values released in one stats period waited in the merge, in µs. */
export interface MergeWaitFigures {
  /** Instances with values released in the period. */
  readonly count: number;
  readonly meanUs: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly maxUs: number;
}

/** Bound: waits kept per period for its percentiles (the mean and the maximum count every one). */
export const MAX_WAIT_SAMPLES = 8192;

/**
 * The merge's own latency (thesis §5.3.2, Figs. 5.6-5.7): from a ring's delivery of an instance
 * with values to the merge's release of it, which is what a learner waits for the other rings'
 * turns. Per ring a FIFO of arrival times of the instances with values: the merge releases a
 * ring's instances in instance order, so a release always takes the FIFO's head; empty instances
 * (no-ops, skips) are never released and never recorded. The FIFO holds at most what the merge
 * buffers of the ring (plus the instance being released): its bound is the merge's.
 */
export class MergeWaitClock {
  private readonly arrivals = new Map<RingId, { instance: Instance; atMs: number }[]>();
  private readonly heads = new Map<RingId, number>();
  private samples: number[] = [];
  private count = 0;
  private sumUs = 0;
  private maxUs = 0;

  constructor(
    rings: readonly RingId[],
    private readonly maxPerRing: number,
  ) {
    for (const r of rings) {
      this.arrivals.set(r, []);
      this.heads.set(r, 0);
    }
  }

  /**
   * The merge starts again at another place (a state transfer installed a snapshot's cursor):
   * what arrived before no longer comes out in order, so it is forgotten (and not measured).
   */
  restart(): void {
    for (const r of this.arrivals.keys()) {
      this.arrivals.set(r, []);
      this.heads.set(r, 0);
    }
  }

  /** `ring` delivered `instance` (with values) to the merge at `atMs`. */
  arrived(ring: RingId, instance: Instance, atMs: number): void {
    const q = this.queue(ring);
    invariant(q.length - (this.heads.get(ring) as number) < this.maxPerRing, `ring ${ring}'s merge wait queue is within its bound`);
    q.push({ instance, atMs });
  }

  /** The merge released `ring`'s `instance` at `atMs`. */
  released(ring: RingId, instance: Instance, atMs: number): void {
    const q = this.queue(ring);
    const head = this.heads.get(ring) as number;
    const e = q[head];
    invariant(e !== undefined && e.instance === instance, `the merge releases ring ${ring}'s instances in the order they arrived`);
    this.heads.set(ring, head + 1);
    // Drop the consumed head once it is half the array: amortized O(1), memory bounded by the queue.
    if (head + 1 >= 1024 && head + 1 >= q.length / 2) {
      q.splice(0, head + 1);
      this.heads.set(ring, 0);
    }
    const us = Math.max(0, Math.round((atMs - e.atMs) * 1000));
    this.count++;
    this.sumUs += us;
    if (us > this.maxUs) this.maxUs = us;
    if (this.samples.length < MAX_WAIT_SAMPLES) this.samples.push(us);
  }

  /** The figures since the last call (or the start); starts a new period. */
  take(): MergeWaitFigures {
    const s = this.samples.sort((a, b) => a - b);
    const at = (p: number): number => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? 0;
    const f = { count: this.count, meanUs: this.count > 0 ? Math.round(this.sumUs / this.count) : 0, p50Us: at(0.5), p99Us: at(0.99), maxUs: this.maxUs };
    this.samples = [];
    this.count = 0;
    this.sumUs = 0;
    this.maxUs = 0;
    return f;
  }

  private queue(ring: RingId): { instance: Instance; atMs: number }[] {
    const q = this.arrivals.get(ring);
    invariant(q !== undefined, `ring ${ring} is merged here`);
    return q;
  }
}

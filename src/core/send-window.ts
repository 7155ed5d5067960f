/**
 * How many values a proposer keeps in flight now: a congestion window in values, as TCP Reno
 * keeps one in segments (RFC 5681), between 1 and the configured proposerWindow.
 *
 * It starts small and grows by one per value delivered (doubling each round trip: slow start),
 * so that the delivery time is measured while the window grows and the re-send timeout follows
 * it; past the threshold it grows by one per window delivered. More than LATE_SHARE_FOR_CUT of
 * it found late within `holdTicks` (the re-send timeout then) halves it, at most once per
 * `holdTicks` (one cut per round trip, not one per late value), and the threshold with it, but
 * never below the initial window: a window of one on a lossy network waits a timeout per lost
 * value, one value at a time (the simulator's seeds with 25 % loss then left values undelivered
 * long after healing).
 *
 * Why: a closed loop of 256 values of 32 KB on a 100 Mbit/s ring takes 0.7 s a round, longer
 * than the first timeout; with a fixed window every value was re-sent, the copies took the link,
 * deliveries came later still, and the cluster delivered 15 % of the link (capped-efficiency
 * experiment). Values are rarely lost, only late, so a cut is to the half, not to one.
 */

/** The window a proposer starts with, and the least a cut leaves (or its proposerWindow, if smaller). */
export const INITIAL_SEND_WINDOW = 16;
/**
 * The window is cut only when more than this share of it was late within one timeout: a lost datagram makes one
 * batch's values late (M-Ring: a 56 KB batch of packs, up to ~50 of the bench's 256), which is no
 * sign of a slow network, and cutting the window for it cost the default bench throughput (with
 * 1/8: one to six cuts a run); a network slower than the timeout makes all of them late.
 */
export const LATE_SHARE_FOR_CUT = 1 / 2;

export class SendWindow {
  private cwnd: number;
  private threshold: number;
  private lastCut = -Infinity;
  /** Values found late since `lateFrom` (one hold period: values time out one tick at a time). */
  private lateCount = 0;
  private lateFrom = -Infinity;
  /** Cuts made. */
  cuts = 0;

  constructor(private readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`a send window needs a maximum >= 1, got ${max}`);
    this.cwnd = Math.min(max, INITIAL_SEND_WINDOW);
    this.threshold = max;
  }

  /** Values that may be in flight now (1..max). */
  get size(): number {
    return Math.max(1, Math.min(this.max, Math.floor(this.cwnd)));
  }

  /** `n` values were delivered (sent once or more). */
  delivered(n: number): void {
    for (let k = 0; k < n && this.cwnd < this.max; k++) this.cwnd += this.cwnd < this.threshold ? 1 : 1 / this.cwnd;
    if (this.cwnd > this.max) this.cwnd = this.max;
  }

  /**
   * `values` more were found late at tick `now`: the window halves once more than
   * LATE_SHARE_FOR_CUT of it was found late within `holdTicks`, unless it was cut less than
   * `holdTicks` ago.
   */
  late(now: number, holdTicks: number, values: number): void {
    if (now - this.lateFrom >= holdTicks) {
      this.lateFrom = now;
      this.lateCount = 0;
    }
    this.lateCount += values;
    if (this.lateCount <= this.size * LATE_SHARE_FOR_CUT || now - this.lastCut < holdTicks) return;
    this.lateCount = 0;
    this.lastCut = now;
    this.cuts++;
    this.threshold = Math.max(Math.min(this.max, INITIAL_SEND_WINDOW), Math.floor(this.size / 2));
    this.cwnd = this.threshold;
  }
}

/**
 * A retransmission timeout that follows measured round trips, as TCP's does (RFC 6298): the
 * smoothed time plus four mean deviations, but at least twice the smoothed time (a closed loop's
 * queue has a longer tail than its deviation says: U-Ring at 32 KB re-sent its p99), within a
 * floor and a ceiling; before anything is measured, an initial timeout. Callers measure only what
 * was sent once (Karn's rule: after a re-send, which copy was answered is unknown) and apply
 * their own backoff.
 *
 * The proposer times its values with one (from propose to delivery), the coordinator its Phase 2
 * instances (from 2A to decision): a fixed timeout re-sent everything on a network slower than
 * it (a ring on 100 Mbit/s links takes longer than 20 ms per instance), and the copies took the
 * capacity the cluster lacked.
 */
export interface RetransmitBounds {
  /** Never below this (ticks). */
  readonly floorTicks: number;
  /** Before the first measurement (ticks). */
  readonly initialTicks: number;
  /** Never above this (ticks). */
  readonly ceilingTicks: number;
}

export class RetransmitTimer {
  /** Smoothed round trip and its mean deviation (ticks); null until the first measurement. */
  private srtt: number | null = null;
  private rttvar = 0;

  constructor(private readonly bounds: RetransmitBounds) {
    if (!(bounds.floorTicks > 0 && bounds.floorTicks <= bounds.initialTicks && bounds.initialTicks <= bounds.ceilingTicks))
      throw new RangeError(`retransmit bounds need 0 < floor <= initial <= ceiling, got ${bounds.floorTicks}, ${bounds.initialTicks}, ${bounds.ceilingTicks}`);
  }

  /** Whether anything was measured yet. */
  get measured(): boolean {
    return this.srtt !== null;
  }

  /** The timeout now, before any backoff (ticks). */
  get timeoutTicks(): number {
    if (this.srtt === null) return this.bounds.initialTicks;
    const measured = Math.ceil(this.srtt + Math.max(4 * this.rttvar, this.srtt));
    return Math.min(this.bounds.ceilingTicks, Math.max(this.bounds.floorTicks, measured));
  }

  /** One round trip of something sent once (ticks). */
  sample(ticks: number): void {
    if (this.srtt === null) {
      this.srtt = ticks;
      this.rttvar = ticks / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - ticks);
      this.srtt = 0.875 * this.srtt + 0.125 * ticks;
    }
  }
}

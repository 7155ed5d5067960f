import { invariant } from "../assert.ts";
import type { Tick } from "../types.ts";

/**
 * Multi-Ring Paxos' skip instances (thesis §5.2.2, Algorithm 1, Task 2): every Δ a ring's
 * coordinator compares the instances it proposed in the interval with λ·Δ, λ the maximum expected
 * rate of any ring, and makes up the shortfall with one skip(n) instance (§5.2.4: one instance
 * whatever n), so that learners merging this ring with busier ones are not held back by it.
 *
 * Fractions of an instance owed carry to the next interval (λ·Δ need not be whole); an interval
 * above λ banks nothing (as in the thesis: skips only when μ < λ). A coordinator that takes the
 * ring over owes, at once, what the ring would have decided at rate λ while it had no leader.
 */
export class SkipPacer {
  /** Instances owed at rate λ and not yet proposed or skipped (fractional). */
  private owed = 0;
  private intervalStart: Tick = 0;
  private proposedInInterval = 0;

  /**
   * @param perSecond λ: instances per second every ring is expected to reach (0: no skips).
   * @param intervalTicks Δ in ticks.
   * @param tickMs milliseconds per tick.
   */
  constructor(
    private readonly perSecond: number,
    private readonly intervalTicks: number,
    private readonly tickMs: number,
  ) {
    invariant(perSecond >= 0 && Number.isFinite(perSecond), "λ is a rate ≥ 0");
    invariant(Number.isInteger(intervalTicks) && intervalTicks >= 1, "Δ is at least one tick");
  }

  get enabled(): boolean {
    return this.perSecond > 0;
  }

  /** Leading from `now` after `outageTicks` without a leader: that outage is owed at once. */
  start(now: Tick, outageTicks: Tick): void {
    this.owed = this.perTick() * Math.max(0, outageTicks);
    this.intervalStart = now;
    this.proposedInInterval = 0;
  }

  /** An instance carrying values (or a no-op) was proposed. */
  proposed(): void {
    this.proposedInInterval++;
  }

  /** Slots to skip now (0: none): at the end of each interval, and at once after an outage. */
  due(now: Tick): number {
    if (!this.enabled) return 0;
    if (now - this.intervalStart >= this.intervalTicks) {
      const intervals = Math.floor((now - this.intervalStart) / this.intervalTicks);
      this.intervalStart += intervals * this.intervalTicks;
      this.owed = Math.max(0, this.owed + this.perTick() * intervals * this.intervalTicks - this.proposedInInterval);
      this.proposedInInterval = 0;
    }
    const n = Math.floor(this.owed);
    this.owed -= n;
    return n;
  }

  reset(): void {
    this.owed = 0;
    this.proposedInInterval = 0;
  }

  private perTick(): number {
    return (this.perSecond * this.tickMs) / 1000;
  }
}

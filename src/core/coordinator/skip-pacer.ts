import { invariant } from "../assert.ts";
import type { Instance, Tick } from "../types.ts";

/**
 * Multi-Ring Paxos' skip instances (thesis §5.2.2, Algorithm 1, Task 2): every Δ a ring's
 * coordinator compares the instances it proposed in the interval (μ) with λ·Δ, λ the maximum
 * expected rate of any ring, and makes up the shortfall with one skip(n) instance (§5.2.4: one
 * instance whatever n), so that learners merging this ring with busier ones are not held back.
 *
 * Fractions of an instance owed carry to the next interval (λ·Δ need not be whole); an interval
 * above λ banks nothing (as in the thesis: skips only when μ < λ). A coordinator that takes the
 * ring over owes, at once, what the ring would have decided at rate λ while it had no leader.
 *
 * Pacing alone keeps each ring at λ from whenever its coordinator began: two rings whose
 * coordinators began at other times (or a takeover that owed too little, after a leader that was
 * slow rather than dead) stay that far apart for good, and every learner merging them holds the
 * ring ahead for as long (the thesis' "out of sync" learners, Fig. 5.8). So a learner whose merge
 * waits for this ring tells its coordinator how far the others are ahead ("lagging"), and the
 * coordinator skips that at once. One catch-up at a time: a notice counts only if its learner had
 * merged past the previous catch-up skip (notices sent before it saw that skip are stale).
 */
/** Bound: slots one skip instance stands for (the wire's u32 field, see MAX_SKIP); more owed waits for the next interval. */
export const MAX_SKIP_SLOTS = 2 ** 31;

export class SkipPacer {
  /** Instances owed at rate λ and not yet proposed or skipped (fractional). */
  private owed = 0;
  private intervalStart: Tick = 0;
  /** The coordinator's next instance at the start of the interval (the thesis' prev_k). */
  private prevK: Instance = 0;
  /** Skip instances proposed in the interval: they stand for what was owed, not for μ. */
  private skipsInInterval = 0;
  /** A learner's catch-up is owed and not yet proposed; the instance of the last catch-up skip (-1: none). */
  private catchUpOwed = false;
  private lastCatchUp: Instance = -1;

  /**
   * @param perInterval λ·Δ: instances every ring is expected to reach per interval (0: no skips).
   * @param intervalTicks Δ in ticks.
   */
  constructor(
    private readonly perInterval: number,
    private readonly intervalTicks: number,
  ) {
    invariant(perInterval >= 0 && Number.isFinite(perInterval), "λ·Δ is ≥ 0");
    invariant(Number.isInteger(intervalTicks) && intervalTicks >= 1, "Δ is at least one tick");
  }

  get enabled(): boolean {
    return this.perInterval > 0;
  }

  /** Leading from `now`, next instance `k`, after `outageTicks` without a leader: that outage is owed at once. */
  start(now: Tick, k: Instance, outageTicks: Tick): void {
    this.owed = (this.perInterval / this.intervalTicks) * Math.max(0, outageTicks);
    this.intervalStart = now;
    this.prevK = k;
    this.skipsInInterval = 0;
  }

  /** One skip instance was proposed at `instance` (it carries what due() returned). */
  skipProposed(instance: Instance): void {
    this.skipsInInterval++;
    if (!this.catchUpOwed) return;
    this.catchUpOwed = false;
    this.lastCatchUp = instance;
  }

  /**
   * A learner's merge waits for this ring at instance `at`, its other rings `slots` ahead: owed at
   * once, unless a catch-up is owed already or the learner had not merged past the last one.
   * Whether the notice counted.
   */
  lagging(at: Instance, slots: number): boolean {
    if (!this.enabled || this.catchUpOwed || at <= this.lastCatchUp) return false;
    this.owed = Math.min(MAX_SKIP_SLOTS, this.owed + slots);
    this.catchUpOwed = true;
    return true;
  }

  /** Slots to skip now, `k` the coordinator's next instance (0: none): at the end of each interval, and at once after an outage. */
  due(now: Tick, k: Instance): number {
    if (!this.enabled) return 0;
    if (now - this.intervalStart >= this.intervalTicks) {
      const intervals = Math.floor((now - this.intervalStart) / this.intervalTicks);
      const mu = k - this.prevK - this.skipsInInterval;
      this.owed = Math.max(0, this.owed + this.perInterval * intervals - mu);
      this.intervalStart += intervals * this.intervalTicks;
      this.prevK = k;
      this.skipsInInterval = 0;
    }
    const n = Math.min(MAX_SKIP_SLOTS, Math.floor(this.owed));
    this.owed -= n;
    return n;
  }

  reset(): void {
    this.owed = 0;
    this.skipsInInterval = 0;
    this.catchUpOwed = false;
    this.lastCatchUp = -1;
  }
}

import { MAX_SKIP_SLOTS } from "../core/coordinator/skip-pacer.ts";
import type { Msg, Tick } from "../core/types.ts";
import type { DeterministicMerge, RingId } from "./merge.ts";

/** A merge waits once its other rings are this many skip intervals (λ·Δ slots each) ahead of the ring it waits for. */
export const LAG_INTERVALS = 4;

/**
 * Which "lagging" notice a merging learner sends (see SkipPacer.lagging): when its merge waits for
 * a ring whose other rings are ahead by LAG_INTERVALS intervals' worth of slots or more, that
 * ring's coordinator is told, at most once per `gapTicks` per ring. Rings without skips (λ = 0)
 * are never told: their coordinators could not catch up.
 */
export class LagWatch {
  private readonly lastSent = new Map<RingId, Tick>();

  /**
   * @param slotsPerInterval per merged ring, its λ·Δ (0 or absent: no skips).
   * @param gapTicks the least time between two notices to one ring.
   */
  constructor(
    private readonly slotsPerInterval: ReadonlyMap<RingId, number>,
    private readonly gapTicks: Tick,
  ) {}

  /** The notice to send now (to the ring's own core, which passes it to the ring's leader), or null. */
  check<V>(merge: DeterministicMerge<V>, now: Tick): { readonly ring: RingId; readonly msg: Msg } | null {
    const lag = merge.lag();
    if (lag === null) return null;
    const perInterval = this.slotsPerInterval.get(lag.ring) ?? 0;
    if (perInterval <= 0 || lag.slots < LAG_INTERVALS * perInterval) return null;
    if (now - (this.lastSent.get(lag.ring) ?? -Infinity) < this.gapTicks) return null;
    this.lastSent.set(lag.ring, now);
    return { ring: lag.ring, msg: { t: "lagging", at: lag.at, slots: Math.min(MAX_SKIP_SLOTS, Math.ceil(lag.slots)), hops: 0 } };
  }
}

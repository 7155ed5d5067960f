import type { NodeId, Ring, Round, Tick } from "./types.ts";
import { roundOwner } from "./round.ts";

/**
 * Who this process believes leads: the owner of the highest round it saw established (by Phase 2
 * traffic, a heartbeat, a ring). Client values are routed there. Believing is not proof of life:
 * the election (election.ts) decides when to stand as a candidate.
 */
export class Leadership {
  private highest: Round = 0;
  private owner: NodeId;
  /** The ring of the highest round, once a message carrying it arrived. */
  private ringOfHighest: Ring | null = null;
  /** When the highest round was last heard of (null: never). */
  private heardAt: Tick | null = null;

  constructor(
    private readonly id: NodeId,
    private readonly configured: NodeId,
    private readonly maxNodes: number,
  ) {
    this.owner = configured;
  }

  /** The highest round seen established. */
  get highestRound(): Round {
    return this.highest;
  }

  /** Round `rnd` is established (whoever says so, at `now`, with its ring if the message carried it): its owner leads if it is the highest yet. */
  established(rnd: Round, now: Tick, ring: Ring | null = null): void {
    if (rnd < this.highest) return;
    if (rnd > this.highest) {
      this.highest = rnd;
      this.owner = roundOwner(rnd, this.maxNodes);
      this.ringOfHighest = null;
    }
    if (ring !== null) this.ringOfHighest = ring;
    this.heardAt = now;
  }

  /** The owner of the highest round seen (null before any), its ring once seen, ticks since it was last heard of (null: never). */
  view(now: Tick): { readonly leader: NodeId | null; readonly ring: Ring | null; readonly silence: Tick | null } {
    if (this.heardAt === null) return { leader: null, ring: null, silence: null };
    return { leader: this.owner, ring: this.ringOfHighest, silence: now - this.heardAt };
  }

  /**
   * Where client values should go: the owner of the highest round seen, unless that is this
   * process and it no longer leads (then the configured coordinator).
   */
  hint(leadingHere: boolean): NodeId {
    if (this.owner !== this.id || leadingHere) return this.owner;
    return this.configured;
  }
}

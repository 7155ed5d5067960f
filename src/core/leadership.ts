import type { NodeId, Round } from "./types.ts";
import { roundOwner } from "./round.ts";

/**
 * Who this process believes leads: the owner of the highest round it saw established (by Phase 2
 * traffic, a heartbeat, a ring). Client values are routed there. Believing is not proof of life:
 * the election (election.ts) decides when to stand as a candidate.
 */
export class Leadership {
  private highest: Round = 0;
  private owner: NodeId;

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

  /** Round `rnd` is established (whoever says so): its owner leads if it is the highest yet. */
  established(rnd: Round): void {
    if (rnd <= this.highest) return;
    this.highest = rnd;
    this.owner = roundOwner(rnd, this.maxNodes);
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

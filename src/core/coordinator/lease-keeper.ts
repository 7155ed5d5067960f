import { coordinatorLeaseTicks, type ProtocolConfig } from "../config.ts";
import { dropOldest } from "../fifo-map.ts";
import { leaseQuorum } from "../quorum.ts";
import type { NodeId, Tick } from "../types.ts";

/** Bound: heartbeats whose acks are still counted toward a lease. */
export const MAX_HEARTBEATS_TRACKED = 8;

/** What heartbeats and the lease read of the configuration. */
export type LeaseConfig = Pick<ProtocolConfig, "acceptors" | "heartbeatTicks" | "leaseTicks">;

/**
 * Heartbeats and the coordinator's lease: once a quorum of acceptors acked a heartbeat, none of
 * them promises another coordinator before the lease ends (by their clocks; counted here from
 * before the heartbeat left, and shortened for clock drift).
 */
export class LeaseKeeper {
  /**
   * Heartbeat seqs are unique for the life of the process (reset() keeps the counter): the
   * slow-acceptor measurements outlive a round, and an ack must not be taken for a later heartbeat's.
   */
  private seq = 0;
  /** The heartbeat period runs on across rounds: a new round does not send one at once. */
  private lastSentAt: Tick = -Infinity;
  /** Heartbeats of the current round not yet acked by a quorum: when each left, and who acked (acceptors only). */
  private readonly heartbeats = new Map<number, { readonly at: Tick; readonly acks: Set<NodeId> }>();
  private until: Tick = -Infinity;

  constructor(private readonly cfg: LeaseConfig) {}

  /** The seq of a heartbeat to send now, or null while the last one left less than heartbeatTicks ago. */
  next(now: Tick): number | null {
    if (now - this.lastSentAt < this.cfg.heartbeatTicks) return null;
    this.lastSentAt = now;
    const seq = ++this.seq;
    this.heartbeats.set(seq, { at: now, acks: new Set() });
    dropOldest(this.heartbeats, MAX_HEARTBEATS_TRACKED);
    return seq;
  }

  /** Acceptor `from` acked heartbeat `seq` of the current round: a quorum of acks starts (or extends) the lease. */
  onAck(from: NodeId, seq: number): void {
    const h = this.heartbeats.get(seq);
    if (!h) return;
    h.acks.add(from);
    if (h.acks.size < leaseQuorum(this.cfg)) return;
    this.until = Math.max(this.until, h.at + coordinatorLeaseTicks(this.cfg.leaseTicks));
    // Older heartbeats can only give an earlier end.
    for (const s of this.heartbeats.keys()) if (s <= seq) this.heartbeats.delete(s);
  }

  /** Whether the lease runs at `now`. */
  holds(now: Tick): boolean {
    return now < this.until;
  }

  /**
   * A new round, or standing down, ends the lease: acceptors lease themselves to a round, so acks
   * of an older round's heartbeats must not count toward this one.
   */
  reset(): void {
    this.until = -Infinity;
    this.heartbeats.clear();
  }
}

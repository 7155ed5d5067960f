import type { LeadershipChange } from "./election.ts";
import type { Ack, Conflict, DecisionId, Delivery, Destination, Envelope, LeadingState, LedgerRecord, LostRange, Msg, NodeId, Output, ReadIndex } from "./types.ts";

/** Collects what a step persists, sends and delivers. */
export class OutputBuilder implements Output {
  readonly persist: LedgerRecord[] = [];
  readonly send: Envelope[] = [];
  readonly deliver: Delivery[] = [];
  readonly decided: DecisionId[] = [];
  readonly acked: Ack[] = [];
  readonly conflicts: Conflict[] = [];
  readonly lost: LostRange[] = [];
  readonly readIndex: ReadIndex[] = [];
  sendsAfterPersist = false;
  leading: LeadingState | null = null;
  leaderChange: LeadershipChange | null = null;
  proposed: { readonly client: number; readonly seq: number } | null = null;
  refused = false;
  /** The sender of the message this step handles (null: a tick, a proposal, a leadership change). */
  source: NodeId | null = null;

  to(to: NodeId, msg: Msg): void {
    this.send.push({ dest: { to }, msg });
  }

  multicast(msg: Msg): void {
    this.send.push({ dest: MULTICAST, msg });
  }

  /**
   * A record for the ledger. `sendsWait`: this step's sends, deliveries and acks depend on it
   * (a promise, a vote: what a reply vouches for), so they leave only once it is durable; other
   * records (a decision, which follows from votes; a trim, done again if lost) are written in
   * order but waited for by nothing.
   */
  record(r: LedgerRecord, sendsWait: boolean): void {
    this.persist.push(r);
    if (sendsWait) this.sendsAfterPersist = true;
  }

  /** Conflicting input from this step's sender: dropped by the caller, reported here. */
  conflict(what: string): void {
    this.conflicts.push({ from: this.source, what });
  }
}

const MULTICAST: Destination = { multicast: true };

export function isEmpty(o: Output): boolean {
  return (
    o.persist.length === 0 &&
    o.send.length === 0 &&
    o.deliver.length === 0 &&
    o.decided.length === 0 &&
    o.acked.length === 0 &&
    o.conflicts.length === 0 &&
    o.lost.length === 0 &&
    o.readIndex.length === 0 &&
    o.leading === null &&
    o.leaderChange === null &&
    o.proposed === null &&
    !o.refused
  );
}

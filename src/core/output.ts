import type { DecisionId, Delivery, Destination, Envelope, LedgerRecord, Msg, NodeId, Output } from "./types.ts";

/** Collects what a step persists, sends and delivers. */
export class OutputBuilder implements Output {
  readonly persist: LedgerRecord[] = [];
  readonly send: Envelope[] = [];
  readonly deliver: Delivery[] = [];
  readonly decided: DecisionId[] = [];
  readonly acked: { client: number; seq: number; instance: number }[] = [];

  to(to: NodeId, msg: Msg): void {
    this.send.push({ dest: { to }, msg });
  }

  multicast(msg: Msg): void {
    this.send.push({ dest: MULTICAST, msg });
  }

  record(r: LedgerRecord): void {
    this.persist.push(r);
  }
}

const MULTICAST: Destination = { multicast: true };

export function isEmpty(o: Output): boolean {
  return (
    o.persist.length === 0 &&
    o.send.length === 0 &&
    o.deliver.length === 0 &&
    o.decided.length === 0 &&
    o.acked.length === 0
  );
}

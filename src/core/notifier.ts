import { invariant } from "./assert.ts";
import type { ProtocolConfig } from "./config.ts";
import { FifoMap } from "./fifo-map.ts";
import type { OutputBuilder } from "./output.ts";
import type { Delivery, Instance, NodeId } from "./types.ts";

/** Bound: proposers one learner tells of deliveries; a new one beyond it replaces the one subscribed longest ago. */
export const MAX_SUBSCRIBERS = 256;
/** Bound: clients whose latest deliveries a learner remembers; beyond it, the one delivered longest ago is forgotten. */
export const MAX_TRACKED_CLIENTS = 256;
/** Bound: seqs one notice carries; more go in several. */
export const MAX_NOTICE_SEQS = 4096;
/** A proposer without a learner turns to another after this many renewal periods without a notice. */
export const SUBSCRIPTION_PERIODS = 4;

/**
 * Bound: a learner remembers where this many of a client's latest values were delivered, and a
 * proposer without a learner keeps its values within this span of seqs (from its oldest not yet
 * acknowledged), so that whatever it asks about is remembered.
 */
export function noticeSpan(cfg: ProtocolConfig): number {
  return Math.max(64, 4 * cfg.proposerWindow);
}

/** How often a proposer without a learner renews its subscription (see Proposer): its re-send timeout. */
export function subscribeTicks(cfg: ProtocolConfig): number {
  return Math.max(1, cfg.proposerTimeoutTicks);
}

/**
 * A learner's side of delivery notices. A proposer without a learner of its own (a client that
 * should not receive every batch) subscribes to one learner, which then tells it, after each step
 * that delivered values of its client, where each was delivered: the instance every learner
 * delivers it at, so the proposer's report is as exact as a co-located learner's.
 *
 * A notice can be lost (a connection drops, a partition, the learner restarts). The proposer then
 * re-sends the value, and a coordinator that finds it decided says so; the proposer asks a learner
 * again with the seq in its next renewal. Every learner remembers where each client's latest
 * noticeSpan values were delivered (subscribed or not, so that a proposer that turned to another
 * learner is answered too), and such a proposer keeps its values in flight within that span. A
 * value delivered here whose instance is forgotten (a restart, or more than MAX_TRACKED_CLIENTS
 * clients delivered since) is reported "unplaced".
 */
export class Notifier {
  /** client -> the node its proposer runs at, in subscription order (a renewal moves it last). */
  private readonly subs = new Map<number, NodeId>();
  /** client -> its latest deliveries here (seq -> instance), least recently delivered first. */
  private readonly recent = new Map<number, FifoMap<number, Instance>>();
  /** Notices sent (messages). */
  notices = 0;

  constructor(
    private readonly cfg: ProtocolConfig,
    /** Whether this process' learner delivered (client, seq). */
    private readonly delivered: (client: number, seq: number) => boolean,
  ) {}

  get subscribers(): number {
    return this.subs.size;
  }

  /** `from` subscribes for `client` (or renews), asking where `seqs` were delivered. */
  onSubscribe(from: NodeId, client: number, seqs: readonly number[], out: OutputBuilder): void {
    // A client id names one proposer incarnation; the latest subscriber is where it runs now.
    this.subs.delete(client);
    this.subs.set(client, from);
    if (this.subs.size > MAX_SUBSCRIBERS) this.subs.delete(this.subs.keys().next().value as number);
    if (seqs.length === 0) return;
    const rec = this.recent.get(client);
    const found: number[] = [];
    const at: Instance[] = [];
    const unplaced: number[] = [];
    for (const q of seqs.slice(0, MAX_NOTICE_SEQS)) {
      const i = rec?.get(q);
      if (i !== undefined) {
        found.push(q);
        at.push(i);
      } else if (this.delivered(client, q)) unplaced.push(q);
    }
    if (found.length > 0 || unplaced.length > 0) this.send(out, from, client, found, at, unplaced);
  }

  /** After a step: remembers where values were delivered and tells each subscriber of its client's. */
  onDeliveries(deliveries: readonly Delivery[], out: OutputBuilder): void {
    if (deliveries.length === 0) return;
    const pending = new Map<number, { seqs: number[]; instances: Instance[] }>();
    let client = -1;
    let rec: FifoMap<number, Instance> | undefined;
    for (const d of deliveries)
      for (const v of d.values) {
        if (v.client !== client) {
          client = v.client;
          rec = this.track(client);
        }
        rec?.set(v.seq, d.instance);
        if (!this.subs.has(client)) continue;
        let p = pending.get(client);
        if (!p) pending.set(client, (p = { seqs: [], instances: [] }));
        p.seqs.push(v.seq);
        p.instances.push(d.instance);
      }
    for (const [c, p] of pending) {
      const node = this.subs.get(c) as NodeId;
      for (let k = 0; k < p.seqs.length; k += MAX_NOTICE_SEQS)
        this.send(out, node, c, p.seqs.slice(k, k + MAX_NOTICE_SEQS), p.instances.slice(k, k + MAX_NOTICE_SEQS), []);
    }
  }

  /** The client's record, now the most recently delivered. */
  private track(client: number): FifoMap<number, Instance> {
    let rec = this.recent.get(client);
    if (rec) this.recent.delete(client);
    else rec = new FifoMap(noticeSpan(this.cfg));
    this.recent.set(client, rec);
    if (this.recent.size > MAX_TRACKED_CLIENTS) this.recent.delete(this.recent.keys().next().value as number);
    return rec;
  }

  private send(out: OutputBuilder, to: NodeId, client: number, seqs: number[], instances: Instance[], unplaced: number[]): void {
    invariant(seqs.length === instances.length && seqs.length <= MAX_NOTICE_SEQS, "a notice pairs each seq with its instance");
    this.notices++;
    out.to(to, { t: "delivered", client, seqs, instances, unplaced });
  }
}

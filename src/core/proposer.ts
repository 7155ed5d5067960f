import type { ProtocolConfig } from "./config.ts";
import type { OutputBuilder } from "./output.ts";
import type { ClientValue, Instance, Msg, NodeId, Tick } from "./types.ts";

interface Outstanding {
  readonly v: ClientValue;
  sentAt: Tick;
  tries: number;
  /** A coordinator said the value is decided at this instance; the co-located learner has not delivered it yet. */
  toldAt?: Instance;
}

/** Where a proposer sends a value on its n-th try (variant-specific). */
export type Route = (tries: number) => NodeId;

/**
 * The proposer (client side): numbers its values (client, seq), keeps at most `proposerWindow`
 * in flight, re-sends a value that its co-located learner has not delivered within
 * proposerTimeoutTicks, and reports each value once it is delivered.
 */
export class Proposer {
  private nextSeq = 0;
  private readonly outstanding = new Map<number, Outstanding>();
  private readonly queue: ClientValue[] = [];
  /** Values refused because the queue was full. */
  refused = 0;

  constructor(
    readonly clientId: number,
    private readonly cfg: ProtocolConfig,
    private readonly route: Route,
    /** This proposer's node, named in its values so that the coordinator can answer it. */
    private readonly origin?: NodeId,
    /** The co-located learner's next instance to deliver, once it delivers in order (null: none, or not yet anchored). */
    private readonly delivering: () => Instance | null = () => null,
  ) {}

  get inFlight(): number {
    return this.outstanding.size + this.queue.length;
  }

  /** Returns the value's (client, seq), or null when the proposer is saturated. */
  propose(payload: Uint8Array, now: Tick, out: OutputBuilder): ClientValue | null {
    if (this.queue.length >= this.cfg.proposerQueue) {
      this.refused++;
      return null;
    }
    const v: ClientValue = { client: this.clientId, seq: this.nextSeq++, payload };
    this.queue.push(v);
    this.sendQueued(now, out);
    return v;
  }

  /** The co-located learner delivered (client, seq) at `instance`. */
  onDelivered(client: number, seq: number, instance: Instance, now: Tick, out: OutputBuilder): void {
    if (client !== this.clientId || !this.outstanding.delete(seq)) return;
    out.acked.push({ client, seq, instance });
    this.sendQueued(now, out);
  }

  /**
   * A coordinator found (client, seq) decided at `instance` when the value came again. Learners
   * deliver a value at the first instance holding it, which a coordinator that never saw an
   * earlier copy cannot know: while the co-located learner has not yet passed `instance`, its
   * delivery tells (see tick); otherwise the coordinator's word is all there is.
   */
  onToldDecided(client: number, seq: number, instance: Instance, now: Tick, out: OutputBuilder): void {
    const o = client === this.clientId ? this.outstanding.get(seq) : undefined;
    if (!o) return;
    const next = this.delivering();
    if (next !== null && next <= instance) o.toldAt = Math.min(o.toldAt ?? instance, instance);
    else this.onDelivered(client, seq, instance, now, out);
  }

  tick(now: Tick, out: OutputBuilder): void {
    const next = this.delivering();
    for (const o of this.outstanding.values()) {
      if (o.toldAt !== undefined) {
        // Decided: no re-send. The learner passed the instance without delivering it here (the
        // coordinator's instance was not where learners deliver it): take the coordinator's word.
        if (next === null || next > o.toldAt) this.onDelivered(o.v.client, o.v.seq, o.toldAt, now, out);
        continue;
      }
      if (now - o.sentAt < this.cfg.proposerTimeoutTicks) continue;
      o.tries++;
      o.sentAt = now;
      out.to(this.route(o.tries), this.valueMsg(o.v));
    }
  }

  private sendQueued(now: Tick, out: OutputBuilder): void {
    while (this.queue.length > 0 && this.outstanding.size < this.cfg.proposerWindow) {
      const v = this.queue.shift() as ClientValue;
      this.outstanding.set(v.seq, { v, sentAt: now, tries: 0 });
      out.to(this.route(0), this.valueMsg(v));
    }
  }

  private valueMsg(v: ClientValue): Msg {
    return this.origin === undefined ? { t: "value", v, hops: 0 } : { t: "value", v, hops: 0, origin: this.origin };
  }
}

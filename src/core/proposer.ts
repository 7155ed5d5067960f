import type { ProtocolConfig } from "./config.ts";
import type { OutputBuilder } from "./output.ts";
import type { ClientValue, Instance, Msg, NodeId, Tick } from "./types.ts";

interface Outstanding {
  readonly v: ClientValue;
  sentAt: Tick;
  tries: number;
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

  tick(now: Tick, out: OutputBuilder): void {
    for (const o of this.outstanding.values()) {
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

import { invariant } from "../core/assert.ts";
import type { LeadershipChange } from "../core/election.ts";
import type { Ack, Conflict, Delivery, DecisionId, Envelope, Input, LeadingState, LostRange, NodeId, Output, Tick, ReadIndex } from "../core/types.ts";
import type { Ledger } from "../ledger/ledger.ts";

/** Something that can take one input at a time: a RingProcess. */
export interface Stepper {
  readonly id: NodeId;
  step(input: Input, now: Tick): Output;
}

/** Where released outputs go (the network, the application, observers). */
export interface Sink {
  send(from: NodeId, env: Envelope): void;
  deliver(node: NodeId, d: Delivery): void;
  decided?(node: NodeId, d: DecisionId): void;
  acked?(node: NodeId, a: Ack): void;
  /** A learner gave instances [from, to) up as lost (before the step's deliveries, which follow them). */
  lost?(node: NodeId, range: LostRange): void;
  /** Conflicting network input the core dropped (see Conflict). */
  conflict?(node: NodeId, c: Conflict): void;
  /** A read index the host asked for came back (after the step's deliveries). */
  readIndex?(node: NodeId, r: ReadIndex): void;
  /**
   * The step changed leadership: this process' coordinator's state (null: unchanged), and the
   * change as this process sees it (null: none to tell). Told at once: it is state, not a message.
   */
  leadership?(node: NodeId, leading: LeadingState | null, change: LeadershipChange | null): void;
  /** The step's proposal: the (client, seq) it took, or null when the proposer refused it. Told at once. */
  proposal?(node: NodeId, taken: { readonly client: number; readonly seq: number } | null): void;
}

/** Bound: steps whose records are still waiting to be durable. Past it the driver refuses input. */
export const MAX_UNSYNCED_STEPS = 65536;

const NOTHING = (): void => {};

interface Held {
  readonly out: Output;
  durable: boolean;
}

/**
 * The one place that enforces "persist, then send": each step's records go to the ledger, and
 * the step's sends, deliveries and acknowledgements are released only once those records are
 * durable, and in step order (a later step may depend on an earlier one's state). Records the
 * core marks as vouched for by nothing (decisions, trims) are written in order, never waited for.
 */
export class Driver {
  private readonly held: Held[] = [];

  constructor(
    readonly proc: Stepper,
    private readonly ledger: Ledger,
    private readonly sink: Sink,
  ) {}

  /** Outputs held back waiting for durability. */
  get waiting(): number {
    return this.held.length;
  }

  input(input: Input, now: Tick): void {
    invariant(this.held.length < MAX_UNSYNCED_STEPS, `at most ${MAX_UNSYNCED_STEPS} steps wait for the ledger`);
    const out = this.proc.step(input, now);
    // Reported at once: dropped input holds nothing back and depends on nothing durable.
    if (this.sink.conflict) for (const c of out.conflicts) this.sink.conflict(this.proc.id, c);
    if (this.sink.leadership && (out.leading !== null || out.leaderChange !== null)) this.sink.leadership(this.proc.id, out.leading, out.leaderChange);
    if (this.sink.proposal && (out.proposed !== null || out.refused)) this.sink.proposal(this.proc.id, out.proposed);
    // The core says whether this step's sends vouch for its records (promises, votes); other
    // records are written in order, and nothing waits for them (see OutputBuilder.record).
    const mustWait = out.sendsAfterPersist;
    if (!mustWait && out.persist.length > 0) this.ledger.append(out.persist, NOTHING);
    if (!mustWait && this.held.length === 0) {
      this.release(out);
      return;
    }
    const h: Held = { out, durable: !mustWait };
    this.held.push(h);
    if (mustWait)
      this.ledger.append(out.persist, () => {
        h.durable = true;
        this.drain();
      });
    else this.drain();
  }

  private drain(): void {
    while (this.held.length > 0 && (this.held[0] as Held).durable) this.release((this.held.shift() as Held).out);
  }

  private release(out: Output): void {
    const id = this.proc.id;
    // Decisions first: an observer must see what was decided before what is delivered because of it.
    if (this.sink.decided) for (const d of out.decided) this.sink.decided(id, d);
    if (this.sink.lost) for (const r of out.lost) this.sink.lost(id, r);
    for (const d of out.deliver) this.sink.deliver(id, d);
    if (this.sink.acked) for (const a of out.acked) this.sink.acked(id, a);
    if (this.sink.readIndex) for (const r of out.readIndex) this.sink.readIndex(id, r);
    for (const e of out.send) this.sink.send(id, e);
  }
}

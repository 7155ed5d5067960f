import { invariant } from "./assert.ts";
import type { ProtocolConfig } from "./config.ts";
import type { CoordinatorVariant } from "./coordinator.ts";
import type { OutputBuilder } from "./output.ts";
import { RingProcess, type ProcessOptions } from "./process.ts";
import { quorumSize } from "./quorum.ts";
import { firstOf, lastOf, layoutMRing, successor, wellFormedMRing } from "./ring.ts";
import { roundOwner } from "./round.ts";
import type { DecisionId, Instance, Msg, NodeId, Ring, Round, Tick, Vid } from "./types.ts";

/**
 * M-Ring Paxos (thesis Algorithm 2). The coordinator ip-multicasts Phase 2A (batch + id) to
 * acceptors and learners; the f+1 acceptors of the ring pass Phase 2B along it, each only if it
 * voted for that id in that round (it holds the value); the coordinator, last on the ring,
 * multicasts the decision (ids only), riding on the next 2A when one leaves in the same step.
 */
/** Bounds that keep a 2A, and a decision message, within one datagram (with PHASE2A_HEADROOM_BYTES). */
export const MAX_PIGGYBACK = 16;
export const MAX_DECISIONS_PER_MESSAGE = 64;

/** Bound: Phase 2B messages kept because they arrived before their 2A. */
export const MAX_EARLY_2B = 1024;

type Msg2B = Extract<Msg, { t: "2b" }>;

export class MRingProcess extends RingProcess {
  private readonly unsentDecisions: DecisionId[] = [];
  /** 2Bs that overtook their 2A (TCP ring vs. UDP multicast): acted on once the 2A arrives. */
  private readonly early2b = new Map<Instance, Msg2B>();

  constructor(id: NodeId, cfg: ProtocolConfig, opts: ProcessOptions = {}) {
    invariant(cfg.variant === "mring", "M-Ring configuration");
    super(id, cfg, opts);
  }

  protected coordinatorVariant(): CoordinatorVariant {
    const q = quorumSize(this.cfg.acceptors.length);
    return {
      phase1Targets: this.cfg.acceptors,
      layout: (responders, avoid) => layoutMRing(this.cfg.acceptors, this.id, responders, q, avoid),
      sendPhase2: (rnd, instance, batch, ring, out) =>
        out.multicast({ t: "2a", rnd, instance, batch, ring, decisions: this.unsentDecisions.splice(0, MAX_PIGGYBACK) }),
    };
  }

  protected route(tries: number): NodeId {
    return tries % 2 === 0 ? this.leaderHint() : this.cfg.coordinator;
  }

  protected onVariantMsg(from: NodeId, msg: Msg, now: Tick, out: OutputBuilder): void {
    switch (msg.t) {
      case "value":
        if (this.coordinator?.isActive) this.coordinator.onValue(msg.v, now, out, msg.origin ?? from);
        else if (msg.hops < 2 && this.leaderHint() !== this.id) out.to(this.leaderHint(), { ...msg, hops: msg.hops + 1 });
        return;
      case "2a":
        if (!this.wellFormed(msg.ring, msg.rnd)) return;
        this.alive(msg.rnd, now);
        for (const d of msg.decisions) this.decide(d.instance, d.vid, now, out);
        this.learner?.onBatch(msg.instance, msg.batch, now, out);
        if (!this.acceptor || !msg.ring.includes(this.id)) {
          // A spare votes too (Task 4): it may have to serve the value later.
          if (this.acceptor) this.vote(msg.rnd, msg.instance, msg.batch, out);
          return;
        }
        if (!this.vote(msg.rnd, msg.instance, msg.batch, out)) return;
        if (firstOf(msg.ring) === this.id) this.passVote(msg.rnd, msg.instance, msg.batch.vid, msg.ring, [], now, out);
        else {
          const early = this.early2b.get(msg.instance);
          if (early && early.rnd === msg.rnd && early.vid === msg.batch.vid) {
            this.early2b.delete(msg.instance);
            this.passVote(early.rnd, early.instance, early.vid, early.ring, early.voters, now, out);
          }
        }
        return;
      case "2b":
        if (!this.acceptor || !this.wellFormed(msg.ring, msg.rnd) || !validPrefix(msg.ring, msg.voters, this.id)) return;
        // Task 5: forward only with a vote for this very id in this round (the acceptor holds the value).
        if (this.acceptor.hasVoted(msg.instance, msg.rnd, msg.vid))
          this.passVote(msg.rnd, msg.instance, msg.vid, msg.ring, msg.voters, now, out);
        else if (!this.acceptor.isDecided(msg.instance)) this.keepEarly(msg);
        return;
      case "decision":
        for (const d of msg.decisions) this.decide(d.instance, d.vid, now, out);
        return;
      default:
        return;
    }
  }

  /** Adds this acceptor's vote and passes 2B on, or, last on the ring, decides. */
  private passVote(
    rnd: Round,
    instance: Instance,
    vid: Vid,
    ring: Ring,
    voters: readonly NodeId[],
    now: Tick,
    out: OutputBuilder,
  ): void {
    const withMe = [...voters, this.id];
    if (lastOf(ring) !== this.id) {
      out.to(successor(ring, this.id), { t: "2b", rnd, instance, vid, ring, voters: withMe });
      return;
    }
    // Every member of the ring voted (rnd, vid), and the ring is an m-quorum of acceptors.
    invariant(withMe.length === ring.length, "2B visited the whole ring");
    invariant(ring.length >= quorumSize(this.cfg.acceptors.length), "the ring is an m-quorum");
    invariant(roundOwner(rnd, this.cfg.maxNodes) === this.id, "the last on the ring coordinates its round");
    this.unsentDecisions.push({ instance, vid });
    this.decide(instance, vid, now, out);
  }

  private wellFormed(ring: Ring, rnd: Round): boolean {
    return wellFormedMRing(ring, this.cfg.acceptors, quorumSize(this.cfg.acceptors.length), roundOwner(rnd, this.cfg.maxNodes));
  }

  private keepEarly(msg: Msg2B): void {
    const prev = this.early2b.get(msg.instance);
    if (prev && prev.rnd >= msg.rnd) return;
    this.early2b.delete(msg.instance);
    if (this.early2b.size >= MAX_EARLY_2B) this.early2b.delete(this.early2b.keys().next().value as Instance);
    this.early2b.set(msg.instance, msg);
  }

  protected override finishStep(out: OutputBuilder): void {
    while (this.unsentDecisions.length > 0) out.multicast({ t: "decision", decisions: this.unsentDecisions.splice(0, MAX_DECISIONS_PER_MESSAGE) });
  }
}

/**
 * A 2B received by `me` is well formed when its voters are exactly the ring members before `me`,
 * the ring has distinct members, and `me` is on it. Malformed messages are dropped, never trusted.
 */
function validPrefix(ring: Ring, voters: readonly NodeId[], me: NodeId): boolean {
  const i = ring.indexOf(me);
  if (i < 1 || voters.length !== i || new Set(ring).size !== ring.length) return false;
  for (let k = 0; k < i; k++) if (voters[k] !== ring[k]) return false;
  return true;
}

import { invariant } from "./assert.ts";
import type { ProtocolConfig } from "./config.ts";
import type { CoordinatorVariant } from "./coordinator.ts";
import type { Dissemination, Handlers, ProcessContext } from "./dissemination.ts";
import type { OutputBuilder } from "./output.ts";
import { RingProcess, type ProcessOptions } from "./process.ts";
import { phase2Quorum } from "./quorum.ts";
import { firstOf, lastOf, layoutMRing, successor, wellFormedMRing } from "./ring.ts";
import { roundOwner } from "./round.ts";
import type { DecisionId, Instance, Msg, NodeId, Ring, Round, Tick, Vid } from "./types.ts";

/** A process of an M-Ring Paxos ring. */
export function mringProcess(id: NodeId, cfg: ProtocolConfig, opts: ProcessOptions = {}): RingProcess {
  invariant(cfg.variant === "mring", "M-Ring configuration");
  return new RingProcess(id, cfg, (ctx) => new MRingDissemination(ctx), opts);
}

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

export class MRingDissemination implements Dissemination {
  private readonly unsentDecisions: DecisionId[] = [];
  /** 2Bs that overtook their 2A (TCP ring vs. UDP multicast): acted on once the 2A arrives. */
  private readonly early2b = new Map<Instance, Msg2B>();
  readonly coordinatorVariant: CoordinatorVariant;
  readonly handlers: Handlers;
  readonly knownRing = null;

  constructor(private readonly p: ProcessContext) {
    const q = phase2Quorum(p.cfg);
    this.coordinatorVariant = {
      phase1Targets: p.cfg.acceptors,
      layout: (responders, avoid) => layoutMRing(p.cfg.acceptors, p.id, responders, q, avoid),
      sendPhase2: (rnd, instance, batch, ring, out) =>
        out.multicast({ t: "2a", rnd, instance, batch, ring, decisions: this.unsentDecisions.splice(0, MAX_PIGGYBACK) }),
    };
    this.handlers = {
      value: (from, msg, now, out) => {
        const c = p.coordinator;
        if (c?.isActive) c.onValue(msg.v, now, out, msg.origin ?? from);
        else if (msg.hops < 2 && p.leaderHint() !== p.id) out.to(p.leaderHint(), { ...msg, hops: msg.hops + 1 });
      },
      "2a": (_from, msg, now, out) => this.on2A(msg, now, out),
      "2b": (_from, msg, now, out) => this.on2B(msg, now, out),
      decision: (_from, msg, now, out) => {
        for (const d of msg.decisions) p.decide(d.instance, d.vid, now, out);
      },
    };
  }

  route(tries: number): NodeId {
    return tries % 2 === 0 ? this.p.leaderHint() : this.p.cfg.coordinator;
  }

  answersPhase1A(): boolean {
    return false;
  }

  tick(): void {}

  /** Decisions that found no 2A to ride on go out in decision messages of their own. */
  flush(out: OutputBuilder): void {
    while (this.unsentDecisions.length > 0) out.multicast({ t: "decision", decisions: this.unsentDecisions.splice(0, MAX_DECISIONS_PER_MESSAGE) });
  }

  private on2A(msg: Extract<Msg, { t: "2a" }>, now: Tick, out: OutputBuilder): void {
    const p = this.p;
    if (!this.wellFormed(msg.ring, msg.rnd)) return;
    // Phase 2 is the ring's business (thesis Algorithm 2 sends 2A to the ring's m-quorum and the
    // learners only): a spare does not vote, so it spends nothing on values it would never be asked
    // for (every Phase 1 quorum of a later round meets the ring, whose members hold every decided
    // value). A process without a learner off the ring ignores the 2A whole, as a spare's node drops
    // it unopened (wire/peek.ts): heartbeats tell it the coordinator lives, and decisions are not
    // its business.
    const member = msg.ring.includes(p.id);
    if (!member && !p.learner) return;
    p.ownerAlive(msg.rnd, now, msg.ring);
    for (const d of msg.decisions) p.decide(d.instance, d.vid, now, out);
    p.learner?.onBatch(msg.instance, msg.batch, now, out);
    if (!p.acceptor || !member) return;
    if (!p.vote(msg.rnd, msg.instance, msg.batch, out)) return;
    if (firstOf(msg.ring) === p.id) this.passVote(msg.rnd, msg.instance, msg.batch.vid, msg.ring, [], now, out);
    else {
      const early = this.early2b.get(msg.instance);
      if (early && early.rnd === msg.rnd && early.vid === msg.batch.vid) {
        this.early2b.delete(msg.instance);
        this.passVote(early.rnd, early.instance, early.vid, early.ring, early.voters, now, out);
      }
    }
  }

  private on2B(msg: Msg2B, now: Tick, out: OutputBuilder): void {
    const a = this.p.acceptor;
    if (!a || !this.wellFormed(msg.ring, msg.rnd) || !validPrefix(msg.ring, msg.voters, this.p.id)) return;
    // Task 5: forward only with a vote for this very id in this round (the acceptor holds the value).
    if (a.hasVoted(msg.instance, msg.rnd, msg.vid)) this.passVote(msg.rnd, msg.instance, msg.vid, msg.ring, msg.voters, now, out);
    else if (!a.isDecided(msg.instance)) this.keepEarly(msg);
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
    const withMe = [...voters, this.p.id];
    if (lastOf(ring) !== this.p.id) {
      out.to(successor(ring, this.p.id), { t: "2b", rnd, instance, vid, ring, voters: withMe });
      return;
    }
    // Every member of the ring voted (rnd, vid), and the ring is an m-quorum of acceptors.
    invariant(withMe.length === ring.length, "2B visited the whole ring");
    invariant(ring.length >= phase2Quorum(this.p.cfg), "the ring is a Phase 2 quorum");
    invariant(roundOwner(rnd, this.p.cfg.maxNodes) === this.p.id, "the last on the ring coordinates its round");
    this.unsentDecisions.push({ instance, vid });
    this.p.decide(instance, vid, now, out);
  }

  private wellFormed(ring: Ring, rnd: Round): boolean {
    return wellFormedMRing(ring, this.p.cfg.acceptors, phase2Quorum(this.p.cfg), roundOwner(rnd, this.p.cfg.maxNodes));
  }

  private keepEarly(msg: Msg2B): void {
    const prev = this.early2b.get(msg.instance);
    if (prev && prev.rnd >= msg.rnd) return;
    this.early2b.delete(msg.instance);
    if (this.early2b.size >= MAX_EARLY_2B) this.early2b.delete(this.early2b.keys().next().value as Instance);
    this.early2b.set(msg.instance, msg);
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

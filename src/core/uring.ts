import { invariant } from "./assert.ts";
import type { ProtocolConfig } from "./config.ts";
import type { CoordinatorVariant } from "./coordinator.ts";
import type { Dissemination, Handlers, ProcessContext } from "./dissemination.ts";
import type { OutputBuilder } from "./output.ts";
import { RingProcess, type ProcessOptions } from "./process.ts";
import { isQuorum, phase2Quorum } from "./quorum.ts";
import { lastAcceptor, layoutURing, predecessor, successor, wellFormedURing } from "./ring.ts";
import { roundOwner } from "./round.ts";
import type { Batch, Instance, NodeId, Ring, Round, Tick, Vid } from "./types.ts";

/** A process of a U-Ring Paxos ring. */
export function uringProcess(id: NodeId, cfg: ProtocolConfig, opts: ProcessOptions = {}): RingProcess {
  invariant(cfg.variant === "uring", "U-Ring configuration");
  return new RingProcess(id, cfg, (ctx) => new URingDissemination(ctx), opts);
}

/**
 * U-Ring Paxos (thesis Algorithm 3). Every process is on one TCP ring, the coordinator first.
 * Client values travel the ring to the coordinator; Phase 2A/2B travel together through the
 * m-quorum of acceptors that follow the coordinator; the last of them decides, and the decision
 * circulates until the predecessor of the last acceptor. The batch rides with the decision until
 * the coordinator's predecessor: the processes from the coordinator to the last acceptor already
 * hold it (the thesis' "until the proposer's predecessor", with the coordinator as the batch's proposer).
 */
export class URingDissemination implements Dissemination {
  private ring: Ring;
  private ringRound: Round = 0;
  private lastHello: Tick = -Infinity;
  readonly coordinatorVariant: CoordinatorVariant;
  readonly handlers: Handlers;

  constructor(private readonly p: ProcessContext) {
    const cfg = p.cfg;
    const i = cfg.processes.indexOf(cfg.coordinator);
    this.ring = [...cfg.processes.slice(i), ...cfg.processes.slice(0, i)];
    const q = phase2Quorum(cfg);
    this.coordinatorVariant = {
      phase1Targets: cfg.processes,
      layout: (responders, avoid) => layoutURing(cfg.processes, cfg.acceptors, p.id, responders, q, avoid),
      // Task 3: 2A/2B starts at the coordinator itself, the first acceptor of the ring.
      sendPhase2: (rnd, instance, batch, ring, out) => out.to(p.id, { t: "2ab", rnd, instance, batch, ring, voters: [] }),
    };
    this.handlers = {
      value: (from, msg, now, out) => {
        // Task 1: the coordinator proposes; everyone else passes the value on.
        const c = p.coordinator;
        if (c?.isActive) c.onValue(msg.v, now, out, msg.origin ?? from);
        else if (msg.hops < 2 * this.ring.length) out.to(this.route(0), { ...msg, hops: msg.hops + 1 });
      },
      "2ab": (_from, msg, now, out) => this.onPhase2(msg.rnd, msg.instance, msg.batch, msg.ring, msg.voters, now, out),
      udecision: (_from, msg, now, out) => this.onDecision(msg.instance, msg.vid, msg.batch, msg.ring, msg.rnd, now, out),
      hello: (from, _msg, now, out) => this.onHello(from, now, out),
      ring: (from, msg, now) => this.onRing(from, msg.rnd, msg.ring, now),
    };
  }

  /** The ring of the highest round this process has seen. */
  get knownRing(): Ring {
    return this.ring;
  }

  /** First along the ring when the ring's coordinator is the current one; otherwise straight to it. */
  route(tries: number): NodeId {
    if (tries % 2 === 1) return this.p.cfg.coordinator;
    const leader = this.p.leaderHint();
    if (tries > 0 || leader === this.p.id || this.ring[0] !== leader || !this.ring.includes(this.p.id)) return leader;
    return successor(this.ring, this.p.id);
  }

  /** Processes that are no acceptors answer Phase 1A too, so the coordinator can lay them on the ring. */
  answersPhase1A(from: NodeId, rnd: Round, first: Instance, out: OutputBuilder): boolean {
    if (this.p.acceptor) return false;
    out.to(from, { t: "1b", rnd, from: first, acceptor: false, votes: [] });
    return true;
  }

  flush(): void {}

  private onHello(from: NodeId, now: Tick, out: OutputBuilder): void {
    const c = this.p.coordinator;
    if (c?.isActive) {
      const ring = c.ring;
      if (ring?.includes(from)) out.to(from, { t: "ring", rnd: c.round, ring });
      else c.onRejoin(from, now, out);
    } else if (this.ringRound > 0 && this.p.leaderHint() !== from && roundOwner(this.ringRound, this.p.cfg.maxNodes) !== this.p.id) {
      // (A coordinator that stood down does not repeat its own ring: coming from the round's
      // owner, a ring counts as evidence that it leads.)
      // Not the coordinator: tell the process the newest ring known here, so it finds the one who is.
      out.to(from, { t: "ring", rnd: this.ringRound, ring: this.ring });
    }
  }

  private onRing(from: NodeId, rnd: Round, ring: Ring, now: Tick): void {
    if (!this.wellFormed(ring, rnd)) return;
    // Only the round's coordinator answering is evidence that it is alive: another process
    // repeats the newest ring it knows, which must not keep an acceptor refusing candidates
    // (a lease) for a coordinator that died.
    const fromOwner = from === roundOwner(rnd, this.p.cfg.maxNodes);
    if (ring.includes(this.p.id)) this.seeRing(rnd, ring, now, fromOwner);
    // Left out of that ring: at least its coordinator is known now, and the next hello goes there.
    else if (fromOwner) this.p.ownerAlive(rnd, now);
    else this.p.roundEstablished(rnd, now);
  }

  /**
   * Holding no ring yet (a process that starts after the coordinator laid its ring out) or a ring
   * older than the newest round seen (left out of a new ring, or its messages lost): ask the
   * coordinator, which answers with its ring or lays the ring out again to include this process.
   */
  tick(now: Tick, out: OutputBuilder): void {
    const stale = this.ringRound === 0 || this.ringRound < this.p.highestRound;
    if (stale && now - this.lastHello >= this.p.cfg.helloTicks) {
      this.lastHello = now;
      out.to(this.p.leaderHint(), { t: "hello" });
    }
  }

  /** Task 4. */
  private onPhase2(
    rnd: Round,
    instance: Instance,
    batch: Batch,
    ring: Ring,
    voters: readonly NodeId[],
    now: Tick,
    out: OutputBuilder,
  ): void {
    if (!ring.includes(this.p.id) || !this.wellFormed(ring, rnd)) return;
    const q = phase2Quorum(this.p.cfg);
    const last = lastAcceptor(ring, this.p.cfg.acceptors, q);
    // The voters are exactly the acceptors before this process on the way from the coordinator.
    const before = ring.slice(0, ring.indexOf(this.p.id)).filter((p) => this.p.cfg.acceptors.includes(p));
    const lastIndex = ring.indexOf(last);
    if (ring.indexOf(this.p.id) > lastIndex || voters.length !== before.length || voters.some((v, i) => v !== before[i])) return;
    this.seeRing(rnd, ring, now);
    this.p.learner?.onBatch(instance, batch, now, out);
    if (!this.p.acceptor) {
      out.to(successor(ring, this.p.id), { t: "2ab", rnd, instance, batch, ring, voters });
      return;
    }
    if (!this.p.vote(rnd, instance, batch, out)) return;
    const withMe = [...voters, this.p.id];
    if (this.p.id !== last) {
      out.to(successor(ring, this.p.id), { t: "2ab", rnd, instance, batch, ring, voters: withMe });
      return;
    }
    // Last acceptor: the coordinator and the acceptors up to here voted (rnd, vid).
    invariant(isQuorum(withMe, this.p.cfg.acceptors, q) && withMe.length === q, "2A/2B gathered a Phase 2 quorum of votes");
    this.p.decide(instance, batch.vid, now, out, batch);
    this.sendDecision(instance, batch.vid, batch, ring, rnd, out);
  }

  /** Task 5. */
  private onDecision(
    instance: Instance,
    vid: Vid,
    batch: Batch | null,
    ring: Ring,
    rnd: Round,
    now: Tick,
    out: OutputBuilder,
  ): void {
    if (!ring.includes(this.p.id) || !this.wellFormed(ring, rnd)) return;
    this.seeRing(rnd, ring, now);
    if (batch) this.p.learner?.onBatch(instance, batch, now, out);
    this.p.decide(instance, vid, now, out, batch);
    const last = lastAcceptor(ring, this.p.cfg.acceptors, phase2Quorum(this.p.cfg));
    if (this.p.id !== predecessor(ring, last)) this.sendDecision(instance, vid, batch, ring, rnd, out);
  }

  /** Send_Decision: the batch is dropped once the next hop is the coordinator, which has it. */
  private sendDecision(instance: Instance, vid: Vid, batch: Batch | null, ring: Ring, rnd: Round, out: OutputBuilder): void {
    if (ring.length === 1) return;
    const next = successor(ring, this.p.id);
    out.to(next, { t: "udecision", instance, vid, batch: next === ring[0] ? null : batch, ring, rnd });
  }

  private wellFormed(ring: Ring, rnd: Round): boolean {
    return wellFormedURing(ring, this.p.cfg.processes, this.p.cfg.acceptors, phase2Quorum(this.p.cfg), roundOwner(rnd, this.p.cfg.maxNodes));
  }

  private seeRing(rnd: Round, ring: Ring, now: Tick, evidence = true): void {
    if (evidence) this.p.ownerAlive(rnd, now, ring);
    else this.p.roundEstablished(rnd, now, ring);
    if (rnd > this.ringRound) {
      this.ringRound = rnd;
      this.ring = ring;
    }
  }
}

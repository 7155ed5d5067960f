import { invariant } from "./assert.ts";
import type { ProtocolConfig } from "./config.ts";
import type { CoordinatorVariant } from "./coordinator.ts";
import type { OutputBuilder } from "./output.ts";
import { RingProcess, type ProcessOptions } from "./process.ts";
import { isQuorum, quorumSize } from "./quorum.ts";
import { lastAcceptor, layoutURing, predecessor, successor, wellFormedURing } from "./ring.ts";
import { roundOwner } from "./round.ts";
import type { Batch, Instance, Msg, NodeId, Ring, Round, Tick, Vid } from "./types.ts";

/**
 * U-Ring Paxos (thesis Algorithm 3). Every process is on one TCP ring, the coordinator first.
 * Client values travel the ring to the coordinator; Phase 2A/2B travel together through the
 * m-quorum of acceptors that follow the coordinator; the last of them decides, and the decision
 * circulates until the predecessor of the last acceptor. The batch rides with the decision until
 * the coordinator's predecessor: the processes from the coordinator to the last acceptor already
 * hold it (the thesis' "until the proposer's predecessor", with the coordinator as the batch's proposer).
 */
export class URingProcess extends RingProcess {
  private ring: Ring;
  private ringRound: Round = 0;
  private lastHello: Tick = -Infinity;

  constructor(id: NodeId, cfg: ProtocolConfig, opts: ProcessOptions = {}) {
    invariant(cfg.variant === "uring", "U-Ring configuration");
    super(id, cfg, opts);
    const i = cfg.processes.indexOf(cfg.coordinator);
    this.ring = [...cfg.processes.slice(i), ...cfg.processes.slice(0, i)];
  }

  /** The ring of the highest round this process has seen. */
  get currentRing(): Ring {
    return this.ring;
  }

  protected coordinatorVariant(): CoordinatorVariant {
    const q = quorumSize(this.cfg.acceptors.length);
    return {
      phase1Targets: this.cfg.processes,
      layout: (responders, avoid) => layoutURing(this.cfg.processes, this.cfg.acceptors, this.id, responders, q, avoid),
      // Task 3: 2A/2B starts at the coordinator itself, the first acceptor of the ring.
      sendPhase2: (rnd, instance, batch, ring, out) => out.to(this.id, { t: "2ab", rnd, instance, batch, ring, voters: [] }),
    };
  }

  /** First along the ring when the ring's coordinator is the current one; otherwise straight to it. */
  protected route(tries: number): NodeId {
    if (tries % 2 === 1) return this.cfg.coordinator;
    const leader = this.leaderHint();
    if (tries > 0 || leader === this.id || this.ring[0] !== leader || !this.ring.includes(this.id)) return leader;
    return successor(this.ring, this.id);
  }

  /** Processes that are no acceptors answer Phase 1A too, so the coordinator can lay them on the ring. */
  protected override onPhase1A(from: NodeId, rnd: Round, first: Instance, out: OutputBuilder): void {
    if (this.acceptor) super.onPhase1A(from, rnd, first, out);
    else out.to(from, { t: "1b", rnd, from: first, acceptor: false, votes: [] });
  }

  protected onVariantMsg(from: NodeId, msg: Msg, now: Tick, out: OutputBuilder): void {
    switch (msg.t) {
      case "value":
        // Task 1: the coordinator proposes; everyone else passes the value on.
        if (this.coordinator?.isActive) this.coordinator.onValue(msg.v, now, out, msg.origin ?? from);
        else if (msg.hops < 2 * this.ring.length) out.to(this.route(0), { ...msg, hops: msg.hops + 1 });
        return;
      case "2ab":
        this.onPhase2(msg.rnd, msg.instance, msg.batch, msg.ring, msg.voters, now, out);
        return;
      case "udecision":
        this.onDecision(msg.instance, msg.vid, msg.batch, msg.ring, msg.rnd, now, out);
        return;
      case "hello": {
        const c = this.coordinator;
        if (c?.isActive) {
          const ring = c.ring;
          if (ring?.includes(from)) out.to(from, { t: "ring", rnd: c.round, ring });
          else c.onRejoin(from, now, out);
        } else if (this.ringRound > 0 && this.leaderHint() !== from && roundOwner(this.ringRound, this.cfg.maxNodes) !== this.id) {
          // (A coordinator that stood down does not repeat its own ring: coming from the round's
          // owner, a ring counts as evidence that it leads.)
          // Not the coordinator: tell the process the newest ring known here, so it finds the one who is.
          out.to(from, { t: "ring", rnd: this.ringRound, ring: this.ring });
        }
        return;
      }
      case "ring": {
        if (!this.wellFormed(msg.ring, msg.rnd)) return;
        // Only the round's coordinator answering is evidence that it is alive: another process
        // repeats the newest ring it knows, which must not keep an acceptor refusing candidates
        // (a lease) for a coordinator that died.
        const fromOwner = from === roundOwner(msg.rnd, this.cfg.maxNodes);
        if (msg.ring.includes(this.id)) this.seeRing(msg.rnd, msg.ring, now, fromOwner);
        // Left out of that ring: at least its coordinator is known now, and the next hello goes there.
        else if (fromOwner) this.alive(msg.rnd, now);
        else this.hearOf(msg.rnd);
        return;
      }
      default:
        return;
    }
  }

  /**
   * Holding no ring yet (a process that starts after the coordinator laid its ring out) or a ring
   * older than the newest round seen (left out of a new ring, or its messages lost): ask the
   * coordinator, which answers with its ring or lays the ring out again to include this process.
   */
  protected override onVariantTick(now: Tick, out: OutputBuilder): void {
    const stale = this.ringRound === 0 || this.ringRound < this.highestRound;
    if (stale && now - this.lastHello >= this.cfg.helloTicks) {
      this.lastHello = now;
      out.to(this.leaderHint(), { t: "hello" });
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
    if (!ring.includes(this.id) || !this.wellFormed(ring, rnd)) return;
    const q = quorumSize(this.cfg.acceptors.length);
    const last = lastAcceptor(ring, this.cfg.acceptors, q);
    // The voters are exactly the acceptors before this process on the way from the coordinator.
    const before = ring.slice(0, ring.indexOf(this.id)).filter((p) => this.cfg.acceptors.includes(p));
    const lastIndex = ring.indexOf(last);
    if (ring.indexOf(this.id) > lastIndex || voters.length !== before.length || voters.some((v, i) => v !== before[i])) return;
    this.seeRing(rnd, ring, now);
    this.learner?.onBatch(instance, batch, now, out);
    if (!this.acceptor) {
      out.to(successor(ring, this.id), { t: "2ab", rnd, instance, batch, ring, voters });
      return;
    }
    if (!this.vote(rnd, instance, batch, out)) return;
    const withMe = [...voters, this.id];
    if (this.id !== last) {
      out.to(successor(ring, this.id), { t: "2ab", rnd, instance, batch, ring, voters: withMe });
      return;
    }
    // Last acceptor: the coordinator and the acceptors up to here voted (rnd, vid).
    invariant(isQuorum(withMe, this.cfg.acceptors) && withMe.length === q, "2A/2B gathered an m-quorum of votes");
    this.decide(instance, batch.vid, now, out, batch);
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
    if (!ring.includes(this.id) || !this.wellFormed(ring, rnd)) return;
    this.seeRing(rnd, ring, now);
    if (batch) this.learner?.onBatch(instance, batch, now, out);
    this.decide(instance, vid, now, out, batch);
    const last = lastAcceptor(ring, this.cfg.acceptors, quorumSize(this.cfg.acceptors.length));
    if (this.id !== predecessor(ring, last)) this.sendDecision(instance, vid, batch, ring, rnd, out);
  }

  /** Send_Decision: the batch is dropped once the next hop is the coordinator, which has it. */
  private sendDecision(instance: Instance, vid: Vid, batch: Batch | null, ring: Ring, rnd: Round, out: OutputBuilder): void {
    if (ring.length === 1) return;
    const next = successor(ring, this.id);
    out.to(next, { t: "udecision", instance, vid, batch: next === ring[0] ? null : batch, ring, rnd });
  }

  private wellFormed(ring: Ring, rnd: Round): boolean {
    return wellFormedURing(ring, this.cfg.processes, this.cfg.acceptors, quorumSize(this.cfg.acceptors.length), roundOwner(rnd, this.cfg.maxNodes));
  }

  private seeRing(rnd: Round, ring: Ring, now: Tick, evidence = true): void {
    if (evidence) this.alive(rnd, now);
    else this.hearOf(rnd);
    if (rnd > this.ringRound) {
      this.ringRound = rnd;
      this.ring = ring;
    }
  }
}

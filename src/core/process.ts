import { Acceptor } from "./acceptor.ts";
import type { ProtocolConfig } from "./config.ts";
import { GcQuorum } from "./gc.ts";
import { Coordinator, type CoordinatorVariant } from "./coordinator.ts";
import { Election } from "./election.ts";
import { Learner, type LearnFrom } from "./learner.ts";
import { Notifier } from "./notifier.ts";
import { OutputBuilder } from "./output.ts";
import { Proposer } from "./proposer.ts";
import { MAX_INSTANCE, MAX_ROUND, roundOwner } from "./round.ts";
import type { Batch, Input, Instance, LedgerRecord, Msg, NodeId, Output, Round, Tick, Vid } from "./types.ts";

export interface ProcessOptions {
  /** Records recovered from this process' ledger (a restarted acceptor resumes from them). */
  readonly recovered?: readonly LedgerRecord[];
  /** Client id of this process' proposer; unique per process incarnation. */
  readonly clientId?: number;
  /** Where this process' learner starts delivering (see Learner). */
  readonly learnFrom?: LearnFrom;
}

/** Garbage collection trims in steps of this many instances (one trim record per step). */
export const GC_STEP_INSTANCES = 64;

/**
 * One process of a ring, hosting the roles the configuration gives it. The role cores are
 * shared; M-Ring and U-Ring differ only in how messages travel (subclasses). A step takes one
 * input and returns what to persist, send and deliver; it never performs I/O.
 */
export abstract class RingProcess {
  readonly acceptor: Acceptor | null;
  readonly coordinator: Coordinator | null;
  readonly learner: Learner | null;
  readonly proposer: Proposer | null;
  /** A learner's delivery notices to proposers without a learner of their own. */
  readonly notifier: Notifier | null;
  /** The highest established round seen (Phase 2 traffic, heartbeats, rings): its owner leads. */
  protected highestRound: Round = 0;
  private leader: NodeId;
  /** Acceptors: failure detection, candidacy and leases (see election.ts). */
  readonly election: Election | null;
  /** Acceptors: what the replicas applied, and the garbage-collection watermark (see GcQuorum). */
  private readonly gc: GcQuorum;

  protected constructor(
    readonly id: NodeId,
    protected readonly cfg: ProtocolConfig,
    opts: ProcessOptions,
  ) {
    const isAcceptor = cfg.acceptors.includes(id);
    this.acceptor = isAcceptor ? new Acceptor(id, cfg, opts.recovered ?? []) : null;
    this.coordinator = isAcceptor ? new Coordinator(id, cfg, this.coordinatorVariant()) : null;
    this.learner = cfg.learners.includes(id) ? new Learner(id, cfg, opts.learnFrom ?? "beginning") : null;
    const learner = this.learner;
    this.notifier = learner ? new Notifier(cfg, (client, seq) => learner.hasDelivered(client, seq)) : null;
    // Without a learner of its own, a proposer follows a replica's notices (any learner if none).
    const sources = (cfg.replicas && cfg.replicas.length > 0 ? cfg.replicas : cfg.learners).filter((l) => l !== id);
    this.proposer = cfg.proposers.includes(id)
      ? new Proposer(opts.clientId ?? id, cfg, (tries) => this.route(tries), id, () => this.learner?.deliveringFrom ?? null, this.learner ? null : sources, () => this.learner?.lostBelow ?? 0)
      : null;
    this.leader = cfg.coordinator;
    this.gc = new GcQuorum(cfg);
    this.election = isAcceptor ? new Election(id, cfg, (opts.recovered ?? []).length > 0) : null;
  }

  /**
   * Evidence that round `rnd` is established and its coordinator alive (Phase 2 traffic, a
   * heartbeat): the election hears of it, and a coordinator of a lower round stands down.
   */
  protected alive(rnd: Round, now: Tick): void {
    this.hearOf(rnd);
    this.election?.established(rnd, now);
    const c = this.coordinator;
    if (c?.isActive && rnd > c.round && roundOwner(rnd, this.cfg.maxNodes) !== this.id) c.deactivate();
  }

  /**
   * A process other than its coordinator says round `rnd` is established: client values are
   * routed to its owner, but it is no evidence that the owner is alive (no election input).
   */
  protected hearOf(rnd: Round): void {
    this.seeRound(rnd);
    if (rnd > this.highestRound) {
      this.highestRound = rnd;
      this.leader = roundOwner(rnd, this.cfg.maxNodes);
    }
  }

  /**
   * Any round seen in a message (a 1A, a promise reported in a reply): a new round of this
   * process' coordinator goes above it. Its owner is not followed for that: a candidate that
   * failed Phase 1 leads nothing (see alive).
   */
  protected seeRound(rnd: Round): void {
    this.coordinator?.observeRound(rnd);
  }

  /**
   * Where client values should go: the owner of the highest round seen, unless that is this
   * process and it no longer leads (then the configured coordinator).
   */
  protected leaderHint(): NodeId {
    if (this.leader !== this.id || this.coordinator?.isActive) return this.leader;
    return this.cfg.coordinator;
  }

  protected abstract coordinatorVariant(): CoordinatorVariant;
  /** Where the proposer sends a value on its n-th try. */
  protected abstract route(tries: number): NodeId;
  /** Variant-specific messages (Phase 2, decisions, client values). */
  protected abstract onVariantMsg(from: NodeId, msg: Msg, now: Tick, out: OutputBuilder): void;
  protected onVariantTick(_now: Tick, _out: OutputBuilder): void {}
  /** Called at the end of every step (M-Ring flushes decisions that found no 2A to ride on). */
  protected finishStep(_out: OutputBuilder): void {}

  step(input: Input, now: Tick): Output {
    const out = new OutputBuilder();
    this.election?.start(now);
    this.gc.start(now);
    switch (input.k) {
      case "tick":
        this.election?.ticked(now);
        // Candidacy: the leader went silent (and this acceptor's turn came): a higher round.
        if (this.election && this.coordinator && !this.coordinator.isActive && this.election.due(now)) this.coordinator.activate(now, out);
        this.coordinator?.tick(now, out);
        this.learner?.tick(now, out);
        this.proposer?.tick(now, out);
        this.onVariantTick(now, out);
        break;
      case "propose":
        this.proposer?.propose(input.payload, now, out);
        break;
      case "lead":
        this.coordinator?.activate(now, out);
        break;
      case "step-down":
        this.coordinator?.deactivate();
        break;
      case "msg":
        out.source = input.from;
        this.onMsg(input.from, input.msg, now, out);
        break;
    }
    this.ackDeliveries(now, out);
    this.notifier?.onDeliveries(out.deliver, out);
    this.finishStep(out);
    return out;
  }

  private onMsg(from: NodeId, msg: Msg, now: Tick, out: OutputBuilder): void {
    if (!plausible(msg)) return;
    switch (msg.t) {
      case "1a":
        if (this.acceptor && this.election?.refuses(from, now)) {
          // Leased to another coordinator (or just restarted): refused below our promise, which tells the candidate why.
          out.to(from, { t: "nack", rnd: msg.rnd, promised: this.acceptor.rnd });
          return;
        }
        this.seeRound(msg.rnd);
        this.onPhase1A(from, msg.rnd, msg.from, out);
        // A promise granted: this acceptor now follows the candidate.
        if (this.acceptor?.rnd === msg.rnd) this.election?.promised(msg.rnd, now);
        return;
      case "1b":
        this.coordinator?.onPhase1B(from, msg.rnd, msg.acceptor ? msg.votes : null, now, out, msg.trimmed ?? 0);
        return;
      case "applied":
        this.onApplied(from, msg.upTo, now, out);
        return;
      case "slow-down":
        // Flow control: the notice travels to the coordinator, which halves its window.
        if (this.coordinator?.isActive) this.coordinator.onSlowDown(now);
        else if (msg.hops < 2 && this.leaderHint() !== this.id) out.to(this.leaderHint(), { ...msg, hops: msg.hops + 1 });
        return;
      case "nack": {
        const verdict = this.coordinator?.onNack(from, msg.rnd, msg.promised, now, out);
        if (verdict === "leased") {
          // A majority leases itself to a live coordinator: stand down, and do not try again soon.
          this.coordinator?.deactivate();
          this.election?.refused(now);
        } else if (verdict === "outranked") {
          // Another candidate's higher round: stand down and give it a chance (no duel); the
          // election's timers decide who tries next if it fails.
          this.coordinator?.deactivate();
          this.election?.established(msg.promised, now);
        }
        return;
      }
      case "heartbeat":
        if (!this.acceptor) {
          this.alive(msg.rnd, now);
          return;
        }
        if (msg.rnd < this.acceptor.rnd) {
          // A coordinator behind this acceptor's promise: tell it (it may hold the lease, and move up).
          out.to(from, { t: "nack", rnd: msg.rnd, promised: this.acceptor.rnd });
          return;
        }
        this.alive(msg.rnd, now);
        out.to(from, { t: "heartbeat-ack", rnd: msg.rnd, seq: msg.seq });
        return;
      case "heartbeat-ack":
        this.coordinator?.onHeartbeatAck(from, msg.rnd, msg.seq, now);
        return;
      case "catchup": {
        // Below what this acceptor garbage-collected, its learner may still hold delivered batches.
        const retained = this.learner && (!this.acceptor || msg.from < this.acceptor.trimmedBelow) ? this.learner.retainedEntries(msg.from, msg.count) : null;
        if (retained && (retained.entries.length > 0 || !this.acceptor)) {
          out.to(from, { t: "catchup-reply", rnd: this.acceptor?.rnd ?? this.highestRound, entries: retained.entries, ...(retained.floor > 0 ? { floor: retained.floor } : {}) });
          return;
        }
        if (this.acceptor) {
          const c = this.acceptor.catchup(msg.from, msg.count);
          const floor = this.acceptor.trimmedBelow;
          out.to(from, {
            t: "catchup-reply",
            rnd: this.acceptor.rnd,
            entries: c.entries,
            ...(c.decisions.length > 0 ? { decisions: c.decisions } : {}),
            ...(c.votes.length > 0 ? { votes: c.votes } : {}),
            ...(floor > 0 ? { floor } : {}),
          });
        }
        return;
      }
      case "decided-value":
        this.proposer?.onToldDecided(msg.client, msg.seq, msg.instance, now, out);
        return;
      case "subscribe":
        this.notifier?.onSubscribe(from, msg.client, msg.seqs, out);
        return;
      case "delivered":
        this.proposer?.onNotice(msg.client, msg.seqs, msg.instances, msg.unplaced, now, out);
        return;
      case "state-ask":
        this.learner?.onStateAsk(from, now, out);
        return;
      case "state":
        this.learner?.onState(from, msg.next, msg.exact, msg.clients, now, out);
        return;
      case "catchup-reply":
        this.seeRound(msg.rnd);
        if (msg.floor !== undefined) this.learner?.onFloor(msg.floor, now);
        this.learner?.onCatchup(msg.entries, now, out);
        // Halves: a value voted at one acceptor and a decision known at another meet in the learner.
        for (const v of msg.votes ?? []) this.learner?.onBatch(v.instance, v.batch, now, out);
        for (const d of msg.decisions ?? []) this.learner?.onDecision(d.instance, d.vid, now, out);
        return;
      default:
        this.onVariantMsg(from, msg, now, out);
    }
  }

  /** Task 2: acceptors promise; U-Ring processes without an acceptor just answer (see URingProcess). */
  protected onPhase1A(from: NodeId, rnd: Round, first: Instance, out: OutputBuilder): void {
    if (!this.acceptor) return;
    const votes = this.acceptor.onPhase1A(rnd, first, out);
    const trimmed = this.acceptor.trimmedBelow;
    if (votes === null) out.to(from, { t: "nack", rnd, promised: this.acceptor.rnd });
    else out.to(from, { t: "1b", rnd, from: first, acceptor: true, votes, ...(trimmed > 0 ? { trimmed } : {}) });
  }

  /**
   * Garbage collection (acceptors): once min(f+1, replicas) replicas applied an instance, every
   * instance below it is freed (RAM) or trimmed (WAL), but for the last retainInstances, kept
   * for learners' catch-up. The coordinator hears the watermark too (it bounds what it proposes).
   */
  private onApplied(from: NodeId, upTo: Instance, now: Tick, out: OutputBuilder): void {
    if (!this.acceptor || !this.acceptor.within(upTo, out, "applied report")) return;
    const w = this.gc.onReport(from, upTo, now);
    if (w === null) return;
    this.coordinator?.onApplied(w, now, out);
    const below = w - this.cfg.retainInstances;
    // Trims go in steps, so that a log does not get one record per report.
    if (below >= this.acceptor.trimmedBelow + GC_STEP_INSTANCES || (below > this.acceptor.trimmedBelow && this.cfg.retainInstances < GC_STEP_INSTANCES))
      this.acceptor.trim(below, out);
  }

  /** What the garbage-collection quorum applied: every instance below it is decided and applied. */
  get appliedWatermark(): Instance {
    return this.gc.watermark;
  }

  /** Replicas left out of the garbage-collection quorum now (silent, or behind; see GcQuorum). */
  gcExcluded(now: Tick): NodeId[] {
    return this.acceptor ? this.gc.excluded(now) : [];
  }

  /** Casts this process' vote; on refusal tells the round's coordinator which round it promised. */
  protected vote(rnd: Round, instance: Instance, batch: Batch, out: OutputBuilder): boolean {
    if (!this.acceptor) return false;
    // Garbage-collected here (decided and applied): not a round matter, so no nack.
    if (instance < this.acceptor.trimmedBelow) return false;
    if (this.acceptor.vote(rnd, instance, batch, out)) return true;
    // Refused for a higher promise: tell the round's coordinator (not for a conflicting 2A).
    if (this.acceptor.rnd > rnd) out.to(roundOwner(rnd, this.cfg.maxNodes), { t: "nack", rnd, promised: this.acceptor.rnd });
    return false;
  }

  /**
   * A decision taken here or learned: every local role hears of it. `batch`: the decided batch
   * when the message carried it; else this process' vote or its learner may hold it.
   */
  protected decide(instance: Instance, vid: Vid, now: Tick, out: OutputBuilder, batch?: Batch | null): void {
    const held = this.coordinator ? (batch ?? this.acceptor?.votedBatch(instance, vid) ?? this.learner?.heldBatch(instance, vid)) : undefined;
    out.decided.push({ instance, vid });
    this.acceptor?.learnDecision(instance, vid, out);
    this.learner?.onDecision(instance, vid, now, out);
    this.coordinator?.onDecision(instance, vid, now, out, held ?? undefined);
  }

  private ackDeliveries(now: Tick, out: OutputBuilder): void {
    const p = this.proposer;
    if (!p) return;
    // onDelivered may append sends but never deliveries, so iterating while it runs is safe.
    for (const d of out.deliver)
      for (const v of d.values) if (v.client === p.clientId) p.onDelivered(v.client, v.seq, d.instance, now, out);
  }
}

/** Rounds and instances within the bounds a correct process can reach (see round.ts). */
function plausible(m: Msg): boolean {
  const inst = (i: number) => i <= MAX_INSTANCE;
  switch (m.t) {
    case "1a":
      return m.rnd <= MAX_ROUND && inst(m.from);
    case "1b":
      return m.rnd <= MAX_ROUND && inst(m.from) && inst(m.trimmed ?? 0) && m.votes.every((v) => inst(v.instance) && v.vrnd <= MAX_ROUND);
    case "applied":
      return inst(m.upTo);
    case "slow-down":
      return true;
    case "nack":
      return m.rnd <= MAX_ROUND && m.promised <= MAX_ROUND;
    case "2a":
      return m.rnd <= MAX_ROUND && inst(m.instance) && m.decisions.every((d) => inst(d.instance));
    case "2b":
    case "2ab":
      return m.rnd <= MAX_ROUND && inst(m.instance);
    case "udecision":
      return m.rnd <= MAX_ROUND && inst(m.instance);
    case "decision":
      return m.decisions.every((d) => inst(d.instance));
    case "catchup":
      return inst(m.from);
    case "catchup-reply":
      return m.rnd <= MAX_ROUND && inst(m.floor ?? 0) && m.entries.every((e) => inst(e.instance)) && (m.votes ?? []).every((e) => inst(e.instance)) && (m.decisions ?? []).every((d) => inst(d.instance));
    case "ring":
    case "heartbeat":
    case "heartbeat-ack":
      return m.rnd <= MAX_ROUND;
    case "decided-value":
      return inst(m.instance);
    case "delivered":
      return m.seqs.length === m.instances.length && m.instances.every(inst);
    case "state":
      return inst(m.next);
    case "subscribe":
    case "value":
    case "hello":
    case "state-ask":
      return true;
  }
}

import { Acceptor } from "./acceptor.ts";
import type { ProtocolConfig } from "./config.ts";
import { GcQuorum } from "./gc.ts";
import { Coordinator } from "./coordinator.ts";
import type { Dissemination, Handler, Handlers, ProcessContext } from "./dissemination.ts";
import { Election, LeadershipWatch } from "./election.ts";
import { Leadership } from "./leadership.ts";
import { Learner, type LearnFrom } from "./learner.ts";
import { Notifier } from "./notifier.ts";
import { OutputBuilder } from "./output.ts";
import { Proposer } from "./proposer.ts";
import { invariant } from "./assert.ts";
import { plausible } from "./plausible.ts";
import type { ProcessStatus } from "./process-status.ts";
import { roundOwner } from "./round.ts";
import type { Batch, Input, Instance, LeadingState, LedgerRecord, Msg, NodeId, Output, Ring, Round, Tick, Vid } from "./types.ts";

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
 * shared; how Phase 2, decisions and values travel is the dissemination strategy's (M-Ring,
 * U-Ring: mring.ts, uring.ts). A step takes one input and returns what to persist, send and
 * deliver; it never performs I/O.
 */
export class RingProcess implements ProcessContext {
  readonly acceptor: Acceptor | null;
  readonly coordinator: Coordinator | null;
  readonly learner: Learner | null;
  readonly proposer: Proposer | null;
  /** A learner's delivery notices to proposers without a learner of their own. */
  readonly notifier: Notifier | null;
  /** Acceptors: failure detection, candidacy and leases (see election.ts). */
  readonly election: Election | null;
  /** Acceptors: what the replicas applied, and the garbage-collection watermark (see GcQuorum). */
  private readonly gc: GcQuorum;
  private readonly leadership: Leadership;
  private readonly dissemination: Dissemination;
  private readonly handlers: Handlers;
  private readonly watch: LeadershipWatch;

  constructor(
    readonly id: NodeId,
    readonly cfg: ProtocolConfig,
    disseminate: (ctx: ProcessContext) => Dissemination,
    opts: ProcessOptions = {},
  ) {
    this.leadership = new Leadership(id, cfg.coordinator, cfg.maxNodes);
    this.dissemination = disseminate(this);
    const isAcceptor = cfg.acceptors.includes(id);
    this.acceptor = isAcceptor ? new Acceptor(id, cfg, opts.recovered ?? []) : null;
    this.coordinator = isAcceptor ? new Coordinator(id, cfg, this.dissemination.coordinatorVariant) : null;
    this.learner = cfg.learners.includes(id) ? new Learner(id, cfg, opts.learnFrom ?? "beginning") : null;
    const learner = this.learner;
    this.notifier = learner ? new Notifier(cfg, (client, seq) => learner.hasDelivered(client, seq)) : null;
    // Without a learner of its own, a proposer follows a replica's notices (any learner if none).
    const sources = (cfg.replicas && cfg.replicas.length > 0 ? cfg.replicas : cfg.learners).filter((l) => l !== id);
    this.proposer = cfg.proposers.includes(id)
      ? new Proposer(opts.clientId ?? id, cfg, (tries) => this.dissemination.route(tries), id, () => this.learner?.deliveringFrom ?? null, this.learner ? null : sources, () => this.learner?.lostBelow ?? 0)
      : null;
    this.gc = new GcQuorum(cfg);
    this.election = isAcceptor ? new Election(id, cfg, (opts.recovered ?? []).length > 0) : null;
    const common = this.commonHandlers();
    for (const t of Object.keys(this.dissemination.handlers)) invariant(!(t in common), `message ${t} has one handler`);
    this.handlers = { ...common, ...this.dissemination.handlers };
    this.watch = new LeadershipWatch(id, this.coordinator, this.election);
  }

  /** The highest round seen established: its owner leads, as far as this process knows. */
  get highestRound(): Round {
    return this.leadership.highestRound;
  }

  /** The ring this process knows (U-Ring; null for M-Ring, whose ring is the coordinator's). */
  get knownRing(): Ring | null {
    return this.dissemination.knownRing;
  }

  /**
   * Evidence that round `rnd` is established and its coordinator alive (Phase 2 traffic, a
   * heartbeat): the election hears of it, and a coordinator of a lower round stands down.
   */
  ownerAlive(rnd: Round, now: Tick, ring: Ring | null = null): void {
    this.roundEstablished(rnd, now, ring);
    this.election?.established(rnd, now);
    const c = this.coordinator;
    if (c?.isActive && rnd > c.round && roundOwner(rnd, this.cfg.maxNodes) !== this.id) c.deactivate();
  }

  /**
   * A process other than its coordinator says round `rnd` is established: client values are
   * routed to its owner, but it is no evidence that the owner is alive (no election input).
   */
  roundEstablished(rnd: Round, now: Tick, ring: Ring | null = null): void {
    this.roundSeen(rnd);
    this.leadership.established(rnd, now, ring);
  }

  /**
   * Any round seen in a message (a 1A, a promise reported in a reply): a new round of this
   * process' coordinator goes above it. Its owner is not followed for that: a candidate that
   * failed Phase 1 leads nothing (see ownerAlive).
   */
  private roundSeen(rnd: Round): void {
    this.coordinator?.observeRound(rnd);
  }

  leaderHint(): NodeId {
    return this.leadership.hint(this.coordinator?.isActive ?? false);
  }

  step(input: Input, now: Tick): Output {
    const out = new OutputBuilder();
    // A held proposal only queues its value: nothing is sent, persisted or delivered, and no role's
    // state but the proposer's queue changes, so the rest of a step has nothing to do (a client
    // proposing hundreds of thousands of values a second makes this the most frequent input).
    if (input.k === "propose" && input.hold === true) {
      this.proposer?.propose(input.payload, now, out, input.group, true);
      return out;
    }
    const before = this.leadingState();
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
        this.dissemination.tick(now, out);
        break;
      case "propose":
        this.proposer?.propose(input.payload, now, out, input.group, input.hold);
        break;
      case "flush":
        this.proposer?.flush(now, out);
        break;
      case "lead":
        this.coordinator?.activate(now, out);
        break;
      case "step-down":
        this.coordinator?.deactivate();
        break;
      case "applied":
        this.learner?.onHostApplied(input.upTo);
        break;
      case "read-index":
        this.askReadIndex(input.id, now, out);
        break;
      case "msg":
        out.source = input.from;
        this.onMsg(input.from, input.msg, now, out);
        break;
    }
    this.ackDeliveries(now, out);
    this.notifier?.onDeliveries(out.deliver, out);
    this.dissemination.flush(out);
    out.leading = changed(before, this.leadingState());
    out.leaderChange = this.watch.observe(input.k, now);
    return out;
  }

  /** A snapshot of every role (see ProcessStatus). */
  status(now: Tick): ProcessStatus {
    const { coordinator: c, acceptor: a, election: e, learner: l, proposer: p } = this;
    const leading = c !== null && c.isActive && c.ring !== null;
    return {
      coordinator: c
        ? {
            active: c.isActive,
            round: c.round,
            ring: c.ring,
            inFlight: c.inFlight,
            flowWindow: c.flowWindow,
            lowestFlowWindow: c.lowestFlowWindow,
            windowCuts: c.windowCuts,
            slowAcceptors: [...c.slowAcceptors()],
            slowRelayouts: c.slowRelayouts,
            catchUpSkips: c.laggingHonoured,
            lease: c.hasLease(now),
          }
        : null,
      acceptor: a ? { promised: a.rnd, applied: this.gc.watermark, trimmedBelow: a.trimmedBelow, heldInstances: a.heldInstances, gcExcludedReplicas: this.gc.excluded(now) } : null,
      election: e ? { leader: e.leader, silence: e.silence(now), suspecting: e.suspecting(now), suspectAfter: e.suspectAfter() } : null,
      learner: l ? { nextInstance: l.nextInstance, delivered: l.delivered, backlog: l.backlog, slowDowns: l.slowDowns, behindGc: l.behindGc, malformedPacks: l.malformedPacks } : null,
      proposer: p ? { clientId: p.clientId, inFlight: p.inFlight, refused: p.refused, resent: p.resent, sendWindow: p.sendWindow.size, sendWindowCuts: p.sendWindow.cuts } : null,
      leadership: leading ? { leader: this.id, ring: c.ring, silence: 0 } : this.leadership.view(now),
    };
  }

  /** This process' coordinator's leadership now (null: no coordinator here). */
  private leadingState(): LeadingState | null {
    const c = this.coordinator;
    if (!c) return null;
    const ring = c.ring;
    return { active: c.isActive, established: c.isActive && ring !== null, round: c.round, ring };
  }

  private onMsg(from: NodeId, msg: Msg, now: Tick, out: OutputBuilder): void {
    if (!plausible(msg)) return;
    (this.handlers[msg.t] as Handler<typeof msg.t> | undefined)?.(from, msg as never, now, out);
  }

  /** Handlers of the messages every variant shares (the strategy adds its own). */
  private commonHandlers(): Handlers {
    return {
      "1a": (from, msg, now, out) => this.onPhase1A(from, msg, now, out),
      "1b": (from, msg, now, out) => this.coordinator?.onPhase1B(from, msg.rnd, msg.acceptor ? msg.votes : null, now, out, msg.trimmed ?? 0),
      applied: (from, msg, now, out) => this.onApplied(from, msg.upTo, now, out),
      "slow-down": (_from, msg, now, out) => {
        // Flow control: the notice travels to the coordinator, which halves its window.
        if (this.coordinator?.isActive) this.coordinator.onSlowDown(now);
        else if (msg.hops < 2 && this.leaderHint() !== this.id) out.to(this.leaderHint(), { ...msg, hops: msg.hops + 1 });
      },
      // Multi-Ring: a merge waits for this ring; its coordinator skips the other rings' lead.
      lagging: (_from, msg, _now, out) => {
        if (this.coordinator?.isActive) this.coordinator.onLagging(msg.at, msg.slots);
        else if (msg.hops < 2 && this.leaderHint() !== this.id) out.to(this.leaderHint(), { ...msg, hops: msg.hops + 1 });
      },
      "read-index": (from, msg, now, out) => out.to(from, { t: "read-index-reply", id: msg.id, index: this.coordinator?.readIndex(now) ?? null }),
      "read-index-reply": (_from, msg, _now, out) => void out.readIndex.push({ id: msg.id, index: msg.index }),
      nack: (from, msg, now, out) => this.onNack(from, msg.rnd, msg.promised, now, out),
      heartbeat: (from, msg, now, out) => this.onHeartbeat(from, msg.rnd, msg.seq, now, out),
      "heartbeat-ack": (from, msg, now) => this.coordinator?.onHeartbeatAck(from, msg.rnd, msg.seq, now),
      catchup: (from, msg, _now, out) => this.serveCatchup(from, msg.from, msg.count, out),
      "catchup-reply": (_from, msg, now, out) => {
        this.roundSeen(msg.rnd);
        if (msg.floor !== undefined) this.learner?.onFloor(msg.floor, now);
        this.learner?.onCatchup(msg.entries, now, out);
        // Halves: a value voted at one acceptor and a decision known at another meet in the learner.
        for (const v of msg.votes ?? []) this.learner?.onBatch(v.instance, v.batch, now, out);
        for (const d of msg.decisions ?? []) this.learner?.onDecision(d.instance, d.vid, now, out);
      },
      "decided-value": (_from, msg, now, out) => this.proposer?.onToldDecided(msg.client, msg.seq, msg.instance, now, out),
      subscribe: (from, msg, _now, out) => this.notifier?.onSubscribe(from, msg.client, msg.seqs, out),
      delivered: (_from, msg, now, out) => this.proposer?.onNotice(msg.client, msg.seqs, msg.instances, msg.unplaced, now, out),
      "state-ask": (from, _msg, now, out) => this.learner?.onStateAsk(from, now, out),
      state: (from, msg, now, out) => this.learner?.onState(from, msg.next, msg.exact, msg.clients, now, out),
    };
  }

  /** The host's read index: from this process' own coordinator when it leads, else asked of the leader it knows. */
  private askReadIndex(id: number, now: Tick, out: OutputBuilder): void {
    if (this.coordinator?.isActive) {
      out.readIndex.push({ id, index: this.coordinator.readIndex(now) });
      return;
    }
    const leader = this.leaderHint();
    if (leader === this.id) out.readIndex.push({ id, index: null });
    else out.to(leader, { t: "read-index", id });
  }

  private onPhase1A(from: NodeId, msg: Extract<Msg, { t: "1a" }>, now: Tick, out: OutputBuilder): void {
    if (this.acceptor && this.election?.refuses(from, now)) {
      // Leased to another coordinator (or just restarted): refused below our promise, which tells the candidate why.
      out.to(from, { t: "nack", rnd: msg.rnd, promised: this.acceptor.rnd });
      return;
    }
    this.roundSeen(msg.rnd);
    if (!this.dissemination.answersPhase1A(from, msg.rnd, msg.from, out)) this.answerPhase1A(from, msg.rnd, msg.from, out);
    // A promise granted: this acceptor now follows the candidate.
    if (this.acceptor?.rnd === msg.rnd) this.election?.promised(msg.rnd, now);
  }

  private onNack(from: NodeId, rnd: Round, promised: Round, now: Tick, out: OutputBuilder): void {
    const verdict = this.coordinator?.onNack(from, rnd, promised, now, out);
    if (verdict === "leased") {
      // A majority leases itself to a live coordinator: stand down, and do not try again soon.
      this.coordinator?.deactivate();
      this.election?.refused(now);
    } else if (verdict === "outranked") {
      // Another candidate's higher round: stand down and give it a chance (no duel); the
      // election's timers decide who tries next if it fails.
      this.coordinator?.deactivate();
      this.election?.established(promised, now);
    }
  }

  private onHeartbeat(from: NodeId, rnd: Round, seq: number, now: Tick, out: OutputBuilder): void {
    if (!this.acceptor) {
      this.ownerAlive(rnd, now);
      return;
    }
    if (rnd < this.acceptor.rnd) {
      // A coordinator behind this acceptor's promise: tell it (it may hold the lease, and move up).
      out.to(from, { t: "nack", rnd, promised: this.acceptor.rnd });
      return;
    }
    this.ownerAlive(rnd, now);
    out.to(from, { t: "heartbeat-ack", rnd, seq });
  }

  private serveCatchup(from: NodeId, first: Instance, count: number, out: OutputBuilder): void {
    // Below what this acceptor garbage-collected, its learner may still hold delivered batches.
    const retained = this.learner && (!this.acceptor || first < this.acceptor.trimmedBelow) ? this.learner.retainedEntries(first, count) : null;
    if (retained && (retained.entries.length > 0 || !this.acceptor)) {
      out.to(from, { t: "catchup-reply", rnd: this.acceptor?.rnd ?? this.highestRound, entries: retained.entries, ...(retained.floor > 0 ? { floor: retained.floor } : {}) });
      return;
    }
    if (!this.acceptor) return;
    const c = this.acceptor.catchup(first, count);
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

  /** Task 2: acceptors promise (U-Ring processes without an acceptor answer in the strategy). */
  answerPhase1A(from: NodeId, rnd: Round, first: Instance, out: OutputBuilder): void {
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

  /** Casts this process' vote; on refusal tells the round's coordinator which round it promised. */
  vote(rnd: Round, instance: Instance, batch: Batch, out: OutputBuilder): boolean {
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
  decide(instance: Instance, vid: Vid, now: Tick, out: OutputBuilder, batch?: Batch | null): void {
    const held = this.coordinator ? (batch ?? this.acceptor?.votedBatch(instance, vid) ?? this.learner?.heldBatch(instance, vid)) : undefined;
    out.decided.push({ instance, vid });
    this.acceptor?.learnDecision(instance, vid, out);
    this.learner?.onDecision(instance, vid, now, out);
    this.coordinator?.onDecision(instance, vid, now, out, held ?? undefined);
  }

  private ackDeliveries(now: Tick, out: OutputBuilder): void {
    const p = this.proposer;
    if (!p) return;
    let settled = false;
    for (const d of out.deliver) for (const v of d.values) if (v.client === p.clientId && p.settle(v.client, v.seq, d.instance, now, out)) settled = true;
    // The freed window is filled once, after every delivery of the step: the queued values go packed.
    if (settled) p.flush(now, out);
  }
}

/** `after` when it differs from `before` (null: the same). */
function changed(before: LeadingState | null, after: LeadingState | null): LeadingState | null {
  if (after === null || before === null) return after === before ? null : after;
  const same = before.active === after.active && before.established === after.established && before.round === after.round && before.ring === after.ring;
  return same ? null : after;
}

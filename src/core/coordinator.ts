import { RetransmitTimer } from "./retransmit-timer.ts";
import { invariant } from "./assert.ts";
import type { ProtocolConfig } from "./config.ts";
import { Batcher } from "./coordinator/batcher.ts";
import { MAX_SKIP_SLOTS, SkipPacer } from "./coordinator/skip-pacer.ts";
import { FlowWindow } from "./coordinator/flow-window.ts";
import { LeaseKeeper } from "./coordinator/lease-keeper.ts";
import { SlowAcceptors } from "./coordinator/slow-acceptors.ts";
import { ValueDedup, valueKey, type ValueId } from "./coordinator/value-dedup.ts";
import type { OutputBuilder } from "./output.ts";
import { leaseQuorum, phase1Quorum } from "./quorum.ts";
import { nextRound, roundOwner } from "./round.ts";
import type { Batch, ClientValue, Instance, NodeId, Ring, Round, Tick, Vid, VoteReport } from "./types.ts";

export { MAX_DECIDED_ELSEWHERE, MAX_RECENT_DECIDED } from "./coordinator/value-dedup.ts";
export { SLOW_FACTOR } from "./coordinator/slow-acceptors.ts";

/** What differs between M-Ring and U-Ring for a coordinator. */
export interface CoordinatorVariant {
  /** Who receives Phase 1A (M-Ring: the acceptors; U-Ring: every process of the ring). */
  readonly phase1Targets: readonly NodeId[];
  /** Lays out the ring of a new round from the processes that answered Phase 1A, slow acceptors off the path of Phase 2 if possible. */
  layout(responders: ReadonlySet<NodeId>, avoid: ReadonlySet<NodeId>): Ring | null;
  /** Sends Phase 2A for one instance (M-Ring: ip-multicast; U-Ring: 2A/2B down the ring). */
  sendPhase2(rnd: Round, instance: Instance, batch: Batch, ring: Ring, out: OutputBuilder): void;
}

/**
 * Bound: the Phase 2 timeout never exceeds this multiple of retransmitTicks (2.56 s at the default
 * 20). U-Ring on capped links queues in its TCP buffers (up to 4 MB a hop here, 0.3 s at 100 Mbit/s):
 * with 640 ms its round trip passed the ceiling, every 2A went again, and the copies took the links.
 */
export const PHASE2_TIMEOUT_CEILING = 128;

interface InFlight {
  readonly batch: Batch;
  /** When its 2A last went (the Phase 2 round trip is measured from there). */
  sentAt: Tick;
  retries: number;
}

interface Phase1 {
  lastSentAt: Tick;
  retries: number;
  /** Acceptors that refused this round's 1A because they lease themselves to another coordinator. */
  readonly leased: Set<NodeId>;
  /** Replies by sender; null for a U-Ring process that is no acceptor. */
  readonly replies: Map<NodeId, readonly VoteReport[] | null>;
  quorumAt: Tick | null;
  /** The highest garbage-collection point reported: every instance below it is decided and applied. */
  trimmed: Instance;
}

type State = { readonly k: "idle" } | { readonly k: "phase1"; readonly p1: Phase1 } | { readonly k: "phase2"; readonly ring: Ring };

/**
 * The coordinator (thesis Algorithms 2 and 3, Tasks 1 and 3) with Multi-Paxos: Phase 1 runs once
 * for every instance >= the first it does not know decided, then Phase 2 proposes batches of
 * client values, at most `window` instances in flight. After Phase 1 it re-proposes the value of
 * the highest-round vote of each instance and fills holes with no-ops.
 *
 * It holds the Paxos state (rounds, Phase 1 and 2, instances in flight, recovery, instance
 * counters); the other concerns keep their own state in src/core/coordinator/: batching
 * (Batcher), value de-duplication (ValueDedup), heartbeats and the lease (LeaseKeeper), flow
 * control and the garbage-collection bound (FlowWindow), slow-acceptor avoidance (SlowAcceptors).
 */
export class Coordinator {
  private active = false;
  private crnd: Round = 0;
  private highestSeen: Round = 0;
  private state: State = { k: "idle" };
  private from: Instance = 0;
  private vidCounter = 0;
  /** Bound: an instance is added only while fewer than the flow window are in flight (canPropose), or carried over a new Phase 1. */
  private readonly inflight = new Map<Instance, InFlight>();
  /** Decided instances at or above firstUndecided. */
  private readonly decidedAbove = new Set<Instance>();
  private firstUndecided: Instance = 0;
  private nextInstance: Instance = 0;
  private lastPhase1At: Tick = -Infinity;
  /**
   * After Phase 1: instances still to re-propose (the highest vote, else our own batch, else a
   * no-op), sent as the window allows rather than all at once.
   */
  private recovery: { next: Instance; readonly top: Instance; readonly highest: Map<Instance, Batch>; readonly mine: Map<Instance, Batch> } | null =
    null;
  private readonly batcher: Batcher;
  /** Multi-Ring: skip instances up to λ per Δ (null: a single ring, no skips). */
  private readonly skips: SkipPacer | null;
  /** Slots owed by the pacer, proposed as one skip instance when the window allows. */
  private pendingSkip = 0;
  /** When this process last learned a decision (null: never): a new leader owes the outage since. */
  private lastDecidedAt: Tick | null = null;
  private readonly dedup = new ValueDedup();
  private readonly lease: LeaseKeeper;
  private readonly flow: FlowWindow;
  private readonly slow: SlowAcceptors;
  /**
   * When an instance's 2A goes again: the Phase 2 round trip measured (RetransmitTimer), never
   * below retransmitTicks (a healthy ring's failover is as fast as before), at most
   * PHASE2_TIMEOUT_CEILING times it, retransmitTicks until the first decision (a longer first
   * timeout made every new leader slow to recover its first lost 2A: the runtime's 10 %-loss test
   * went from 0.2 s to 1–3 s at 8 times it).
   */
  private readonly phase2Timer: RetransmitTimer;

  constructor(
    readonly id: NodeId,
    private readonly cfg: ProtocolConfig,
    private readonly variant: CoordinatorVariant,
  ) {
    this.batcher = new Batcher(cfg);
    this.skips = cfg.multiRing ? new SkipPacer(cfg.multiRing.skipPerInterval, cfg.multiRing.skipIntervalTicks) : null;
    this.lease = new LeaseKeeper(cfg);
    this.flow = new FlowWindow(cfg);
    this.slow = new SlowAcceptors(id, cfg);
    const floor = cfg.retransmitTicks;
    this.phase2Timer = new RetransmitTimer({ floorTicks: floor, initialTicks: floor, ceilingTicks: PHASE2_TIMEOUT_CEILING * floor });
  }

  /** The flow window: instances that may be in flight now (flow control keeps it at most cfg.window). */
  get flowWindow(): number {
    return this.flow.size;
  }
  /** Flow-control notices that halved the window. */
  get windowCuts(): number {
    return this.flow.cuts;
  }
  /** The smallest the flow window has been. */
  get lowestFlowWindow(): number {
    return this.flow.lowest;
  }
  /** Multi-Ring: catch-up notices of merging learners this coordinator honoured (see SkipPacer.lagging). */
  laggingHonoured = 0;

  /** New rounds started to lay slow acceptors out of the path of Phase 2. */
  get slowRelayouts(): number {
    return this.slow.relayouts;
  }
  /** Client values dropped because the pending queue was full. */
  get droppedValues(): number {
    return this.batcher.dropped;
  }
  /** Retransmitted client values dropped because they were already queued, in flight or decided. */
  get duplicateValues(): number {
    return this.dedup.duplicates;
  }

  /** Replicas applied every instance below `w` (garbage collection); may let proposals resume. */
  onApplied(w: Instance, now: Tick, out: OutputBuilder): void {
    if (this.flow.onApplied(w) && this.active) this.proposePending(now, out);
  }

  /** A learner is falling behind (flow control, thesis §3.3.6): halve the window, at most once per notice period. */
  onSlowDown(now: Tick): void {
    if (this.active) this.flow.onSlowDown(now);
  }

  /** Room for one more instance in flight: the window, and the bound beyond what replicas applied. */
  private canPropose(instance: Instance): boolean {
    return this.flow.admits(this.inflight.size, instance);
  }

  get isActive(): boolean {
    return this.active;
  }
  get round(): Round {
    return this.crnd;
  }
  /** The ring of the current round, once Phase 1 completed. */
  get ring(): Ring | null {
    return this.state.k === "phase2" ? this.state.ring : null;
  }
  get inFlight(): number {
    return this.inflight.size;
  }

  activate(now: Tick, out: OutputBuilder): void {
    if (this.active) return;
    this.active = true;
    for (const { instance, values } of this.dedup.takeRemembered()) this.settle(values, instance);
    this.startPhase1(now, out);
  }

  /**
   * Whether this coordinator holds a lease: a quorum of acceptors acked a heartbeat of its current
   * round, so none of them promises another coordinator before the lease ends (by their clocks;
   * counted here from before the heartbeat left, and shortened for clock drift). A restarted
   * coordinator holds none until new acks arrive.
   */
  hasLease(now: Tick): boolean {
    return this.active && this.state.k === "phase2" && this.lease.holds(now);
  }

  /**
   * A read index: the instance after the highest this coordinator proposed (every write that
   * completed before now is below it), while it holds its lease, so that no other coordinator can
   * have decided anything it does not know; null otherwise (no lease, not leading, Phase 1).
   */
  readIndex(now: Tick): Instance | null {
    return this.hasLease(now) ? this.nextInstance : null;
  }

  /** Stands down. The flow window and the GC bound stay: they measure learners and replicas, not who leads. */
  deactivate(): void {
    this.active = false;
    this.slow.reset();
    this.lease.reset();
    this.recovery = null;
    this.state = { k: "idle" };
    this.batcher.reset();
    this.skips?.reset();
    this.pendingSkip = 0;
    this.inflight.clear();
    this.dedup.reset();
  }

  /** Any round seen elsewhere (a nack, a 1A or 2A from another coordinator). */
  observeRound(r: Round): void {
    this.highestSeen = Math.max(this.highestSeen, r);
  }

  /** A client value; `origin` is its proposer's node, answered if the value was decided already. */
  onValue(v: ClientValue, now: Tick, out: OutputBuilder, origin?: NodeId): void {
    if (!this.active) return;
    const key = valueKey(v);
    const seen = this.dedup.retransmission(key);
    if (seen !== null) {
      // A re-send of a value queued here is dropped; of a value already decided, its proposer
      // missed the news: tell it directly.
      if (seen !== "queued" && origin !== undefined) out.to(origin, { t: "decided-value", client: v.client, seq: v.seq, instance: seen });
      return;
    }
    if (!this.batcher.add(v, now)) return;
    this.dedup.queue(key);
    this.proposePending(now, out);
  }

  onPhase1B(from: NodeId, rnd: Round, votes: readonly VoteReport[] | null, now: Tick, out: OutputBuilder, trimmed = 0): void {
    if (!this.active || this.state.k !== "phase1" || rnd !== this.crnd) return;
    if (votes?.some((v) => v.vrnd > rnd)) {
      // An acceptor that promised rnd has voted in no higher round: a forged or broken reply.
      out.conflict(`1B of round ${rnd} reports a vote in a higher round`);
      return;
    }
    const p1 = this.state.p1;
    p1.replies.set(from, votes);
    p1.trimmed = Math.max(p1.trimmed, trimmed);
    if (p1.quorumAt === null && this.acceptorReplies(p1) >= phase1Quorum(this.cfg)) p1.quorumAt = now;
    if (p1.replies.size === this.variant.phase1Targets.length) this.finishPhase1(now, out);
  }

  /**
   * A refusal. "leased": a quorum refused this round's 1A because of another coordinator's lease
   * (it is alive); "outranked": an acceptor promised another coordinator's higher round. Either
   * way this coordinator should stand down rather than duel (the caller decides); only a round
   * of its own (from before a restart, or a lost 1B) makes it start a fresh one at once.
   */
  onNack(from: NodeId, rnd: Round, promised: Round, now: Tick, out: OutputBuilder): "leased" | "outranked" | null {
    if (!this.active || rnd !== this.crnd) {
      this.observeRound(promised);
      return null;
    }
    if (promised < rnd) {
      // Below our round, yet refused: a lease, not a higher promise.
      if (this.state.k !== "phase1") return null;
      const p1 = this.state.p1;
      if (this.cfg.acceptors.includes(from)) p1.leased.add(from);
      return p1.leased.size >= leaseQuorum(this.cfg) ? "leased" : null;
    }
    this.observeRound(promised);
    // A coordinator holding a lease is the one a majority follows: an acceptor ahead of it (a
    // failed candidate's promise) is brought back by a higher round, not obeyed.
    if (roundOwner(promised, this.cfg.maxNodes) !== this.id && !this.hasLease(now)) return "outranked";
    // Our own round number promised already: to us before a lost 1B, or to an incarnation of ours
    // before a restart; either way a fresh round is needed.
    this.startPhase1(now, out);
    return null;
  }

  /** Acceptors whose heartbeat acks are slow: SLOW_FACTOR times the median mean delay, and at least slowAcceptorTicks. */
  slowAcceptors(): ReadonlySet<NodeId> {
    return this.slow.slow();
  }

  /** An acceptor acked heartbeat `seq` of round `rnd`: a quorum of acks starts (or extends) the lease. */
  onHeartbeatAck(from: NodeId, rnd: Round, seq: number, now: Tick): void {
    if (!this.active || rnd !== this.crnd || !this.cfg.acceptors.includes(from)) return;
    this.slow.onAck(from, seq, now);
    this.lease.onAck(from, seq);
  }

  /**
   * Slow-acceptor avoidance: when an acceptor on the path of Phase 2 is slow and a ring without it
   * on that path exists, a new round lays it out (at most once per four suspicion periods).
   */
  private avoidSlow(now: Tick, ring: Ring, out: OutputBuilder): boolean {
    if (this.cfg.slowAcceptorTicks === 0 || now - this.lastPhase1At < 4 * this.cfg.suspectTicks) return false;
    if (!this.slow.wantsRelayout(ring, (responders, avoid) => this.variant.layout(responders, avoid))) return false;
    this.startPhase1(now, out);
    return true;
  }

  private heartbeat(now: Tick, out: OutputBuilder): void {
    const seq = this.lease.next(now);
    if (seq === null) return;
    this.slow.sent(seq, now);
    // To every process: acceptors ack (the lease), the others learn where to send client values.
    for (const p of this.cfg.processes) out.to(p, { t: "heartbeat", rnd: this.crnd, seq });
  }

  /**
   * A decision for `instance`, taken here or learned; `batch`, when this process holds the decided
   * batch (its acceptor voted for it), tells which client values it settled.
   */
  onDecision(instance: Instance, vid: Vid, now: Tick, out: OutputBuilder, batch?: Batch): void {
    invariant(vid.length > 0, "vids are non-empty");
    this.lastDecidedAt = now;
    if (instance < this.firstUndecided || this.decidedAbove.has(instance)) return;
    const f = this.inflight.get(instance);
    // From the last 2A, even when it was sent again (Karn's rule would leave a ring slower than
    // the timeout, where every instance goes again, unmeasured): at worst an underestimate, the
    // old fixed timeout's side. From the first 2A it overestimated under loss: each lost 2A's
    // wait entered the mean, and a lossy cluster recovered ever slower.
    if (f && f.batch.vid === vid) this.phase2Timer.sample(now - f.sentAt);
    // Flow control: the window grows back by one per decision once notices stopped for a while.
    this.flow.onDecision(now);
    if (batch && batch.vid === vid && this.inflight.get(instance)?.batch.vid !== vid) {
      if (this.active) this.settle(batch.values, instance);
      // Settled on activation: an acceptor that does not lead only copies the ids.
      else this.dedup.rememberWhileIdle(instance, batch.values);
    }
    this.noteDecided(instance, vid);
    this.proposePending(now, out);
  }

  /** U-Ring: a process outside the ring wants back in; a new round lays the ring out again. */
  onRejoin(from: NodeId, now: Tick, out: OutputBuilder): void {
    if (!this.active || this.state.k !== "phase2" || this.state.ring.includes(from)) return;
    if (now - this.lastPhase1At < this.cfg.retransmitTicks) return;
    this.startPhase1(now, out);
  }

  tick(now: Tick, out: OutputBuilder): void {
    if (!this.active) return;
    switch (this.state.k) {
      case "idle":
        this.startPhase1(now, out);
        return;
      case "phase1": {
        const p1 = this.state.p1;
        if (p1.quorumAt !== null && now - p1.quorumAt >= this.cfg.phase1GraceTicks) {
          this.finishPhase1(now, out);
        } else if (now - p1.lastSentAt >= this.cfg.retransmitTicks) {
          if (p1.retries >= this.cfg.retriesBeforeNewRound) {
            this.startPhase1(now, out);
          } else {
            p1.retries++;
            p1.lastSentAt = now;
            for (const q of this.variant.phase1Targets)
              if (!p1.replies.has(q)) out.to(q, { t: "1a", rnd: this.crnd, from: this.from });
          }
        }
        return;
      }
      case "phase2": {
        // A higher round established elsewhere makes this coordinator stand down (RingProcess);
        // a higher round only promised elsewhere is met by the nacks of its acceptors.
        this.heartbeat(now, out);
        const ring = this.state.ring;
        if (this.avoidSlow(now, ring, out)) return;
        for (const [instance, f] of this.inflight) {
          if (now - f.sentAt < this.phase2Timer.timeoutTicks) continue;
          if (f.retries >= this.cfg.retriesBeforeNewRound) {
            this.startPhase1(now, out);
            return;
          }
          f.retries++;
          f.sentAt = now;
          this.variant.sendPhase2(this.crnd, instance, f.batch, ring, out);
        }
        if (this.skips) this.pendingSkip = Math.min(MAX_SKIP_SLOTS, this.pendingSkip + this.skips.due(now, this.nextInstance));
        this.proposePending(now, out);
        return;
      }
    }
  }

  private acceptorReplies(p1: Phase1): number {
    let n = 0;
    for (const [from, votes] of p1.replies) if (votes !== null && this.cfg.acceptors.includes(from)) n++;
    return n;
  }

  private startPhase1(now: Tick, out: OutputBuilder): void {
    if (this.recovery) {
      // Batches of ours not yet re-proposed stay ours: the next Phase 1 accounts for them.
      for (const [i, b] of this.recovery.mine) if (!this.inflight.has(i)) this.inflight.set(i, { batch: b, sentAt: now, retries: 0 });
      this.recovery = null;
    }
    this.crnd = nextRound(Math.max(this.crnd, this.highestSeen), this.id, this.cfg.maxNodes);
    this.highestSeen = this.crnd;
    this.from = this.firstUndecided;
    this.lastPhase1At = now;
    this.lease.reset();
    this.state = {
      k: "phase1",
      p1: { lastSentAt: now, retries: 0, replies: new Map(), quorumAt: null, leased: new Set(), trimmed: 0 },
    };
    for (const q of this.variant.phase1Targets) out.to(q, { t: "1a", rnd: this.crnd, from: this.from });
  }

  private finishPhase1(now: Tick, out: OutputBuilder): void {
    invariant(this.state.k === "phase1", "finishing Phase 1 from Phase 1");
    const p1 = this.state.p1;
    const ring = this.variant.layout(new Set(p1.replies.keys()), this.slowAcceptors());
    if (ring === null) {
      // Not enough of the ring answered (for instance our own acceptor promised a higher round).
      this.startPhase1(now, out);
      return;
    }
    // Task 3: per instance, the value of the highest-round vote among the m-quorum that answered.
    // Instances reported decided are re-proposed too: re-proposing the highest vote is always safe,
    // and it spreads again a decision whose messages were lost.
    const highest = new Map<Instance, VoteReport>();
    const decided = new Map<Instance, Vid>();
    let top = this.nextInstance - 1;
    for (const votes of p1.replies.values()) {
      if (votes === null) continue;
      for (const v of votes) {
        top = Math.max(top, v.instance);
        if (v.decided) decided.set(v.instance, v.batch.vid);
        if (this.cfg.bugs?.coordinatorIgnoresVotes) continue;
        const h = highest.get(v.instance);
        if (!h || v.vrnd > h.vrnd) highest.set(v.instance, v);
      }
    }
    // Paxos' core invariant, checked: among a quorum, the highest-round vote is the decided value.
    // A report that contradicts it is forged or broken (the acceptor learned a decision from the
    // network); re-proposing the highest vote stays safe, so it is reported and not trusted.
    if (!this.cfg.bugs)
      for (const [i, vid] of decided)
        if (highest.get(i)?.batch.vid !== vid) out.conflict(`instance ${i}: reported decided ${vid}, not the highest vote`);
    for (const f of this.inflight.keys()) top = Math.max(top, f);
    // Below a garbage-collection point every instance is decided (replicas applied it): nothing to
    // re-propose there, and the acceptors that trimmed would never vote again.
    if (p1.trimmed > this.firstUndecided) this.skipTo(p1.trimmed);
    this.state = { k: "phase2", ring };
    const mine = new Map<Instance, Batch>();
    for (const [i, f] of this.inflight) mine.set(i, f.batch);
    this.inflight.clear();
    const best = new Map<Instance, Batch>();
    for (const [i, v] of highest) best.set(i, v.batch);
    this.recovery = { next: Math.max(this.from, this.firstUndecided), top, highest: best, mine };
    this.nextInstance = Math.max(this.nextInstance, top + 1, this.firstUndecided);
    this.skips?.start(now, this.nextInstance, this.lastDecidedAt === null ? 0 : now - this.lastDecidedAt);
    this.proposePending(now, out);
  }

  /** Re-proposes recovered instances while the window has room; done once past `top`. */
  private recover(now: Tick, ring: Ring, out: OutputBuilder): void {
    const r = this.recovery;
    if (!r) return;
    while (r.next <= r.top && this.canPropose(r.next)) {
      const i = r.next++;
      const mine = r.mine.get(i);
      r.mine.delete(i);
      if (i < this.firstUndecided || this.decidedAbove.has(i)) {
        if (mine) this.forget(mine);
        continue;
      }
      const batch = r.highest.get(i) ?? mine ?? { vid: this.mintVid(), values: [] };
      r.highest.delete(i);
      // Our batch lost its slot to a value voted earlier: its proposers will retry.
      if (mine && mine.vid !== batch.vid) this.forget(mine);
      if (batch !== mine && batch.values.length > 0) {
        // Another coordinator's batch, re-proposed: its values are in flight here now, so a
        // re-sent copy waiting in pending must not go into a batch of its own as well.
        const keys = new Set(batch.values.map(valueKey));
        this.dropPending(keys);
        for (const k of keys) this.dedup.queue(k);
      }
      this.inflight.set(i, { batch, sentAt: now, retries: 0 });
      this.variant.sendPhase2(this.crnd, i, batch, ring, out);
    }
    if (r.next > r.top) this.recovery = null;
  }

  private noteDecided(instance: Instance, vid: Vid): void {
    if (instance < this.firstUndecided) return;
    this.decidedAbove.add(instance);
    const f = this.inflight.get(instance);
    if (f) {
      this.inflight.delete(instance);
      if (f.batch.vid === vid) {
        this.dedup.ownBatchDecided(f.batch.values, instance);
      } else {
        // Another coordinator's value was chosen here: our batch is lost and its proposers retry.
        this.forget(f.batch);
      }
    }
    this.advanceFirstUndecided();
  }

  /** Moves firstUndecided past the instances known decided, and nextInstance along with it. */
  private advanceFirstUndecided(): void {
    while (this.decidedAbove.delete(this.firstUndecided)) this.firstUndecided++;
    if (this.nextInstance < this.firstUndecided) this.nextInstance = this.firstUndecided;
  }

  /**
   * Another coordinator's batch decided at `instance`: its values are decided there, so a copy
   * pending here is dropped instead of being proposed (and delivered, filtered) a second time.
   */
  private settle(values: readonly ValueId[], instance: Instance): void {
    if (values.length === 0) return;
    this.dropPending(this.dedup.batchDecided(values, instance));
  }

  /** Removes pending values with these keys (they are decided, or in flight in another batch). */
  private dropPending(keys: ReadonlySet<string>): void {
    for (const k of this.batcher.remove(keys)) this.dedup.unqueue(k);
  }

  /** Every instance below `t` is decided elsewhere: forget what this coordinator had in flight there. */
  private skipTo(t: Instance): void {
    for (const [i, f] of this.inflight)
      if (i < t) {
        this.inflight.delete(i);
        this.forget(f.batch);
      }
    for (const i of this.decidedAbove) if (i < t) this.decidedAbove.delete(i);
    this.firstUndecided = t;
    this.advanceFirstUndecided();
  }

  private forget(batch: Batch): void {
    this.dedup.forget(batch.values);
  }

  private mintVid(): Vid {
    return `${this.crnd}.${this.vidCounter++}`;
  }

  /** Closes batches while the window has room: full batches at once, a partial one after batchDelayTicks. */
  private proposePending(now: Tick, out: OutputBuilder): void {
    if (this.state.k !== "phase2") return;
    const ring = this.state.ring;
    this.recover(now, ring, out);
    if (this.recovery) return; // holes and recovered values first, in instance order
    if (this.pendingSkip > 0 && this.canPropose(this.nextInstance)) this.proposeSkip(now, ring, out);
    while (this.batcher.size > 0 && this.canPropose(this.nextInstance)) {
      const values = this.batcher.close(now);
      if (values === null) return;
      const batch: Batch = { vid: this.mintVid(), values };
      while (this.decidedAbove.has(this.nextInstance)) this.nextInstance++;
      const instance = this.nextInstance++;
      this.inflight.set(instance, { batch, sentAt: now, retries: 0 });
      this.variant.sendPhase2(this.crnd, instance, batch, ring, out);
    }
  }

  /** Multi-Ring: a learner's merge waits for this ring at `at`, its other rings `slots` ahead (see SkipPacer.lagging). */
  onLagging(at: Instance, slots: number): void {
    // A learner waits at most for the instance this coordinator proposes next: a notice beyond it is forged or stale.
    if (at > this.nextInstance) return;
    if (this.skips?.lagging(at, slots)) this.laggingHonoured++;
  }

  /** One skip instance for every slot the pacer found owed (see SkipPacer). */
  private proposeSkip(now: Tick, ring: Ring, out: OutputBuilder): void {
    const batch: Batch = { vid: this.mintVid(), values: [], skip: this.pendingSkip };
    this.pendingSkip = 0;
    while (this.decidedAbove.has(this.nextInstance)) this.nextInstance++;
    const instance = this.cfg.bugs?.coordinatorSkipsProposedInstance && this.inflight.size > 0 ? this.nextInstance - 1 : this.nextInstance++;
    this.skips?.skipProposed(instance);
    this.inflight.set(instance, { batch, sentAt: now, retries: 0 });
    this.variant.sendPhase2(this.crnd, instance, batch, ring, out);
  }
}

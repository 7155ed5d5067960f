import { invariant } from "./assert.ts";
import { coordinatorLeaseTicks, VALUE_OVERHEAD_BYTES, type ProtocolConfig } from "./config.ts";
import { gcQuorum } from "./gc.ts";
import { FifoMap } from "./fifo-map.ts";
import type { OutputBuilder } from "./output.ts";
import { quorumSize } from "./quorum.ts";
import { nextRound, roundOwner } from "./round.ts";
import type { Batch, ClientValue, Instance, NodeId, Ring, Round, Tick, Vid, VoteReport } from "./types.ts";

/** What differs between M-Ring and U-Ring for a coordinator. */
export interface CoordinatorVariant {
  /** Who receives Phase 1A (M-Ring: the acceptors; U-Ring: every process of the ring). */
  readonly phase1Targets: readonly NodeId[];
  /** Lays out the ring of a new round from the processes that answered Phase 1A, slow acceptors off the path of Phase 2 if possible. */
  layout(responders: ReadonlySet<NodeId>, avoid: ReadonlySet<NodeId>): Ring | null;
  /** Sends Phase 2A for one instance (M-Ring: ip-multicast; U-Ring: 2A/2B down the ring). */
  sendPhase2(rnd: Round, instance: Instance, batch: Batch, ring: Ring, out: OutputBuilder): void;
}

interface InFlight {
  readonly batch: Batch;
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

/** Bound: decided batches of other coordinators remembered (by their value ids) while not leading (see onDecision). */
export const MAX_DECIDED_ELSEWHERE = 1024;

/** Slow-acceptor avoidance: an acceptor is slow when its mean ack delay is this many times the median (and at least slowAcceptorTicks). */
export const SLOW_FACTOR = 4;
/** Bound: heartbeats whose send time is kept to measure ack delays (a later ack counts as at least that old). */
const MAX_ACK_TIMES = 64;

/** Bound: heartbeats whose acks are still counted toward a lease. */
const MAX_HEARTBEATS_TRACKED = 8;

/** Bound: (client, seq) keys remembered as recently decided, to drop late retransmissions. */
export const MAX_RECENT_DECIDED = 65536;

type State = { readonly k: "idle" } | { readonly k: "phase1"; readonly p1: Phase1 } | { readonly k: "phase2"; readonly ring: Ring };

/**
 * The coordinator (thesis Algorithms 2 and 3, Tasks 1 and 3) with Multi-Paxos: Phase 1 runs once
 * for every instance >= the first it does not know decided, then Phase 2 proposes batches of
 * client values, at most `window` instances in flight. After Phase 1 it re-proposes the value of
 * the highest-round vote of each instance and fills holes with no-ops.
 */
export class Coordinator {
  private active = false;
  private crnd: Round = 0;
  private highestSeen: Round = 0;
  private state: State = { k: "idle" };
  private from: Instance = 0;
  private vidCounter = 0;
  private readonly pending: ClientValue[] = [];
  private pendingSince: Tick = 0;
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
  /** Keys (client:seq) of the values pending or in flight here. */
  private readonly queued = new Set<string>();
  /** Keys of values recently decided in batches of this coordinator, with their instance (insertion-ordered, bounded). */
  private readonly recentDecided = new FifoMap<string, Instance>(MAX_RECENT_DECIDED);
  /**
   * While not leading: the values (client, seq, client, seq, ...) of batches decided by other
   * coordinators, by instance (bounded), settled on activation. Ids only: a batch's payloads are
   * views of the datagram that carried it, which a reference would keep alive.
   */
  private readonly decidedElsewhere = new FifoMap<Instance, readonly number[]>(MAX_DECIDED_ELSEWHERE);
  private heartbeatSeq = 0;
  private lastHeartbeatAt: Tick = -Infinity;
  /** Heartbeats of the current round not yet acked by a quorum: when each left, and who acked. */
  private readonly heartbeats = new Map<number, { readonly at: Tick; readonly acks: Set<NodeId> }>();
  private leaseUntil: Tick = -Infinity;
  /** What min(f+1, replicas) replicas applied (garbage collection): no instance is proposed maxUnappliedInstances beyond it. */
  private appliedWatermark: Instance = 0;
  /** Whether replicas report what they applied at all (else nothing bounds proposals by it). */
  private readonly gcOn: boolean;
  /** Flow control: the window in use, halved on a learner's notice and grown back by one per decision. */
  private flowWindow: number;
  private lastCut: Tick = -Infinity;
  /** Flow-control notices that halved the window. */
  windowCuts = 0;
  /** Heartbeat send times (bounded), and each acceptor's mean ack delay (exponentially weighted, ticks). */
  private readonly heartbeatSentAt = new Map<number, Tick>();
  private readonly ackDelay = new Map<NodeId, number>();
  /** New rounds started to lay slow acceptors out of the path of Phase 2. */
  slowRelayouts = 0;
  /** Client values dropped because the pending queue was full. */
  droppedValues = 0;
  /** Retransmitted client values dropped because they were already queued, in flight or decided. */
  duplicateValues = 0;

  constructor(
    readonly id: NodeId,
    private readonly cfg: ProtocolConfig,
    private readonly variant: CoordinatorVariant,
  ) {
    this.flowWindow = cfg.window;
    this.gcOn = gcQuorum(cfg).k > 0;
  }

  /** The window of instances in flight in use now (flow control keeps it at most cfg.window). */
  get window(): number {
    return this.flowWindow;
  }

  /** Replicas applied every instance below `w` (garbage collection); may let proposals resume. */
  onApplied(w: Instance, now: Tick, out: OutputBuilder): void {
    if (w <= this.appliedWatermark) return;
    this.appliedWatermark = w;
    if (this.active) this.proposePending(now, out);
  }

  /** A learner is falling behind (flow control, thesis §3.3.6): halve the window, at most once per notice period. */
  onSlowDown(now: Tick): void {
    if (!this.active || now - this.lastCut < this.cfg.flowNoticeTicks) return;
    this.lastCut = now;
    this.flowWindow = Math.max(1, Math.floor(this.flowWindow / 2));
    this.windowCuts++;
  }

  /** Room for one more instance in flight: the window, and the bound beyond what replicas applied. */
  private canPropose(instance: Instance): boolean {
    if (this.inflight.size >= this.flowWindow) return false;
    const bound = this.cfg.maxUnappliedInstances;
    return bound === 0 || !this.gcOn || instance < this.appliedWatermark + bound;
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
    for (const [i, ids] of [...this.decidedElsewhere.entries()].sort((a, b) => a[0] - b[0])) {
      const values: { client: number; seq: number }[] = [];
      for (let k = 0; k + 1 < ids.length; k += 2) values.push({ client: ids[k] as number, seq: ids[k + 1] as number });
      this.settle(values, i);
    }
    this.decidedElsewhere.clear();
    this.startPhase1(now, out);
  }

  /**
   * Whether this coordinator holds a lease: a quorum of acceptors acked a heartbeat of its current
   * round, so none of them promises another coordinator before the lease ends (by their clocks;
   * counted here from before the heartbeat left, and shortened for clock drift). A restarted
   * coordinator holds none until new acks arrive.
   */
  hasLease(now: Tick): boolean {
    return this.active && this.state.k === "phase2" && now < this.leaseUntil;
  }

  deactivate(): void {
    this.active = false;
    this.ackDelay.clear();
    this.heartbeatSentAt.clear();
    this.leaseUntil = -Infinity;
    this.heartbeats.clear();
    this.recovery = null;
    this.state = { k: "idle" };
    this.pending.length = 0;
    this.inflight.clear();
    this.queued.clear();
  }

  /** Any round seen elsewhere (a nack, a 1A or 2A from another coordinator). */
  observeRound(r: Round): void {
    this.highestSeen = Math.max(this.highestSeen, r);
  }

  /** A client value; `origin` is its proposer's node, answered if the value was decided already. */
  onValue(v: ClientValue, now: Tick, out: OutputBuilder, origin?: NodeId): void {
    if (!this.active) return;
    const key = valueKey(v);
    const decidedAt = this.recentDecided.get(key);
    if (decidedAt !== undefined) {
      // A re-send of a value already decided: its proposer missed the news; tell it directly.
      this.duplicateValues++;
      if (origin !== undefined) out.to(origin, { t: "decided-value", client: v.client, seq: v.seq, instance: decidedAt });
      return;
    }
    if (this.queued.has(key)) {
      this.duplicateValues++;
      return;
    }
    if (this.pending.length >= this.cfg.maxPendingValues) {
      this.droppedValues++;
      return;
    }
    if (this.pending.length === 0) this.pendingSince = now;
    this.pending.push(v);
    this.queued.add(key);
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
    if (p1.quorumAt === null && this.acceptorReplies(p1) >= quorumSize(this.cfg.acceptors.length)) p1.quorumAt = now;
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
      return p1.leased.size >= quorumSize(this.cfg.acceptors.length) ? "leased" : null;
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
  slowAcceptors(): Set<NodeId> {
    const slow = new Set<NodeId>();
    if (this.cfg.slowAcceptorTicks === 0 || this.ackDelay.size < 2) return slow;
    const sorted = [...this.ackDelay.values()].sort((a, b) => a - b);
    const median = sorted[Math.floor((sorted.length - 1) / 2)] as number;
    for (const [a, d] of this.ackDelay) if (a !== this.id && d >= this.cfg.slowAcceptorTicks && d >= SLOW_FACTOR * median) slow.add(a);
    return slow;
  }

  /** An acceptor acked heartbeat `seq` of round `rnd`: a quorum of acks starts (or extends) the lease. */
  onHeartbeatAck(from: NodeId, rnd: Round, seq: number, now: Tick): void {
    if (!this.active || rnd !== this.crnd || !this.cfg.acceptors.includes(from)) return;
    this.noteAckDelay(from, seq, now);
    const h = this.heartbeats.get(seq);
    if (!h) return;
    h.acks.add(from);
    if (h.acks.size < quorumSize(this.cfg.acceptors.length)) return;
    this.leaseUntil = Math.max(this.leaseUntil, h.at + coordinatorLeaseTicks(this.cfg.leaseTicks));
    for (const s of this.heartbeats.keys()) if (s <= seq) this.heartbeats.delete(s);
  }

  private noteAckDelay(from: NodeId, seq: number, now: Tick): void {
    let at = this.heartbeatSentAt.get(seq);
    if (at === undefined) {
      // Older than every heartbeat still tracked: at least as late as the oldest one.
      const oldest = this.heartbeatSentAt.keys().next();
      if (oldest.done || seq > oldest.value) return;
      at = this.heartbeatSentAt.get(oldest.value) as Tick;
    }
    const d = Math.max(0, now - at);
    const prev = this.ackDelay.get(from);
    this.ackDelay.set(from, prev === undefined ? d : 0.8 * prev + 0.2 * d);
  }

  /**
   * Slow-acceptor avoidance: when an acceptor on the path of Phase 2 is slow and a ring without it
   * on that path exists, a new round lays it out (at most once per four suspicion periods).
   */
  private avoidSlow(now: Tick, ring: Ring, out: OutputBuilder): boolean {
    if (this.cfg.slowAcceptorTicks === 0 || now - this.lastPhase1At < 4 * this.cfg.suspectTicks) return false;
    const slow = this.slowAcceptors();
    if (slow.size === 0 || !this.onPath(ring).some((a) => slow.has(a))) return false;
    const better = this.variant.layout(new Set(this.ackDelay.keys()).add(this.id), slow);
    if (better === null || this.onPath(better).some((a) => slow.has(a))) return false;
    this.slowRelayouts++;
    this.startPhase1(now, out);
    return true;
  }

  /** The acceptors of a ring that Phase 2 waits for: the first quorum of them, from the coordinator on. */
  private onPath(ring: Ring): NodeId[] {
    const accs = ring.filter((p) => this.cfg.acceptors.includes(p));
    return accs.slice(0, quorumSize(this.cfg.acceptors.length));
  }

  private heartbeat(now: Tick, out: OutputBuilder): void {
    if (now - this.lastHeartbeatAt < this.cfg.heartbeatTicks) return;
    this.lastHeartbeatAt = now;
    const seq = ++this.heartbeatSeq;
    this.heartbeatSentAt.set(seq, now);
    dropOldest(this.heartbeatSentAt, MAX_ACK_TIMES);
    this.heartbeats.set(seq, { at: now, acks: new Set() });
    dropOldest(this.heartbeats, MAX_HEARTBEATS_TRACKED);
    // To every process: acceptors ack (the lease), the others learn where to send client values.
    for (const p of this.cfg.processes) out.to(p, { t: "heartbeat", rnd: this.crnd, seq });
  }

  /**
   * A decision for `instance`, taken here or learned; `batch`, when this process holds the decided
   * batch (its acceptor voted for it), tells which client values it settled.
   */
  onDecision(instance: Instance, vid: Vid, now: Tick, out: OutputBuilder, batch?: Batch): void {
    invariant(vid.length > 0, "vids are non-empty");
    if (instance < this.firstUndecided || this.decidedAbove.has(instance)) return;
    // Flow control: the window grows back by one per decision once notices stopped for a while.
    if (this.flowWindow < this.cfg.window && now - this.lastCut >= 4 * this.cfg.flowNoticeTicks) this.flowWindow++;
    if (batch && batch.vid === vid && this.inflight.get(instance)?.batch.vid !== vid) {
      if (this.active) this.settle(batch.values, instance);
      else {
        // Settled on activation: an acceptor that does not lead only copies the ids.
        const ids = new Array<number>(2 * batch.values.length);
        let k = 0;
        for (const v of batch.values) {
          ids[k++] = v.client;
          ids[k++] = v.seq;
        }
        this.decidedElsewhere.set(instance, ids);
      }
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
          if (now - f.sentAt < this.cfg.retransmitTicks) continue;
          if (f.retries >= this.cfg.retriesBeforeNewRound) {
            this.startPhase1(now, out);
            return;
          }
          f.retries++;
          f.sentAt = now;
          this.variant.sendPhase2(this.crnd, instance, f.batch, ring, out);
        }
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
    this.leaseUntil = -Infinity;
    this.heartbeats.clear();
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
        for (const k of keys) this.queued.add(k);
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
        for (const v of f.batch.values) {
          const key = valueKey(v);
          this.queued.delete(key);
          // The first instance holding a value is where learners deliver it (later copies are
          // filtered): a proposer is told that one.
          if (!this.recentDecided.has(key)) this.recentDecided.set(key, instance);
        }
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
  private settle(values: readonly { readonly client: number; readonly seq: number }[], instance: Instance): void {
    if (values.length === 0) return;
    const keys = new Set<string>();
    for (const v of values) {
      const key = valueKey(v);
      keys.add(key);
      if (!this.recentDecided.has(key)) this.recentDecided.set(key, instance);
    }
    this.dropPending(keys);
  }

  /** Removes pending values with these keys (they are decided, or in flight in another batch). */
  private dropPending(keys: ReadonlySet<string>): void {
    let w = 0;
    for (const v of this.pending) {
      const key = valueKey(v);
      if (keys.has(key)) this.queued.delete(key);
      else this.pending[w++] = v;
    }
    this.pending.length = w;
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
    for (const v of batch.values) this.queued.delete(valueKey(v));
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
    while (this.pending.length > 0 && this.canPropose(this.nextInstance)) {
      let bytes = 0;
      let n = 0;
      while (n < this.pending.length) {
        const size = (this.pending[n] as ClientValue).payload.byteLength + VALUE_OVERHEAD_BYTES;
        if (n > 0 && bytes + size > this.cfg.batchBytes) break;
        bytes += size;
        n++;
      }
      const full = n < this.pending.length || bytes >= this.cfg.batchBytes;
      if (!full && now - this.pendingSince < this.cfg.batchDelayTicks) return;
      const values = this.pending.splice(0, n);
      this.pendingSince = now;
      const batch: Batch = { vid: this.mintVid(), values };
      while (this.decidedAbove.has(this.nextInstance)) this.nextInstance++;
      const instance = this.nextInstance++;
      this.inflight.set(instance, { batch, sentAt: now, retries: 0 });
      this.variant.sendPhase2(this.crnd, instance, batch, ring, out);
    }
  }
}

/** Keeps a bounded, insertion-ordered map at `max` entries by dropping its oldest. */
function dropOldest<K, V>(m: Map<K, V>, max: number): void {
  for (const k of m.keys()) {
    if (m.size <= max) return;
    m.delete(k);
  }
}

function valueKey(v: { readonly client: number; readonly seq: number }): string {
  return `${v.client}:${v.seq}`;
}

import type { ProtocolConfig } from "./config.ts";
import { invariant } from "./assert.ts";
import { gcQuorum } from "./gc.ts";
import type { OutputBuilder } from "./output.ts";
import { DuplicateFilter } from "./duplicate-filter.ts";
import { unpack } from "./pack.ts";
import type { Batch, ClientFilter, ClientValue, Instance, NodeId, Tick, Vid } from "./types.ts";

export { MAX_OUT_OF_ORDER_SEQS } from "./duplicate-filter.ts";

/**
 * Where a learner starts: "beginning" delivers every instance from 0 (an application replica);
 * "first-seen" from the first decision it sees (a client's learner, which only needs to see its
 * own values decided: a new client incarnation must not replay the whole history first);
 * `{ instance }` from that instance (a replica resuming where its output ends, or a fresh consumer),
 * with the (client, seq) of values it delivered just before, so that re-sent copies decided again
 * later are still filtered.
 */
export type LearnFrom = "beginning" | "first-seen" | { readonly instance: Instance; readonly delivered?: readonly { readonly client: number; readonly seq: number }[] };

/** Bound on the clients of a duplicate filter sent to another learner (a state transfer). */
export const MAX_STATE_CLIENTS = 65_536;
/** Bound on distinct batches (rounds) a learner keeps for one undelivered instance. */
export const MAX_BATCHES_PER_INSTANCE = 8;

/**
 * The learner: delivers decided batches in instance order, each client value at most once.
 * It holds values it saw proposed and decisions it saw taken, and when it cannot deliver the next
 * instance for a while it asks its preferred acceptor (then the next) to retransmit - which covers
 * the thesis' three loss cases: value without decision, decision without value, neither.
 */
export class Learner {
  private next: Instance = 0;
  /** False until a "first-seen" learner saw its first decision (it delivers from there on). */
  private anchored: boolean;
  private highestKnown: Instance = -1;
  private readonly decisions = new Map<Instance, Vid>();
  private readonly batches = new Map<Instance, Map<Vid, Batch>>();
  private readonly filter: DuplicateFilter;
  private lastProgress: Tick = 0;
  private lastAsked: Tick = -Infinity;
  private preferred: number;
  /** The last delivered batches (at most learnerRetainInstances), served to learners behind. */
  private readonly retained = new Map<Instance, Batch>();
  /** Acceptors garbage-collected everything below this: catch-up turns to other learners for it. */
  private gcFloor: Instance = 0;
  /** Behind gcFloor without progress since (null: not stuck); and the lowest floor above `next` heard since. */
  private stuckSince: Tick | null = null;
  private lowestFloor: Instance = Infinity;
  private lastStateAsk: Tick = -Infinity;
  /** When each peer was last sent this learner's state (bounded by the configured replicas). */
  private readonly stateSentAt = new Map<NodeId, Tick>();
  /** The end of the last range this learner gave up as lost (0: none; see whenStuck). */
  lostBelow: Instance = 0;
  private nextPeer = 0;
  private readonly peers: readonly NodeId[];
  /** A replica reports what it applied (garbage collection); a client's learner does not. */
  private readonly replica: boolean;
  private lastApplied: Tick = -Infinity;
  /** What the host applied (see Input "applied"); null: the host applies each delivery at once. */
  private hostApplied: Instance | null = null;
  private lastSlowDown: Tick = -Infinity;
  /** Values delivered (after duplicates were removed). */
  delivered = 0;
  /** Packs refused for not holding the values they claim (a broken or hostile client; every learner refuses the same). */
  malformedPacks = 0;
  /** Flow-control notices sent. */
  slowDowns = 0;

  constructor(
    readonly id: NodeId,
    private readonly cfg: ProtocolConfig,
    from: LearnFrom = "beginning",
  ) {
    this.anchored = from !== "first-seen";
    this.filter = new DuplicateFilter(from === "beginning");
    if (typeof from === "object") {
      this.next = from.instance;
      for (const v of from.delivered ?? []) this.filter.firstTime(v.client, v.seq, null);
    }
    const idx = Math.max(0, cfg.learners.indexOf(id));
    this.preferred = idx % cfg.acceptors.length;
    const { replicas } = gcQuorum(cfg);
    this.replica = from !== "first-seen" && replicas.includes(id);
    this.peers = replicas.filter((p) => p !== id);
  }

  /** Instances this learner knows of beyond what it could deliver (lost or late messages, or a slow application). */
  get backlog(): number {
    return Math.max(0, this.highestKnown - this.next + 1);
  }

  /** Behind what every acceptor still holds, with no learner that retained it answering so far. */
  get behindGc(): boolean {
    return this.next < this.gcFloor;
  }

  /** Delivered batches this learner retained, for a learner behind: [from, from+count). */
  retainedEntries(from: Instance, count: number): { entries: { instance: Instance; batch: Batch }[]; floor: Instance } {
    const entries: { instance: Instance; batch: Batch }[] = [];
    const n = Math.min(count, this.cfg.catchupBatch);
    for (let i = from; i < from + n; i++) {
      const b = this.retained.get(i);
      if (!b) break;
      entries.push({ instance: i, batch: b });
    }
    return { entries, floor: Math.max(0, this.next - this.retained.size) };
  }

  /** Whether this learner still holds delivered instance `i` for others. */
  retains(i: Instance): boolean {
    return this.retained.has(i);
  }

  /** A catch-up source holds nothing below `floor`: below it, ask other learners. */
  onFloor(floor: Instance, now: Tick): void {
    this.gcFloor = Math.max(this.gcFloor, floor);
    if (floor <= this.next) return;
    this.lowestFloor = Math.min(this.lowestFloor, floor);
    this.stuckSince ??= now;
  }

  /**
   * Behind what every process retains for catchupGiveUpTicks: the instances up to the lowest floor
   * heard are lost to this learner. It asks another learner for its state first (a state transfer:
   * its next instance and duplicate filter, so that it goes on filtering exactly as the others);
   * with no answer for another catchupGiveUpTicks, it goes on from the lowest floor with a filter
   * that did not see the whole history. Either way it says so (Output.lost: never a silent skip).
   */
  private whenStuck(now: Tick, out: OutputBuilder): void {
    if (this.stuckSince === null || !this.behindGc) return;
    const stuck = now - this.stuckSince;
    if (stuck < this.cfg.catchupGiveUpTicks) return;
    if (stuck >= 2 * this.cfg.catchupGiveUpTicks || this.peers.length === 0) {
      this.filter.loosen();
      this.jumpTo(this.lowestFloor, null, now, out);
      return;
    }
    if (now - this.lastStateAsk < this.cfg.catchupTicks) return;
    this.lastStateAsk = now;
    this.nextPeer++;
    out.to(this.peers[this.nextPeer % this.peers.length] as NodeId, { t: "state-ask" });
  }

  /**
   * Another replica asks for this one's state (see whenStuck); one that is stuck itself has none
   * worth sending. A state may be large (a filter of many clients): each peer gets at most one
   * per catchupTicks, however often it asks.
   */
  onStateAsk(from: NodeId, now: Tick, out: OutputBuilder): void {
    if (!this.replica || this.behindGc || !this.peers.includes(from)) return;
    if (now - (this.stateSentAt.get(from) ?? -Infinity) < this.cfg.catchupTicks) return;
    this.stateSentAt.set(from, now);
    out.to(from, { t: "state", next: this.next, ...this.filter.snapshot(MAX_STATE_CLIENTS) });
  }

  /** A learner's state (see onStateAsk): taken only while stuck, from a peer, and only if it is ahead. */
  onState(from: NodeId, next: Instance, exact: boolean, clients: readonly ClientFilter[], now: Tick, out: OutputBuilder): void {
    if (!this.behindGc || !this.peers.includes(from) || next <= this.next) return;
    this.filter.install(exact, clients);
    this.jumpTo(next, from, now, out);
  }

  /** Goes on from `to`; [next, to) is lost to this learner (reported), with a filter taken from `stateFrom` (or none). */
  private jumpTo(to: Instance, stateFrom: NodeId | null, now: Tick, out: OutputBuilder): void {
    const from = this.next;
    out.lost.push({ from, to, stateFrom, exact: this.filter.exact });
    this.lostBelow = to;
    for (const i of this.batches.keys()) if (i < to) this.batches.delete(i);
    for (const i of this.decisions.keys()) if (i < to) this.decisions.delete(i);
    // What it retained no longer ends where it delivers: others must not be told it holds a prefix.
    this.retained.clear();
    this.next = to;
    this.progressed(now);
    this.deliverReady(now, out);
  }

  private progressed(now: Tick): void {
    this.lastProgress = now;
    this.stuckSince = null;
    this.lowestFloor = Infinity;
  }

  /** The next instance to deliver; every instance below it was delivered. */
  get nextInstance(): Instance {
    return this.next;
  }

  /** The next instance to deliver once this learner delivers in order; null before a "first-seen" learner anchored. */
  get deliveringFrom(): Instance | null {
    return this.anchored ? this.next : null;
  }

  /** A batch proposed for `instance` (Phase 2A, a circulating decision, or a retransmission). */
  onBatch(instance: Instance, batch: Batch, now: Tick, out: OutputBuilder): void {
    if (!this.inWindow(instance)) return;
    this.highestKnown = Math.max(this.highestKnown, instance);
    let m = this.batches.get(instance);
    if (!m) this.batches.set(instance, (m = new Map()));
    if (!m.has(batch.vid)) {
      if (m.size >= MAX_BATCHES_PER_INSTANCE) m.delete(m.keys().next().value as Vid);
      m.set(batch.vid, batch);
    }
    if (this.cfg.bugs?.learnerDeliversEarly && !this.decisions.has(instance)) this.decisions.set(instance, batch.vid);
    this.deliverReady(now, out);
  }

  onDecision(instance: Instance, vid: Vid, now: Tick, out: OutputBuilder): void {
    if (!this.anchored) {
      this.anchored = true;
      this.next = instance;
      for (const i of this.batches.keys()) if (!this.inWindow(i)) this.batches.delete(i);
    }
    if (!this.inWindow(instance)) return;
    this.highestKnown = Math.max(this.highestKnown, instance);
    const known = this.decisions.get(instance);
    if (known === vid) return;
    if (known !== undefined) {
      if (this.cfg.bugs?.learnerDeliversEarly) return;
      // One of the two is forged (or a peer is broken): trust neither; catch-up asks acceptors.
      out.conflict(`second decision for instance ${instance} (${vid}, known ${known})`);
      this.decisions.delete(instance);
      return;
    }
    this.decisions.set(instance, vid);
    this.deliverReady(now, out);
  }

  /** The batch with id `vid` this learner holds for an undelivered `instance`, if any. */
  heldBatch(instance: Instance, vid: Vid): Batch | undefined {
    return this.batches.get(instance)?.get(vid);
  }

  /** The host applied the deliveries below `upTo`: from now on the applied reports say that (never more than was delivered). */
  onHostApplied(upTo: Instance): void {
    invariant(upTo <= this.next, `the host applied only what was delivered (${upTo} > ${this.next})`);
    this.hostApplied = Math.max(this.hostApplied ?? 0, upTo);
  }

  /**
   * Entries an acceptor retransmitted: decided batches. A full reply that moved this learner on
   * says more is waiting: the next ask goes at once. Waiting for catchupTicks without progress
   * between asks paced a learner far behind at one batch of instances per period, slower than the
   * ring proposes; and while it held the cluster back (garbage collection waits for it) the whole
   * cluster stayed at that pace after the learner was well again.
   */
  onCatchup(entries: readonly { instance: Instance; batch: Batch }[], now: Tick, out: OutputBuilder): void {
    const before = this.next;
    for (const e of entries) {
      this.onBatch(e.instance, e.batch, now, out);
      this.onDecision(e.instance, e.batch.vid, now, out);
    }
    if (entries.length >= this.cfg.catchupBatch && this.next > before && !this.behindGc) {
      this.lastAsked = now;
      out.to(this.catchupSource(), { t: "catchup", from: this.next, count: this.cfg.catchupBatch });
    }
  }

  /**
   * Reports what this replica applied (garbage collection), asks the coordinator to slow down when
   * far behind (flow control), and asks for retransmission after catchupTicks without progress:
   * its preferred acceptor, then the next; other learners for what acceptors garbage-collected.
   */
  tick(now: Tick, out: OutputBuilder): void {
    if (!this.anchored) return;
    if (this.replica && this.cfg.appliedTicks > 0 && now - this.lastApplied >= this.cfg.appliedTicks) {
      this.lastApplied = now;
      const upTo = this.hostApplied ?? this.next;
      for (const a of this.cfg.acceptors) out.to(a, { t: "applied", upTo });
    }
    // Behind what every process trimmed, it waits for a state, not for the ring: slowing the
    // coordinator down would only slow every other replica too.
    if (!this.behindGc && this.backlog > this.cfg.flowBacklogInstances && now - this.lastSlowDown >= this.cfg.flowNoticeTicks) {
      this.lastSlowDown = now;
      this.slowDowns++;
      out.to(this.cfg.acceptors[this.preferred % this.cfg.acceptors.length] as NodeId, { t: "slow-down", backlog: this.backlog, hops: 0 });
    }
    this.whenStuck(now, out);
    if (now - this.lastProgress < this.cfg.catchupTicks || now - this.lastAsked < this.cfg.catchupTicks) return;
    // Without evidence of a gap, poll rarely: the last decisions may have been lost without trace.
    const gap = this.highestKnown >= this.next || this.behindGc;
    if (!gap && now - this.lastAsked < 4 * this.cfg.catchupTicks) return;
    this.lastAsked = now;
    out.to(this.catchupSource(), { t: "catchup", from: this.next, count: this.cfg.catchupBatch });
  }

  private catchupSource(): NodeId {
    if (this.behindGc && this.peers.length > 0) {
      // Every other ask goes to an acceptor still: the floor it reported may be stale (a restart).
      this.nextPeer++;
      if (this.nextPeer % 4 !== 0) return this.peers[this.nextPeer % this.peers.length] as NodeId;
    }
    const acceptor = this.cfg.acceptors[this.preferred % this.cfg.acceptors.length] as NodeId;
    this.preferred = (this.preferred + 1) % this.cfg.acceptors.length;
    return acceptor;
  }

  private inWindow(instance: Instance): boolean {
    // Not anchored yet: keep at most learnerBufferInstances batches, whatever their instance.
    if (!this.anchored) return this.batches.has(instance) || this.batches.size < this.cfg.learnerBufferInstances;
    return instance >= this.next && instance < this.next + this.cfg.learnerBufferInstances;
  }

  private deliverReady(now: Tick, out: OutputBuilder): void {
    for (;;) {
      const vid = this.decisions.get(this.next);
      if (vid === undefined) return;
      const batch = this.batches.get(this.next)?.get(vid);
      if (!batch) return;
      const { values, positions } = this.firstTimeValues(batch.values, out);
      out.deliver.push({ instance: this.next, vid, values, ...(positions ? { positions } : {}), ...(batch.skip === undefined ? {} : { skip: batch.skip }) });
      this.delivered += values.length;
      this.decisions.delete(this.next);
      this.batches.delete(this.next);
      if (this.replica && this.cfg.learnerRetainInstances > 0) {
        this.retained.set(this.next, batch);
        this.retained.delete(this.next - this.cfg.learnerRetainInstances);
      }
      this.next++;
      this.progressed(now);
    }
  }

  /**
   * The values of a batch not delivered before, packs split into their values (see pack.ts), and,
   * when some were left out, the place of each among all of them (Delivery.positions).
   */
  private firstTimeValues(values: readonly ClientValue[], out: OutputBuilder): { values: ClientValue[]; positions?: number[] } {
    const fresh: ClientValue[] = [];
    const places: number[] = [];
    let place = 0;
    const offer = (v: ClientValue): void => {
      if (this.filter.firstTime(v.client, v.seq, out)) {
        fresh.push(v);
        places.push(place);
      }
      place++;
    };
    for (const v of values) {
      if (v.packed === undefined) {
        offer(v);
        continue;
      }
      const inner = unpack(v);
      if (inner === null) {
        this.malformedPacks++;
        // A malformed pack counts as one place, at every replica alike.
        place++;
        continue;
      }
      for (const u of inner) offer(u);
    }
    return fresh.length === place ? { values: fresh } : { values: fresh, positions: places };
  }

  /** Whether this learner delivered (client, seq) (as far as its duplicate filter remembers). */
  hasDelivered(client: number, seq: number): boolean {
    return this.filter.has(client, seq);
  }
}

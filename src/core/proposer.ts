import { RetransmitTimer } from "./retransmit-timer.ts";
import { SendWindow } from "./send-window.ts";
import { VALUE_OVERHEAD_BYTES, type ProtocolConfig } from "./config.ts";
import { MAX_PACK_VALUES, PACK_VALUE_OVERHEAD_BYTES, packPayload } from "./pack.ts";
import { MAX_NOTICE_SEQS, noticeSpan, SUBSCRIPTION_PERIODS, subscribeTicks } from "./notifier.ts";
import type { OutputBuilder } from "./output.ts";
import type { ClientValue, Instance, Msg, NodeId, Tick } from "./types.ts";

/** A value, or a pack of values (pack.ts), sent and not yet delivered. */
interface Outstanding {
  readonly v: ClientValue;
  /** Its values not yet delivered (a pack's are delivered together, but told one by one). */
  pending: number;
  /** Its delivery time was measured (once per value or pack). */
  measured: boolean;
  /** When it was first sent, and last sent. */
  readonly firstSentAt: Tick;
  sentAt: Tick;
  tries: number;
  /** A coordinator said the value is decided at this instance; no learner said where it is delivered yet. */
  toldAt?: Instance;
}

/** Where a proposer sends a value on its n-th try (variant-specific). */
export type Route = (tries: number) => NodeId;

/** Bound: a value's re-send timeout doubles per try up to this many times (4x). */
export const MAX_BACKOFF_DOUBLINGS = 2;
/** The timeout before anything is measured, as a multiple of proposerTimeoutTicks (TCP starts at 1 s: RFC 6298). */
export const INITIAL_TIMEOUT_FACTOR = 8;
/**
 * Bound: the measured timeout never exceeds this multiple of proposerTimeoutTicks (1.28 s at the
 * default 80 ms); a cluster slower than that re-sends, and its proposers' send windows shrink
 * until it is not (send-window.ts).
 */
export const MAX_TIMEOUT_FACTOR = 16;
/**
 * Bound: no value waits longer than this multiple of proposerTimeoutTicks for its next send,
 * backoff included: how long a value lost after a partition heals can stay lost (the
 * simulators' liveness bounds after healing: 2 s for Multi-Ring). The ceiling itself: a value
 * at the ceiling is not backed off further.
 */
export const MAX_WAIT_FACTOR = 16;

/**
 * The proposer (client side): numbers its values (client, seq), keeps at most `proposerWindow`
 * in flight, re-sends a value not delivered in time, and reports each value once it is delivered.
 *
 * It learns of deliveries from its co-located learner, or, without one, from the notices of a
 * learner it subscribes to (notifier.ts): a client then need not receive every batch. It renews
 * the subscription every subscribeTicks while it has values in flight, and turns to the next
 * learner when no notice came for SUBSCRIPTION_PERIODS of them while a value waited as long.
 *
 * "In time" adapts as TCP's retransmission timer does (RFC 6298): the smoothed time from send
 * to delivery plus four deviations (at least plus itself), never below proposerTimeoutTicks nor
 * above MAX_TIMEOUT_FACTOR times it (it starts at INITIAL_TIMEOUT_FACTOR times it), doubled
 * for each re-send of the same value (at most MAX_BACKOFF_DOUBLINGS times, and never past
 * MAX_WAIT_FACTOR times the floor in all). As in TCP, only deliveries of values sent once are measured
 * (Karn: after a re-send, which copy was delivered is unknown), and each tick that re-sends
 * doubles the wait of every value, sent before or after, until such a measurement arrives;
 * otherwise a cluster slower than the timeout, where every value is re-sent, would never be
 * measured. A fixed timeout re-sent every value of a loaded cluster whose latency had grown
 * past it, and the re-sends (each a whole value, decoded and filtered by the coordinator) ate
 * the CPU the cluster lacked: throughput collapsed to a fraction.
 */
export class Proposer {
  private nextSeq = 0;
  /** Every seq in flight, to what carries it (a pack's seqs share one entry). */
  private readonly outstanding = new Map<number, Outstanding>();
  /** The same entries once each, by their first seq: what re-sends walk. */
  private readonly sent = new Map<number, Outstanding>();
  private readonly queue: ClientValue[] = [];
  /** Values refused because the queue was full. */
  refused = 0;
  /** Re-sends made. */
  resent = 0;
  /** The delivery time measured, and the timeout it gives (RetransmitTimer). */
  private readonly timer: RetransmitTimer;
  /** Doublings in force for every value until the next measurement (see the class comment). */
  private backoff = 0;
  /** How many values may be in flight now (a congestion window up to proposerWindow: send-window.ts). */
  private readonly window: SendWindow;
  /** No co-located learner, and learners to follow: delivery notices tell of deliveries. */
  private readonly followsNotices: boolean;
  /** Without a co-located learner: the learner subscribed to (index into `notices`), and when. */
  private noticeFrom = 0;
  private lastSubscribed: Tick = -Infinity;
  private lastNotice: Tick = -Infinity;
  /** Learners turned away from (no notice in time). */
  learnerSwitches = 0;
  /** Values reported at the coordinator's instance, no learner having said where they were delivered. */
  tookCoordinatorsWord = 0;

  constructor(
    readonly clientId: number,
    private readonly cfg: ProtocolConfig,
    private readonly route: Route,
    /** This proposer's node, named in its values so that the coordinator can answer it. */
    private readonly origin?: NodeId,
    /** The co-located learner's next instance to deliver, once it delivers in order (null: none, or not yet anchored). */
    private readonly delivering: () => Instance | null = () => null,
    /** No co-located learner: the learners to subscribe to for notices (null: it has one, or there is none). */
    private readonly notices: readonly NodeId[] | null = null,
    /** The co-located learner gave up every instance below this as lost (0: none; see LostRange). */
    private readonly lostBelow: () => Instance = () => 0,
  ) {
    this.window = new SendWindow(cfg.proposerWindow);
    const floor = cfg.proposerTimeoutTicks;
    this.timer = new RetransmitTimer({ floorTicks: floor, initialTicks: INITIAL_TIMEOUT_FACTOR * floor, ceilingTicks: MAX_TIMEOUT_FACTOR * floor });
    this.followsNotices = notices !== null && notices.length > 0;
    if (notices !== null && this.followsNotices) this.noticeFrom = (origin ?? clientId) % notices.length;
  }

  /** The learner whose notices this proposer follows (null: it has a learner of its own). */
  get subscribedTo(): NodeId | null {
    return this.notices !== null && this.followsNotices ? (this.notices[this.noticeFrom % this.notices.length] as NodeId) : null;
  }

  get inFlight(): number {
    return this.outstanding.size + this.queue.length;
  }

  /** Values that may be in flight now, and the cuts made to that for late values (SendWindow). */
  get sendWindow(): { readonly size: number; readonly cuts: number } {
    return { size: this.window.size, cuts: this.window.cuts };
  }

  /**
   * Takes the value with its (client, seq), or refuses it when the proposer is saturated (both
   * told in the output). `hold`: queue it without sending; a later `flush` (or tick) sends what
   * is queued, packed (pack.ts): a host that proposes several values in one turn of its event
   * loop holds them and flushes at the turn's end.
   */
  propose(payload: Uint8Array, now: Tick, out: OutputBuilder, group?: number, hold = false): void {
    if (this.queue.length >= this.cfg.proposerQueue) {
      this.refused++;
      out.refused = true;
      return;
    }
    const v: ClientValue = group ? { client: this.clientId, seq: this.nextSeq++, payload, group } : { client: this.clientId, seq: this.nextSeq++, payload };
    out.proposed = { client: v.client, seq: v.seq };
    this.queue.push(v);
    if (!hold) this.sendQueued(now, out);
  }

  /** Sends the values held (see propose). */
  flush(now: Tick, out: OutputBuilder): void {
    this.sendQueued(now, out);
  }

  /** The co-located learner delivered (client, seq) at `instance`. */
  onDelivered(client: number, seq: number, instance: Instance | null, now: Tick, out: OutputBuilder): void {
    if (this.settle(client, seq, instance, now, out)) this.sendQueued(now, out);
  }

  /** Marks (client, seq) delivered without sending more yet (the caller flushes); whether it was in flight here. */
  settle(client: number, seq: number, instance: Instance | null, now: Tick, out: OutputBuilder): boolean {
    const o = client === this.clientId ? this.outstanding.get(seq) : undefined;
    if (!o) return false;
    this.outstanding.delete(seq);
    if (--o.pending === 0) this.sent.delete(o.v.seq);
    if (o.tries === 0 && !o.measured) this.measure(now - o.sentAt);
    o.measured = true;
    this.window.delivered(1);
    out.acked.push({ client, seq, instance });
    return true;
  }

  /** Every value of `o` not yet reported is delivered at `instance`. */
  private settleAll(o: Outstanding, instance: Instance | null, now: Tick, out: OutputBuilder): void {
    const n = o.v.packed ?? 1;
    for (let q = o.v.seq; q < o.v.seq + n; q++) if (this.outstanding.get(q) === o) this.settle(o.v.client, q, instance, now, out);
  }

  /**
   * A learner's notice: seqs[k] of `client` was delivered at instances[k]. `unplaced`: values the
   * learner delivered without remembering where; a coordinator's word is all there is for those.
   */
  onNotice(client: number, seqs: readonly number[], instances: readonly Instance[], unplaced: readonly number[], now: Tick, out: OutputBuilder): void {
    if (client !== this.clientId) return;
    this.lastNotice = now;
    for (let k = 0; k < seqs.length && k < instances.length; k++) this.settle(client, seqs[k] as number, instances[k] as Instance, now, out);
    for (const q of unplaced) {
      const o = this.outstanding.get(q);
      if (o?.toldAt === undefined) continue;
      this.tookCoordinatorsWord++;
      this.settle(client, q, o.toldAt, now, out);
    }
    this.sendQueued(now, out);
  }

  /**
   * A coordinator found (client, seq) decided at `instance` when the value came again. Learners
   * deliver a value at the first instance holding it, which a coordinator that never saw an
   * earlier copy cannot know: while the co-located learner has not yet passed `instance`, its
   * delivery tells (see tick); without one, the subscribed learner is asked; otherwise the
   * coordinator's word is all there is.
   */
  onToldDecided(client: number, seq: number, instance: Instance, now: Tick, out: OutputBuilder): void {
    const o = client === this.clientId ? this.outstanding.get(seq) : undefined;
    if (!o) return;
    if (this.followsNotices) {
      o.toldAt = Math.min(o.toldAt ?? instance, instance);
      if (this.lastSubscribed < now) this.subscribe(now, out);
      return;
    }
    const next = this.delivering();
    if (next !== null && next <= instance) o.toldAt = Math.min(o.toldAt ?? instance, instance);
    else {
      this.settleAll(o, this.coordinatorsWord(instance), now, out);
      this.sendQueued(now, out);
    }
  }

  /**
   * Where a value is delivered, when the co-located learner passed the coordinator's instance
   * without delivering it: the coordinator's word, unless the learner gave instances up as lost.
   * Then the first copy (where learners deliver it) may lie in what it lost, which no one here
   * can tell: the value is decided, its place unknown.
   */
  private coordinatorsWord(instance: Instance): Instance | null {
    return this.lostBelow() > 0 ? null : instance;
  }

  tick(now: Tick, out: OutputBuilder): void {
    const next = this.delivering();
    const base = this.baseTimeout();
    const followsNotices = this.followsNotices;
    if (followsNotices) this.keepSubscribed(now, out);
    let timedOut = false;
    // Values in the entries before this one: only the oldest window's values are re-sent, the
    // rest wait their turn (SendWindow).
    let ahead = 0;
    for (const o of this.sent.values()) {
      const before = ahead;
      ahead += o.pending;
      if (o.toldAt !== undefined) {
        // Decided: no re-send. The learner passed the instance without delivering it here (the
        // coordinator's instance was not where learners deliver it): take the coordinator's word.
        // Without a learner here, the subscribed learner is asked at each renewal (see onNotice).
        if (!followsNotices && (next === null || next > o.toldAt)) this.settleAll(o, this.coordinatorsWord(o.toldAt), now, out);
        continue;
      }
      if (now - o.sentAt < this.backedOff(base, o.tries)) continue;
      // Beyond the window: it waits its turn, and is not counted late again and again meanwhile.
      if (before >= this.window.size) continue;
      // Enough late values halve the window (once per timeout), before what lies beyond it goes.
      this.window.late(now, base, o.pending);
      timedOut = true;
      o.tries++;
      this.resent++;
      o.sentAt = now;
      out.to(this.route(o.tries), this.valueMsg(o.v));
    }
    // Each tick with a timeout doubles the wait of every value (capped) until a measurement comes.
    if (timedOut) this.backoff = Math.min(this.backoff + 1, MAX_BACKOFF_DOUBLINGS);
    // Values held (propose's `hold`) and not flushed go now at the latest; so do those settled above.
    this.sendQueued(now, out);
  }

  /** Ticks to wait for a value sent `tries` times already (0: the first send). */
  timeout(tries: number): number {
    return this.backedOff(this.baseTimeout(), tries);
  }

  /**
   * The measured timeout before backoff (computed once per tick, not per value). Before anything
   * is measured: a conservative one, as TCP starts from one (RFC 6298: 1 s). A first window of
   * values takes longer to get through a cold cluster than the floor, and with the floor every
   * one of them was re-sent before the first delivery could be measured.
   */
  private baseTimeout(): number {
    return this.timer.timeoutTicks;
  }

  private backedOff(base: number, tries: number): number {
    return Math.min(base * 2 ** Math.min(Math.max(tries, this.backoff), MAX_BACKOFF_DOUBLINGS), MAX_WAIT_FACTOR * this.cfg.proposerTimeoutTicks);
  }

  private measure(sample: number): void {
    this.backoff = 0;
    this.timer.sample(sample);
  }

  private sendQueued(now: Tick, out: OutputBuilder): void {
    // Subscribed before the values leave, so that the learner knows to tell of them.
    if (this.queue.length > 0 && this.followsNotices && now - this.lastSubscribed >= subscribeTicks(this.cfg)) this.subscribe(now, out);
    // Without a learner here, the values in flight stay within the span learners remember.
    const span = this.followsNotices ? noticeSpan(this.cfg) : Infinity;
    while (this.queue.length > 0 && this.outstanding.size < this.window.size) {
      const oldest = this.outstanding.keys().next().value ?? (this.queue[0] as ClientValue).seq;
      const n = this.packable(oldest + span);
      if (n === 0) break;
      const taken = this.queue.splice(0, n);
      const first = taken[0] as ClientValue;
      const v: ClientValue = n === 1 ? first : { ...first, payload: packPayload(taken.map((t) => t.payload)), packed: n };
      const o: Outstanding = { v, pending: n, measured: false, firstSentAt: now, sentAt: now, tries: 0 };
      for (const t of taken) this.outstanding.set(t.seq, o);
      this.sent.set(v.seq, o);
      out.to(this.route(0), this.valueMsg(v));
    }
  }

  /**
   * How many queued values go next as one (a pack when more than one): of one group, within the
   * window and below seq `spanEnd`, at most MAX_PACK_VALUES, and, packed, no larger than a batch
   * (so that the coordinator's batches close as they would for the values one by one).
   */
  private packable(spanEnd: number): number {
    const room = Math.min(this.window.size - this.outstanding.size, MAX_PACK_VALUES);
    const maxBytes = this.cfg.batchBytes - VALUE_OVERHEAD_BYTES;
    const first = this.queue[0] as ClientValue;
    if (first.seq >= spanEnd) return 0;
    let n = 1;
    let bytes = PACK_VALUE_OVERHEAD_BYTES + first.payload.byteLength;
    for (; n < room && n < this.queue.length; n++) {
      const v = this.queue[n] as ClientValue;
      bytes += PACK_VALUE_OVERHEAD_BYTES + v.payload.byteLength;
      if (v.group !== first.group || v.seq >= spanEnd || bytes > maxBytes) break;
    }
    return n;
  }

  /**
   * Without a co-located learner, while values are in flight: renews the subscription every
   * period, and turns to the next learner when none of its notices came for SUBSCRIPTION_PERIODS
   * periods while a value waited as long (the learner is down, or cut off from this proposer).
   */
  private keepSubscribed(now: Tick, out: OutputBuilder): void {
    const oldest = this.sent.values().next().value;
    if (oldest === undefined) return;
    const period = subscribeTicks(this.cfg);
    const silent = SUBSCRIPTION_PERIODS * period;
    if (now - oldest.firstSentAt >= silent && now - this.lastNotice >= silent && (this.notices?.length ?? 0) > 1) {
      this.noticeFrom++;
      this.learnerSwitches++;
      this.lastNotice = now;
      this.subscribe(now, out);
      return;
    }
    if (now - this.lastSubscribed >= period) this.subscribe(now, out);
  }

  /** Subscribes (or renews) at the current learner, asking where the values a coordinator called decided were delivered. */
  private subscribe(now: Tick, out: OutputBuilder): void {
    const to = this.subscribedTo;
    if (to === null) return;
    this.lastSubscribed = now;
    const seqs: number[] = [];
    for (const [q, o] of this.outstanding) {
      if (seqs.length >= MAX_NOTICE_SEQS) break;
      if (o.toldAt !== undefined) seqs.push(q);
    }
    out.to(to, { t: "subscribe", client: this.clientId, seqs });
  }

  private valueMsg(v: ClientValue): Msg {
    return this.origin === undefined ? { t: "value", v, hops: 0 } : { t: "value", v, hops: 0, origin: this.origin };
  }
}

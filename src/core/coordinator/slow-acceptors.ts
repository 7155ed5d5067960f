import type { ProtocolConfig } from "../config.ts";
import { dropOldest } from "../fifo-map.ts";
import { phase2Quorum } from "../quorum.ts";
import type { NodeId, Ring, Tick } from "../types.ts";

/** Slow-acceptor avoidance: an acceptor is slow when its mean ack delay is this many times the median (and at least slowAcceptorTicks). */
export const SLOW_FACTOR = 4;

/** Bound: heartbeats whose send time is kept to measure ack delays (a later ack counts as at least that old). */
export const MAX_ACK_TIMES = 64;

/** What slow-acceptor avoidance reads of the configuration. */
export type SlowAcceptorsConfig = Pick<ProtocolConfig, "acceptors" | "slowAcceptorTicks">;

/** Lays out a ring from the processes that answered, `avoid` off the path of Phase 2 if possible (CoordinatorVariant.layout). */
export type Layout = (responders: ReadonlySet<NodeId>, avoid: ReadonlySet<NodeId>) => Ring | null;

/**
 * Slow-acceptor avoidance: each acceptor's heartbeat ack delay, and whether a new round should
 * lay the slow ones out of the path of Phase 2 (the first quorum of acceptors on the ring, which
 * every decision waits for).
 */
export class SlowAcceptors {
  /** When each heartbeat left, by seq (bounded, oldest first). */
  private readonly sentAt = new Map<number, Tick>();
  /** Each acceptor's mean ack delay (exponentially weighted, ticks). Bound: one entry per configured acceptor. */
  private readonly ackDelay = new Map<NodeId, number>();
  private relayoutCount = 0;
  /** slow() as of the last change of ackDelay (null: to compute again). */
  private slowCache: ReadonlySet<NodeId> | null = null;

  constructor(
    private readonly self: NodeId,
    private readonly cfg: SlowAcceptorsConfig,
  ) {}

  /** New rounds started to lay slow acceptors out of the path of Phase 2 (a total: reset() keeps it). */
  get relayouts(): number {
    return this.relayoutCount;
  }

  /** Heartbeat `seq` left at `now`. */
  sent(seq: number, now: Tick): void {
    this.sentAt.set(seq, now);
    dropOldest(this.sentAt, MAX_ACK_TIMES);
  }

  /** Acceptor `from` acked heartbeat `seq` at `now`: folds the delay into its mean. */
  onAck(from: NodeId, seq: number, now: Tick): void {
    if (!this.cfg.acceptors.includes(from)) return;
    let at = this.sentAt.get(seq);
    if (at === undefined) {
      // Older than every heartbeat still tracked: at least as late as the oldest one.
      const oldest = this.sentAt.keys().next();
      if (oldest.done || seq > oldest.value) return;
      at = this.sentAt.get(oldest.value) as Tick;
    }
    const d = Math.max(0, now - at);
    const prev = this.ackDelay.get(from);
    this.ackDelay.set(from, prev === undefined ? d : 0.8 * prev + 0.2 * d);
    this.slowCache = null;
  }

  /** Acceptors whose heartbeat acks are slow: SLOW_FACTOR times the median mean delay, and at least slowAcceptorTicks. */
  slow(): ReadonlySet<NodeId> {
    if (this.slowCache === null) this.slowCache = this.computeSlow();
    return this.slowCache;
  }

  private computeSlow(): Set<NodeId> {
    const slow = new Set<NodeId>();
    if (this.cfg.slowAcceptorTicks === 0 || this.ackDelay.size < 2) return slow;
    const sorted = [...this.ackDelay.values()].sort((a, b) => a - b);
    const median = sorted[Math.floor((sorted.length - 1) / 2)] as number;
    for (const [a, d] of this.ackDelay) if (a !== this.self && d >= this.cfg.slowAcceptorTicks && d >= SLOW_FACTOR * median) slow.add(a);
    return slow;
  }

  /**
   * Whether a new round should lay slow acceptors out of the path of Phase 2: one is on `ring`'s
   * path, and `layout` finds a ring of the acceptors that ack without any on its path (else a new
   * round would only cost a Phase 1). Counted as a relayout when so.
   */
  wantsRelayout(ring: Ring, layout: Layout): boolean {
    const slow = this.slow();
    if (slow.size === 0 || !this.onPath(ring).some((a) => slow.has(a))) return false;
    const better = layout(new Set(this.ackDelay.keys()).add(this.self), slow);
    if (better === null || this.onPath(better).some((a) => slow.has(a))) return false;
    this.relayoutCount++;
    return true;
  }

  /** Standing down: the measurements are dropped; whoever leads next measures its own. */
  reset(): void {
    this.sentAt.clear();
    this.ackDelay.clear();
    this.slowCache = null;
  }

  /** The acceptors of a ring that Phase 2 waits for: the first quorum of them, from the coordinator on. */
  private onPath(ring: Ring): NodeId[] {
    const accs = ring.filter((p) => this.cfg.acceptors.includes(p));
    return accs.slice(0, phase2Quorum(this.cfg));
  }
}

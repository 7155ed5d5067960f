import type { ProtocolConfig } from "../core/config.ts";
import type { LearnFrom } from "../core/learner.ts";
import type { Ack, ClientValue, Delivery, NodeId } from "../core/types.ts";
import type { Ledger } from "../ledger/ledger.ts";
import { invariant } from "../core/assert.ts";
import { DeterministicMerge, type Merged, type MergeCursor, type RingEntry, type RingId } from "../multiring/merge.ts";
import { HeldRun, MAX_HELD_INSTANCES } from "../multiring/held-run.ts";
import { MergeWaitClock, type MergeWaitFigures } from "../multiring/merge-wait.ts";
import { LagWatch } from "../multiring/lag-watch.ts";
import { NodeRuntime, type Network, type RuntimeEvents } from "./runtime.ts";

/** One ring this process takes part in. */
export interface HostedRing {
  readonly id: RingId;
  readonly cfg: ProtocolConfig;
  readonly network: Network;
  readonly ledger?: Ledger;
  /** Whether this process' merge delivers this ring's values (it learns one of the ring's groups). */
  readonly merged: boolean;
  /** The ring's groups this process learns: the merge delivers their values only (absent: every value). */
  readonly groups?: ReadonlySet<number>;
}

export interface MultiRingNodeOptions {
  readonly id: NodeId;
  readonly rings: readonly HostedRing[];
  /** Instances taken from each ring per merge turn (thesis' M). */
  readonly m: number;
  readonly tickMs: number;
  readonly clientId?: number;
  readonly learnFrom?: LearnFrom;
  /**
   * A replica resuming from its durable state: the merge starts at this cursor, each merged
   * ring's learner at the cursor's next instance of it, and the applied reports (what acceptors
   * may trim) come from the host (reportApplied) once it made its state durable, not from the merge.
   */
  readonly resume?: { readonly cursor: MergeCursor | null };
  /** Per-ring events (the ring's id first), and the merge's deliveries in the merged order. */
  readonly events?: {
    readonly merged?: (d: Merged<ClientValue>) => void;
    readonly acked?: (ring: RingId, a: Ack) => void;
    readonly ring?: (ring: RingId) => RuntimeEvents;
  };
  readonly clock?: () => number;
}

/** Bound: instances the merge holds per ring while it waits for another ring (flow control acts long before). */
export const MAX_MERGED_BACKLOG = 65_536;
invariant(MAX_HELD_INSTANCES < MAX_MERGED_BACKLOG, "a resumed merge takes every instance held for a ring");

/**
 * One process of a Multi-Ring Paxos deployment (thesis ch. 5): a NodeRuntime (core and driver)
 * per ring it takes part in, over that ring's view of the network, and, when it learns several
 * rings, the deterministic merge of their deliveries (skip instances counting as their n).
 *
 * A ring that runs ahead of the merge is told to slow down through its own flow control: when
 * the merge holds more than the ring's flowBacklogInstances of it, the ring's leader gets the
 * same notice a lagging learner sends (at most every flowNoticeTicks).
 */
export class MultiRingNode {
  readonly runtimes: ReadonlyMap<RingId, NodeRuntime>;
  private merge: DeterministicMerge<ClientValue> | null;
  /** While the merge is held (a ring lost instances: see hold), each merged ring's deliveries since. */
  private held: Map<RingId, HeldRun<ClientValue>> | null = null;
  private readonly mergedRings: readonly RingId[];
  private readonly waits: MergeWaitClock | null;
  private readonly lags: LagWatch | null;
  private readonly clock: () => number;
  /** Values (and their payload bytes) the merge released to this process' deliveries, its groups' only. */
  readonly mergedCounters = { values: 0, bytes: 0 };
  private readonly hosted: ReadonlyMap<RingId, HostedRing>;
  /** What was last reported applied of each merged ring. */
  private readonly reportedApplied = new Map<RingId, number>();
  private afterScheduled = false;
  /** Per merged ring, the empty instances its skip instances stood for (thesis §5.2.4: skip(n) counts n). */
  private readonly skipped = new Map<RingId, number>();
  private readonly lastNotice = new Map<RingId, number>();
  /** Per ring, the groups whose values this process delivers (absent: every value of the ring). */
  private readonly groupsOf: ReadonlyMap<RingId, ReadonlySet<number> | undefined>;

  constructor(private readonly o: MultiRingNodeOptions) {
    const mergedRings = o.rings.filter((r) => r.merged).map((r) => r.id);
    this.mergedRings = mergedRings;
    this.groupsOf = new Map(o.rings.map((r) => [r.id, r.groups]));
    this.hosted = new Map(o.rings.map((r) => [r.id, r]));
    const from = o.resume?.cursor ?? undefined;
    this.merge = mergedRings.length > 0 ? new DeterministicMerge<ClientValue>(mergedRings, o.m, MAX_MERGED_BACKLOG, from) : null;
    this.waits = mergedRings.length > 0 ? new MergeWaitClock(mergedRings, MAX_MERGED_BACKLOG + 1) : null;
    this.clock = o.clock ?? (() => performance.now());
    const merged = o.rings.filter((r) => r.merged);
    const gapTicks = Math.min(...merged.map((r) => r.cfg.flowNoticeTicks));
    this.lags = mergedRings.length > 1 ? new LagWatch(new Map(merged.map((r) => [r.id, r.cfg.multiRing?.skipPerInterval ?? 0])), gapTicks) : null;
    const runtimes = new Map<RingId, NodeRuntime>();
    for (const r of o.rings) runtimes.set(r.id, this.host(r));
    this.runtimes = runtimes;
  }

  private host(r: HostedRing): NodeRuntime {
    const events = this.o.events?.ring?.(r.id) ?? {};
    const cursor = r.merged ? this.o.resume?.cursor : null;
    const resumeAt = cursor ? (cursor.next.get(r.id) ?? 0) : null;
    const learnFrom: LearnFrom | undefined = resumeAt !== null ? { instance: resumeAt } : this.o.learnFrom;
    return new NodeRuntime({
      id: this.o.id,
      cfg: r.cfg,
      tickMs: this.o.tickMs,
      network: r.network,
      ...(r.ledger ? { ledger: r.ledger } : {}),
      ...(this.o.clientId !== undefined ? { clientId: this.o.clientId } : {}),
      ...(learnFrom ? { learnFrom } : {}),
      ...(this.o.clock ? { clock: this.o.clock } : {}),
      events: {
        ...events,
        lost: (x) => {
          if (r.merged) this.hold({ ring: r.id, to: x.to });
          events.lost?.(x);
        },
        deliver: (d) => {
          events.deliver?.(d);
          if (r.merged) this.onDeliver(r, d);
        },
        acked: (a) => {
          events.acked?.(a);
          this.o.events?.acked?.(r.id, a);
        },
      },
    });
  }

  /** Proposes `payload` to `group` on `ring` through this process' proposer there: the (client, seq) it took, or null (refused, or no such ring here). */
  propose(ring: RingId, payload: Uint8Array, group?: number): { readonly client: number; readonly seq: number } | null {
    return this.runtimes.get(ring)?.propose(payload, group) ?? null;
  }

  /** Where the merge stands (null: this process merges nothing): what a replica saves with the state it applied. */
  mergeCursor(): MergeCursor | null {
    return this.merge?.cursor() ?? null;
  }

  /** A resuming replica's applied report for `ring` (see MultiRingNodeOptions.resume): everything below `upTo` is durable. */
  reportApplied(ring: RingId, upTo: number): void {
    if (upTo <= (this.reportedApplied.get(ring) ?? 0)) return;
    this.reportedApplied.set(ring, upTo);
    this.runtimes.get(ring)?.input({ k: "applied", upTo });
  }

  /**
   * Stops the merge: what it buffered and every merged ring's later deliveries are held (bounded,
   * HeldRun) until resumeAt. A ring that lost instances [.., lost.to) restarts its run at lost.to.
   * Called by the node itself when a ring reports lost instances (its merge cannot go on), and by
   * a replica that installs another's state.
   */
  hold(lost?: { readonly ring: RingId; readonly to: number }): void {
    const merge = this.merge;
    if (merge === null) return;
    if (this.held === null) {
      const buffered = merge.drain();
      this.held = new Map(this.mergedRings.map((r) => [r, new HeldRun<ClientValue>(merge.nextOf(r), buffered.get(r) ?? [])]));
    }
    if (lost) this.held.get(lost.ring)?.restartAt(lost.to);
  }

  /** Whether the merge is held. */
  get holding(): boolean {
    return this.held !== null;
  }

  /** Whether the merge can resume at `cursor`: for every merged ring, what is held reaches its next instance. */
  reaches(cursor: MergeCursor): boolean {
    if (this.held === null) return false;
    for (const [r, run] of this.held) {
      const at = cursor.next.get(r);
      if (at === undefined || at < run.from || at > run.end) return false;
    }
    return cursor.next.size === this.held.size;
  }

  /** A new merge at `cursor` (a state installed there), fed what is held from it on; reaches(cursor) must hold. */
  resumeAt(cursor: MergeCursor): void {
    invariant(this.held !== null && this.reaches(cursor), "the held deliveries reach the cursor resumed at");
    const held = this.held;
    this.held = null;
    const merge = new DeterministicMerge<ClientValue>(this.mergedRings, this.o.m, MAX_MERGED_BACKLOG, cursor);
    this.merge = merge;
    // The wait clock's arrivals were the old merge's (some below the cursor): the held ones arrive now.
    this.waits?.restart();
    for (const [r, run] of held)
      for (const e of run.heldFrom(cursor.next.get(r) as number)) {
        if (e.values.length > 0) this.waits?.arrived(r, e.instance, this.clock());
        for (const m of merge.push(r, e)) this.release(m);
      }
    this.afterDeliveries();
  }

  /** Whether this process merges rings (it learns at least one). */
  get merges(): boolean {
    return this.merge !== null;
  }

  /** Instances of `ring` the merge holds, waiting for other rings. */
  backlog(ring: RingId): number {
    return this.merge?.backlog(ring) ?? 0;
  }

  /** Empty instances `ring`'s skip instances stood for, delivered to the merge so far. */
  skippedSlots(ring: RingId): number {
    return this.skipped.get(ring) ?? 0;
  }

  /** How long released instances waited in the merge since the last call (null: this process merges nothing). */
  takeMergeWait(): MergeWaitFigures | null {
    return this.waits?.take() ?? null;
  }

  startTicking(): void {
    for (const r of this.runtimes.values()) r.startTicking();
  }

  async close(): Promise<void> {
    for (const r of this.runtimes.values()) await r.close();
  }

  private onDeliver(r: HostedRing, d: Delivery): void {
    const entry: RingEntry<ClientValue> = { instance: d.instance, slots: d.skip ?? 1, values: d.values, ...(d.positions ? { positions: d.positions } : {}) };
    if (this.held !== null) return this.held.get(r.id)?.push(entry);
    const merge = this.merge as DeterministicMerge<ClientValue>;
    if (d.values.length > 0) this.waits?.arrived(r.id, d.instance, this.clock());
    if (d.skip !== undefined) this.skipped.set(r.id, this.skippedSlots(r.id) + d.skip);
    for (const m of merge.push(r.id, entry)) this.release(m);
    this.afterDeliveries();
  }

  /**
   * Once the deliveries of the current step are out (a microtask: a ring's core is never stepped
   * again from inside its own step's output), tells each merged ring's core what the merge
   * released of it (what this replica reports as applied: a delivery from one ring may release
   * another's), asks a ring the merge holds too much of to slow down, and a ring the merge waits
   * for while the others are ahead to catch up (LagWatch).
   */
  private afterDeliveries(): void {
    if (this.afterScheduled) return;
    this.afterScheduled = true;
    queueMicrotask(() => {
      this.afterScheduled = false;
      const merge = this.merge as DeterministicMerge<ClientValue>;
      for (const r of this.hosted.values()) {
        if (!r.merged) continue;
        const id = r.id;
        if (!this.o.resume) this.reportApplied(id, merge.nextOf(id));
        if (merge.backlog(id) > r.cfg.flowBacklogInstances) this.slowDown(r);
      }
      const someRing = this.runtimes.values().next().value as NodeRuntime;
      const lag = this.lags?.check(merge, someRing.now());
      if (lag) this.runtimes.get(lag.ring)?.input({ k: "msg", from: this.o.id, msg: lag.msg });
    });
  }

  /** A merged instance, its values narrowed to the groups this process learns on that ring (several groups may share a ring). */
  private release(m: Merged<ClientValue>): void {
    this.waits?.released(m.ring, m.instance, this.clock());
    const groups = this.groupsOf.get(m.ring);
    const values = groups === undefined ? m.values : m.values.filter((v) => groups.has(v.group ?? 0));
    this.mergedCounters.values += values.length;
    for (const v of values) this.mergedCounters.bytes += v.payload.length;
    this.o.events?.merged?.(values.length === m.values.length ? m : { ...m, values });
  }

  /**
   * The merge holds too much of ring `r`: the ring's core here gets the notice a lagging learner
   * sends, and passes it to the ring's leader as it passes any (or acts on it, leading itself).
   */
  private slowDown(r: HostedRing): void {
    const rt = this.runtimes.get(r.id) as NodeRuntime;
    const now = rt.now();
    if (now - (this.lastNotice.get(r.id) ?? -Infinity) < r.cfg.flowNoticeTicks) return;
    this.lastNotice.set(r.id, now);
    rt.input({ k: "msg", from: this.o.id, msg: { t: "slow-down", backlog: this.backlog(r.id), hops: 0 } });
  }
}

import { invariant } from "../core/assert.ts";
import type { Instance } from "../core/types.ts";

/** A ring's id: rings are merged in ascending id order. */
export type RingId = number;

/**
 * One decided instance of one ring, as its learner delivers it (in instance order): `slots` is 1
 * for a batch or a no-op, n for a skip(n) instance, which stands for n empty instances (thesis
 * §5.2.4: one physical instance carries every skip of an interval).
 */
export interface RingEntry<V> {
  readonly instance: Instance;
  readonly slots: number;
  readonly values: readonly V[];
  /** Each value's place in its instance, where some were left out (see Delivery.positions). */
  readonly positions?: readonly number[];
}

/** One entry released by the merge, in the merged order. */
export interface Merged<V> {
  readonly ring: RingId;
  readonly instance: Instance;
  readonly values: readonly V[];
  /** Each value's place in its instance, where some were left out (see Delivery.positions). */
  readonly positions?: readonly number[];
  /**
   * The ring's slot of this instance: the slots of every instance of the ring before it (a skip(n)
   * counting n). The same at every learner of the ring: with the ring's place among all rings it
   * places the instance in the merge of every ring (see kv's mergedRevision).
   */
  readonly slot: number;
}

/**
 * Where the merge stands: per ring, the next instance it takes and the skip slots of a taken
 * skip(n) instance not yet counted; the ring whose turn it is and the slots taken in that turn.
 * Two learners at the same cursor, fed the same rings, release the same sequence (the cursor is
 * what a replica reports as applied and keeps in its snapshot).
 */
export interface MergeCursor {
  readonly next: ReadonlyMap<RingId, Instance>;
  readonly carry: ReadonlyMap<RingId, number>;
  /** Per ring, the slot of its next instance (see Merged.slot); absent: 0. */
  readonly slots?: ReadonlyMap<RingId, number>;
  readonly turn: RingId;
  readonly takenInTurn: number;
}

/** Bound: decided instances buffered per ring while the merge waits for another ring. */
export const MAX_MERGE_BUFFER = 4096;

/** Bugs planted to prove the simulator's checkers catch them (tests only). */
export interface MergeBugs {
  /** A skip(n) instance counts as one instance. */
  readonly skipCountsAsOne?: boolean;
  /** Rings are taken in descending id order. */
  readonly descendingRings?: boolean;
}

interface RingState<V> {
  readonly id: RingId;
  next: Instance;
  /** Slots of the last taken skip instance still to count in later turns. */
  carry: number;
  /** The slot of the ring's next instance (Merged.slot). */
  slot: number;
  readonly buffer: RingEntry<V>[];
  /** The slots of the buffered entries. */
  held: number;
}

/** A merge waiting for `ring`'s instance `at` while every other ring has `slots` or more slots buffered. */
export interface Lag {
  readonly ring: RingId;
  readonly at: Instance;
  readonly slots: number;
}

/**
 * The deterministic merge of Multi-Ring Paxos (thesis §5.2.2, Algorithm 1, Task 4): a learner
 * subscribed to several rings takes M instances from each in ascending ring id, round robin, a
 * skip(n) instance counting as n; it waits for a ring whose turn it is, buffering the others
 * (bounded: `full` tells the host to stop feeding a ring and let its flow control act).
 */
export class DeterministicMerge<V> {
  private readonly rings: RingState<V>[];
  private turnIndex = 0;
  private takenInTurn = 0;

  constructor(
    rings: readonly RingId[],
    private readonly m: number,
    private readonly maxBuffer = MAX_MERGE_BUFFER,
    from?: MergeCursor,
    private readonly bugs?: MergeBugs,
  ) {
    invariant(rings.length > 0 && new Set(rings).size === rings.length, "a merge takes distinct rings");
    invariant(Number.isInteger(m) && m >= 1, "M is at least 1");
    const sorted = [...rings].sort((a, b) => (bugs?.descendingRings ? b - a : a - b));
    this.rings = sorted.map((id) => ({ id, next: from?.next.get(id) ?? 0, carry: from?.carry.get(id) ?? 0, slot: from?.slots?.get(id) ?? 0, buffer: [], held: 0 }));
    if (from) {
      const i = sorted.indexOf(from.turn);
      invariant(i >= 0 && from.takenInTurn >= 0 && from.takenInTurn < m, "a cursor of these rings");
      this.turnIndex = i;
      this.takenInTurn = from.takenInTurn;
    }
  }

  /** Whether `ring`'s buffer is at its bound (feed it no more until the merge takes from it). */
  full(ring: RingId): boolean {
    return this.state(ring).buffer.length >= this.maxBuffer;
  }

  /** Instances buffered for `ring`. */
  backlog(ring: RingId): number {
    return this.state(ring).buffer.length;
  }

  /**
   * Adds `ring`'s next decided instance and returns what the merge releases now, in order. An
   * instance other than the ring's next one (a repeat, a gap) is the host's bug: asserted.
   */
  push(ring: RingId, e: RingEntry<V>): Merged<V>[] {
    const r = this.state(ring);
    const expected = r.buffer.length === 0 ? r.next : (r.buffer[r.buffer.length - 1] as RingEntry<V>).instance + 1;
    invariant(e.instance === expected, `ring ${ring} delivers instance ${expected} next, not ${e.instance}`);
    invariant(Number.isInteger(e.slots) && e.slots >= 1, "an instance fills at least one slot");
    invariant(r.buffer.length < this.maxBuffer, `ring ${ring}'s merge buffer is full`);
    const entry = this.bugs?.skipCountsAsOne ? { ...e, slots: 1 } : e;
    r.buffer.push(entry);
    r.held += entry.slots;
    return this.release();
  }

  /** The next instance of `ring` the merge takes: every one below it was released (or was empty). */
  nextOf(ring: RingId): Instance {
    return this.state(ring).next;
  }

  /**
   * Whether the merge waits for a ring (its turn, nothing of it buffered) while each other ring is
   * ahead: the ring, the instance awaited, and the least slots another ring holds (buffered
   * instances, a skip(n) counting n, and a taken skip's slots still to count). null: not waiting,
   * or some other ring is not ahead (then it is no lag of this ring's alone).
   */
  lag(): Lag | null {
    if (this.rings.length < 2) return null;
    const r = this.rings[this.turnIndex] as RingState<V>;
    if (r.buffer.length > 0 || r.carry > 0) return null;
    let slots = Infinity;
    for (const o of this.rings) if (o !== r) slots = Math.min(slots, o.held + o.carry);
    return slots > 0 ? { ring: r.id, at: r.next, slots } : null;
  }

  /** Takes every ring's buffered (not yet released) instances out of the merge, in instance order: it is being replaced. */
  drain(): Map<RingId, RingEntry<V>[]> {
    const out = new Map<RingId, RingEntry<V>[]>();
    for (const r of this.rings) {
      out.set(r.id, r.buffer.splice(0));
      r.held = 0;
    }
    return out;
  }

  cursor(): MergeCursor {
    return {
      next: new Map(this.rings.map((r) => [r.id, r.next])),
      carry: new Map(this.rings.map((r) => [r.id, r.carry])),
      slots: new Map(this.rings.map((r) => [r.id, r.slot])),
      turn: (this.rings[this.turnIndex] as RingState<V>).id,
      takenInTurn: this.takenInTurn,
    };
  }

  private release(): Merged<V>[] {
    const out: Merged<V>[] = [];
    for (;;) {
      const r = this.rings[this.turnIndex] as RingState<V>;
      if (r.carry > 0) {
        // A skip taken earlier still stands for empty instances: count them without waiting.
        const n = Math.min(r.carry, this.m - this.takenInTurn);
        r.carry -= n;
        this.take(n);
        continue;
      }
      const e = r.buffer.shift();
      if (!e) return out;
      r.held -= e.slots;
      r.next = e.instance + 1;
      if (e.values.length > 0) out.push({ ring: r.id, instance: e.instance, values: e.values, slot: r.slot, ...(e.positions ? { positions: e.positions } : {}) });
      r.slot += e.slots;
      const n = Math.min(e.slots, this.m - this.takenInTurn);
      r.carry = e.slots - n;
      this.take(n);
    }
  }

  /** Counts `n` slots of the current turn; a full turn passes to the next ring. */
  private take(n: number): void {
    this.takenInTurn += n;
    if (this.takenInTurn < this.m) return;
    this.takenInTurn = 0;
    this.turnIndex = (this.turnIndex + 1) % this.rings.length;
  }

  private state(ring: RingId): RingState<V> {
    const r = this.rings.find((x) => x.id === ring);
    invariant(r !== undefined, `ring ${ring} is merged here`);
    return r;
  }
}

/**
 * Watches (seed 001's RSVP callbacks, etcd's watch): a client follows the changes of a key prefix
 * as this replica applies them, in log order, each with its revision. A watch may start from a
 * past revision while this replica still holds the changes since then (a ChangeHistory): a
 * replica keeps the last MAX_HISTORY changes in its store, written with the state they made, so
 * they survive its restarts; older ones, or any before an installed snapshot, are "compacted":
 * the caller reads the current state and watches from its revision on.
 */
import type { KvStore } from "../store/kv-store.ts";
import type { Change } from "./kv-machine.ts";

/** Bound: changes kept for watches that start in the past. */
export const MAX_HISTORY = 10_000;
/** Bound: watches at once on one replica. */
export const MAX_WATCHERS = 1_000;

export interface Watcher {
  readonly prefix: Uint8Array;
  /** Takes one change; false: the watcher cannot keep up (it is dropped, see WatchHub.publish). */
  send(c: Change): boolean;
  /** The watch ends (dropped for being slow, or the replica closes). */
  end(reason: "slow" | "closed"): void;
}

/** The changes a hub can replay: every change from `floor()` on. */
export interface ChangeHistory {
  /** The lowest revision from which every change is held. */
  floor(): number;
  /** The held changes with revision >= `from`, in log order. */
  since(from: number): Iterable<Change>;
  /** Changes just applied (a history kept with the state has them already: nothing to do). */
  record(changes: readonly Change[]): void;
  /** The state was replaced: nothing below `floor` is held. */
  reset(floor: number): void;
}

/** A history in memory: the last MAX_HISTORY changes recorded since `floor`. */
export class MemoryHistory implements ChangeHistory {
  private readonly held: Change[] = [];
  constructor(private lowest: number) {}
  floor(): number {
    return this.lowest;
  }
  since(from: number): Iterable<Change> {
    return this.held.filter((c) => c.revision >= from);
  }
  record(changes: readonly Change[]): void {
    for (const c of changes) {
      this.held.push(c);
      if (this.held.length > MAX_HISTORY) this.lowest = (this.held.shift() as Change).revision + 1;
    }
  }
  reset(floor: number): void {
    this.held.length = 0;
    this.lowest = floor;
  }
}

/** A history kept in the replica's store (KvMachine writes each batch's changes with its state). */
export class StoreHistory implements ChangeHistory {
  constructor(private readonly store: Pick<KvStore, "changesFloor" | "changesFrom">) {}
  floor(): number {
    return this.store.changesFloor() ?? 1;
  }
  since(from: number): Iterable<Change> {
    return this.store.changesFrom(from, MAX_HISTORY);
  }
  record(): void {}
  reset(): void {}
}

export type WatchStart = { readonly ok: true; readonly cancel: () => void } | { readonly ok: false; readonly code: "COMPACTED" | "BUSY"; readonly oldest: number };

export class WatchHub {
  private readonly watchers = new Set<Watcher>();
  private readonly history: ChangeHistory;
  /** @param history what a watch from the past replays (a number: a MemoryHistory from that revision). */
  constructor(history: ChangeHistory | number) {
    this.history = typeof history === "number" ? new MemoryHistory(history) : history;
  }

  get size(): number {
    return this.watchers.size;
  }

  /**
   * Starts `w`: first the held changes with revision >= `from` (0: none, only what comes next),
   * then each new one. COMPACTED when changes at or above `from` may be missing here.
   */
  watch(w: Watcher, from: number): WatchStart {
    if (this.watchers.size >= MAX_WATCHERS) return { ok: false, code: "BUSY", oldest: this.oldest() };
    if (from > 0 && from < this.oldest()) return { ok: false, code: "COMPACTED", oldest: this.oldest() };
    if (from > 0) for (const c of this.history.since(from)) if (matches(w.prefix, c.key) && !w.send(c)) return this.slow(w);
    this.watchers.add(w);
    return { ok: true, cancel: () => this.watchers.delete(w) };
  }

  /** Changes just applied, in log order: kept, and sent to every matching watcher (a watcher that cannot take them is dropped). */
  publish(changes: readonly Change[]): void {
    this.history.record(changes);
    for (const c of changes) for (const w of this.watchers) if (matches(w.prefix, c.key) && !w.send(c)) this.slow(w);
  }

  close(): void {
    for (const w of this.watchers) w.end("closed");
    this.watchers.clear();
  }

  /** The state was replaced (a snapshot installed): every watch ends, and none may start below `floor`. */
  reset(floor: number): void {
    this.close();
    this.history.reset(floor);
  }

  /** The lowest revision a watch may start from (changes below it may be missing here). */
  private oldest(): number {
    return this.history.floor();
  }

  private slow(w: Watcher): WatchStart {
    this.watchers.delete(w);
    w.end("slow");
    return { ok: false, code: "BUSY", oldest: this.oldest() };
  }
}

function matches(prefix: Uint8Array, key: Uint8Array): boolean {
  if (key.byteLength < prefix.byteLength) return false;
  for (let i = 0; i < prefix.byteLength; i++) if (key[i] !== prefix[i]) return false;
  return true;
}

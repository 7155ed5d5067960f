/**
 * Watches (seed 001's RSVP callbacks, etcd's watch): a client follows the changes of a key prefix
 * as this replica applies them, in log order, each with its revision. A watch may start from a
 * past revision while this replica still holds the changes since then: the last MAX_HISTORY
 * changes it applied since it started (in memory; older ones, or any before a restart, are
 * "compacted": the caller reads the current state and watches from its revision on).
 */
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

export type WatchStart = { readonly ok: true; readonly cancel: () => void } | { readonly ok: false; readonly code: "COMPACTED" | "BUSY"; readonly oldest: number };

export class WatchHub {
  private readonly history: Change[] = [];
  private readonly watchers = new Set<Watcher>();
  /**
   * @param floor the lowest revision this replica can have applied since it started (its resume
   *   point's first revision): changes from there on are all in the history, until it drops some.
   */
  constructor(private floor: number) {}

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
    if (from > 0) for (const c of this.history) if (c.revision >= from && matches(w.prefix, c.key) && !w.send(c)) return this.slow(w);
    this.watchers.add(w);
    return { ok: true, cancel: () => this.watchers.delete(w) };
  }

  /** Changes just applied, in log order: kept, and sent to every matching watcher (a watcher that cannot take them is dropped). */
  publish(changes: readonly Change[]): void {
    for (const c of changes) {
      this.history.push(c);
      if (this.history.length > MAX_HISTORY) this.floor = (this.history.shift() as Change).revision + 1;
      for (const w of this.watchers) if (matches(w.prefix, c.key) && !w.send(c)) this.slow(w);
    }
  }

  close(): void {
    for (const w of this.watchers) w.end("closed");
    this.watchers.clear();
  }

  /** The state was replaced (a snapshot installed): every watch ends, and none may start below `floor`. */
  reset(floor: number): void {
    this.close();
    this.history.length = 0;
    this.floor = floor;
  }

  /** The lowest revision a watch may start from (changes below it may be missing here). */
  private oldest(): number {
    return this.floor;
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

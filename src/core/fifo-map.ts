import { invariant } from "./assert.ts";

/**
 * A map bounded to `max` entries that forgets its oldest insertions first. The order is kept in
 * a ring of keys beside the map: finding the oldest key by iterating a Map from its start costs
 * a step per entry deleted before it (the runtime's hash table keeps tombstones until it
 * rehashes), which made bounding a 65,536-entry map the busiest line of a whole acceptor.
 */
export class FifoMap<K, V> {
  private readonly map = new Map<K, V>();
  /** Keys in insertion order from `head`; a key may appear once at most. */
  private order: K[] = [];
  private head = 0;

  /** `onEvict` hears of each entry dropped for the bound (not of replaced or cleared ones). */
  constructor(
    readonly max: number,
    private readonly onEvict?: (k: K, v: V) => void,
  ) {
    invariant(Number.isInteger(max) && max > 0, `a FifoMap holds at least one entry (got ${max})`);
  }

  get size(): number {
    return this.map.size;
  }

  get(k: K): V | undefined {
    return this.map.get(k);
  }

  has(k: K): boolean {
    return this.map.has(k);
  }

  /** Adds `k` (a key already present gets the new value and keeps its place), then drops the oldest past `max`. */
  set(k: K, v: V): void {
    if (!this.map.has(k)) this.order.push(k);
    this.map.set(k, v);
    while (this.map.size > this.max) {
      const old = this.order[this.head++] as K;
      const v = this.map.get(old) as V;
      this.map.delete(old);
      this.onEvict?.(old, v);
    }
    if (this.head >= 1024 && this.head * 2 >= this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
  }

  /** Entries, oldest first. */
  *entries(): IterableIterator<[K, V]> {
    for (let i = this.head; i < this.order.length; i++) {
      const k = this.order[i] as K;
      yield [k, this.map.get(k) as V];
    }
  }

  clear(): void {
    this.map.clear();
    this.order = [];
    this.head = 0;
  }
}

/**
 * Keeps a small insertion-ordered Map at `max` entries by dropping its oldest. Iterating from the
 * start walks past the tombstones of deleted entries, so this suits maps of a few dozen entries;
 * large ones are FifoMaps.
 */
export function dropOldest<K, V>(m: Map<K, V>, max: number): void {
  for (const k of m.keys()) {
    if (m.size <= max) return;
    m.delete(k);
  }
}

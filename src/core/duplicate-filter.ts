import type { OutputBuilder } from "./output.ts";
import type { ClientFilter } from "./types.ts";

/** Per client: every seq up to `low` delivered, plus the delivered seqs above it. */
interface ClientSeen {
  low: number;
  readonly above: Set<number>;
}

/**
 * Bound on the seqs a client may have delivered out of order. A proposer sends seq s+W only once
 * seq s was delivered, so with proposerWindow W <= this bound a learner from the beginning never
 * holds more; config validation refuses a larger window.
 */
export const MAX_OUT_OF_ORDER_SEQS = 4096;

/**
 * A learner's deterministic duplicate filter: every learner sees the same batches in the same
 * order, so every learner from the beginning filters the same values. A learner that did not see
 * the whole history (it joined mid-stream, resumed from a file, or gave instances up as lost)
 * cannot be strict: it slides past the seqs it never saw.
 */
export class DuplicateFilter {
  private readonly seen = new Map<number, ClientSeen>();

  /** `strict`: this learner saw every instance from 0 (more seqs out of order is then conflicting input). */
  constructor(private strict: boolean) {}

  /** From now on the filter has not seen the whole history. */
  loosen(): void {
    this.strict = false;
  }

  /** Whether the filter saw every value from instance 0 (or installed the state of one that did). */
  get exact(): boolean {
    return this.strict;
  }

  /** The filter's state, for another learner (a state transfer); at most `maxClients`, the latest seen. */
  snapshot(maxClients: number): { readonly exact: boolean; readonly clients: ClientFilter[] } {
    const clients: ClientFilter[] = [];
    let skip = this.seen.size - maxClients;
    for (const [client, s] of this.seen) if (skip-- <= 0) clients.push({ client, low: s.low, above: [...s.above] });
    return { exact: this.strict && this.seen.size <= maxClients, clients };
  }

  /**
   * Adds another learner's state (see snapshot) to what this filter saw: both are true (a value
   * either delivered is decided before both their next instances), and a peer's may know less than
   * this one (a replica restarted from its store comes back with an empty filter; installed over
   * this one's, it made this learner deliver again a value it had delivered: simulator, kv seed
   * 147). Input from the network, so bounded.
   */
  install(exact: boolean, clients: readonly ClientFilter[]): void {
    this.strict = exact;
    for (const c of clients) {
      const own = this.seen.get(c.client);
      const s: ClientSeen = { low: Math.max(-1, c.low, own?.low ?? -1), above: new Set() };
      for (const q of own?.above ?? []) if (q > s.low) s.above.add(q);
      for (const q of c.above.slice(0, MAX_OUT_OF_ORDER_SEQS)) if (q > s.low) s.above.add(q);
      while (s.above.delete(s.low + 1)) s.low++;
      // Both at most MAX_OUT_OF_ORDER_SEQS above: keep the highest that many (sliding past the rest, as firstTime does).
      if (s.above.size > MAX_OUT_OF_ORDER_SEQS) {
        const sorted = [...s.above].sort((a, b) => a - b);
        s.low = (sorted[sorted.length - MAX_OUT_OF_ORDER_SEQS] as number) - 1;
        for (const q of sorted) if (q <= s.low) s.above.delete(q);
        while (s.above.delete(s.low + 1)) s.low++;
      }
      this.seen.set(c.client, s);
    }
  }

  /** Whether (client, seq) was delivered, as far as the filter remembers. */
  has(client: number, seq: number): boolean {
    const s = this.seen.get(client);
    return s !== undefined && (seq <= s.low || s.above.has(seq));
  }

  /** True the first time (client, seq) is seen, and remembers it. */
  firstTime(client: number, seq: number, out: OutputBuilder | null): boolean {
    let s = this.seen.get(client);
    if (!s) this.seen.set(client, (s = { low: -1, above: new Set() }));
    // The common case, a client's next seq in order: no set to touch (the same state as below).
    if (seq === s.low + 1 && s.above.size === 0) {
      s.low = seq;
      return true;
    }
    if (seq <= s.low || s.above.has(seq)) return false;
    s.above.add(seq);
    while (s.above.delete(s.low + 1)) s.low++;
    if (s.above.size > MAX_OUT_OF_ORDER_SEQS) {
      // A correct proposer never has more seqs out of order (its window): a broken or hostile
      // client does, and a learner that did not see every instance misses some. Either way slide
      // past them: every learner sees the same batches, so all slide alike.
      if (this.strict) out?.conflict(`client ${client} has more than ${MAX_OUT_OF_ORDER_SEQS} seqs out of order`);
      let min = Infinity;
      for (const q of s.above) min = Math.min(min, q);
      s.low = min - 1;
      while (s.above.delete(s.low + 1)) s.low++;
    }
    return true;
  }
}

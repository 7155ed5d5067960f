import { VALUE_OVERHEAD_BYTES, type ProtocolConfig } from "../config.ts";
import type { ClientValue, Tick } from "../types.ts";
import { valueKey } from "./value-dedup.ts";

/** What batching reads of the configuration. */
export type BatcherConfig = Pick<ProtocolConfig, "batchBytes" | "batchDelayTicks" | "maxPendingValues">;

/**
 * The client values waiting at the coordinator for a batch, and when a batch closes: a full one
 * (batchBytes, or more values than fit) at once, a partial one batchDelayTicks after it began
 * to fill. Bound: maxPendingValues values wait; more are dropped, and their proposers retry.
 */
export class Batcher {
  private readonly pending: ClientValue[] = [];
  /** When the batch being filled began: its first value arrived, or the previous batch closed. */
  private pendingSince: Tick = 0;
  private droppedCount = 0;

  constructor(private readonly cfg: BatcherConfig) {}

  /** Values waiting. */
  get size(): number {
    return this.pending.length;
  }

  /** Client values dropped because the pending queue was full (a total: reset() keeps it). */
  get dropped(): number {
    return this.droppedCount;
  }

  /** Queues `v`; false, and counted as dropped, when maxPendingValues wait already. */
  add(v: ClientValue, now: Tick): boolean {
    if (this.pending.length >= this.cfg.maxPendingValues) {
      this.droppedCount++;
      return false;
    }
    if (this.pending.length === 0) this.pendingSince = now;
    this.pending.push(v);
    return true;
  }

  /**
   * The values of the next batch if it closes now, else null: as many as fit in batchBytes (the
   * first one however large), taken once the batch is full or batchDelayTicks passed.
   */
  close(now: Tick): ClientValue[] | null {
    if (this.pending.length === 0) return null;
    let bytes = 0;
    let n = 0;
    while (n < this.pending.length) {
      const size = (this.pending[n] as ClientValue).payload.byteLength + VALUE_OVERHEAD_BYTES;
      if (n > 0 && bytes + size > this.cfg.batchBytes) break;
      bytes += size;
      n++;
    }
    const full = n < this.pending.length || bytes >= this.cfg.batchBytes;
    if (!full && now - this.pendingSince < this.cfg.batchDelayTicks) return null;
    const values = this.pending.splice(0, n);
    this.pendingSince = now;
    return values;
  }

  /** Removes the pending values with these keys (decided, or in flight in another batch); returns the keys removed. */
  remove(keys: ReadonlySet<string>): string[] {
    const removed: string[] = [];
    let w = 0;
    for (const v of this.pending) {
      const key = valueKey(v);
      if (keys.has(key)) removed.push(key);
      else this.pending[w++] = v;
    }
    this.pending.length = w;
    return removed;
  }

  /** Standing down: the pending values are dropped; their proposers re-send them to whoever leads next. */
  reset(): void {
    this.pending.length = 0;
    this.pendingSince = 0;
  }
}

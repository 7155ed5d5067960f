/**
 * One ring's instances held while a merge is stopped (a ring lost instances; a replica installs
 * another's state): a contiguous run [from, end), bounded by MAX_HELD_BYTES and MAX_HELD_INSTANCES
 * (beyond them the oldest go and `from` rises: the state installed must then stand further on).
 */
import type { Instance } from "../core/types.ts";
import type { RingEntry } from "./merge.ts";

/** Bounds per ring: payload bytes held, and instances (skips carry no payload); under the merge's own buffer bound, so a resumed merge takes them all. */
export const MAX_HELD_BYTES = 64 << 20;
export const MAX_HELD_INSTANCES = 32_768;

export class HeldRun<V extends { readonly payload: Uint8Array }> {
  private entries: RingEntry<V>[];
  private bytes = 0;

  constructor(
    private start: Instance,
    entries: readonly RingEntry<V>[] = [],
  ) {
    this.entries = [];
    for (const e of entries) this.push(e);
  }

  get from(): Instance {
    return this.start;
  }

  /** The instance after the last one held (the next the ring delivers). */
  get end(): Instance {
    return this.start + this.entries.length;
  }

  /** Holds the ring's next instance; one after a gap (another lost range) starts the run again at it. */
  push(e: RingEntry<V>): void {
    if (e.instance !== this.end) this.restartAt(e.instance);
    this.entries.push(e);
    this.bytes += sizeOf(e);
    while ((this.bytes > MAX_HELD_BYTES || this.entries.length > MAX_HELD_INSTANCES) && this.entries.length > 0) {
      this.bytes -= sizeOf(this.entries.shift() as RingEntry<V>);
      this.start++;
    }
  }

  /** Drops everything held; the run starts at `at`. */
  restartAt(at: Instance): void {
    this.entries = [];
    this.bytes = 0;
    this.start = at;
  }

  /** The held instances from `at` on (from <= at <= end). */
  heldFrom(at: Instance): RingEntry<V>[] {
    return this.entries.slice(Math.max(0, at - this.start));
  }
}

function sizeOf(e: RingEntry<{ readonly payload: Uint8Array }>): number {
  let n = 64;
  for (const v of e.values) n += v.payload.byteLength;
  return n;
}

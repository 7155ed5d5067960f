/**
 * Read indexes from one ring's leader (the instance below which every write completed before the
 * ask lies: see KvHost.readBarrier). Reads share asks, as etcd's do: one ask is in flight at a
 * time, and the reads that arrive meanwhile wait for the next one (not the one in flight: it may
 * have left before they began).
 */

/** Bound: reads waiting for a read index at once (more: those reads go through the log). */
export const MAX_READS_WAITING = 10_000;
/** An ask the leader does not answer within this is given up (its reads go through the log). */
export const ASK_TIMEOUT_MS = 500;

interface PendingRead {
  resolve(index: number | null): void;
  readonly timer: ReturnType<typeof setTimeout>;
}

export class ReadIndexAsker {
  /** Reads waiting for the next ask, and those the ask in flight serves (bounded together: MAX_READS_WAITING). */
  private waiting: PendingRead[] = [];
  private asked: PendingRead[] = [];
  private inFlight: { readonly id: number; readonly timer: ReturnType<typeof setTimeout> } | null = null;
  private nextAsk = 0;

  /** @param send sends ask `id` to the ring's core (false: there is no core to ask yet: the reads get null). */
  constructor(private readonly send: (id: number) => boolean) {}

  /** The leader's read index, or null: none within `timeoutMs` (no lease, an election, too many reads at once). */
  readIndex(timeoutMs: number): Promise<number | null> {
    if (this.waiting.length + this.asked.length >= MAX_READS_WAITING) return Promise.resolve(null);
    return new Promise((resolve) => {
      const read = { resolve, timer: setTimeout(() => this.drop(read), timeoutMs) };
      this.waiting.push(read);
      if (this.inFlight === null) this.ask();
    });
  }

  /** The core's answer to ask `id` (null: it has no read index to give). */
  answered(id: number, index: number | null): void {
    if (this.inFlight?.id !== id) return;
    clearTimeout(this.inFlight.timer);
    this.inFlight = null;
    const reads = this.asked;
    this.asked = [];
    for (const r of reads) {
      clearTimeout(r.timer);
      r.resolve(index);
    }
    this.ask();
  }

  /** Every read waiting gets null (they go through the log, or the node is stopping). */
  close(): void {
    if (this.inFlight !== null) clearTimeout(this.inFlight.timer);
    this.inFlight = null;
    for (const r of [...this.asked, ...this.waiting]) {
      clearTimeout(r.timer);
      r.resolve(null);
    }
    this.asked = [];
    this.waiting = [];
  }

  private ask(): void {
    if (this.waiting.length === 0) return;
    const id = (this.nextAsk = (this.nextAsk + 1) >>> 0);
    this.asked = this.waiting;
    this.waiting = [];
    // In flight before it is sent: a core that leads answers at once, from inside send.
    this.inFlight = { id, timer: setTimeout(() => this.answered(id, null), ASK_TIMEOUT_MS) };
    if (!this.send(id)) this.answered(id, null);
  }

  private drop(read: PendingRead): void {
    this.waiting = this.waiting.filter((r) => r !== read);
    this.asked = this.asked.filter((r) => r !== read);
    read.resolve(null);
  }
}

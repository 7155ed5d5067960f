/**
 * A key-value replica above one ring's learner: it applies the deliveries, in order, to its store
 * (several deliveries of one event-loop turn in one atomic step), answers the commands it proposed
 * itself (waiters: the log is durable, so a reply need not wait for the replica's own disk), and
 * makes what it applied durable in groups (`sync`): only that point goes into the learner's applied
 * reports, so acceptors never trim what a crash could still need; after a crash the replica
 * applies again from its durable cursor, to the same state and the same replies.
 *
 * The cursor saved with the state is the next instance to apply (u64, big-endian); a restarted
 * replica's learner starts there (not at instance 0).
 */
import { invariant } from "../../core/assert.ts";
import type { Delivery, Instance } from "../../core/types.ts";
import type { KvStore, StoreRow } from "../store/kv-store.ts";
import { type Applied, KvMachine, type KvScope, type LogItem, revisionOf } from "./kv-machine.ts";
import { StoreHistory, WatchHub } from "./watch.ts";
import type { Reply } from "./reply.ts";

/** Bound: commands this replica waits for at once (more are refused: the caller answers 503). */
export const MAX_WAITERS = 10_000;
/** Bound: deliveries queued for the next apply step (a turn delivers far fewer; more is a bug). */
export const MAX_PENDING_DELIVERIES = 100_000;

export class WaitError extends Error {
  constructor(
    readonly reason: "timeout" | "busy" | "closed",
    message: string,
  ) {
    super(message);
    this.name = "WaitError";
  }
}

interface Waiter {
  resolve(r: Reply): void;
  reject(e: WaitError): void;
  timer: ReturnType<typeof setTimeout>;
}

export class KvReplica {
  private machine: KvMachine;
  /** Watches of this replica's changes (see watch.ts). */
  readonly watches: WatchHub;
  private pending: Delivery[] = [];
  private readonly waiters = new Map<string, Waiter>();
  /** Reads waiting until this replica applied far enough (see whenApplied, whenTrue). */
  private readonly indexWaiters = new Set<{ readonly done: () => boolean; resolve(): void; reject(e: WaitError): void; timer: ReturnType<typeof setTimeout> }>();
  private next: Instance;
  /** Commands applied, and values the log carried that were no command. */
  readonly counters = { applied: 0, badCommands: 0, steps: 0 };

  /**
   * @param observe told each log item's reply as it is applied, with the item's revision (the
   *   simulator compares replies across replicas).
   * @param o.scope with partitions: the partitions this replica holds (see KvScope).
   * @param o.merged the host applies a merge of rings (applyItems, its own cursor bytes), not one ring's deliveries.
   */
  constructor(
    private readonly store: KvStore,
    private readonly observe: ((revision: number, reply: Reply) => void) | null = null,
    private readonly o: { readonly scope?: KvScope; readonly merged?: boolean } = {},
  ) {
    this.machine = new KvMachine(store, undefined, o.scope ?? null);
    this.next = o.merged ? 0 : cursorInstance(store.cursor());
    // A store from before watches were kept holds no changes: none below its cursor.
    if (store.changesFloor() === null) store.atomically(() => store.setChangesFloor(revisionOf(this.next, 0)));
    this.watches = new WatchHub(new StoreHistory(store));
  }

  /** The next instance to apply: where this replica's learner starts. */
  get resumeFrom(): Instance {
    return this.next;
  }

  get keys(): number {
    return this.store.size();
  }

  /** A delivery of the learner, in instance order; applied by the next `applyPending`. */
  deliver(d: Delivery): void {
    const expected = this.pending.at(-1)?.instance ?? this.next - 1;
    invariant(d.instance === expected + 1, `deliveries come in instance order (${d.instance} after ${expected})`);
    invariant(this.pending.length < MAX_PENDING_DELIVERIES, "the apply queue is drained every turn");
    this.pending.push(d);
  }

  /**
   * Applies the queued deliveries in one atomic, durable step and answers their waiters. Returns
   * the instance below which everything is applied and durable, or null when nothing was queued.
   */
  applyPending(): Instance | null {
    if (this.pending.length === 0) return null;
    const batch = this.pending;
    this.pending = [];
    const items: LogItem[] = [];
    // By each value's place in its instance, not its index among those delivered: replicas whose duplicate filters differ (one resumed without the whole history) agree.
    for (const d of batch) d.values.forEach((v, i) => items.push({ revision: revisionOf(d.instance, d.positions?.[i] ?? i), bytes: v.payload }));
    const upTo = (batch.at(-1) as Delivery).instance + 1;
    this.next = upTo;
    this.applyItems(items, cursorBytes(upTo));
    return upTo;
  }

  /**
   * Applies log items in one atomic, durable step with the host's `cursor` (what it saves to resume
   * after them), answers their waiters and watchers, and releases the reads waiting for it.
   */
  applyItems(items: readonly LogItem[], cursor: Uint8Array): void {
    const applied = this.machine.applyBatch(items, cursor);
    this.counters.steps++;
    applied.forEach((a, i) => {
      this.answer(a);
      this.observe?.((items[i] as LogItem).revision, a.reply);
    });
    this.watches.publish(applied.flatMap((a) => a.changes));
    this.releaseIndexWaiters();
  }

  private releaseIndexWaiters(): void {
    for (const w of this.indexWaiters) {
      if (!w.done()) continue;
      this.indexWaiters.delete(w);
      clearTimeout(w.timer);
      w.resolve();
    }
  }

  /**
   * Replaces this replica's whole state with a snapshot's (state transfer: `rows` at `cursor`, in
   * one atomic, synced step). Deliveries not applied yet are dropped (the host feeds those from the
   * new cursor on); watches end (their changes between the old and the new state are not known
   * here: a watcher resumes and is told COMPACTED); waiting commands stay (a later delivery may
   * answer them; otherwise they time out and the client retries, answered from the client table).
   * `floor`: the revision from which the state goes on (default: the single-ring cursor's).
   */
  replaceState(rows: Iterable<StoreRow>, cursor: Uint8Array, floor?: number): void {
    const next = this.o.merged ? 0 : cursorInstance(cursor);
    const from = floor ?? revisionOf(next, 0);
    this.store.replaceAll(rows, cursor);
    this.store.atomically(() => this.store.setChangesFloor(from));
    this.store.sync();
    this.machine = new KvMachine(this.store, undefined, this.o.scope ?? null);
    this.pending = [];
    this.next = next;
    this.watches.reset(from);
    this.releaseIndexWaiters();
  }

  /** Resolves once this replica applied everything below `index` (a read index); a WaitError after `timeoutMs`. */
  whenApplied(index: Instance, timeoutMs: number): Promise<void> {
    return this.whenTrue(() => index <= this.next, timeoutMs, `up to instance ${index}`);
  }

  /** Resolves once `done()` holds, checked after every apply step; a WaitError naming `what` after `timeoutMs`. */
  whenTrue(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      if (this.indexWaiters.size + this.waiters.size >= MAX_WAITERS) return reject(new WaitError("busy", `${MAX_WAITERS} commands and reads are awaited here already`));
      const w = {
        done,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.indexWaiters.delete(w);
          reject(new WaitError("timeout", `this replica did not apply ${what} within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.indexWaiters.add(w);
    });
  }

  /** Makes everything applied so far durable; returns the instance below which that is (the applied report). */
  sync(): Instance {
    this.store.sync();
    return this.next;
  }

  /** The reply to command (client, seq) once applied here; a WaitError after `timeoutMs`, or at once past MAX_WAITERS. */
  waitFor(client: number, seq: number, timeoutMs: number): Promise<Reply> {
    const key = `${client}:${seq}`;
    return new Promise<Reply>((resolve, reject) => {
      if (this.waiters.has(key)) return reject(new WaitError("busy", `command ${seq} of client ${client} is already awaited here`));
      if (this.waiters.size >= MAX_WAITERS) return reject(new WaitError("busy", `${MAX_WAITERS} commands are awaited here already`));
      const timer = setTimeout(() => {
        this.waiters.delete(key);
        reject(new WaitError("timeout", `command ${seq} of client ${client} was not applied within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.set(key, { resolve, reject, timer });
    });
  }

  /**
   * The reply a get of `key` has from this replica's state now, without the log. Linearizable
   * only once this replica applied everything decided before the read began (the read index);
   * without that wait it is a stale read (the planted bug of KvApiOptions.plantedLocalReads).
   */
  readNow(key: Uint8Array): Reply {
    const v = this.store.get(key);
    return v ? { ok: true, op: "get", value: v.value, revision: v.revision } : { ok: false, code: "NOT_FOUND", message: "no such key" };
  }

  /** Rejects every waiter and closes the store. */
  close(): void {
    for (const w of this.waiters.values()) {
      clearTimeout(w.timer);
      w.reject(new WaitError("closed", "the replica is shutting down"));
    }
    this.waiters.clear();
    for (const w of this.indexWaiters) {
      clearTimeout(w.timer);
      w.reject(new WaitError("closed", "the replica is shutting down"));
    }
    this.indexWaiters.clear();
    this.watches.close();
    this.store.close();
  }

  private answer(a: Applied): void {
    if (a.client === null) {
      this.counters.badCommands++;
      return;
    }
    this.counters.applied++;
    const key = `${a.client}:${a.seq}`;
    const w = this.waiters.get(key);
    if (!w) return;
    this.waiters.delete(key);
    clearTimeout(w.timer);
    w.resolve(a.reply);
  }
}

function cursorBytes(next: Instance): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(next));
  return b;
}

/** The instance a single-ring cursor names (the store's own cursor: asserted, never network input). */
export function cursorInstance(c: Uint8Array | null): Instance {
  if (c === null) return 0;
  invariant(c.byteLength === 8, "a single-ring cursor is 8 bytes");
  return Number(new DataView(c.buffer, c.byteOffset, 8).getBigUint64(0));
}

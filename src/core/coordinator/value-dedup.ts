import { FifoMap } from "../fifo-map.ts";
import type { Instance } from "../types.ts";

/** Bound: (client, seq) keys remembered as recently decided, to drop late retransmissions. */
export const MAX_RECENT_DECIDED = 65536;

/** Bound: decided batches of other coordinators remembered (by their value ids) while not leading. */
export const MAX_DECIDED_ELSEWHERE = 1024;

/** What identifies a client value: its proposer's client id and sequence number. */
export interface ValueId {
  readonly client: number;
  readonly seq: number;
}

/** The key a value is known by here: "client:seq". */
export function valueKey(v: ValueId): string {
  return `${v.client}:${v.seq}`;
}

/**
 * Value de-duplication at the coordinator: proposers re-send a value until they hear it decided,
 * so a copy that is queued, in flight or recently decided here must not go into a batch again
 * (learners would filter the second delivery, but the instance would be spent for nothing).
 */
export class ValueDedup {
  /**
   * Keys of the values pending or in flight here. Bounded by what it mirrors: at most
   * maxPendingValues pending, plus the values of the batches in flight (window batches); keys
   * leave with their values (decided, dropped or lost).
   */
  private readonly queued = new Set<string>();
  /** Keys of values recently decided, with their instance (insertion-ordered, bounded). */
  private readonly recentDecided = new FifoMap<string, Instance>(MAX_RECENT_DECIDED);
  /**
   * While not leading: the values (client, seq, client, seq, ...) of batches decided by other
   * coordinators, by instance (bounded), settled on activation. Ids only: a batch's payloads are
   * views of the datagram that carried it, which a reference would keep alive.
   */
  private readonly decidedElsewhere = new FifoMap<Instance, readonly number[]>(MAX_DECIDED_ELSEWHERE);
  private duplicateCount = 0;

  /** Retransmitted client values dropped because they were already queued, in flight or decided. */
  get duplicates(): number {
    return this.duplicateCount;
  }

  /**
   * Whether the value with this key is a retransmission, counted if so: the instance it was
   * recently decided at (its proposer missed the news), "queued" while it is pending or in flight
   * here, null when it is new.
   */
  retransmission(key: string): Instance | "queued" | null {
    const decidedAt = this.recentDecided.get(key);
    if (decidedAt !== undefined) {
      this.duplicateCount++;
      return decidedAt;
    }
    if (this.queued.has(key)) {
      this.duplicateCount++;
      return "queued";
    }
    return null;
  }

  /** The value is pending or in flight here now. */
  queue(key: string): void {
    this.queued.add(key);
  }

  /** The value is no longer pending or in flight here. */
  unqueue(key: string): void {
    this.queued.delete(key);
  }

  /** A batch of ours is lost (another value took its instance): its proposers retry, so its values may come again. */
  forget(values: readonly ValueId[]): void {
    for (const v of values) this.queued.delete(valueKey(v));
  }

  /** A batch of ours decided at `instance`: its values leave the queue and are remembered as decided there. */
  ownBatchDecided(values: readonly ValueId[], instance: Instance): void {
    for (const v of values) {
      const key = valueKey(v);
      this.queued.delete(key);
      this.remember(key, instance);
    }
  }

  /**
   * Another coordinator's batch decided at `instance` while this one leads: its values are
   * remembered as decided there. Returns their keys, so that copies pending here can be dropped
   * (they stay queued until then: the caller drops them with their pending copy).
   */
  batchDecided(values: readonly ValueId[], instance: Instance): Set<string> {
    const keys = new Set<string>();
    for (const v of values) {
      const key = valueKey(v);
      keys.add(key);
      this.remember(key, instance);
    }
    return keys;
  }

  /** While not leading: another coordinator's batch decided at `instance`; only its ids are copied. */
  rememberWhileIdle(instance: Instance, values: readonly ValueId[]): void {
    const ids = new Array<number>(2 * values.length);
    let k = 0;
    for (const v of values) {
      ids[k++] = v.client;
      ids[k++] = v.seq;
    }
    this.decidedElsewhere.set(instance, ids);
  }

  /** The batches remembered while not leading, in instance order, and forgotten here (activation settles them). */
  takeRemembered(): { readonly instance: Instance; readonly values: ValueId[] }[] {
    const batches: { readonly instance: Instance; readonly values: ValueId[] }[] = [];
    for (const [instance, ids] of [...this.decidedElsewhere.entries()].sort((a, b) => a[0] - b[0])) {
      const values: ValueId[] = [];
      for (let k = 0; k + 1 < ids.length; k += 2) values.push({ client: ids[k] as number, seq: ids[k + 1] as number });
      batches.push({ instance, values });
    }
    this.decidedElsewhere.clear();
    return batches;
  }

  /**
   * Standing down: nothing is pending or in flight any more. What was decided stays remembered
   * (a late re-send is still answered after the next activation), and so do the batches decided
   * elsewhere: they are gathered precisely while not leading, and a step-down may come then too.
   */
  reset(): void {
    this.queued.clear();
  }

  /** The first instance holding a value is where learners deliver it (later copies are filtered): a proposer is told that one. */
  private remember(key: string, instance: Instance): void {
    if (!this.recentDecided.has(key)) this.recentDecided.set(key, instance);
  }
}

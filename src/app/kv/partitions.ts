/**
 * The key-value service's partitions over Multi-Ring Paxos (the DHT of seed 001, thesis §4.2.2):
 * a key belongs to partition FNV-1a(key) mod P, and partition i's commands go to group
 * `kv.partitions[i]`; a command on several partitions goes to `kv.global`, a group every replica
 * subscribes to, so that every replica orders it the same way against each partition's commands
 * (the deterministic merge orders any two rings' instances alike at every learner of both).
 *
 * Revisions: a replica learns only its own partitions' rings, yet a key's revision must be the
 * same at every replica of its partition, and increase along every replica's log. An instance's
 * place in the merge of *all* the configuration's rings does both: its ring's slot (Merged.slot)
 * and the ring's rank among all rings give it, and each replica's merge is a part of that one.
 */
import { Decoder, Encoder } from "cbor-x";
import { invariant } from "../../core/assert.ts";
import type { MergeCursor, RingId } from "../../multiring/merge.ts";

/** Bound: values of one instance a merged revision leaves room for (more are answered BAD_COMMAND, the same everywhere). */
export const MAX_MERGED_VALUES = 1 << 12;

/** The partition of `key` among `count`: FNV-1a (32 bits) of its bytes, mod count. */
export function partitionOf(key: Uint8Array, count: number): number {
  let h = 0x811c9dc5;
  for (const b of key) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h % count;
}

/** What places a merged instance among every ring's: the rings' count, its ring's rank among them (ascending ids), and M. */
export interface RevisionPlan {
  readonly rings: number;
  readonly rankOf: ReadonlyMap<RingId, number>;
  readonly m: number;
}

/** The revision of the `index`-th value of the instance at `slot` of `ring`: unique, >= 1, increasing along every merge. */
export function mergedRevision(plan: RevisionPlan, ring: RingId, slot: number, index: number): number {
  const rank = plan.rankOf.get(ring);
  invariant(rank !== undefined, `ring ${ring} is a ring of the configuration`);
  invariant(index >= 0 && index < MAX_MERGED_VALUES, `value index ${index} fits a merged revision`);
  const place = (Math.floor(slot / plan.m) * plan.rings + rank) * plan.m + (slot % plan.m);
  const revision = place * MAX_MERGED_VALUES + index + 1;
  invariant(Number.isSafeInteger(revision), `slot ${slot} of ring ${ring} fits a revision`);
  return revision;
}

/** The partitions as a replica and its API see them. */
export class KvPartitions {
  /** Partition i's group. */
  readonly groups: readonly number[];
  readonly global: number;
  private readonly ringOfGroup: ReadonlyMap<number, RingId>;

  constructor(o: { readonly partitions: readonly number[]; readonly global: number; readonly ringOfGroup: ReadonlyMap<number, RingId> }) {
    invariant(o.partitions.length > 0, "at least one partition");
    this.groups = o.partitions;
    this.global = o.global;
    this.ringOfGroup = o.ringOfGroup;
  }

  get count(): number {
    return this.groups.length;
  }

  partitionOf(key: Uint8Array): number {
    return partitionOf(key, this.count);
  }

  /** The group and ring of partition `p` (null: the global group's). */
  route(p: number | null): { readonly group: number; readonly ring: RingId } {
    const group = p === null ? this.global : (this.groups[p] as number);
    const ring = this.ringOfGroup.get(group);
    invariant(ring !== undefined, `group ${group} is on a ring`);
    return { group, ring };
  }

  /** The partitions of a replica subscribed to `groups`. */
  served(groups: readonly number[]): Set<number> {
    const set = new Set(groups);
    return new Set(this.groups.flatMap((g, i) => (set.has(g) ? [i] : [])));
  }
}

const encoder = new Encoder({ useRecords: false, mapsAsObjects: true });
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true });

/** A merge cursor as a replica's store keeps it. */
export function encodeMergeCursor(c: MergeCursor): Uint8Array {
  const rings = [...c.next.keys()].sort((a, b) => a - b);
  return encoder.encode({ r: rings, n: rings.map((r) => c.next.get(r)), c: rings.map((r) => c.carry.get(r) ?? 0), s: rings.map((r) => c.slots?.get(r) ?? 0), t: c.turn, k: c.takenInTurn });
}

/** A cursor from a peer (a snapshot's): null unless well-formed, over exactly `rings` (ascending), for a merge of M = `m`. */
export function parseMergeCursor(bytes: Uint8Array, rings: readonly RingId[], m: number): MergeCursor | null {
  let raw: unknown;
  try {
    raw = decoder.decode(bytes);
  } catch {
    return null;
  }
  const x = raw as { r?: unknown; n?: unknown; c?: unknown; s?: unknown; t?: unknown; k?: unknown } | null;
  const counts = (v: unknown): v is number[] => Array.isArray(v) && v.length === rings.length && v.every((n) => Number.isSafeInteger(n) && (n as number) >= 0);
  if (x === null || typeof x !== "object" || !counts(x.r) || !counts(x.n) || !counts(x.c) || !counts(x.s)) return null;
  if (x.r.some((r, i) => r !== rings[i]) || !rings.includes(x.t as number) || !Number.isSafeInteger(x.k) || (x.k as number) < 0 || (x.k as number) >= m) return null;
  return cursorOf(x as CursorMap);
}

/** The least revision a state at `cursor` goes on with (its rings' next slots): the watch history's floor after installing it. */
export function revisionFloor(plan: RevisionPlan, cursor: MergeCursor): number {
  return Math.min(...[...cursor.next.keys()].map((r) => mergedRevision(plan, r, cursor.slots?.get(r) ?? 0, 0)));
}

/** The cursor a replica's store holds (its own bytes: a malformed one is a broken store, asserted). */
export function decodeMergeCursor(bytes: Uint8Array): MergeCursor {
  const m = decoder.decode(bytes) as CursorMap;
  invariant(Array.isArray(m.r) && m.r.length === m.n.length && m.r.length === m.c.length && m.r.length === m.s.length, "a merge cursor's rings");
  return cursorOf(m);
}

/** A merge cursor's bytes as decoded: per ring (r), its next instance (n), carry (c) and slot (s); the turn (t) and slots taken in it (k). */
interface CursorMap {
  readonly r: number[];
  readonly n: number[];
  readonly c: number[];
  readonly s: number[];
  readonly t: number;
  readonly k: number;
}

function cursorOf(m: CursorMap): MergeCursor {
  const at = (xs: number[]) => new Map(m.r.map((r, i) => [r, xs[i] as number]));
  return { next: at(m.n), carry: at(m.c), slots: at(m.s), turn: m.t, takenInTurn: m.k };
}

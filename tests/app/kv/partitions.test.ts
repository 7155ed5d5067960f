import { describe, expect, test } from "bun:test";
import { encode } from "cbor-x";
import { decodeMergeCursor, encodeMergeCursor, KvPartitions, MAX_MERGED_VALUES, mergedRevision, parseMergeCursor, partitionOf, type RevisionPlan, revisionFloor } from "../../../src/app/kv/partitions.ts";
import { DeterministicMerge, type Merged, type RingEntry } from "../../../src/multiring/merge.ts";
import { InvariantError } from "../../../src/core/assert.ts";

const b = (s: string) => new TextEncoder().encode(s);

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0;
    return s / 2 ** 32;
  };
}

/** Per ring, 60 instances: values (1–3 of them) or skips of 1–5 slots. */
function streams(seed: number, rings: readonly number[]): Map<number, RingEntry<string>[]> {
  const r = rng(seed);
  return new Map(
    rings.map((ring) => [
      ring,
      Array.from({ length: 60 }, (_, i): RingEntry<string> => (r() < 0.3 ? { instance: i, slots: 1 + Math.floor(r() * 5), values: [] } : { instance: i, slots: 1, values: Array.from({ length: 1 + Math.floor(r() * 3) }, (_, k) => `${ring}.${i}.${k}`) })),
    ]),
  );
}

/** A learner of `rings`, fed ring by ring in a random interleaving: the revision of every value it releases, in order. */
function learn(all: Map<number, RingEntry<string>[]>, rings: readonly number[], m: number, plan: RevisionPlan, seed: number): [string, number][] {
  const merge = new DeterministicMerge<string>(rings, m);
  const pos = new Map(rings.map((x) => [x, 0]));
  const r = rng(seed);
  const out: [string, number][] = [];
  const take = (ms: Merged<string>[]) => ms.forEach((e) => e.values.forEach((v, i) => out.push([v, mergedRevision(plan, e.ring, e.slot, i)])));
  for (;;) {
    const open = rings.filter((x) => (pos.get(x) as number) < 60);
    if (open.length === 0) return out;
    const ring = open[Math.floor(r() * open.length)] as number;
    const p = pos.get(ring) as number;
    take(merge.push(ring, (all.get(ring) as RingEntry<string>[])[p] as RingEntry<string>));
    pos.set(ring, p + 1);
  }
}

describe("key-value partitions", () => {
  test("a key's partition is FNV-1a (32 bits) of its bytes mod the count: fixed for good (replicas and clients of every version agree)", () => {
    expect(partitionOf(b(""), 1_000_003)).toBe(0x811c9dc5 % 1_000_003);
    expect(partitionOf(b("a"), 1_000_003)).toBe(0xe40c292c % 1_000_003);
    expect(partitionOf(b("foobar"), 1_000_003)).toBe(0xbf9cf968 % 1_000_003);
    const counts = [0, 0, 0, 0, 0];
    for (let i = 0; i < 5000; i++) (counts[partitionOf(b(`user:${i}`), 5)] as number)++;
    for (const c of counts) expect(c).toBeGreaterThan(850);
  });

  test("merged revisions: every learner, of whatever rings, releases its values in increasing revisions, and a value has the same revision at every learner", () => {
    const rings = [2, 5, 9];
    for (let seed = 1; seed <= 40; seed++) {
      const m = 1 + (seed % 3);
      const plan: RevisionPlan = { rings: rings.length, rankOf: new Map(rings.map((r, i) => [r, i])), m };
      const all = streams(seed, rings);
      const seen = new Map<string, number>();
      for (const subset of [[2, 5, 9], [2, 9], [5, 9], [9], [2, 5]]) {
        const got = learn(all, subset, m, plan, seed * 31 + subset.length);
        for (let i = 1; i < got.length; i++) expect((got[i] as [string, number])[1]).toBeGreaterThan((got[i - 1] as [string, number])[1]);
        for (const [v, rev] of got) {
          if (seen.has(v)) expect(rev).toBe(seen.get(v) as number);
          seen.set(v, rev);
        }
      }
    }
    const plan: RevisionPlan = { rings: 1, rankOf: new Map([[1, 0]]), m: 1 };
    expect(() => mergedRevision(plan, 1, 0, MAX_MERGED_VALUES)).toThrow(InvariantError);
    expect(() => mergedRevision(plan, 2, 0, 0)).toThrow(InvariantError);
  });

  test("a merge cursor survives its bytes: a merge resumed from them releases what the original goes on to release", () => {
    const rings = [1, 2, 3];
    const all = streams(7, rings);
    const a = new DeterministicMerge<string>(rings, 2);
    for (let i = 0; i < 30; i++) for (const r of rings) a.push(r, (all.get(r) as RingEntry<string>[])[i] as RingEntry<string>);
    const cursor = decodeMergeCursor(encodeMergeCursor(a.cursor()));
    expect(cursor).toEqual(a.cursor());
    const b2 = new DeterministicMerge<string>(rings, 2, undefined, cursor);
    const restA: Merged<string>[] = [];
    const restB: Merged<string>[] = [];
    for (const r of rings) {
      const from = cursor.next.get(r) as number;
      // The original holds what it buffered past the cursor; the resumed one is fed it again.
      for (let i = 30; i < 60; i++) restA.push(...a.push(r, (all.get(r) as RingEntry<string>[])[i] as RingEntry<string>));
      for (let i = from; i < 60; i++) restB.push(...b2.push(r, (all.get(r) as RingEntry<string>[])[i] as RingEntry<string>));
    }
    expect(restB.map((e) => [e.ring, e.instance, e.slot])).toEqual(restA.map((e) => [e.ring, e.instance, e.slot]));
  });

  test("routes: a partition to its group and ring, the global group for commands on several; the partitions a replica's groups hold", () => {
    const p = new KvPartitions({ partitions: [10, 11, 12], global: 20, ringOfGroup: new Map([[10, 1], [11, 1], [12, 2], [20, 3]]) });
    expect(p.count).toBe(3);
    expect(p.route(2)).toEqual({ group: 12, ring: 2 });
    expect(p.route(null)).toEqual({ group: 20, ring: 3 });
    expect([...p.served([11, 20, 12])]).toEqual([1, 2]);
    expect(p.partitionOf(b("a"))).toBe(partitionOf(b("a"), 3));
  });
});

describe("a peer's merge cursor (network input)", () => {
  test("parseMergeCursor takes a well-formed cursor over exactly this replica's rings, and answers null for anything else", () => {
    const good = { next: new Map([[1, 5], [3, 7]]), carry: new Map([[1, 0], [3, 2]]), slots: new Map([[1, 9], [3, 12]]), turn: 3, takenInTurn: 1 };
    expect(parseMergeCursor(encodeMergeCursor(good), [1, 3], 2)).toEqual(good);
    expect(parseMergeCursor(encodeMergeCursor(good), [1, 2], 2)).toBeNull(); // other rings
    expect(parseMergeCursor(encodeMergeCursor(good), [1, 3], 1)).toBeNull(); // takenInTurn beyond M
    expect(parseMergeCursor(encodeMergeCursor({ ...good, turn: 2 }), [1, 3], 2)).toBeNull();
    expect(parseMergeCursor(encodeMergeCursor({ ...good, next: new Map([[1, -1], [3, 7]]) }), [1, 3], 2)).toBeNull();
    for (const junk of [new Uint8Array([0xff, 0x01]), new Uint8Array(0), encode([1, 2]), encode({ r: [1, 3], n: [1], c: [0, 0], s: [0, 0], t: 1, k: 0 }), encode({ r: [1, 3], n: ["a", 1], c: [0, 0], s: [0, 0], t: 1, k: 0 })])
      expect(parseMergeCursor(junk, [1, 3], 2)).toBeNull();
  });

  test("revisionFloor: the least revision a state at a cursor goes on with", () => {
    const plan: RevisionPlan = { rings: 2, rankOf: new Map([[1, 0], [3, 1]]), m: 1 };
    const c = { next: new Map([[1, 5], [3, 7]]), carry: new Map([[1, 0], [3, 0]]), slots: new Map([[1, 9], [3, 4]]), turn: 1, takenInTurn: 0 };
    expect(revisionFloor(plan, c)).toBe(Math.min(mergedRevision(plan, 1, 9, 0), mergedRevision(plan, 3, 4, 0)));
    expect(revisionFloor(plan, c)).toBe(mergedRevision(plan, 3, 4, 0));
  });
});

import { describe, expect, test } from "bun:test";
import { type Command, encodeRequest } from "../../../src/app/kv/command.ts";
import { KvMachine, type LogItem, revisionOf } from "../../../src/app/kv/kv-machine.ts";
import { MemoryKvStore } from "../../../src/app/store/memory-store.ts";
import { CLIENT_SEQ_WINDOW } from "../../../src/app/kv/client-table.ts";
import type { Reply } from "../../../src/app/kv/reply.ts";
import { partitionOf } from "../../../src/app/kv/partitions.ts";

const b = (s: string) => new TextEncoder().encode(s);
const text = (x: Uint8Array) => new TextDecoder().decode(x);

/** A log of commands from one client, one per instance. */
class Log {
  private instance = 0;
  readonly items: LogItem[] = [];
  add(client: number, seq: number, command: Command): LogItem {
    const item = { revision: revisionOf(this.instance++, 0), bytes: encodeRequest({ client, seq, command }) };
    this.items.push(item);
    return item;
  }
}

function run(m: KvMachine, items: readonly LogItem[]): Reply[] {
  return items.flatMap((i) => m.applyBatch([i], new Uint8Array([1])).map((a) => a.reply));
}

describe("the key-value state machine", () => {
  test("each command's semantics: put, get, insert (EXISTS), update (NOT_FOUND), cas on revisions, delete, range", () => {
    const log = new Log();
    const m = new KvMachine(new MemoryKvStore());
    const r = (command: Command, seq: number) => run(m, [log.add(1, seq, command)])[0] as Reply;
    const put = r({ op: "put", key: b("a"), value: b("1") }, 1);
    expect(put).toEqual({ ok: true, op: "write", revision: revisionOf(0, 0), prev: 0 });
    expect(r({ op: "get", key: b("a") }, 2)).toMatchObject({ ok: true, op: "get", revision: revisionOf(0, 0) });
    expect(r({ op: "insert", key: b("a"), value: b("2") }, 3)).toMatchObject({ ok: false, code: "EXISTS", revision: revisionOf(0, 0) });
    expect(r({ op: "update", key: b("zz"), value: b("2") }, 4)).toMatchObject({ ok: false, code: "NOT_FOUND" });
    expect(r({ op: "cas", key: b("a"), expected: 12345, value: b("3") }, 5)).toMatchObject({ ok: false, code: "REVISION_MISMATCH", revision: revisionOf(0, 0) });
    expect(r({ op: "cas", key: b("a"), expected: revisionOf(0, 0), value: b("3") }, 6)).toMatchObject({ ok: true, revision: revisionOf(5, 0), prev: revisionOf(0, 0) });
    expect(r({ op: "cas", key: b("new"), expected: 0, value: b("n") }, 7)).toMatchObject({ ok: true, prev: 0 });
    r({ op: "insert", key: b("b"), value: b("x") }, 8);
    expect(r({ op: "update", key: b("b"), value: b("y") }, 9)).toMatchObject({ ok: true, op: "write" });
    expect(r({ op: "delete", key: b("zz") }, 10)).toMatchObject({ ok: true, deleted: false });
    expect(r({ op: "delete", key: b("new") }, 11)).toMatchObject({ ok: true, deleted: true });
    const range = r({ op: "range", from: b("a"), to: null, limit: 1 }, 12);
    if (!range.ok || range.op !== "range") throw new Error("range failed");
    expect(range.entries.map((e) => text(e.key))).toEqual(["a"]);
    expect(range.more).toBe(true);
    const all = r({ op: "range", from: new Uint8Array(0), to: b("c"), limit: 10 }, 13);
    expect(all.ok && all.op === "range" && all.entries.map((e) => `${text(e.key)}=${text(e.value)}`)).toEqual(["a=3", "b=y"]);
  });

  test("a retried command is answered from the client table and never applied twice, also after other clients wrote", () => {
    const log = new Log();
    const m = new KvMachine(new MemoryKvStore());
    const first = log.add(7, 1, { op: "cas", key: b("k"), expected: 0, value: b("mine") });
    const other = log.add(8, 1, { op: "put", key: b("k"), value: b("theirs") });
    const retry = { revision: revisionOf(2, 0), bytes: first.bytes };
    const [r1, , r3] = run(m, [first, other, retry]);
    expect(r1).toMatchObject({ ok: true, prev: 0 });
    // Applied again, the cas would fail (the revision moved on) and the value stay "theirs".
    expect(r3).toEqual(r1 as Reply);
    const got = run(m, [{ revision: revisionOf(3, 0), bytes: encodeRequest({ client: 9, seq: 1, command: { op: "get", key: b("k") } }) }])[0];
    expect(got?.ok && got.op === "get" && text(got.value)).toBe("theirs");
  });

  test("a retry older than the kept window is answered STALE, not applied", () => {
    const log = new Log();
    const m = new KvMachine(new MemoryKvStore());
    const items: LogItem[] = [];
    for (let seq = 1; seq <= CLIENT_SEQ_WINDOW + 5; seq++) items.push(log.add(3, seq, { op: "put", key: b(`k${seq}`), value: b("v") }));
    run(m, items);
    const late = run(m, [{ revision: revisionOf(10_000, 0), bytes: (items[0] as LogItem).bytes }])[0];
    expect(late).toMatchObject({ ok: false, code: "STALE" });
    const recent = run(m, [{ revision: revisionOf(10_001, 0), bytes: (items.at(-1) as LogItem).bytes }])[0];
    expect(recent).toMatchObject({ ok: true, op: "write", revision: (items.at(-1) as LogItem).revision });
  });

  test("deterministic: two replicas of one log hold the same state and gave the same replies; the client table stays bounded", () => {
    const log = new Log();
    let x = 12345;
    // mulberry32: a small PRNG good in its low bits
    const rnd = (n: number) => {
      x = (x + 0x6d2b79f5) | 0;
      let t = Math.imul(x ^ (x >>> 15), 1 | x);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) % n;
    };
    const seqs = new Map<number, number>();
    for (let i = 0; i < 600; i++) {
      const key = b(`k${rnd(20)}`);
      const ops: Command[] = [
        { op: "put", key, value: b(String(i)) },
        { op: "cas", key, expected: rnd(2) === 0 ? 0 : revisionOf(rnd(i + 1), 0), value: b(String(i)) },
        { op: "delete", key },
        { op: "insert", key, value: b("i") },
      ];
      const client = rnd(40);
      seqs.set(client, (seqs.get(client) ?? 0) + 1);
      log.add(client, seqs.get(client) as number, ops[rnd(4)] as Command);
    }
    const stores = [new MemoryKvStore(), new MemoryKvStore()];
    const replies = stores.map((s) => run(new KvMachine(s, 16), log.items));
    expect(replies[0]).toEqual(replies[1] as Reply[]);
    const dump = (s: MemoryKvStore) => s.range(new Uint8Array(0), null, 1000).map((e) => `${text(e.key)}=${text(e.value)}@${e.revision}`);
    expect(dump(stores[0] as MemoryKvStore)).toEqual(dump(stores[1] as MemoryKvStore));
    expect((stores[0] as MemoryKvStore).clients()).toBe(16);
  });

  test("a malformed value is answered BAD_COMMAND and changes nothing; revisions must increase", () => {
    const s = new MemoryKvStore();
    const m = new KvMachine(s);
    expect(m.applyBatch([{ revision: 1, bytes: new Uint8Array([0xff]) }], new Uint8Array([9]))[0]).toMatchObject({ client: null, reply: { ok: false, code: "BAD_COMMAND" } });
    expect(s.size()).toBe(0);
    expect([...(s.cursor() ?? [])]).toEqual([9]);
    expect(() => m.applyBatch([{ revision: 1, bytes: new Uint8Array([0xff]) }], new Uint8Array([9]))).toThrow("revisions increase");
  });
});

describe("the key-value state machine with partitions (KvScope)", () => {
  const keys = Array.from({ length: 40 }, (_, i) => `key${i}`);
  const part = (k: string) => partitionOf(b(k), 3);

  test("a batch writes the keys of the partitions a replica holds, all at the batch's revision; every holder of a partition ends with the same keys, and replies alike", () => {
    const holders = [new Set([0]), new Set([1, 2]), new Set([0, 1, 2])];
    const machines = holders.map((held) => ({ held, store: new MemoryKvStore() })).map((x) => ({ ...x, m: new KvMachine(x.store, undefined, { partitions: 3, held: x.held }) }));
    const log = new Log();
    const batch = log.add(1, 1, { op: "batch", ops: keys.map((k) => ({ op: "put" as const, key: b(k), value: b(`v${k}`) })) });
    const del = log.add(1, 2, { op: "batch", ops: [{ op: "delete", key: b("key3") }, { op: "delete", key: b("absent") }] });
    const replies = machines.map(({ m }) => run(m, [batch, del]));
    for (const r of replies) expect(r).toEqual(replies[0] as Reply[]);
    expect(replies[0]?.[0]).toEqual({ ok: true, op: "batch", revision: batch.revision, writes: keys.length });
    for (const { held, store } of machines) {
      const expected = keys.filter((k) => held.has(part(k)) && k !== "key3").sort();
      expect(store.range(b(""), null, 100).map((e) => text(e.key))).toEqual(expected);
      for (const e of store.range(b(""), null, 100)) expect(e.revision).toBe(batch.revision);
    }
    // Retried: answered from the client table, not applied again.
    expect(run(machines[0]?.m as KvMachine, [{ revision: revisionOf(9, 0), bytes: batch.bytes }])).toEqual([replies[0]?.[0] as Reply]);
  });

  test("a range names its partition: only that partition's keys, the limit counted among them, scanned past other partitions' keys", () => {
    const store = new MemoryKvStore();
    const m = new KvMachine(store, undefined, { partitions: 3, held: new Set([0, 1, 2]) });
    const many = Array.from({ length: 1500 }, (_, i) => `k${String(i).padStart(4, "0")}`);
    run(m, [new Log().add(1, 1, { op: "batch", ops: many.slice(0, 1000).map((k) => ({ op: "put" as const, key: b(k), value: b("x") })) })]);
    run(m, [{ revision: revisionOf(5, 0), bytes: encodeRequest({ client: 1, seq: 2, command: { op: "batch", ops: many.slice(1000).map((k) => ({ op: "put" as const, key: b(k), value: b("x") })) } }) }]);
    const inP1 = many.filter((k) => partitionOf(b(k), 3) === 1);
    let instance = 9;
    const range = (limit: number, from = "") => run(m, [{ revision: revisionOf(instance++, 0), bytes: encodeRequest({ client: 2, seq: 1, command: { op: "range", from: b(from), to: null, limit, partition: 1 } }) }])[0] as Extract<Reply, { op: "range" }>;
    const all = range(2000);
    expect(all.entries.map((e) => text(e.key))).toEqual(inP1);
    expect(all.more).toBe(false);
    const first = range(10);
    expect(first.entries.map((e) => text(e.key))).toEqual(inP1.slice(0, 10));
    expect(first.more).toBe(true);
    expect(inP1.length).toBeGreaterThan(400);
    expect(range(5, inP1[300] as string).entries.map((e) => text(e.key))).toEqual(inP1.slice(300, 305));
  });
});

import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Command, encodeRequest } from "../../../src/app/kv/command.ts";
import { KvReplica, MAX_WAITERS, WaitError } from "../../../src/app/kv/replica.ts";
import { MemoryKvStore } from "../../../src/app/store/memory-store.ts";
import { SqliteKvStore } from "../../../src/app/store/sqlite-store.ts";
import type { Delivery } from "../../../src/core/types.ts";

const dir = mkdtempSync(join(tmpdir(), "kv-replica-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const b = (s: string) => new TextEncoder().encode(s);

function delivery(instance: number, cmds: [number, number, Command][]): Delivery {
  return { instance, vid: `v${instance}`, values: cmds.map(([client, seq, command], i) => ({ client: 99, seq: instance * 100 + i, payload: encodeRequest({ client, seq, command }) })) };
}

describe("KvReplica", () => {
  test("applies a turn's deliveries in one step, answers its waiters, and reports the next instance", async () => {
    const r = new KvReplica(new MemoryKvStore());
    const put = r.waitFor(5, 1, 1000);
    const get = r.waitFor(5, 2, 1000);
    r.deliver(delivery(0, [[5, 1, { op: "put", key: b("a"), value: b("1") }]]));
    r.deliver({ instance: 1, vid: "skip", values: [] });
    r.deliver(delivery(2, [[5, 2, { op: "get", key: b("a") }]]));
    expect(r.applyPending()).toBe(3);
    expect(r.applyPending()).toBeNull();
    expect(await put).toMatchObject({ ok: true, op: "write" });
    expect(await get).toMatchObject({ ok: true, op: "get" });
    expect(r.counters.steps).toBe(1);
    expect(r.resumeFrom).toBe(3);
    expect(() => r.deliver(delivery(4, []))).toThrow("instance order");
  });

  test("revisions go by each value's place in its instance (Delivery.positions), not its index among the values delivered", async () => {
    const put = (key: string): Command => ({ op: "put", key: b(key), value: b("v") });
    // Replica A's learner left the instance's first value out (a duplicate by its filter); B's did not.
    const full = delivery(0, [[7, 1, put("x")], [8, 1, put("y")]]);
    const a = new KvReplica(new MemoryKvStore());
    const bReplica = new KvReplica(new MemoryKvStore());
    const atA = a.waitFor(8, 1, 1000);
    const atB = bReplica.waitFor(8, 1, 1000);
    a.deliver({ ...full, values: full.values.slice(1), positions: [1] });
    bReplica.deliver(full);
    a.applyPending();
    bReplica.applyPending();
    const [ra, rb] = [await atA, await atB];
    expect(ra).toEqual(rb);
    expect(ra).toMatchObject({ ok: true, revision: 2 });
  });

  test("a restarted replica resumes after its durable cursor, with its state", () => {
    const path = join(dir, "resume.sqlite");
    const first = new KvReplica(new SqliteKvStore(path));
    expect(first.resumeFrom).toBe(0);
    for (let i = 0; i < 5; i++) first.deliver(delivery(i, [[1, i + 1, { op: "put", key: b(`k${i}`), value: b("v") }]]));
    first.applyPending();
    first.close();
    const again = new KvReplica(new SqliteKvStore(path));
    expect(again.resumeFrom).toBe(5);
    expect(again.keys).toBe(5);
    expect(() => again.deliver(delivery(0, []))).toThrow("instance order");
    again.deliver(delivery(5, [[1, 6, { op: "delete", key: b("k0") }]]));
    expect(again.applyPending()).toBe(6);
    expect(again.keys).toBe(4);
    again.close();
  });

  test("watches resume across a restart: the changes are kept in the store with the state, and a watch from a past revision replays them", () => {
    const path = join(dir, "watch.sqlite");
    const first = new KvReplica(new SqliteKvStore(path));
    for (let i = 0; i < 4; i++) first.deliver(delivery(i, [[1, i + 1, { op: "put", key: b(`w/${i}`), value: b("v") }]]));
    first.deliver(delivery(4, [[1, 5, { op: "delete", key: b("w/0") }]]));
    first.applyPending();
    first.sync();
    first.close();
    const again = new KvReplica(new SqliteKvStore(path));
    const got: [string, number][] = [];
    const start = again.watches.watch({ prefix: b("w/"), send: (c) => got.push([c.type, c.revision]) > 0, end: () => {} }, 2 * 2 ** 20 + 1);
    expect(start.ok).toBe(true);
    expect(got).toEqual([
      ["put", 2 * 2 ** 20 + 1],
      ["put", 3 * 2 ** 20 + 1],
      ["delete", 4 * 2 ** 20 + 1],
    ]);
    again.close();
  });

  test("waiters: a timeout, a second wait for one command, the bound, and shutdown are WaitErrors", async () => {
    const r = new KvReplica(new MemoryKvStore());
    const reason = (p: Promise<unknown>) => p.then(() => "resolved", (e: unknown) => (e instanceof WaitError ? e.reason : String(e)));
    expect(await reason(r.waitFor(1, 1, 5))).toBe("timeout");
    const held = reason(r.waitFor(1, 2, 10_000));
    expect(await reason(r.waitFor(1, 2, 10_000))).toBe("busy");
    const many = Array.from({ length: MAX_WAITERS - 1 }, (_, i) => reason(r.waitFor(2, i + 1, 10_000)));
    expect(await reason(r.waitFor(3, 1, 10_000))).toBe("busy");
    r.close();
    expect(await held).toBe("closed");
    expect(new Set(await Promise.all(many))).toEqual(new Set(["closed"]));
  });
});

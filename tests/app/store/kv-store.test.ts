import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KvStore } from "../../../src/app/store/kv-store.ts";
import { MemoryKvStore } from "../../../src/app/store/memory-store.ts";
import { SCHEMA_VERSION, SqliteKvStore, StoreError } from "../../../src/app/store/sqlite-store.ts";
import { openSql } from "../../../src/app/store/sql.ts";

const dir = mkdtempSync(join(tmpdir(), "kv-store-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const stores: [string, () => KvStore][] = [
  ["memory", () => new MemoryKvStore()],
  ["sqlite", () => new SqliteKvStore(join(dir, `s${files++}.db`))],
];
const u = (...b: number[]) => new Uint8Array(b);
const keysOf = (s: KvStore, from: Uint8Array, to: Uint8Array | null, limit = 100) => s.range(from, to, limit).map((e) => [...e.key].join("."));

for (const [name, make] of stores) {
  describe(`KvStore contract: ${name}`, () => {
    test("ranges follow byte order (a prefix first, 0xff last), bounded and half-open", () => {
      const s = make();
      for (const k of [u(2), u(1, 0), u(1), u(0xff), u(1, 0xff), u(0)]) s.put(k, u(9), 1);
      expect(keysOf(s, u(), null)).toEqual(["0", "1", "1.0", "1.255", "2", "255"]);
      expect(keysOf(s, u(1), u(2))).toEqual(["1", "1.0", "1.255"]);
      expect(keysOf(s, u(1, 0), null, 2)).toEqual(["1.0", "1.255"]);
      expect(s.size()).toBe(6);
      expect(s.delete(u(1))).toBe(true);
      expect(s.delete(u(1))).toBe(false);
      expect(s.get(u(1))).toBeNull();
      s.put(u(2), u(7, 7), 5);
      expect(s.get(u(2))).toEqual({ value: u(7, 7), revision: 5 });
      s.close();
    });

    test("atomically: all of a function's writes, or none when it throws", () => {
      const s = make();
      s.atomically(() => {
        s.put(u(1), u(1), 1);
        s.keepReply(4, 1, u(42), 1);
        s.setCursor(u(1));
      });
      expect(() =>
        s.atomically(() => {
          s.put(u(1), u(2), 2);
          s.put(u(3), u(3), 2);
          s.delete(u(1));
          s.keepReply(4, 2, u(43), 2);
          s.forgetUpTo(4, 1);
          s.keepReply(5, 1, u(44), 2);
          s.dropOldestClient();
          s.setCursor(u(2));
          throw new Error("disk full");
        }),
      ).toThrow("disk full");
      expect(s.get(u(1))).toEqual({ value: u(1), revision: 1 });
      expect(s.get(u(3))).toBeNull();
      expect(s.reply(4, 1)).toEqual(u(42));
      expect(s.reply(4, 2)).toBeNull();
      expect(s.forgottenUpTo(4)).toBe(0);
      expect(s.clients()).toBe(1);
      expect(s.cursor()).toEqual(u(1));
      s.close();
    });

    test("watch history: changes in revision order from a revision, trimmed to the newest with a rising floor, rolled back with their transaction, dropped with a replaced state", () => {
      const s = make();
      const ch = (revision: number, type: "put" | "delete" = "put") => ({ type, key: u(revision), value: type === "put" ? u(1, revision) : null, revision });
      expect(s.changesFloor()).toBeNull();
      s.atomically(() => {
        for (const r of [3, 5, 8, 9]) s.appendChange(ch(r, r === 8 ? "delete" : "put"));
        s.setChangesFloor(1);
      });
      expect(s.changesFrom(4, 10).map((c) => [c.revision, c.type])).toEqual([[5, "put"], [8, "delete"], [9, "put"]]);
      expect(s.changesFrom(4, 1)).toHaveLength(1);
      expect(s.changesFrom(8, 10)[0]?.value).toBeNull();
      s.atomically(() => s.trimChanges(2));
      expect(s.changesFrom(0, 10).map((c) => c.revision)).toEqual([8, 9]);
      expect(s.changesFloor()).toBe(6);
      expect(() =>
        s.atomically(() => {
          s.appendChange(ch(12));
          s.trimChanges(1);
          throw new Error("rolled back");
        }),
      ).toThrow("rolled back");
      expect(s.changesFrom(0, 10).map((c) => c.revision)).toEqual([8, 9]);
      expect(s.changesFloor()).toBe(6);
      s.replaceAll([], u(0, 0, 0, 0, 0, 0, 0, 7));
      expect(s.changesFrom(0, 10)).toEqual([]);
      expect(s.changesFloor()).toBeNull();
      s.close();
    });

    test("client table: replies kept and forgotten per client; the oldest client (ties: lowest id) dropped first", () => {
      const s = make();
      s.keepReply(9, 1, u(1), 10);
      s.keepReply(3, 1, u(2), 10);
      s.keepReply(5, 1, u(3), 20);
      s.keepReply(9, 2, u(4), 30);
      s.forgetUpTo(9, 1);
      expect(s.reply(9, 1)).toBeNull();
      expect(s.reply(9, 2)).toEqual(u(4));
      expect(s.forgottenUpTo(9)).toBe(1);
      s.forgetUpTo(9, 0); // never lowers the mark
      expect(s.forgottenUpTo(9)).toBe(1);
      expect(s.clients()).toBe(3);
      s.dropOldestClient();
      expect(s.reply(3, 1)).toBeNull();
      s.dropOldestClient();
      expect(s.reply(5, 1)).toBeNull();
      expect(s.clients()).toBe(1);
      s.close();
    });
  });
}

describe("SqliteKvStore on disk", () => {
  test("a reopened store has the state, client table and cursor of its last transaction", () => {
    const path = join(dir, "reopen.db");
    const s = new SqliteKvStore(path);
    s.atomically(() => {
      s.put(u(1), u(10), 3);
      s.keepReply(2, 1, u(5), 3);
      s.setCursor(u(3, 3));
    });
    s.close();
    const again = new SqliteKvStore(path);
    expect(again.get(u(1))).toEqual({ value: u(10), revision: 3 });
    expect(again.reply(2, 1)).toEqual(u(5));
    expect(again.cursor()).toEqual(u(3, 3));
    again.close();
  });

  test("a file of another schema version, or a path that cannot be opened, is a StoreError naming the file", () => {
    const path = join(dir, "old.db");
    const db = openSql(path);
    db.exec("CREATE TABLE meta (name TEXT PRIMARY KEY, value BLOB NOT NULL)");
    db.prepare("INSERT INTO meta VALUES ('schema', ?)").run(u(SCHEMA_VERSION + 1));
    db.close();
    expect(() => new SqliteKvStore(path)).toThrow(StoreError);
    expect(() => new SqliteKvStore(path)).toThrow(`${path} has schema version ${SCHEMA_VERSION + 1}`);
    const bad = join(dir, "no-such-dir", "x.db");
    expect(() => new SqliteKvStore(bad)).toThrow(bad);
  });

  test("a store of schema 1 (one watch change per revision) is migrated to 2, its changes kept; a batch's several changes at one revision are kept in order", () => {
    const path = join(dir, "v1.db");
    const db = openSql(path);
    db.exec("CREATE TABLE meta (name TEXT PRIMARY KEY, value BLOB NOT NULL)");
    db.exec("CREATE TABLE changes (revision INTEGER PRIMARY KEY, deleted INTEGER NOT NULL, key BLOB NOT NULL, value BLOB)");
    db.prepare("INSERT INTO meta VALUES ('schema', ?)").run(u(1));
    db.prepare("INSERT INTO changes VALUES (?, ?, ?, ?)").run(7, 0, u(1), u(2));
    db.prepare("INSERT INTO changes VALUES (?, ?, ?, ?)").run(9, 1, u(3), null);
    db.close();
    const s = new SqliteKvStore(path);
    expect(s.changesFrom(0, 10)).toEqual([
      { type: "put", key: u(1), value: u(2), revision: 7 },
      { type: "delete", key: u(3), value: null, revision: 9 },
    ]);
    s.atomically(() => {
      s.appendChange({ type: "put", key: u(5), value: u(5), revision: 11 }, 0);
      s.appendChange({ type: "put", key: u(4), value: u(4), revision: 11 }, 1);
    });
    expect(s.changesFrom(10, 10).map((c) => [...c.key])).toEqual([[5], [4]]);
    s.close();
    const again = new SqliteKvStore(path);
    expect(again.changesFrom(0, 10)).toHaveLength(4);
    again.close();
    expect(SCHEMA_VERSION).toBe(2);
  });
});

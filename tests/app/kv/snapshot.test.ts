import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KvStore } from "../../../src/app/store/kv-store.ts";
import { MemoryKvStore } from "../../../src/app/store/memory-store.ts";
import { SqliteKvStore } from "../../../src/app/store/sqlite-store.ts";
import { fileSha256, readSnapshot, ROWS_PER_TURN, SnapshotError, writeSnapshot } from "../../../src/app/kv/snapshot.ts";
import { KEEP_SNAPSHOTS, SnapshotServer } from "../../../src/app/kv/snapshot-server.ts";
import { SnapshotFetcher } from "../../../src/app/kv/snapshot-fetch.ts";
import { DeliveryBuffer, instanceOfCursor, MAX_BUFFERED_BYTES, RingTransferTarget, StateTransfer } from "../../../src/app/kv/state-transfer.ts";
import { KvReplica } from "../../../src/app/kv/replica.ts";
import { encodeRequest } from "../../../src/app/kv/command.ts";
import type { Delivery } from "../../../src/core/types.ts";
import { createLogger } from "../../../src/obs/log.ts";

const dir = mkdtempSync(join(tmpdir(), "kv-snap-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = (p: string) => join(dir, `${p}${n++}`);
const enc = new TextEncoder();
const log = createLogger({ level: "silent" });

/** A delivery of `instance` carrying put commands of client 9 (seq from `seq`). */
function delivery(instance: number, seq: number, keys: string[]): Delivery {
  const values = keys.map((k, i) => ({ payload: encodeRequest({ client: 9, seq: seq + i, command: { op: "put", key: enc.encode(k), value: enc.encode(`v-${k}`) } }) }));
  return { instance, values } as unknown as Delivery;
}

/** A replica over `store` that applied instances 0..count-1, one put each (key k<i>). */
function replicaWith(store: KvStore, count: number): KvReplica {
  const r = new KvReplica(store);
  for (let i = 0; i < count; i++) r.deliver(delivery(i, i + 1, [`k${i}`]));
  r.applyPending();
  return r;
}

const stores: [string, () => KvStore][] = [
  ["memory", () => new MemoryKvStore()],
  ["sqlite", () => new SqliteKvStore(fresh("db"))],
];

for (const [name, make] of stores) {
  describe(`snapshots of a ${name} store`, () => {
    test("a snapshot installed into another store gives the same rows, cursor and state digest", async () => {
      const a = make();
      replicaWith(a, 30);
      const path = fresh("snap");
      const info = await writeSnapshot(a.reader(), path);
      expect(info.rows).toBe(30 + 30 + 1); // keys, replies, the one client
      expect(fileSha256(path)).toBe(info.sha256);
      for (const [, other] of stores) {
        const b = other();
        const snap = readSnapshot(path);
        b.replaceAll(snap.rows, snap.cursor);
        snap.close();
        expect([...b.rows()]).toEqual([...a.rows()]);
        expect(b.cursor()).toEqual(a.cursor());
        expect((await writeSnapshot(b.reader(), fresh("snap"))).stateSha256).toBe(info.stateSha256);
      }
    });

    test("a cut, foreign or corrupted file is refused, and installing it changes nothing", async () => {
      const a = make();
      replicaWith(a, 10);
      const path = fresh("snap");
      await writeSnapshot(a.reader(), path);
      const b = make();
      replicaWith(b, 3);
      const before = [...b.rows()];
      const install = (p: string) => {
        const s = readSnapshot(p);
        try {
          b.replaceAll(s.rows, s.cursor);
        } finally {
          s.close();
        }
      };
      const cut = fresh("cut");
      writeFileSync(cut, readFileSync(path).subarray(0, readFileSync(path).byteLength - 3));
      expect(() => install(cut)).toThrow(SnapshotError);
      const noEnd = fresh("noend");
      writeFileSync(noEnd, readFileSync(path));
      truncateSync(noEnd, readFileSync(path).byteLength - 6); // the end frame
      expect(() => install(noEnd)).toThrow(/end frame|cut/);
      const foreign = fresh("foreign");
      writeFileSync(foreign, "SQLite format 3\0....");
      expect(() => install(foreign)).toThrow(/not a key-value snapshot/);
      expect([...b.rows()]).toEqual(before);
      // A flipped byte keeps the layout but not the checksum: the fetcher's check catches it.
      const flipped = fresh("flip");
      const bytes = readFileSync(path);
      bytes[bytes.byteLength - 20] = (bytes[bytes.byteLength - 20] as number) ^ 1;
      writeFileSync(flipped, bytes);
      expect(fileSha256(flipped)).not.toBe(fileSha256(path));
    });
  });
}

describe("a snapshot written while the replica goes on applying", () => {
  test("holds the state at its reader's start (a read transaction on a connection of its own), whatever is applied meanwhile", async () => {
    const a = new SqliteKvStore(fresh("live"));
    const ra = replicaWith(a, 3 * ROWS_PER_TURN); // several turns' worth of rows
    const before = [...a.rows()];
    const cursorBefore = a.cursor();
    const path = fresh("snap");
    const reader = a.reader();
    const writing = writeSnapshot(reader, path);
    // Applied while the snapshot is written: it yields between turns, and this runs in between.
    await new Promise((r) => setImmediate(r));
    for (let i = 3 * ROWS_PER_TURN; i < 3 * ROWS_PER_TURN + 50; i++) ra.deliver(delivery(i, i + 1, [`k${i}`]));
    ra.applyPending();
    const info = await writing;
    reader.close();
    expect(ra.resumeFrom).toBe(3 * ROWS_PER_TURN + 50);
    const b = new MemoryKvStore();
    const snap = readSnapshot(path);
    b.replaceAll(snap.rows, snap.cursor);
    snap.close();
    expect(info.rows).toBe(before.length);
    expect(b.cursor()).toEqual(cursorBefore);
    expect([...b.rows()]).toEqual(before);
  });
});

describe("DeliveryBuffer", () => {
  test("holds a contiguous run, starts again after a gap, and drops the oldest beyond its byte bound", () => {
    const b = new DeliveryBuffer(5);
    b.push(delivery(5, 1, ["a"]));
    b.push(delivery(6, 2, ["b"]));
    expect([b.from, b.end]).toEqual([5, 7]);
    expect(b.heldFrom(6).map((d) => d.instance)).toEqual([6]);
    b.push(delivery(9, 3, ["c"]));
    expect([b.from, b.end]).toEqual([9, 10]);
    const big = { instance: 10, values: [{ payload: new Uint8Array(MAX_BUFFERED_BYTES / 2) }] } as unknown as Delivery;
    b.push(big);
    b.push({ ...big, instance: 11 });
    b.push({ ...big, instance: 12 });
    expect(b.from).toBeGreaterThan(9);
    expect(b.end).toBe(13);
    expect(() => b.heldFrom(b.from - 1)).toThrow(/invariant/);
  });

  test("a cursor names an instance only as one ring's 8 bytes", () => {
    expect(instanceOfCursor("000000000000012c")).toBe(300);
    expect(instanceOfCursor("012c")).toBeNull();
    expect(instanceOfCursor("zz0000000000012c")).toBeNull();
  });
});

describe("state transfer over HTTP", () => {
  const servers: Server[] = [];
  afterAll(() => {
    for (const s of servers) s.close();
  });
  async function serve(store: KvStore, available = () => true): Promise<{ url: string; server: SnapshotServer }> {
    const snaps = new SnapshotServer(fresh("snaps"), { take: async (p) => (available() ? await writeSnapshot(store.reader(), p) : null) });
    const http = createServer((req, res) => void snaps.handle(req, res, new URL(req.url ?? "/", "http://x")));
    servers.push(http);
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
    return { url: `http://127.0.0.1:${(http.address() as { port: number }).port}`, server: snaps };
  }

  test("a replica behind installs a peer's snapshot, applies the deliveries held from its cursor on, and ends equal", async () => {
    const a = new SqliteKvStore(fresh("a"));
    const ra = replicaWith(a, 40);
    const busy = await serve(new MemoryKvStore(), () => false); // a peer in a transfer itself: 503
    const peer = await serve(a);
    const b = new SqliteKvStore(fresh("b"));
    const rb = replicaWith(b, 2);
    const target = new RingTransferTarget(rb, 35);
    const t = new StateTransfer(new SnapshotFetcher([busy.url, peer.url], fresh("t"), log), log, target);
    for (let i = 35; i < 45; i++) target.buffer.push(delivery(i, i + 1, [`k${i}`])); // the learner goes on meanwhile
    const report = await t.run();
    expect(report?.instance).toBe(40);
    expect(report?.from).toBe(peer.url);
    for (const d of target.buffer.heldFrom(40)) rb.deliver(d);
    rb.applyPending();
    for (let i = 40; i < 45; i++) ra.deliver(delivery(i, i + 1, [`k${i}`]));
    ra.applyPending();
    expect([...b.rows()]).toEqual([...a.rows()]);
    expect(rb.resumeFrom).toBe(45);
    expect(busy.server.counters.taken).toBe(0);
  });

  test("an interrupted download resumes from the bytes on disk; a snapshot that is too old is not taken", async () => {
    const a = new MemoryKvStore();
    replicaWith(a, 300);
    const peer = await serve(a);
    const tdir = fresh("t");
    const f1 = new SnapshotFetcher([peer.url], tdir, log);
    // First round: fetch, then cut the file as an interrupted download would leave it.
    const first = await f1.fetch(() => true);
    expect(first).not.toBeNull();
    const full = readFileSync(first?.path as string);
    writeFileSync(join(tdir, "incoming.part"), full.subarray(0, 1000));
    writeFileSync(join(tdir, "incoming.json"), JSON.stringify({ from: peer.url, meta: first?.meta }));
    const f2 = new SnapshotFetcher([peer.url], tdir, log);
    const again = await f2.fetch(() => true);
    expect(f2.counters.resumed).toBe(1);
    expect(readFileSync(again?.path as string)).toEqual(full);
    // Nothing at or beyond instance 10^6 anywhere: the fetcher keeps asking until closed.
    const f3 = new SnapshotFetcher([peer.url], fresh("t"), log);
    const waiting = f3.fetch((m) => (instanceOfCursor(m.cursor) ?? 0) >= 1e6);
    setTimeout(() => f3.close(), 1200);
    expect(await waiting).toBeNull();
    expect(f3.counters.attempts).toBeGreaterThanOrEqual(2);
  });

  test("the server keeps its newest snapshots only, and answers a dropped one 404", async () => {
    let now = 0;
    const a = new MemoryKvStore();
    replicaWith(a, 3);
    const snaps = new SnapshotServer(fresh("snaps"), { take: (p) => writeSnapshot(a.reader(), p) }, () => now);
    const http = createServer((req, res) => void snaps.handle(req, res, new URL(req.url ?? "/", "http://x")));
    servers.push(http);
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
    const ids: string[] = [];
    let bytes = 0;
    for (let i = 0; i <= KEEP_SNAPSHOTS; i++) {
      now += 10_000;
      const meta = (await (await fetch(`${url}/v1/snapshot`)).json()) as { id: string; bytes: number };
      ids.push(meta.id);
      bytes = meta.bytes;
    }
    expect(((await (await fetch(`${url}/v1/snapshot`)).json()) as { id: string }).id).toBe(ids.at(-1) as string); // reused while fresh
    expect((await fetch(`${url}/v1/snapshot/${ids[0]}`)).status).toBe(404);
    const last = await fetch(`${url}/v1/snapshot/${ids.at(-1)}?offset=8`);
    expect(last.status).toBe(200);
    expect((await last.arrayBuffer()).byteLength).toBe(bytes - 8);
    expect((await fetch(`${url}/v1/snapshot/${ids.at(-1)}?offset=-1`)).status).toBe(416);
    expect(snaps.counters.taken).toBe(KEEP_SNAPSHOTS + 1);
  });
});

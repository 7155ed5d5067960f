/**
 * A KvStore in memory: the simulator's and the tests' store. `atomically` keeps an undo journal
 * and rolls back when its function throws, as a SQLite transaction would. A range sorts the keys
 * it scans (fine for tests and the simulator's small states; the durable store uses an index).
 */
import { invariant } from "../../core/assert.ts";
import type { Entry } from "../kv/reply.ts";
import type { Change } from "../kv/kv-machine.ts";
import type { KvStore, StoredValue, StoreReader, StoreRow } from "./kv-store.ts";

interface ClientRow {
  forgotten: number;
  lastRevision: number;
  readonly replies: Map<number, Uint8Array>;
}

export class MemoryKvStore implements KvStore {
  private readonly keys = new Map<string, Entry>();
  private readonly table = new Map<number, ClientRow>();
  private saved: Uint8Array | null = null;
  private changes: Change[] = [];
  private floor: number | null = null;
  /** Undo actions of the running `atomically`, newest last (null: none running). */
  private journal: (() => void)[] | null = null;

  atomically<T>(fn: () => T): T {
    invariant(this.journal === null, "atomically does not nest");
    const undo: (() => void)[] = [];
    this.journal = undo;
    try {
      const out = fn();
      this.journal = null;
      return out;
    } catch (e) {
      this.journal = null;
      for (let i = undo.length - 1; i >= 0; i--) (undo[i] as () => void)();
      throw e;
    }
  }

  sync(): void {}

  get(key: Uint8Array): StoredValue | null {
    const e = this.keys.get(hex(key));
    return e ? { value: e.value, revision: e.revision } : null;
  }

  put(key: Uint8Array, value: Uint8Array, revision: number): void {
    const k = hex(key);
    this.undoSet(this.keys, k);
    this.keys.set(k, { key: key.slice(), value: value.slice(), revision });
  }

  delete(key: Uint8Array): boolean {
    const k = hex(key);
    if (!this.keys.has(k)) return false;
    this.undoSet(this.keys, k);
    this.keys.delete(k);
    return true;
  }

  range(from: Uint8Array, to: Uint8Array | null, limit: number): Entry[] {
    const lo = hex(from);
    const hi = to === null ? null : hex(to);
    // Hex strings of bytes compare as the bytes do (same-length digits, a prefix sorts first).
    const hits = [...this.keys.entries()].filter(([k]) => k >= lo && (hi === null || k < hi));
    hits.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return hits.slice(0, limit).map(([, e]) => e);
  }

  size(): number {
    return this.keys.size;
  }

  reply(client: number, seq: number): Uint8Array | null {
    return this.table.get(client)?.replies.get(seq) ?? null;
  }

  forgottenUpTo(client: number): number {
    return this.table.get(client)?.forgotten ?? 0;
  }

  keepReply(client: number, seq: number, reply: Uint8Array, revision: number): void {
    const row = this.row(client);
    const before = row.lastRevision;
    this.journal?.push(() => {
      row.replies.delete(seq);
      row.lastRevision = before;
    });
    row.replies.set(seq, reply);
    row.lastRevision = revision;
  }

  forgetUpTo(client: number, seq: number): void {
    const row = this.row(client);
    const before = { forgotten: row.forgotten, dropped: [...row.replies].filter(([s]) => s <= seq) };
    this.journal?.push(() => {
      row.forgotten = before.forgotten;
      for (const [s, r] of before.dropped) row.replies.set(s, r);
    });
    for (const [s] of before.dropped) row.replies.delete(s);
    row.forgotten = Math.max(row.forgotten, seq);
  }

  clients(): number {
    return this.table.size;
  }

  dropOldestClient(): void {
    let oldest: [number, ClientRow] | null = null;
    for (const e of this.table) if (oldest === null || e[1].lastRevision < oldest[1].lastRevision || (e[1].lastRevision === oldest[1].lastRevision && e[0] < oldest[0])) oldest = e;
    if (oldest === null) return;
    this.undoSet(this.table, oldest[0]);
    this.table.delete(oldest[0]);
  }

  cursor(): Uint8Array | null {
    return this.saved;
  }

  setCursor(cursor: Uint8Array): void {
    const before = this.saved;
    this.journal?.push(() => (this.saved = before));
    this.saved = cursor.slice();
  }

  appendChange(c: Change): void {
    this.journal?.push(() => this.changes.pop());
    this.changes.push(c);
  }

  changesFrom(from: number, limit: number): Change[] {
    return this.changes.filter((c) => c.revision >= from).slice(0, limit);
  }

  trimChanges(keep: number): void {
    if (this.changes.length <= keep) return;
    const before = { changes: this.changes, floor: this.floor };
    this.journal?.push(() => {
      this.changes = before.changes;
      this.floor = before.floor;
    });
    const dropped = this.changes.slice(0, this.changes.length - keep);
    this.changes = this.changes.slice(this.changes.length - keep);
    this.floor = (dropped.at(-1) as Change).revision + 1;
  }

  changesFloor(): number | null {
    return this.floor;
  }

  setChangesFloor(revision: number): void {
    const before = this.floor;
    this.journal?.push(() => (this.floor = before));
    this.floor = revision;
  }

  *rows(): Iterable<StoreRow> {
    const byKey = [...this.keys.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [, e] of byKey) yield { t: "kv", key: e.key, value: e.value, revision: e.revision };
    const clients = [...this.table.entries()].sort(([a], [b]) => a - b);
    for (const [client, row] of clients) for (const [seq, reply] of [...row.replies].sort(([a], [b]) => a - b)) yield { t: "reply", client, seq, reply };
    for (const [client, row] of clients) yield { t: "client", client, forgotten: row.forgotten, lastRevision: row.lastRevision };
  }

  reader(): StoreReader {
    // A copy: the tests' and the simulator's states are small.
    const rows = [...this.rows()];
    const cursor = this.saved;
    return { cursor: () => cursor, rows: () => rows, close: () => {} };
  }

  replaceAll(rows: Iterable<StoreRow>, cursor: Uint8Array): void {
    invariant(this.journal === null, "replaceAll runs between transactions");
    const keys = new Map<string, Entry>();
    const table = new Map<number, ClientRow>();
    const rowOf = (client: number): ClientRow => table.get(client) ?? (table.set(client, { forgotten: 0, lastRevision: 0, replies: new Map() }).get(client) as ClientRow);
    for (const r of rows) {
      if (r.t === "kv") keys.set(hex(r.key), { key: r.key.slice(), value: r.value.slice(), revision: r.revision });
      else if (r.t === "reply") rowOf(r.client).replies.set(r.seq, r.reply.slice());
      else Object.assign(rowOf(r.client), { forgotten: r.forgotten, lastRevision: r.lastRevision });
    }
    // Built aside first: a row source that throws leaves the state as it was.
    this.keys.clear();
    for (const [k, e] of keys) this.keys.set(k, e);
    this.table.clear();
    for (const [c, row] of table) this.table.set(c, row);
    this.saved = cursor.slice();
    this.changes = [];
    this.floor = null;
  }

  close(): void {}

  private row(client: number): ClientRow {
    let row = this.table.get(client);
    if (!row) {
      this.undoSet(this.table, client);
      this.table.set(client, (row = { forgotten: 0, lastRevision: 0, replies: new Map() }));
    }
    return row;
  }

  /** Journals the current state of `map[k]` (present or absent) for a rollback. */
  private undoSet<K, V>(map: Map<K, V>, k: K): void {
    if (!this.journal) return;
    const had = map.has(k);
    const v = map.get(k);
    this.journal.push(() => (had ? map.set(k, v as V) : map.delete(k)));
  }
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
}

/**
 * The durable KvStore: one SQLite database file per replica, in WAL mode with synchronous=NORMAL:
 * a transaction appends its pages to the write-ahead file without an fsync (after a crash the
 * database holds a prefix of the transactions, each whole: the WAL's frames are checksummed, and
 * checkpoints sync before they reset it), and `sync` makes every transaction so far durable with
 * one fsync of that file: group commit, instead of an fsync per transaction (measured: the
 * replica's fsync per applied batch halved the service's throughput). Keys are BLOBs, which
 * SQLite orders as memcmp does: a range is an index scan.
 */
import { closeSync, existsSync, fsyncSync, openSync } from "node:fs";
import { invariant } from "../../core/assert.ts";
import type { Entry } from "../kv/reply.ts";
import type { Change } from "../kv/kv-machine.ts";
import type { KvStore, StoredValue, StoreReader, StoreRow } from "./kv-store.ts";
import { openSql, type SqlDatabase, type SqlRow, type SqlStatement } from "./sql.ts";

/** Rows `rows()` reads per query (keyset pages: memory stays bounded however large the state). */
const ROWS_PAGE = 1000;

/** The layout of the tables below; a file of another layout is refused, not guessed at. */
export const SCHEMA_VERSION = 2;

/** Watches' history: several changes per revision (a batch), in `seq` order. */
const CHANGES_TABLE = "(revision INTEGER NOT NULL, seq INTEGER NOT NULL, deleted INTEGER NOT NULL, key BLOB NOT NULL, value BLOB, PRIMARY KEY (revision, seq)) WITHOUT ROWID";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS kv (key BLOB PRIMARY KEY, value BLOB NOT NULL, revision INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS replies (client INTEGER NOT NULL, seq INTEGER NOT NULL, reply BLOB NOT NULL, PRIMARY KEY (client, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS clients (client INTEGER PRIMARY KEY, forgotten INTEGER NOT NULL, last_revision INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS clients_by_age ON clients (last_revision, client);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS changes ${CHANGES_TABLE};
`;

export class StoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StoreError";
  }
}

export class SqliteKvStore implements KvStore {
  private readonly db: SqlDatabase;
  private readonly q: Record<string, SqlStatement>;
  private inTransaction = false;
  /** The write-ahead file, opened for fsync (null: not written yet). */
  private walFd: number | null = null;

  /** Opens or creates the replica's database at `path`; throws StoreError naming the file when it cannot. */
  constructor(readonly path: string) {
    try {
      this.db = openSql(path);
      this.db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;");
      this.db.exec(SCHEMA);
    } catch (e) {
      throw new StoreError(`cannot open the replica store ${path}: ${e instanceof Error ? e.message : String(e)}`);
    }
    this.migrate();
    this.q = this.statements();
    this.checkSchema();
  }

  get binding(): string {
    return this.db.binding;
  }

  atomically<T>(fn: () => T): T {
    invariant(!this.inTransaction, "atomically does not nest");
    this.inTransaction = true;
    this.db.exec("BEGIN IMMEDIATE");
    try {
      const out = fn();
      this.db.exec("COMMIT");
      return out;
    } catch (e) {
      this.db.exec("ROLLBACK");
      throw e;
    } finally {
      this.inTransaction = false;
    }
  }

  sync(): void {
    invariant(!this.inTransaction, "sync between transactions");
    // The write-ahead file exists once something was written (a checkpoint keeps the file).
    if (this.walFd === null && existsSync(`${this.path}-wal`)) this.walFd = openSync(`${this.path}-wal`, "r+");
    if (this.walFd !== null) fsyncSync(this.walFd);
  }

  get(key: Uint8Array): StoredValue | null {
    const row = this.s("get").get(key);
    return row ? { value: bytes(row["value"]), revision: Number(row["revision"]) } : null;
  }

  put(key: Uint8Array, value: Uint8Array, revision: number): void {
    this.s("put").run(key, value, revision);
  }

  delete(key: Uint8Array): boolean {
    const had = this.s("get").get(key) !== null;
    if (had) this.s("delete").run(key);
    return had;
  }

  range(from: Uint8Array, to: Uint8Array | null, limit: number): Entry[] {
    const rows = to === null ? this.s("rangeOpen").all(from, limit) : this.s("range").all(from, to, limit);
    return rows.map((r) => ({ key: bytes(r["key"]), value: bytes(r["value"]), revision: Number(r["revision"]) }));
  }

  size(): number {
    return Number((this.s("size").get() as SqlRow)["n"]);
  }

  reply(client: number, seq: number): Uint8Array | null {
    const row = this.s("reply").get(client, seq);
    return row ? bytes(row["reply"]) : null;
  }

  forgottenUpTo(client: number): number {
    const row = this.s("client").get(client);
    return row ? Number(row["forgotten"]) : 0;
  }

  keepReply(client: number, seq: number, reply: Uint8Array, revision: number): void {
    this.s("keepReply").run(client, seq, reply);
    this.s("touchClient").run(client, revision);
  }

  forgetUpTo(client: number, seq: number): void {
    this.s("forgetReplies").run(client, seq);
    this.s("forgetClient").run(client, seq);
  }

  clients(): number {
    return Number((this.s("clients").get() as SqlRow)["n"]);
  }

  dropOldestClient(): void {
    const row = this.s("oldestClient").get();
    if (!row) return;
    this.s("dropReplies").run(row["client"] ?? null);
    this.s("dropClient").run(row["client"] ?? null);
  }

  cursor(): Uint8Array | null {
    const row = this.s("meta").get("cursor");
    return row ? bytes(row["value"]) : null;
  }

  setCursor(cursor: Uint8Array): void {
    this.s("setMeta").run("cursor", cursor);
  }

  appendChange(c: Change, seq = 0): void {
    this.s("addChange").run(c.revision, seq, c.type === "delete" ? 1 : 0, c.key, c.value);
  }

  changesFrom(from: number, limit: number): Change[] {
    return this.s("changesFrom")
      .all(from, limit)
      .map((r) => ({ type: r["deleted"] === 1 ? "delete" : "put", key: bytes(r["key"]), value: r["value"] === null ? null : bytes(r["value"]), revision: Number(r["revision"]) }));
  }

  trimChanges(keep: number): void {
    const cut = this.s("nthNewestChange").get(keep);
    if (cut === null) return;
    this.s("dropChangesBelow").run(cut["revision"] ?? null);
    this.setChangesFloor(Number(cut["revision"]) + 1);
  }

  changesFloor(): number | null {
    const row = this.s("meta").get("changesFloor");
    if (!row) return null;
    const v = bytes(row["value"]);
    return new DataView(v.buffer, v.byteOffset, v.byteLength).getFloat64(0);
  }

  setChangesFloor(revision: number): void {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, revision);
    this.s("setMeta").run("changesFloor", b);
  }

  /**
   * A second connection in a read transaction: in WAL mode it keeps reading the database as it
   * was at its first read while this one goes on committing (a snapshot written from it does not
   * stop the replica applying).
   */
  reader(): StoreReader {
    invariant(!this.inTransaction, "a reader opens between transactions");
    const other = new SqliteKvStore(this.path);
    other.db.exec("BEGIN");
    const cursor = other.cursor(); // the first read: the transaction's version is this one
    return {
      cursor: () => cursor,
      rows: () => other.rows(),
      close: () => {
        other.db.exec("COMMIT");
        other.close();
      },
    };
  }

  *rows(): Iterable<StoreRow> {
    for (let page = this.s("kvFirst").all(ROWS_PAGE); page.length > 0; ) {
      for (const r of page) yield { t: "kv", key: bytes(r["key"]), value: bytes(r["value"]), revision: Number(r["revision"]) };
      page = page.length < ROWS_PAGE ? [] : this.s("kvAfter").all((page.at(-1) as SqlRow)["key"] ?? null, ROWS_PAGE);
    }
    for (let page = this.s("repliesFirst").all(ROWS_PAGE); page.length > 0; ) {
      for (const r of page) yield { t: "reply", client: Number(r["client"]), seq: Number(r["seq"]), reply: bytes(r["reply"]) };
      const last = page.at(-1) as SqlRow;
      page = page.length < ROWS_PAGE ? [] : this.s("repliesAfter").all(last["client"] ?? null, last["seq"] ?? null, ROWS_PAGE);
    }
    for (const r of this.s("allClients").all()) yield { t: "client", client: Number(r["client"]), forgotten: Number(r["forgotten"]), lastRevision: Number(r["last_revision"]) };
  }

  replaceAll(rows: Iterable<StoreRow>, cursor: Uint8Array): void {
    this.atomically(() => {
      this.db.exec("DELETE FROM kv; DELETE FROM replies; DELETE FROM clients; DELETE FROM changes; DELETE FROM meta WHERE name = 'changesFloor';");
      for (const r of rows) {
        if (r.t === "kv") this.s("put").run(r.key, r.value, r.revision);
        else if (r.t === "reply") this.s("keepReply").run(r.client, r.seq, r.reply);
        else this.s("setClient").run(r.client, r.forgotten, r.lastRevision);
      }
      this.setCursor(cursor);
    });
  }

  close(): void {
    if (this.walFd !== null) closeSync(this.walFd);
    this.walFd = null;
    this.db.close();
  }

  private s(name: string): SqlStatement {
    return this.q[name] as SqlStatement;
  }

  private statements(): Record<string, SqlStatement> {
    const p = (sql: string) => this.db.prepare(sql);
    return {
      get: p("SELECT value, revision FROM kv WHERE key = ?"),
      put: p("INSERT INTO kv (key, value, revision) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, revision = excluded.revision"),
      delete: p("DELETE FROM kv WHERE key = ?"),
      range: p("SELECT key, value, revision FROM kv WHERE key >= ? AND key < ? ORDER BY key LIMIT ?"),
      rangeOpen: p("SELECT key, value, revision FROM kv WHERE key >= ? ORDER BY key LIMIT ?"),
      size: p("SELECT count(*) AS n FROM kv"),
      reply: p("SELECT reply FROM replies WHERE client = ? AND seq = ?"),
      client: p("SELECT forgotten FROM clients WHERE client = ?"),
      keepReply: p("INSERT OR REPLACE INTO replies (client, seq, reply) VALUES (?, ?, ?)"),
      touchClient: p("INSERT INTO clients (client, forgotten, last_revision) VALUES (?1, 0, ?2) ON CONFLICT (client) DO UPDATE SET last_revision = ?2"),
      forgetReplies: p("DELETE FROM replies WHERE client = ? AND seq <= ?"),
      forgetClient: p("INSERT INTO clients (client, forgotten, last_revision) VALUES (?1, ?2, 0) ON CONFLICT (client) DO UPDATE SET forgotten = max(forgotten, ?2)"),
      clients: p("SELECT count(*) AS n FROM clients"),
      oldestClient: p("SELECT client FROM clients ORDER BY last_revision, client LIMIT 1"),
      dropReplies: p("DELETE FROM replies WHERE client = ?"),
      dropClient: p("DELETE FROM clients WHERE client = ?"),
      kvFirst: p("SELECT key, value, revision FROM kv ORDER BY key LIMIT ?"),
      kvAfter: p("SELECT key, value, revision FROM kv WHERE key > ? ORDER BY key LIMIT ?"),
      repliesFirst: p("SELECT client, seq, reply FROM replies ORDER BY client, seq LIMIT ?"),
      repliesAfter: p("SELECT client, seq, reply FROM replies WHERE (client, seq) > (?, ?) ORDER BY client, seq LIMIT ?"),
      allClients: p("SELECT client, forgotten, last_revision FROM clients ORDER BY client"),
      setClient: p("INSERT OR REPLACE INTO clients (client, forgotten, last_revision) VALUES (?, ?, ?)"),
      addChange: p("INSERT OR REPLACE INTO changes (revision, seq, deleted, key, value) VALUES (?, ?, ?, ?, ?)"),
      changesFrom: p("SELECT revision, deleted, key, value FROM changes WHERE revision >= ? ORDER BY revision, seq LIMIT ?"),
      nthNewestChange: p("SELECT revision FROM changes ORDER BY revision DESC, seq DESC LIMIT 1 OFFSET ?"),
      dropChangesBelow: p("DELETE FROM changes WHERE revision <= ?"),
      meta: p("SELECT value FROM meta WHERE name = ?"),
      setMeta: p("INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)"),
    };
  }

  /** A new file gets this build's schema version; an existing one must have it. */
  /** Before any statement is prepared: version 1 kept one watch change per revision; a command on several keys (batch) makes several. */
  private migrate(): void {
    const row = this.db.prepare("SELECT value FROM meta WHERE name = 'schema'").get();
    if (row !== null && bytes(row["value"])[0] === 1) this.db.exec(MIGRATE_FROM_1);
  }

  private checkSchema(): void {
    const row = this.s("meta").get("schema");
    if (row === null) {
      this.s("setMeta").run("schema", new Uint8Array([SCHEMA_VERSION]));
      return;
    }
    const v = bytes(row["value"])[0];
    if (v !== SCHEMA_VERSION) {
      this.db.close();
      throw new StoreError(`the replica store ${this.path} has schema version ${String(v)}, this build reads ${SCHEMA_VERSION}`);
    }
  }
}

const MIGRATE_FROM_1 = `
BEGIN IMMEDIATE;
CREATE TABLE changes_v2 ${CHANGES_TABLE};
INSERT INTO changes_v2 SELECT revision, 0, deleted, key, value FROM changes;
DROP TABLE changes;
ALTER TABLE changes_v2 RENAME TO changes;
UPDATE meta SET value = X'02' WHERE name = 'schema';
COMMIT;
`;

function bytes(v: unknown): Uint8Array {
  invariant(v instanceof Uint8Array, "a BLOB column reads as bytes");
  return v;
}

/**
 * The few SQLite calls the durable store makes, over whichever SQLite the runtime has: Bun's
 * built-in `bun:sqlite` where Bun runs (no dependency), `node:sqlite` elsewhere (Deno, Node 22+).
 * Both are synchronous, which a replica wants: a batch is applied and committed in one go.
 */
import { createRequire } from "node:module";

export type SqlValue = number | bigint | string | Uint8Array | null;
export type SqlRow = Record<string, SqlValue>;

export interface SqlStatement {
  run(...params: SqlValue[]): void;
  /** The first row, or null. */
  get(...params: SqlValue[]): SqlRow | null;
  all(...params: SqlValue[]): SqlRow[];
}

export interface SqlDatabase {
  /** Which SQLite binding, for the start-up log line. */
  readonly binding: string;
  exec(sql: string): void;
  prepare(sql: string): SqlStatement;
  close(): void;
}

interface NativeStatement {
  run(...params: SqlValue[]): unknown;
  get(...params: SqlValue[]): unknown;
  all(...params: SqlValue[]): unknown[];
}
interface NativeDatabase {
  exec(sql: string): unknown;
  prepare(sql: string): NativeStatement;
  close(): unknown;
}
type NativeConstructor = new (path: string) => NativeDatabase;

/** Opens (creating if absent) the database file at `path` (":memory:": in memory). */
export function openSql(path: string): SqlDatabase {
  const [binding, Native] = nativeSqlite();
  const db = new Native(path);
  return {
    binding,
    exec: (sql) => void db.exec(sql),
    prepare(sql) {
      const st = db.prepare(sql);
      return {
        run: (...p) => void st.run(...p),
        // bun:sqlite answers null for no row, node:sqlite undefined.
        get: (...p) => (st.get(...p) as SqlRow | null | undefined) ?? null,
        all: (...p) => st.all(...p) as SqlRow[],
      };
    },
    close: () => void db.close(),
  };
}

function nativeSqlite(): [string, NativeConstructor] {
  const bunRequire = (import.meta as { require?: (id: string) => unknown }).require;
  if (typeof bunRequire === "function" && typeof (globalThis as { Bun?: unknown }).Bun !== "undefined") {
    return ["bun:sqlite", (bunRequire("bun:sqlite") as { Database: NativeConstructor }).Database];
  }
  const req = createRequire(import.meta.url);
  return ["node:sqlite", (req("node:sqlite") as { DatabaseSync: NativeConstructor }).DatabaseSync];
}

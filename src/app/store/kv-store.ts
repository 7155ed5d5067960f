/**
 * Where a key-value replica keeps its state: the keys, the client table and the apply cursor, all
 * changed together in one atomic step per applied batch (`atomically`), so that a replica that
 * restarts finds a state, a cursor and a client table that agree. Two implementations: in memory
 * (the simulator, tests) and SQLite (sqlite-store.ts: durable).
 */
import type { Change } from "../kv/kv-machine.ts";
import type { Entry } from "../kv/reply.ts";

export interface StoredValue {
  readonly value: Uint8Array;
  readonly revision: number;
}

/** One row of a replica's state, as a snapshot carries it (see KvStore.rows). */
export type StoreRow =
  | { readonly t: "kv"; readonly key: Uint8Array; readonly value: Uint8Array; readonly revision: number }
  | { readonly t: "reply"; readonly client: number; readonly seq: number; readonly reply: Uint8Array }
  | { readonly t: "client"; readonly client: number; readonly forgotten: number; readonly lastRevision: number };

/** The state as it stood when it was opened, readable while the store goes on changing (a snapshot's source). */
export interface StoreReader {
  cursor(): Uint8Array | null;
  rows(): Iterable<StoreRow>;
  /** Ends the read (a durable store holds its version until then). */
  close(): void;
}

export interface KvStore {
  /**
   * Runs `fn`; its writes take effect together (after a crash: all of them or none). If `fn`
   * throws, none of them does, and the error propagates. Durable only after the next `sync`.
   */
  atomically<T>(fn: () => T): T;
  /** Makes every `atomically` that returned durable (one fsync for all of them). */
  sync(): void;
  get(key: Uint8Array): StoredValue | null;
  put(key: Uint8Array, value: Uint8Array, revision: number): void;
  /** Whether the key was there. */
  delete(key: Uint8Array): boolean;
  /** Keys in [from, to) in byte order (`to` null: to the end), at most `limit` of them. */
  range(from: Uint8Array, to: Uint8Array | null, limit: number): Entry[];
  /** The number of keys. */
  size(): number;

  /** The client table (see ClientTable): the reply to (client, seq), if kept. */
  reply(client: number, seq: number): Uint8Array | null;
  /** Sequence numbers of `client` at or below this were forgotten (0: none). */
  forgottenUpTo(client: number): number;
  keepReply(client: number, seq: number, reply: Uint8Array, revision: number): void;
  /** Drops the replies of `client` at or below `seq`, which are forgotten from now on. */
  forgetUpTo(client: number, seq: number): void;
  /** Clients in the table. */
  clients(): number;
  /** Drops the client whose last command is the oldest (ties: the lowest id), with its replies. */
  dropOldestClient(): void;

  /** The host's apply cursor as saved by the last batch (opaque bytes; null: none yet). */
  cursor(): Uint8Array | null;
  setCursor(cursor: Uint8Array): void;

  /** Watches' history, kept with the state that made it: a change just applied; `seq`: its place among its revision's (a batch writes several keys at one revision). */
  appendChange(c: Change, seq?: number): void;
  /** The held changes with revision >= `from`, in revision order, at most `limit`. */
  changesFrom(from: number, limit: number): Change[];
  /** Keeps the newest `keep` changes; the floor rises above what is dropped. */
  trimChanges(keep: number): void;
  /** The lowest revision from which every change is held (null: not set since the store began or its state was replaced). */
  changesFloor(): number | null;
  setChangesFloor(revision: number): void;

  /**
   * Every row of the state: keys in byte order, then replies by (client, seq), then clients by id
   * (a snapshot's content: the same state gives the same rows in the same order). Read it whole
   * before the next write.
   */
  rows(): Iterable<StoreRow>;
  /** A reader of the state as it stands now, which later writes do not change (see StoreReader). */
  reader(): StoreReader;
  /** Replaces the whole state (keys, client table) with `rows` and the cursor with `cursor`, atomically; the changes held and their floor are dropped. */
  replaceAll(rows: Iterable<StoreRow>, cursor: Uint8Array): void;

  close(): void;
}

/**
 * The key-value state machine: applies the log's commands, in log order, to a KvStore. Given the
 * same log, every replica computes the same state and the same replies (nothing here reads a
 * clock, a random number or anything but the store and the commands).
 *
 * Revisions: the host gives each log item a revision, increasing along the log (revisionOf); a
 * write stamps the key with it (etcd's mod_revision), so `cas` can name the state it expects.
 */
import { invariant } from "../../core/assert.ts";
import type { KvStore } from "../store/kv-store.ts";
import { ClientTable } from "./client-table.ts";
import { type BatchOp, type Command, CommandError, decodeRequest } from "./command.ts";
import { partitionOf } from "./partitions.ts";
import { decodeReply, encodeReply, type Entry, failure, type Reply } from "./reply.ts";
import { MAX_HISTORY } from "./watch.ts";

/** A change of the state, for watchers: a key written (its new value) or deleted, at a revision. */
export interface Change {
  readonly type: "put" | "delete";
  readonly key: Uint8Array;
  readonly value: Uint8Array | null;
  readonly revision: number;
}

/** What applying one log item gave: the reply, whose command it answers (null: a malformed value), and the changes it made. */
export interface Applied {
  readonly client: number | null;
  readonly seq: number;
  readonly reply: Reply;
  readonly changes: readonly Change[];
}

/**
 * With partitions: how many there are, and which of them this replica holds. A batch writes only
 * the keys of held partitions; a range lists only the keys of the partition it names. Every
 * replica holding a partition computes the same for it.
 */
export interface KvScope {
  readonly partitions: number;
  readonly held: ReadonlySet<number>;
}

/** One value of the log, as the host hands it over. */
export interface LogItem {
  readonly revision: number;
  readonly bytes: Uint8Array;
}

/** Values per batch a revision leaves room for: the value's index in its batch is the low part. */
export const MAX_VALUES_PER_BATCH = 1 << 20;

/** The revision of the `index`-th value of instance `instance`: unique and increasing along one ring's log, >= 1. */
export function revisionOf(instance: number, index: number): number {
  invariant(Number.isSafeInteger(instance) && instance >= 0 && instance < 2 ** 32, `instance ${instance} fits a revision`);
  invariant(Number.isSafeInteger(index) && index >= 0 && index < MAX_VALUES_PER_BATCH, `value index ${index} fits a revision`);
  return instance * MAX_VALUES_PER_BATCH + index + 1;
}

/** The changes a fresh single-key write made (none: it failed, or deleted nothing). */
function changesOf(c: Command, r: Reply): Change[] {
  if (!r.ok) return [];
  if (r.op === "write" && "value" in c) return [{ type: "put", key: c.key, value: c.value, revision: r.revision }];
  if (r.op === "delete" && r.deleted && c.op === "delete") return [{ type: "delete", key: c.key, value: null, revision: r.revision }];
  return [];
}

/** Keys a partition's range reads from the store at a time. */
const RANGE_SCAN_STEP = 512;

/** The least key after `key` in byte order. */
function successor(key: Uint8Array): Uint8Array {
  const next = new Uint8Array(key.byteLength + 1);
  next.set(key);
  return next;
}

/** Changes appended between two trims of the watch history (it holds up to MAX_HISTORY + TRIM_STEP). */
export const TRIM_STEP = 1024;

export class KvMachine {
  private readonly clients: ClientTable;
  private lastRevision = 0;
  private untrimmed = 0;

  constructor(
    private readonly store: KvStore,
    maxClients?: number,
    private readonly scope: KvScope | null = null,
  ) {
    this.clients = new ClientTable(store, maxClients);
  }

  /**
   * Applies one delivered batch (its values in order) and saves the host's cursor with it, in one
   * atomic step of the store: after a crash the state, the client table and the cursor agree.
   */
  applyBatch(items: readonly LogItem[], cursor: Uint8Array): Applied[] {
    let last = this.lastRevision;
    for (const item of items) {
      invariant(item.revision > last, `revisions increase along the log (${item.revision} after ${last})`);
      last = item.revision;
    }
    const replies = this.store.atomically(() => {
      const out = items.map((item) => this.applyOne(item));
      // Watches' history, with the state it made (it survives restarts with it).
      for (const a of out) {
        a.changes.forEach((c, i) => this.store.appendChange(c, i));
        this.untrimmed += a.changes.length;
      }
      // Trimmed in steps: finding the cut costs a scan of the history, not worth paying per batch.
      if (this.untrimmed >= TRIM_STEP) {
        this.store.trimChanges(MAX_HISTORY);
        this.untrimmed = 0;
      }
      this.store.setCursor(cursor);
      return out;
    });
    this.lastRevision = last;
    return replies;
  }

  private applyOne(item: LogItem): Applied {
    const req = decodeRequest(item.bytes);
    if (req instanceof CommandError) return { client: null, seq: 0, reply: failure("BAD_COMMAND", req.message), changes: [] };
    return { client: req.client, seq: req.seq, ...this.replyTo(req.client, req.seq, req.command, item.revision) };
  }

  private replyTo(client: number, seq: number, c: Command, revision: number): { reply: Reply; changes: readonly Change[] } {
    // Reads are not kept: a retried read runs again, later in the log, within the client's wait.
    if (c.op === "get" || c.op === "range") return { reply: this.execute(c, revision), changes: [] };
    const seen = this.clients.lookup(client, seq);
    if (seen.kind === "done") return { reply: decodeReply(seen.reply), changes: [] };
    if (seen.kind === "stale") return { reply: failure("STALE", `command ${seq} of client ${client} is older than the replies kept for it`), changes: [] };
    if (c.op === "batch") {
      const done = this.batch(c.ops, revision);
      this.clients.record(client, seq, encodeReply(done.reply), revision);
      return done;
    }
    const reply = this.execute(c, revision);
    this.clients.record(client, seq, encodeReply(reply), revision);
    return { reply, changes: changesOf(c, reply) };
  }

  /** A batch's writes of the keys this replica holds, all at `revision` (a key written twice: its last write counts). */
  private batch(ops: readonly BatchOp[], revision: number): { reply: Reply; changes: Change[] } {
    const changes: Change[] = [];
    for (const w of ops) {
      if (!this.holds(w.key)) continue;
      if (w.op === "put") {
        this.store.put(w.key, w.value, revision);
        changes.push({ type: "put", key: w.key, value: w.value, revision });
      } else if (this.store.delete(w.key)) {
        changes.push({ type: "delete", key: w.key, value: null, revision });
      }
    }
    return { reply: { ok: true, op: "batch", revision, writes: ops.length }, changes };
  }

  private holds(key: Uint8Array): boolean {
    return this.scope === null || this.scope.held.has(partitionOf(key, this.scope.partitions));
  }

  /** Keys of [from, to) of `partition` only (with partitions), at most `limit`: scanned in steps past other partitions' keys. */
  private range(c: Extract<Command, { op: "range" }>): Reply {
    const scope = this.scope;
    const p = c.partition;
    if (scope === null || p === undefined) {
      const entries = this.store.range(c.from, c.to, c.limit + 1);
      return { ok: true, op: "range", entries: entries.slice(0, c.limit), more: entries.length > c.limit };
    }
    const out: Entry[] = [];
    let from = c.from;
    for (;;) {
      const step = this.store.range(from, c.to, RANGE_SCAN_STEP);
      for (const e of step) {
        if (partitionOf(e.key, scope.partitions) !== p) continue;
        if (out.length === c.limit) return { ok: true, op: "range", entries: out, more: true };
        out.push(e);
      }
      const last = step.at(-1);
      if (step.length < RANGE_SCAN_STEP || last === undefined) return { ok: true, op: "range", entries: out, more: false };
      from = successor(last.key);
    }
  }

  private execute(c: Exclude<Command, { op: "batch" }>, revision: number): Reply {
    const s = this.store;
    switch (c.op) {
      case "get": {
        const v = s.get(c.key);
        return v ? { ok: true, op: "get", value: v.value, revision: v.revision } : failure("NOT_FOUND", "no such key");
      }
      case "range":
        return this.range(c);
      case "delete":
        return { ok: true, op: "delete", revision, deleted: s.delete(c.key) };
      default:
        return this.write(c, revision);
    }
  }

  private write(c: Extract<Command, { op: "put" | "insert" | "update" | "cas" }>, revision: number): Reply {
    const prev = this.store.get(c.key)?.revision ?? 0;
    if (c.op === "insert" && prev !== 0) return failure("EXISTS", "the key exists", prev);
    if (c.op === "update" && prev === 0) return failure("NOT_FOUND", "no such key");
    if (c.op === "cas" && prev !== c.expected) return failure("REVISION_MISMATCH", `the key's revision is ${prev}, not ${c.expected}`, prev);
    this.store.put(c.key, c.value, revision);
    return { ok: true, op: "write", revision, prev };
  }
}

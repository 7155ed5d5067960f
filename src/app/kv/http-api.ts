/**
 * The key-value service's HTTP/JSON API on a replica (served beside /status on the node's `http`
 * port). Every write, and every range, goes through the log: the replica proposes it, waits until
 * it applied it, and answers with the reply every replica computed. A get is linearizable without
 * the log (?consistency=linearizable, the default: the read index, as etcd and Raft read: the
 * leader, while it holds its lease, names the instance below which every completed write lies;
 * the replica answers from its state once it applied that far; without an answer within 500 ms
 * the get goes through the log), through the log (?consistency=log), or from this replica's state
 * as it is (?consistency=stale: fast, possibly old).
 *
 *   PUT    /v1/kv/{key}                 body: the value   (?op=insert: only if absent; ?op=update: only if present)
 *   GET    /v1/kv/{key}                 ?consistency=linearizable|log|stale
 *   DELETE /v1/kv/{key}
 *   POST   /v1/kv/{key}/cas?expected=R  body: the value   (R: the key's revision, 0: absent)
 *   GET    /v1/kv?from=&to=&limit=      keys in [from, to), in byte order (partitioned: &partition=i)
 *   POST   /v1/batch                    body: {"ops":[{"op":"put","key":K,"value":V},{"op":"delete","key":K}]}
 *   GET    /v1/partitions               the partitions and their replicas (404 NOT_PARTITIONED: one partition)
 *
 * Partitioned (Multi-Ring): a replica answers for the keys of its partitions only: another key's
 * command gets 421 MISDIRECTED with the replicas that hold it (the client library routes by key
 * and splits ranges by partition); a batch goes through the global group every replica learns.
 *
 * Keys are the path segment, percent-decoded UTF-8. Answers are JSON; a value is a UTF-8 string,
 * or base64 with "encoding": "base64" when it is not UTF-8. Errors are JSON {code, message}:
 * 400 BAD_COMMAND, 404 NOT_FOUND, 409 EXISTS / REVISION_MISMATCH / STALE, 413 VALUE_TOO_LARGE,
 * 503 UNAVAILABLE (not proposed, or not applied within ?timeoutMs, default 5000).
 *
 * Exactly-once across retries: a client that sends X-Paxos-Client and X-Paxos-Seq (the client
 * library does) gets its first reply again for a retried command, from any replica. Without them
 * the replica numbers the command itself (a retry is then a new command).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { randomInt } from "node:crypto";
import { type Command, CommandError, encodeRequest, MAX_KEY_BYTES, MAX_PARTITIONS, MAX_RANGE_LIMIT, MAX_VALUE_BYTES } from "./command.ts";
import { batchOps } from "./batch-json.ts";
import type { Entry, Reply } from "./reply.ts";
import { type KvReplica, WaitError } from "./replica.ts";

export const KV_PREFIX = "/v1/kv";
export const WATCH_PATH = "/v1/watch";
export const BATCH_PATH = "/v1/batch";
export const PARTITIONS_PATH = "/v1/partitions";
/** Bound: bytes a watch's response may hold unread before the watcher is dropped as too slow. */
const MAX_WATCH_BUFFER_BYTES = 8 << 20;
export const DEFAULT_TIMEOUT_MS = 5000;
/** How long a get waits for the leader's read index before it goes through the log. */
const READ_INDEX_WAIT_MS = 500;
const MAX_TIMEOUT_MS = 60_000;
const JSON_TYPE = "application/json; charset=utf-8";

/** A partitioned replica's view of the partitions (absent: the service is one partition). */
export interface KvRouting {
  /** How many partitions the service has (0..partitions-1). */
  readonly partitions: number;
  partitionOf(key: Uint8Array): number;
  holds(partition: number): boolean;
  /** Base URLs of the replicas that hold `partition`. */
  replicasOf(partition: number): readonly string[];
  /** The body of GET /v1/partitions. */
  describe(): unknown;
}

export interface KvApiOptions {
  readonly replica: KvReplica;
  /** Proposes a command's bytes through this node's proposer (to the command's partition); false: refused (queue full, no proposer). */
  readonly propose: (bytes: Uint8Array, command: Command) => boolean;
  readonly routing?: KvRouting;
  /**
   * A planted bug (tests only, PAXOS_KV_PLANTED_BUG=local-reads): gets are answered from this
   * replica's state at once, without the log or a read index, so a lagging replica answers stale
   * values; the linearizability test must catch it.
   */
  readonly plantedLocalReads?: boolean;
  /**
   * Waits until this replica applied every write of `key` completed before the call (the leader's
   * read index, see KvHost.readIndex): true once it did; false: no read index came within
   * `askMs` (the get goes through the log); a WaitError when applying it took over `timeoutMs`.
   * Absent: reads go through the log.
   */
  readonly readBarrier?: (key: Uint8Array, askMs: number, timeoutMs: number) => Promise<boolean>;
}

/** How a get is answered: see the file comment. */
export type Consistency = "linearizable" | "log" | "stale";

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** More fields of the error's JSON (MISDIRECTED: the partition and its replicas). */
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export class KvApi {
  /** The replica's own client id for requests that bring none (random per process). */
  private readonly sessionClient = randomInt(2 ** 47, 2 ** 48);
  private sessionSeq = 0;

  constructor(private readonly o: KvApiOptions) {}

  handles(path: string): boolean {
    return path === KV_PREFIX || path.startsWith(`${KV_PREFIX}/`) || path === WATCH_PATH || path === BATCH_PATH || path === PARTITIONS_PATH;
  }

  /** Ends every watch (the server closes only once its responses end). */
  close(): void {
    this.o.replica.watches.close();
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (url.pathname === WATCH_PATH) return this.watch(req, res, url);
    if (url.pathname === PARTITIONS_PATH) return this.partitions(req, res);
    try {
      const command = await this.commandOf(req, url);
      this.checkPartition(command);
      const [client, seq] = this.identity(req);
      const reply = command.op === "get" ? await this.get(client, seq, command, url) : await this.submit(client, seq, command, timeoutOf(url));
      const [status, body] = answer(reply);
      send(res, status, body);
    } catch (e) {
      if (!(e instanceof HttpError)) throw e;
      send(res, e.status, { code: e.code, message: e.message, ...e.extra });
    }
  }

  private partitions(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    if (!this.o.routing) return send(res, 404, { code: "NOT_PARTITIONED", message: "this service is one partition: every replica holds every key" });
    send(res, 200, this.o.routing.describe());
  }

  /** A command for a partition this replica does not hold: 421, naming the replicas that do. */
  private checkPartition(c: Command): void {
    const r = this.o.routing;
    if (!r || c.op === "batch") return;
    if (c.op === "range" && c.partition === undefined) throw new HttpError(400, "BAD_COMMAND", "this service is partitioned: a range names its partition (?partition=i, see GET /v1/partitions); the client library splits a range by partition");
    const p = c.op === "range" ? (c.partition as number) : r.partitionOf(c.key);
    if (p >= r.partitions) throw new HttpError(400, "BAD_COMMAND", `partition ${p} does not exist: this service has ${r.partitions} (0..${r.partitions - 1}, see GET /v1/partitions)`);
    if (r.holds(p)) return;
    throw new HttpError(421, "MISDIRECTED", `partition ${p} is not held here; its replicas: ${r.replicasOf(p).join(", ") || "none"}`, { partition: p, replicas: r.replicasOf(p) });
  }

  /** A get: by the read index (default), through the log, or from this replica's state as it is (stale). */
  private async get(client: number, seq: number, command: Extract<Command, { op: "get" }>, url: URL): Promise<Reply> {
    const consistency = consistencyOf(url);
    const timeoutMs = timeoutOf(url);
    if (consistency === "stale" || this.o.plantedLocalReads) return this.o.replica.readNow(command.key);
    if (consistency === "log" || !this.o.readBarrier) return this.submit(client, seq, command, timeoutMs);
    try {
      if (!(await this.o.readBarrier(command.key, Math.min(timeoutMs, READ_INDEX_WAIT_MS), timeoutMs))) return this.submit(client, seq, command, timeoutMs);
    } catch (e) {
      if (e instanceof WaitError) throw new HttpError(503, "UNAVAILABLE", e.message);
      throw e;
    }
    return this.o.replica.readNow(command.key);
  }

  /**
   * GET /v1/watch?prefix=P&fromRevision=R: a stream of JSON lines, first {"type":"watching",
   * "from":R}, then one {"type":"put"|"delete","key","value"?,"revision"} per change of a key
   * starting with P as this replica applies it (from R on when R > 0 and this replica still holds
   * those changes: else 410 COMPACTED with the oldest revision it can start from). A watcher that
   * does not read gets a last line {"code":"TOO_SLOW"} and the stream ends.
   */
  private watch(req: IncomingMessage, res: ServerResponse, url: URL): void {
    req.resume();
    let from: number;
    try {
      if ((req.method ?? "") !== "GET") throw new HttpError(405, "METHOD_NOT_ALLOWED", "a watch takes GET");
      from = intParam(url, "fromRevision", 0, Number.MAX_SAFE_INTEGER, 0);
    } catch (e) {
      if (!(e instanceof HttpError)) throw e;
      return send(res, e.status, { code: e.code, message: e.message });
    }
    const prefix = new TextEncoder().encode(url.searchParams.get("prefix") ?? "");
    let open = false;
    const begin = (): void => {
      if (open) return;
      open = true;
      res.writeHead(200, { "Content-Type": "application/x-ndjson", "Cache-Control": "no-cache" });
      res.write(`${JSON.stringify({ type: "watching", from })}\n`);
    };
    const line = (x: unknown): boolean => {
      begin();
      res.write(`${JSON.stringify(x)}\n`);
      return res.writableLength <= MAX_WATCH_BUFFER_BYTES;
    };
    const started = this.o.replica.watches.watch(
      {
        prefix,
        send: (c) => line({ type: c.type, ...keyJson(c.key), ...(c.value ? valueJson(c.value) : {}), revision: c.revision }),
        end: (reason) => res.end(`${JSON.stringify({ code: reason === "slow" ? "TOO_SLOW" : "CLOSED" })}\n`),
      },
      from,
    );
    if (!started.ok) {
      if (open) return; // dropped while replaying: its last line said so
      const message = started.code === "COMPACTED" ? `changes below revision ${started.oldest} are not held here: read the state, then watch from its revision` : "too many watches here";
      return send(res, started.code === "COMPACTED" ? 410 : 503, { code: started.code, message, oldest: started.oldest });
    }
    begin();
    res.on("close", started.cancel);
  }

  private async submit(client: number, seq: number, command: Command, timeoutMs: number): Promise<Reply> {
    let bytes: Uint8Array;
    try {
      bytes = encodeRequest({ client, seq, command });
    } catch (e) {
      if (e instanceof CommandError) throw new HttpError(400, "BAD_COMMAND", e.message);
      throw e;
    }
    const reply = this.o.replica.waitFor(client, seq, timeoutMs);
    if (!this.o.propose(bytes, command)) {
      reply.catch(() => {});
      throw new HttpError(503, "UNAVAILABLE", "the command was not proposed (this node's proposer queue is full, or it has none)");
    }
    try {
      return await reply;
    } catch (e) {
      if (e instanceof WaitError) throw new HttpError(503, "UNAVAILABLE", e.message);
      throw e;
    }
  }

  private identity(req: IncomingMessage): [number, number] {
    const c = req.headers["x-paxos-client"];
    const s = req.headers["x-paxos-seq"];
    if (c === undefined && s === undefined) return [this.sessionClient, ++this.sessionSeq];
    const client = Number(c);
    const seq = Number(s);
    if (typeof c !== "string" || typeof s !== "string" || !Number.isSafeInteger(client) || client < 0 || !Number.isSafeInteger(seq) || seq < 1) {
      throw new HttpError(400, "BAD_COMMAND", "X-Paxos-Client (an integer >= 0) and X-Paxos-Seq (an integer >= 1) go together");
    }
    return [client, seq];
  }

  private async commandOf(req: IncomingMessage, url: URL): Promise<Command> {
    const method = req.method ?? "";
    const path = url.pathname;
    if (path === BATCH_PATH) {
      if (method !== "POST") throw new HttpError(405, "METHOD_NOT_ALLOWED", "a batch takes POST");
      const ops = batchOps(await body(req));
      if (typeof ops === "string") throw new HttpError(400, "BAD_COMMAND", ops);
      return { op: "batch", ops };
    }
    if (path === KV_PREFIX || path === `${KV_PREFIX}/`) {
      if (method !== "GET") throw new HttpError(405, "METHOD_NOT_ALLOWED", "the key range takes GET");
      const from = url.searchParams.get("from") ?? "";
      const to = url.searchParams.get("to");
      const partition = url.searchParams.has("partition") ? { partition: intParam(url, "partition", 0, MAX_PARTITIONS - 1, null) } : {};
      return { op: "range", from: keyBytes(from, true), to: to === null ? null : keyBytes(to, true), limit: intParam(url, "limit", 1, MAX_RANGE_LIMIT, 100), ...partition };
    }
    const rest = path.slice(KV_PREFIX.length + 1);
    const cas = rest.endsWith("/cas");
    const key = keyBytes(decodeSegment(cas ? rest.slice(0, -4) : rest), false);
    if (cas) {
      if (method !== "POST") throw new HttpError(405, "METHOD_NOT_ALLOWED", "cas takes POST");
      return { op: "cas", key, expected: intParam(url, "expected", 0, Number.MAX_SAFE_INTEGER, null), value: await body(req) };
    }
    if (method === "GET") return { op: "get", key };
    if (method === "DELETE") return { op: "delete", key };
    if (method !== "PUT") throw new HttpError(405, "METHOD_NOT_ALLOWED", "a key takes GET, PUT or DELETE");
    const op = url.searchParams.get("op") ?? "put";
    if (op !== "put" && op !== "insert" && op !== "update") throw new HttpError(400, "BAD_COMMAND", `op: put, insert or update, not ${JSON.stringify(op)}`);
    return { op, key, value: await body(req) };
  }
}

function decodeSegment(s: string): string {
  if (s.includes("/")) throw new HttpError(400, "BAD_COMMAND", "a key is one path segment (percent-encode '/' as %2F)");
  try {
    return decodeURIComponent(s);
  } catch {
    throw new HttpError(400, "BAD_COMMAND", "the key is not valid percent-encoded UTF-8");
  }
}

function keyBytes(s: string, emptyOk: boolean): Uint8Array {
  const b = new TextEncoder().encode(s);
  if ((!emptyOk && b.byteLength === 0) || b.byteLength > MAX_KEY_BYTES) throw new HttpError(400, "BAD_COMMAND", `a key has 1..${MAX_KEY_BYTES} bytes`);
  return b;
}

function intParam(url: URL, name: string, min: number, max: number, dflt: number | null): number {
  const v = url.searchParams.get(name);
  if (v === null) {
    if (dflt === null) throw new HttpError(400, "BAD_COMMAND", `?${name}= is required`);
    return dflt;
  }
  const n = Number(v);
  if (v.trim() === "" || !Number.isSafeInteger(n) || n < min || n > max) throw new HttpError(400, "BAD_COMMAND", `?${name}= takes an integer in ${min}..${max}`);
  return n;
}

function consistencyOf(url: URL): Consistency {
  const c = url.searchParams.get("consistency") ?? "linearizable";
  if (c !== "linearizable" && c !== "log" && c !== "stale") throw new HttpError(400, "BAD_COMMAND", `consistency: linearizable, log or stale, not ${JSON.stringify(c)}`);
  return c;
}

function timeoutOf(url: URL): number {
  return intParam(url, "timeoutMs", 1, MAX_TIMEOUT_MS, DEFAULT_TIMEOUT_MS);
}

/** The request body, at most MAX_VALUE_BYTES. */
async function body(req: IncomingMessage): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > MAX_VALUE_BYTES) throw new HttpError(413, "VALUE_TOO_LARGE", `a value has at most ${MAX_VALUE_BYTES} bytes`);
    chunks.push(chunk);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

const STATUS: Record<string, number> = { NOT_FOUND: 404, EXISTS: 409, REVISION_MISMATCH: 409, STALE: 409, BAD_COMMAND: 400 };

function answer(r: Reply): [number, unknown] {
  if (!r.ok) return [STATUS[r.code] ?? 500, r.revision === undefined ? { code: r.code, message: r.message } : { code: r.code, message: r.message, revision: r.revision }];
  switch (r.op) {
    case "write":
      return [200, { revision: r.revision, prev: r.prev }];
    case "delete":
      return [200, { revision: r.revision, deleted: r.deleted }];
    case "get":
      return [200, { revision: r.revision, ...valueJson(r.value) }];
    case "range":
      return [200, { entries: r.entries.map(entryJson), more: r.more }];
    case "batch":
      return [200, { revision: r.revision, writes: r.writes }];
  }
}

function entryJson(e: Entry): unknown {
  return { ...keyJson(e.key), ...valueJson(e.value), revision: e.revision };
}

function keyJson(b: Uint8Array): { key: string; keyEncoding?: "base64" } {
  const k = valueJson(b);
  return k.encoding ? { key: k.value, keyEncoding: k.encoding } : { key: k.value };
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

function valueJson(b: Uint8Array): { value: string; encoding?: "base64" } {
  try {
    return { value: strictUtf8.decode(b) };
  } catch {
    return { value: Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64"), encoding: "base64" };
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { "Content-Type": JSON_TYPE, "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

/**
 * The key-value service's commands, as they travel in the log: one CBOR map per value (cbor-x).
 * A command names its end client and that client's sequence number, so a command retried through
 * another replica (the client library fails over) is recognized by every replica and applied once
 * (see ClientTable). Keys and values are bytes, bounded by MAX_KEY_BYTES and MAX_VALUE_BYTES.
 *
 * Decoding is input from the network: it never throws past `decodeCommand`, which returns a
 * CommandError for anything malformed (every replica decodes the same bytes the same way, so a bad
 * command gets the same error reply everywhere and changes nothing).
 */
import { Decoder, Encoder } from "cbor-x";

/** Bound on a key, bytes (etcd's default request limit is 1.5 MB; keys are far smaller in practice). */
export const MAX_KEY_BYTES = 4096;
/** Bound on a value, bytes; a ring's datagram may bound it lower (the client checks both). */
export const MAX_VALUE_BYTES = 1 << 20;
/** Bound on the entries one range returns. */
export const MAX_RANGE_LIMIT = 10_000;
/** Bound on the writes of one batch. */
export const MAX_BATCH_OPS = 1000;
/** Bound on the partitions a range may name. */
export const MAX_PARTITIONS = 1024;

/** One write of a batch. */
export type BatchOp = { readonly op: "put"; readonly key: Uint8Array; readonly value: Uint8Array } | { readonly op: "delete"; readonly key: Uint8Array };

export type Command =
  | { readonly op: "put"; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly op: "get"; readonly key: Uint8Array }
  | { readonly op: "delete"; readonly key: Uint8Array }
  | { readonly op: "insert"; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly op: "update"; readonly key: Uint8Array; readonly value: Uint8Array }
  /** Writes only if the key's revision is `expected` (0: only if the key is absent). */
  | { readonly op: "cas"; readonly key: Uint8Array; readonly expected: number; readonly value: Uint8Array }
  /** Keys in [from, to) in byte order (`to` null: to the end), at most `limit`; with partitions, those of `partition` only. */
  | { readonly op: "range"; readonly from: Uint8Array; readonly to: Uint8Array | null; readonly limit: number; readonly partition?: number }
  /** Unconditional writes of several keys, applied together at one revision (with partitions: through the global group). */
  | { readonly op: "batch"; readonly ops: readonly BatchOp[] };

/** A command with the identity that makes it exactly-once: the end client's id and its sequence number. */
export interface Request {
  readonly client: number;
  readonly seq: number;
  readonly command: Command;
}

export class CommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CommandError";
  }
}

const OPS = new Set(["put", "get", "delete", "insert", "update", "cas", "range", "batch"]);
const encoder = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true });

/** The bytes of a request, as proposed to the log; throws CommandError for a request out of bounds. */
export function encodeRequest(r: Request): Uint8Array {
  const problem = requestProblem(r);
  if (problem) throw new CommandError(problem);
  return encoder.encode({ c: r.client, s: r.seq, ...wireCommand(r.command) });
}

/** The request in a log value, or a CommandError saying what is wrong with it. */
export function decodeRequest(bytes: Uint8Array): Request | CommandError {
  let raw: unknown;
  try {
    raw = decoder.decode(bytes);
  } catch (e) {
    return new CommandError(`not CBOR: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return new CommandError("not a CBOR map");
  const m = raw as Record<string, unknown>;
  const unchecked = { client: m["c"], seq: m["s"], command: commandOf(m) } as Request;
  const problem = requestProblem(unchecked);
  return problem ? new CommandError(problem) : unchecked;
}

function wireCommand(c: Command): Record<string, unknown> {
  switch (c.op) {
    case "put":
    case "insert":
    case "update":
      return { o: c.op, k: c.key, v: c.value };
    case "get":
    case "delete":
      return { o: c.op, k: c.key };
    case "cas":
      return { o: c.op, k: c.key, e: c.expected, v: c.value };
    case "range":
      return { o: c.op, f: c.from, t: c.to, l: c.limit, ...(c.partition !== undefined ? { p: c.partition } : {}) };
    case "batch":
      return { o: c.op, b: c.ops.map((x) => (x.op === "put" ? [0, x.key, x.value] : [1, x.key])) };
  }
}

/** The command of a decoded map, its fields not yet checked (requestProblem checks them). */
function commandOf(m: Record<string, unknown>): Command {
  const op = m["o"];
  const key = plain(m["k"]);
  const value = plain(m["v"]);
  const shape =
    op === "get" || op === "delete"
      ? { op, key }
      : op === "cas"
        ? { op, key, expected: m["e"], value }
        : op === "range"
          ? { op, from: plain(m["f"]), to: m["t"] === null ? null : plain(m["t"]), limit: m["l"], ...(m["p"] !== undefined ? { partition: m["p"] } : {}) }
          : op === "batch"
            ? { op, ops: batchOpsOf(m["b"]) }
            : { op, key, value };
  return shape as unknown as Command;
}

/** A batch's writes as decoded (their fields checked by requestProblem); null: not a list of writes. */
function batchOpsOf(b: unknown): unknown {
  if (!Array.isArray(b)) return null;
  return b.map((x: unknown) => (Array.isArray(x) && x[0] === 0 ? { op: "put", key: plain(x[1]), value: plain(x[2]) } : Array.isArray(x) && x[0] === 1 ? { op: "delete", key: plain(x[1]) } : null));
}

/** Decoded byte strings as plain Uint8Array views (the decoder may hand Node Buffers). */
function plain(x: unknown): unknown {
  return x instanceof Uint8Array ? new Uint8Array(x.buffer, x.byteOffset, x.byteLength) : x;
}

function batchProblem(ops: unknown): string | null {
  if (!Array.isArray(ops) || ops.length === 0 || ops.length > MAX_BATCH_OPS) return `batch: expected 1..${MAX_BATCH_OPS} writes`;
  for (const [i, x] of (ops as unknown[]).entries()) {
    const w = x as BatchOp | null;
    if (w === null || typeof w !== "object") return `batch[${i}]: expected a put or a delete`;
    if (!isBytes(w.key, MAX_KEY_BYTES) || w.key.byteLength === 0) return `batch[${i}].key: expected 1..${MAX_KEY_BYTES} bytes`;
    if (w.op === "put" && !isBytes(w.value, MAX_VALUE_BYTES)) return `batch[${i}].value: expected at most ${MAX_VALUE_BYTES} bytes`;
  }
  return null;
}

function isBytes(x: unknown, max: number): x is Uint8Array {
  return x instanceof Uint8Array && x.byteLength <= max;
}

function isCount(x: unknown): x is number {
  return typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
}

/** What is wrong with a request (null: nothing): the same answer on every replica. */
export function requestProblem(r: Request): string | null {
  if (!isCount(r.client)) return "client: expected an integer >= 0";
  if (!isCount(r.seq) || r.seq === 0) return "seq: expected an integer >= 1";
  const c = r.command;
  if (!OPS.has(c.op)) return `op: unknown command ${JSON.stringify(c.op)}`;
  if (c.op === "range") {
    if (!isBytes(c.from, MAX_KEY_BYTES)) return `from: expected at most ${MAX_KEY_BYTES} bytes`;
    if (c.to !== null && !isBytes(c.to, MAX_KEY_BYTES)) return `to: expected null or at most ${MAX_KEY_BYTES} bytes`;
    if (!isCount(c.limit) || c.limit < 1 || c.limit > MAX_RANGE_LIMIT) return `limit: expected 1..${MAX_RANGE_LIMIT}`;
    if (c.partition !== undefined && (!isCount(c.partition) || c.partition >= MAX_PARTITIONS)) return `partition: expected 0..${MAX_PARTITIONS - 1}`;
    return null;
  }
  if (c.op === "batch") return batchProblem(c.ops);
  if (!isBytes(c.key, MAX_KEY_BYTES) || c.key.byteLength === 0) return `key: expected 1..${MAX_KEY_BYTES} bytes`;
  if ((c.op === "put" || c.op === "insert" || c.op === "update" || c.op === "cas") && !isBytes(c.value, MAX_VALUE_BYTES)) {
    return `value: expected at most ${MAX_VALUE_BYTES} bytes`;
  }
  if (c.op === "cas" && !isCount(c.expected)) return "expected: a revision, an integer >= 0 (0: the key is absent)";
  return null;
}

/**
 * One write-ahead-log record on disk: a 16-byte frame header and a CBOR body.
 *
 *   offset 0  u32 body length (<= MAX_RECORD_BODY)
 *          4  u8  record type (RecordType)
 *          5  u8[3] zero
 *          8  u32 CRC-32 of the body
 *         12  u32 CRC-32 of bytes 0..11 (the header itself)
 *         16  body: a CBOR array whose shape depends on the type
 *
 * Little-endian. The header has its own checksum so that a damaged length is told apart from a
 * record cut short by a crash (see segment.ts). Bodies are decoded and validated field by field:
 * a record that passes its checksum but has the wrong shape is corruption too, never trusted.
 *
 * A vote's body keeps its payloads out of the CBOR: u32 length of a CBOR array
 * [instance, vrnd, vid, [[client, seq, payload length(, group(, packed))], ...]] (group 0 before a
 * pack's count when the value has none; and a fifth element, n, for a
 * Multi-Ring skip(n) batch), the array, then the payloads one after the other — copied once,
 * straight into the record.
 */
import { crc32 } from "node:zlib";
// cbor-x's "encode" entry is its pure-JS build: the main entry also loads the optional native
// cbor-extract addon (string decoding only), which costs each process ~4 MB RSS for nothing here.
import { Encoder } from "cbor-x/encode";
import type { Batch, ClientValue, LedgerRecord } from "../core/types.ts";

export const RECORD_HEADER_BYTES = 16;
/** Bound: the largest record body accepted (a vote carries one batch; batches are far smaller). */
export const MAX_RECORD_BODY = 64 * 1024 * 1024;

export const RecordType = {
  Promise: 1,
  Vote: 2,
  Decision: 3,
  Trim: 4,
  /** Written first in every segment: the promise and trim point so far, so older segments can go. */
  Checkpoint: 5,
  /** Ends every group commit (format 2): the bytes before it were acknowledged (see segment.ts). */
  Sync: 6,
} as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

/** What the WAL stores: the cores' records plus its own checkpoint. */
export type WalRecord = LedgerRecord | { readonly k: "checkpoint"; readonly rnd: number; readonly trimmedBelow: number };

/**
 * A sync marker: the last record of every write (group commit, new segment). It covers the
 * `records` records from segment offset `from` up to itself; the group's callbacks run only once
 * the write that carries it is done (and, sync "fsync", fdatasync'ed), so a marker on disk says
 * the bytes before it were acknowledged. It carries no state of its own.
 */
export interface SyncMarker {
  readonly k: "sync";
  readonly from: number;
  readonly records: number;
}

/** Everything a segment holds: the stored records and the sync markers between them. */
export type DiskRecord = WalRecord | SyncMarker;

/** The checkpoint state a log has reached: the highest round promised (or voted in) and the trim point. */
export interface Checkpoint {
  readonly rnd: number;
  readonly trimmedBelow: number;
}

/** The checkpoint state after `r` (what the next segment's checkpoint record carries). */
export function checkpointAfter(cp: Checkpoint, r: WalRecord): Checkpoint {
  switch (r.k) {
    case "promise":
      return { rnd: Math.max(cp.rnd, r.rnd), trimmedBelow: cp.trimmedBelow };
    case "vote":
      return { rnd: Math.max(cp.rnd, r.vrnd), trimmedBelow: cp.trimmedBelow };
    case "trim":
      return { rnd: cp.rnd, trimmedBelow: Math.max(cp.trimmedBelow, r.below) };
    case "checkpoint":
      return { rnd: Math.max(cp.rnd, r.rnd), trimmedBelow: Math.max(cp.trimmedBelow, r.trimmedBelow) };
    case "decision":
      return cp;
  }
}

/** The instance a vote or decision is about; -1 for the other records. */
export function instanceOf(r: WalRecord): number {
  return r.k === "vote" || r.k === "decision" ? r.instance : -1;
}

const cbor = new Encoder({ useRecords: false, mapsAsObjects: false, tagUint8Array: false });

/** A checksum mismatch or a body of the wrong shape. */
export class RecordError extends Error {
  override readonly name = "RecordError";
}

export function checksum(bytes: Uint8Array): number {
  return crc32(bytes) >>> 0;
}

/** The CBOR fields of every record but a vote. */
function body(r: Exclude<DiskRecord, { k: "vote" }>): [RecordType, unknown[]] {
  switch (r.k) {
    case "promise":
      return [RecordType.Promise, [r.rnd]];
    case "decision":
      return [RecordType.Decision, [r.instance, r.vid]];
    case "trim":
      return [RecordType.Trim, [r.below]];
    case "checkpoint":
      return [RecordType.Checkpoint, [r.rnd, r.trimmedBelow]];
    case "sync":
      return [RecordType.Sync, [r.from, r.records]];
  }
}

/** The record as it goes to disk: header and body in one buffer. */
export function encodeRecord(r: DiskRecord): Uint8Array {
  let out: Uint8Array;
  let type: RecordType;
  if (r.k === "vote") {
    type = RecordType.Vote;
    const head: unknown[] = [r.instance, r.vrnd, r.batch.vid, r.batch.values.map(voteValueHead)];
    if (r.batch.skip !== undefined) head.push(r.batch.skip);
    const meta = cbor.encode(head) as Uint8Array;
    let payloads = 0;
    for (const v of r.batch.values) payloads += v.payload.byteLength;
    const bodyLength = 4 + meta.length + payloads;
    if (bodyLength > MAX_RECORD_BODY) throw new RecordError(`record body of ${bodyLength} bytes > MAX_RECORD_BODY ${MAX_RECORD_BODY}`);
    out = new Uint8Array(RECORD_HEADER_BYTES + bodyLength);
    new DataView(out.buffer).setUint32(RECORD_HEADER_BYTES, meta.length, true);
    out.set(meta, RECORD_HEADER_BYTES + 4);
    let at = RECORD_HEADER_BYTES + 4 + meta.length;
    for (const v of r.batch.values) {
      out.set(v.payload, at);
      at += v.payload.byteLength;
    }
  } else {
    let fields: unknown[];
    [type, fields] = body(r);
    const b = cbor.encode(fields) as Uint8Array;
    out = new Uint8Array(RECORD_HEADER_BYTES + b.length);
    out.set(b, RECORD_HEADER_BYTES);
  }
  const dv = new DataView(out.buffer);
  const length = out.length - RECORD_HEADER_BYTES;
  dv.setUint32(0, length, true);
  dv.setUint8(4, type);
  dv.setUint32(8, checksum(out.subarray(RECORD_HEADER_BYTES)), true);
  dv.setUint32(12, checksum(out.subarray(0, 12)), true);
  return out;
}

export interface FrameHeader {
  readonly length: number;
  readonly type: number;
  readonly bodyCrc: number;
}

/** The header at `off`, or null when its checksum (or a reserved byte, or the length bound) is wrong. */
export function readHeader(buf: Uint8Array, off: number): FrameHeader | null {
  if (off + RECORD_HEADER_BYTES > buf.length) return null;
  const dv = new DataView(buf.buffer, buf.byteOffset + off, RECORD_HEADER_BYTES);
  if (dv.getUint32(12, true) !== checksum(buf.subarray(off, off + 12))) return null;
  const length = dv.getUint32(0, true);
  const type = dv.getUint8(4);
  if (length > MAX_RECORD_BODY || dv.getUint8(5) !== 0 || dv.getUint8(6) !== 0 || dv.getUint8(7) !== 0) return null;
  return { length, type, bodyCrc: dv.getUint32(8, true) };
}

function nat(x: unknown, what: string): number {
  if (typeof x !== "number" || !Number.isSafeInteger(x) || x < 0) throw new RecordError(`${what}: not a safe integer >= 0`);
  return x;
}

function str(x: unknown, what: string): string {
  if (typeof x !== "string" || x.length === 0 || x.length > 255) throw new RecordError(`${what}: not a string of 1..255 characters`);
  return x;
}

function arr(x: unknown, n: number | null, what: string): unknown[] {
  if (!Array.isArray(x) || (n !== null && x.length !== n)) throw new RecordError(`${what}: expected an array${n === null ? "" : ` of ${n}`}`);
  return x;
}

function decodeCbor(bytes: Uint8Array): unknown {
  try {
    return cbor.decode(bytes);
  } catch (e) {
    throw new RecordError(`body is not CBOR (${(e as Error).message})`);
  }
}

/** A vote value's CBOR head: [client, seq, payload length(, group(, packed))]. */
function voteValueHead(v: ClientValue): number[] {
  if (v.packed !== undefined) return [v.client, v.seq, v.payload.byteLength, v.group ?? 0, v.packed];
  return v.group === undefined ? [v.client, v.seq, v.payload.byteLength] : [v.client, v.seq, v.payload.byteLength, v.group];
}

/** A vote: its CBOR part, then payloads whose lengths must add up to exactly what is left. */
function decodeVote(bytes: Uint8Array): WalRecord {
  if (bytes.length < 4) throw new RecordError("vote: body shorter than its length field");
  const metaLength = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true);
  if (4 + metaLength > bytes.length) throw new RecordError(`vote: ${metaLength}-byte head does not fit a ${bytes.length}-byte body`);
  const head = arr(decodeCbor(bytes.subarray(4, 4 + metaLength)), null, "vote");
  if (head.length !== 4 && head.length !== 5) throw new RecordError("vote: expected an array of 4 (or 5 with a skip)");
  const [instance, vrnd, vid, values, skip] = head;
  let at = 4 + metaLength;
  const decoded: ClientValue[] = arr(values, null, "vote.values").map((x, i) => {
    const v = arr(x, null, `vote value ${i}`);
    if (v.length < 3 || v.length > 5) throw new RecordError(`vote value ${i}: expected an array of 3 (4 with a group, 5 with a pack's count)`);
    const [client, seq, length, group, packed] = v;
    const n = nat(length, "payload length");
    if (at + n > bytes.length) throw new RecordError(`vote value ${i}: payload of ${n} bytes runs past the body`);
    const payload = bytes.subarray(at, at + n);
    at += n;
    const value: ClientValue = { client: nat(client, "client"), seq: nat(seq, "seq"), payload };
    const g = group === undefined ? 0 : nat(group, "group");
    const grouped = g === 0 ? value : { ...value, group: g };
    if (packed === undefined) return grouped;
    const count = nat(packed, "packed");
    if (count < 2) throw new RecordError(`vote value ${i}: a pack holds at least 2 values, not ${count}`);
    return { ...grouped, packed: count };
  });
  if (at !== bytes.length) throw new RecordError(`vote: ${bytes.length - at} bytes after the last payload`);
  if (skip !== undefined && (decoded.length > 0 || nat(skip, "vote.skip") < 1)) throw new RecordError("vote: a skip batch has no values and skips at least one instance");
  const batch: Batch = skip === undefined ? { vid: str(vid, "vote.vid"), values: decoded } : { vid: str(vid, "vote.vid"), values: decoded, skip: nat(skip, "vote.skip") };
  return { k: "vote", instance: nat(instance, "vote.instance"), vrnd: nat(vrnd, "vote.vrnd"), batch };
}

/** Decodes a body whose checksum matched; throws RecordError when its shape is wrong. */
export function decodeBody(type: number, bytes: Uint8Array): DiskRecord {
  if (type === RecordType.Vote) return decodeVote(bytes);
  const f = decodeCbor(bytes);
  switch (type) {
    case RecordType.Promise: {
      const [rnd] = arr(f, 1, "promise");
      return { k: "promise", rnd: nat(rnd, "promise.rnd") };
    }
    case RecordType.Decision: {
      const [instance, vid] = arr(f, 2, "decision");
      return { k: "decision", instance: nat(instance, "decision.instance"), vid: str(vid, "decision.vid") };
    }
    case RecordType.Trim: {
      const [below] = arr(f, 1, "trim");
      return { k: "trim", below: nat(below, "trim.below") };
    }
    case RecordType.Checkpoint: {
      const [rnd, trimmedBelow] = arr(f, 2, "checkpoint");
      return { k: "checkpoint", rnd: nat(rnd, "checkpoint.rnd"), trimmedBelow: nat(trimmedBelow, "checkpoint.trimmedBelow") };
    }
    case RecordType.Sync: {
      const [from, records] = arr(f, 2, "sync");
      return { k: "sync", from: nat(from, "sync.from"), records: nat(records, "sync.records") };
    }
    default:
      throw new RecordError(`unknown record type ${type}`);
  }
}

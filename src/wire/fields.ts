/**
 * Composite fields shared by several messages: node sets (rings, voters), value ids, client
 * values, batches and decision ids. Each has a measure (validate and size, for the encoder), a
 * write and a read.
 *
 * Layouts (big-endian; u53 = a safe integer >= 0 as two u32 words, high word first):
 * - node set (ring, voters): u8 count (<= MAX_RING), count x u16 node id, all distinct
 * - vid: u8 length (1..MAX_VID), printable ASCII bytes
 * - client value: u32 client, u53 seq, u16 group (Multi-Ring; 0: none), u16 packed (0: one value;
 *   2..MAX_PACK_VALUES: a pack, core/pack.ts), u32 length, payload bytes
 * - batch: vid, u32 skip (0: an ordinary batch; 1..MAX_SKIP: a Multi-Ring skip batch, whose count
 *   is 0), u32 count (<= MAX_BATCH_VALUES), count x client value
 * - decision ids: u32 count (<= MAX_LIST), count x (u53 instance, vid)
 *
 * Payloads are decoded as zero-copy `subarray` views of the input buffer.
 */
import type { Batch, ClientValue, DecisionId, NodeId } from "../core/types.ts";
import { checkList, checkNodeId, checkU32, checkU53, checkVid } from "./check.ts";
import { DecodeError, EncodeError } from "./errors.ts";
import { MAX_BATCH_VALUES, MAX_LIST, MAX_RING, MAX_SKIP } from "./limits.ts";
import { MAX_PACK_VALUES } from "../core/pack.ts";
import type { Reader } from "./reader.ts";
import type { Writer } from "./writer.ts";

/* ---- node sets: rings and voters ---- */

export function measureNodes(ids: readonly NodeId[], what: string): number {
  if (!Array.isArray(ids)) throw new EncodeError(`${what}: not an array`);
  if (ids.length > MAX_RING) throw new EncodeError(`${what}: ${ids.length} members > MAX_RING ${MAX_RING}`);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i] as NodeId;
    checkNodeId(id, what);
    for (let j = 0; j < i; j++) if (ids[j] === id) throw new EncodeError(`${what}: node ${id} appears twice`);
  }
  return 1 + 2 * ids.length;
}

export function writeNodes(w: Writer, ids: readonly NodeId[]): void {
  w.u8(ids.length);
  for (const id of ids) w.u16(id);
}

export function readNodes(r: Reader, what: string): NodeId[] {
  const n = r.u8(what);
  if (n > MAX_RING) throw new DecodeError("body", `${what}: ${n} members > MAX_RING ${MAX_RING}`);
  if (2 * n > r.remaining) throw new DecodeError("body", `${what}: ${n} members do not fit in ${r.remaining} bytes`);
  const ids: NodeId[] = [];
  for (let i = 0; i < n; i++) {
    const id = r.u16(what);
    for (let j = 0; j < i; j++) if (ids[j] === id) throw new DecodeError("body", `${what}: node ${id} appears twice`);
    ids.push(id);
  }
  return ids;
}

/* ---- client values and batches ---- */

/** The least bytes one client value takes (an empty payload). */
export const MIN_VALUE_BYTES = 4 + 8 + 2 + 2 + 4;

export function measureValue(v: ClientValue, what: string): number {
  checkU32(v.client, what, "client");
  checkU53(v.seq, what, "seq");
  if (v.group !== undefined && (!Number.isInteger(v.group) || v.group < 1 || v.group > 0xffff)) throw new EncodeError(`${what}.group: expected 1..65535 (absent: 0), got ${v.group}`);
  if (v.packed !== undefined && (!Number.isInteger(v.packed) || v.packed < 2 || v.packed > MAX_PACK_VALUES)) throw new EncodeError(`${what}.packed: expected 2..${MAX_PACK_VALUES} (absent: one value), got ${v.packed}`);
  if (!(v.payload instanceof Uint8Array)) throw new EncodeError(`${what}.payload: not a Uint8Array`);
  return MIN_VALUE_BYTES + v.payload.byteLength;
}

export function writeValue(w: Writer, v: ClientValue): void {
  w.u32(v.client);
  w.u53(v.seq);
  w.u16(v.group ?? 0);
  w.u16(v.packed ?? 0);
  w.u32(v.payload.byteLength);
  w.raw(v.payload);
}

export function readValue(r: Reader, what: string): ClientValue {
  const client = r.u32(what, "client");
  const seq = r.u53(what, "seq");
  const group = r.u16(what, "group");
  const packed = r.u16(what, "packed");
  if (packed === 1 || packed > MAX_PACK_VALUES) throw new DecodeError("body", `${what}.packed: ${packed} is not 0 or 2..${MAX_PACK_VALUES}`);
  const len = r.u32(what, "length");
  const payload = r.bytes(len, what, "payload");
  const v: ClientValue = group === 0 ? { client, seq, payload } : { client, seq, payload, group };
  return packed === 0 ? v : { ...v, packed };
}

export function measureBatch(b: Batch, what: string): number {
  let size = checkVid(b.vid, what, "vid") + 4 + 4;
  if (!Array.isArray(b.values)) throw new EncodeError(`${what}.values: not an array`);
  checkList(b.values.length, MAX_BATCH_VALUES, what, "values");
  if (b.skip !== undefined) {
    // Present means a skip batch: 0 would decode back as absent, so it is refused (no round trip).
    if (!Number.isInteger(b.skip) || b.skip < 1 || b.skip > MAX_SKIP) throw new EncodeError(`${what}.skip: ${String(b.skip)} is not in 1..MAX_SKIP ${MAX_SKIP}`);
    if (b.values.length > 0) throw new EncodeError(`${what}: a skip batch with ${b.values.length} values`);
  }
  const vwhat = `${what}.value`;
  for (const v of b.values) size += measureValue(v, vwhat);
  return size;
}

export function writeBatch(w: Writer, b: Batch): void {
  w.vid(b.vid);
  w.u32(b.skip ?? 0);
  w.u32(b.values.length);
  for (const v of b.values) writeValue(w, v);
}

/** The least bytes a batch takes (a one-character vid, no skip, no values). */
export const MIN_BATCH_BYTES = 2 + 4 + 4;

export function readBatch(r: Reader, what: string): Batch {
  const vid = r.vid(what, "vid");
  const skip = r.u32(what, "skip");
  if (skip > MAX_SKIP) throw new DecodeError("body", `${what}.skip: ${skip} > MAX_SKIP ${MAX_SKIP}`);
  const n = r.count(MAX_BATCH_VALUES, MIN_VALUE_BYTES, what, "values");
  if (skip > 0) {
    if (n > 0) throw new DecodeError("body", `${what}: a skip batch with ${n} values`);
    return { vid, values: [], skip };
  }
  const values: ClientValue[] = [];
  const vwhat = n > 0 ? `${what}.value` : what;
  for (let i = 0; i < n; i++) values.push(readValue(r, vwhat));
  // No `skip` key at all for an ordinary batch (exactOptionalPropertyTypes; tests compare with toEqual).
  return { vid, values };
}

/* ---- decision ids ---- */

export function measureDecisions(ds: readonly DecisionId[], what: string): number {
  if (!Array.isArray(ds)) throw new EncodeError(`${what}: not an array`);
  checkList(ds.length, MAX_LIST, what);
  let size = 4;
  for (const d of ds) size += checkU53(d.instance, what, "instance") + checkVid(d.vid, what, "vid");
  return size;
}

export function writeDecisions(w: Writer, ds: readonly DecisionId[]): void {
  w.u32(ds.length);
  for (const d of ds) {
    w.u53(d.instance);
    w.vid(d.vid);
  }
}

export function readDecisions(r: Reader, what: string): DecisionId[] {
  const n = r.count(MAX_LIST, 8 + 2, what);
  const ds: DecisionId[] = [];
  for (let i = 0; i < n; i++) {
    const instance = r.u53(what, "instance");
    ds.push({ instance, vid: r.vid(what, "vid") });
  }
  return ds;
}

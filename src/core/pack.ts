import type { ClientValue } from "./types.ts";
// A leaf of pure byte helpers: integers by hand, since a DataView would materialise the received buffer (README, hot-path choices).
import { getU32, setU32 } from "../wire/bytes.ts";

/**
 * Packs: a proposer sends the values it has queued as one client value (seed 000's batching, done
 * where the values are made), so the coordinator and the acceptors handle one value, one
 * duplicate-filter entry and one re-send timer per pack instead of per value; only learners split
 * it. A pack of n values takes the seqs seq..seq+n-1 of its client, and its payload is the
 * values, each a u32 big-endian length and the bytes. Packs are opaque to everything but the
 * proposer that makes them and the learner that delivers them.
 */

/** Bound: values in one pack (a pack's seqs stay within a proposer's window). */
export const MAX_PACK_VALUES = 1024;
/** What a pack adds per value: the length before it. */
export const PACK_VALUE_OVERHEAD_BYTES = 4;

/** The payload of a pack of `payloads` (two or more, at most MAX_PACK_VALUES). */
export function packPayload(payloads: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of payloads) size += PACK_VALUE_OVERHEAD_BYTES + p.byteLength;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of payloads) {
    setU32(out, at, p.byteLength);
    out.set(p, at + PACK_VALUE_OVERHEAD_BYTES);
    at += PACK_VALUE_OVERHEAD_BYTES + p.byteLength;
  }
  return out;
}

/**
 * The values of pack `v` (zero-copy views of its payload), each with its own seq, or null when
 * the payload does not hold exactly `v.packed` values: input from a client, so a malformed pack
 * is refused whole, alike at every learner (they all see the same bytes).
 */
export function unpack(v: ClientValue): ClientValue[] | null {
  const n = v.packed ?? 1;
  const p = v.payload;
  const out: ClientValue[] = [];
  let at = 0;
  for (let i = 0; i < n; i++) {
    if (p.byteLength - at < PACK_VALUE_OVERHEAD_BYTES) return null;
    const len = getU32(p, at);
    at += PACK_VALUE_OVERHEAD_BYTES;
    if (p.byteLength - at < len) return null;
    const payload = p.subarray(at, at + len);
    at += len;
    out.push(v.group === undefined ? { client: v.client, seq: v.seq + i, payload } : { client: v.client, seq: v.seq + i, payload, group: v.group });
  }
  return at === p.byteLength ? out : null;
}

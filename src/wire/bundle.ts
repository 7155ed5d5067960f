/**
 * Bundles: with a cluster key, a TCP link seals what it writes in one go (the frames of one
 * event-loop turn, up to the link's coalescing size) as one message instead of one MAC per frame.
 * A MAC costs a fixed few microseconds whatever the size, and a client's stream of values, or a
 * ring's 2B, is many small frames per turn: per-frame MACs cost the 8 KB benchmark ~25 % of its
 * throughput, bundles a fraction of that. A bundle is a message like any other on the wire (the
 * header of header.ts with type code BUNDLE_CODE and ring id 0, sealed as auth.ts says), whose
 * body is the frames as the link would have written them: u32 length, then a message (header and
 * body, no MAC of its own), repeated. The messages inside may be of any ring (one link between two
 * processes carries all the rings they share). A receiver opens the bundle's MAC first, then
 * decodes each message inside.
 * Only authenticated bundles are split: without a cluster key the code is an unknown type.
 */
import { getU16, getU32 } from "./bytes.ts";
import { DecodeError } from "./errors.ts";
import {
  HEADER_SIZE,
  MAGIC,
  OFF_CLUSTER,
  OFF_LENGTH,
  OFF_MAGIC,
  OFF_RING,
  OFF_SENDER,
  OFF_SPARE,
  OFF_TYPE,
  OFF_VERSION,
  TYPE_CODES,
  VERSION,
  writeHeader,
} from "./header.ts";
import { MAX_BODY } from "./limits.ts";
import type { WireAuth } from "./auth.ts";
import type { WireHeaderFields } from "./codec.ts";

/** The type code of a bundle: not a protocol message (never in TYPE_CODES). */
export const BUNDLE_CODE = 64;
if ((Object.values(TYPE_CODES) as number[]).includes(BUNDLE_CODE)) throw new Error("BUNDLE_CODE collides with a message type code");

/** Whether `bytes` (a received message, its MAC already checked) is a bundle. */
export function isBundle(bytes: Uint8Array): boolean {
  return bytes.byteLength >= HEADER_SIZE && bytes[OFF_TYPE] === BUNDLE_CODE;
}

/**
 * Bundles built in place by a TCP link (see FrameWrapper in net/tcp.ts): a header before the
 * frames, the MAC trailer after them. `seal` returns false for a bundle above MAX_BODY.
 */
export function bundler(h: WireHeaderFields, auth: WireAuth): { headBytes: number; tailBytes(framesBytes: number): number; seal(payload: Uint8Array, framesBytes: number): boolean } {
  return {
    headBytes: HEADER_SIZE,
    tailBytes: (framesBytes) => auth.trailerBytes(HEADER_SIZE + framesBytes),
    seal(payload, framesBytes) {
      if (framesBytes > MAX_BODY) return false;
      writeHeader(payload, BUNDLE_CODE, h.cluster, h.sender, 0, framesBytes);
      auth.seal(payload);
      return true;
    },
  };
}

/**
 * The messages of an opened bundle (views of it), each from the bundle's own sender and cluster.
 * Throws DecodeError: "version" for a bundle of another format version; "bundle" for a bundle
 * header of another cluster, or with a ring id or spare field other than 0, a body that is not
 * whole frames, or a message inside that claims another sender or cluster (an authenticated peer
 * speaks only for itself).
 */
export function splitBundle(bytes: Uint8Array, expectCluster: number): Uint8Array[] {
  if (getU16(bytes, OFF_MAGIC) !== MAGIC || getU32(bytes, OFF_CLUSTER) !== expectCluster) throw new DecodeError("bundle", "a bundle header of another protocol or cluster");
  // Counted as any message of another format version is (with a key, all of a peer's TCP traffic comes in bundles).
  if (bytes[OFF_VERSION] !== VERSION) throw new DecodeError("version", `a bundle of format version ${bytes[OFF_VERSION] as number}, expected ${VERSION}`);
  if (getU16(bytes, OFF_RING) !== 0 || getU16(bytes, OFF_SPARE) !== 0) throw new DecodeError("bundle", "a bundle header with a ring id or spare field set");
  const end = HEADER_SIZE + getU32(bytes, OFF_LENGTH);
  if (end !== bytes.byteLength) throw new DecodeError("bundle", `body length ${end - HEADER_SIZE}, ${bytes.byteLength - HEADER_SIZE} bytes`);
  const sender = getU16(bytes, OFF_SENDER);
  const out: Uint8Array[] = [];
  for (let at = HEADER_SIZE; at < end; ) {
    if (end - at < 4) throw new DecodeError("bundle", "a frame's length cut off");
    const n = getU32(bytes, at);
    at += 4;
    if (n > end - at || n < HEADER_SIZE) throw new DecodeError("bundle", `a frame of ${n} bytes, ${end - at} left`);
    const m = bytes.subarray(at, at + n);
    if (getU16(m, OFF_SENDER) !== sender || getU32(m, OFF_CLUSTER) !== expectCluster) throw new DecodeError("bundle", "a message of another sender or cluster inside");
    out.push(m);
    at += n;
  }
  return out;
}

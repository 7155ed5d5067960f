/**
 * Reading a message before its MAC is checked, only to drop it unopened: a node skips the work of
 * opening and decoding a message it would ignore anyway. Safe because the decision is about those
 * very bytes: a forged message can make a node drop itself, never another message, and a node
 * acts on nothing it read here.
 */
import { getU16 } from "./bytes.ts";
import { HEADER_SIZE, MAGIC, OFF_MAGIC, OFF_RING, OFF_TYPE, OFF_VERSION, TYPE_CODES, VERSION } from "./header.ts";

/** Where a 2A's ring (u8 count, then u16 node ids) starts: after the header, its round and its instance (u53 each). */
const TWO_A_RING_AT = HEADER_SIZE + 8 + 8;

/**
 * Whether `bytes` is a 2A of one of `rings` (ring ids) whose ring of acceptors does not hold
 * `node`: for an M-Ring spare without a learner, a 2A has nothing (see mring.ts). False for
 * anything else, malformed bytes included (the gate's checks refuse those).
 */
export function spare2a(bytes: Uint8Array, rings: ReadonlySet<number>, node: number): boolean {
  if (bytes.byteLength <= TWO_A_RING_AT || getU16(bytes, OFF_MAGIC) !== MAGIC || bytes[OFF_VERSION] !== VERSION) return false;
  if (bytes[OFF_TYPE] !== TYPE_CODES["2a"] || !rings.has(getU16(bytes, OFF_RING))) return false;
  const members = bytes[TWO_A_RING_AT] as number;
  const end = TWO_A_RING_AT + 1 + 2 * members;
  if (members === 0 || end > bytes.byteLength) return false;
  for (let at = TWO_A_RING_AT + 1; at < end; at += 2) if (getU16(bytes, at) === node) return false;
  return true;
}

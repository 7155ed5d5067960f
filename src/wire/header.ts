/**
 * The fixed 20-byte header in front of every message (UDP datagram or TCP frame), big-endian:
 *
 * | offset | size | field                                                                |
 * |--------|------|----------------------------------------------------------------------|
 * | 0      | u16  | magic 0x5250 ("RP")                                                  |
 * | 2      | u8   | format version (3)                                                   |
 * | 3      | u8   | message type code (TYPE_CODES)                                       |
 * | 4      | u32  | cluster id                                                           |
 * | 8      | u16  | sender node id                                                       |
 * | 10     | u16  | reserved: 0, or with a cluster key the MAC kind and key id (auth.ts) |
 * | 12     | u16  | ring id (Multi-Ring Paxos; 0 for a configuration without rings)      |
 * | 14     | u16  | spare, 0 (room for a later field; keeps the length 4-byte aligned)   |
 * | 16     | u32  | body length (bytes after the header)                                 |
 *
 * Format history: 2 had a 16-byte header (no ring id, no spare: the body length at offset 12);
 * 3 added the ring id and a batch's skip count (fields.ts). A message of any other version is
 * refused ("version"), so nodes of different versions do not talk to each other.
 */
import type { MsgType } from "../core/types.ts";
import { DecodeError } from "./errors.ts";
import { MAX_BODY } from "./limits.ts";
import { getU16, getU32, setU16, setU32 } from "./bytes.ts";

export const HEADER_SIZE = 20;
export const MAGIC = 0x5250;
export const VERSION = 4;

/** Byte offsets of the header fields. */
export const OFF_MAGIC = 0;
export const OFF_VERSION = 2;
export const OFF_TYPE = 3;
export const OFF_CLUSTER = 4;
export const OFF_SENDER = 8;
export const OFF_RESERVED = 10;
export const OFF_RING = 12;
export const OFF_SPARE = 14;
export const OFF_LENGTH = 16;

/** The type code of each message on the wire. Codes are never reused. */
export const TYPE_CODES = {
  value: 1,
  "1a": 2,
  "1b": 3,
  nack: 4,
  "2a": 5,
  "2b": 6,
  decision: 7,
  "2ab": 8,
  udecision: 9,
  catchup: 10,
  "catchup-reply": 11,
  hello: 12,
  ring: 13,
  "decided-value": 14,
  heartbeat: 15,
  "heartbeat-ack": 16,
  applied: 17,
  "slow-down": 18,
  subscribe: 19,
  delivered: 20,
  "state-ask": 21,
  state: 22,
  lagging: 23,
  "read-index": 24,
  "read-index-reply": 25,
} as const satisfies Record<MsgType, number>;

export type TypeCode = (typeof TYPE_CODES)[MsgType];

const CODE_TO_TYPE: ReadonlyMap<number, MsgType> = new Map(
  (Object.entries(TYPE_CODES) as [MsgType, number][]).map(([t, c]) => [c, t]),
);

/** The message type of a code, or undefined for an unknown code. */
export function typeOfCode(code: number): MsgType | undefined {
  return CODE_TO_TYPE.get(code);
}

export interface Header {
  readonly type: MsgType;
  readonly cluster: number;
  readonly sender: number;
  /** Ring id (u16): the Multi-Ring ring the message belongs to, 0 without rings. */
  readonly ring: number;
  /** Bytes of body that follow the header (<= MAX_BODY). */
  readonly bodyLength: number;
}

/** Writes a header at offset 0 of `b`. The caller has validated the fields. */
export function writeHeader(b: Uint8Array, code: number, cluster: number, sender: number, ring: number, bodyLength: number): void {
  setU16(b, OFF_MAGIC, MAGIC);
  b[OFF_VERSION] = VERSION;
  b[OFF_TYPE] = code;
  setU32(b, OFF_CLUSTER, cluster);
  setU16(b, OFF_SENDER, sender);
  setU16(b, OFF_RESERVED, 0);
  setU16(b, OFF_RING, ring);
  setU16(b, OFF_SPARE, 0);
  setU32(b, OFF_LENGTH, bodyLength);
}

/**
 * Reads and checks the header at the start of `buf` (which may hold more than the header: a TCP
 * reader may call this on the first HEADER_SIZE bytes of its stream to learn the frame length
 * HEADER_SIZE + bodyLength). Checks, in order: short (but "version" for fewer bytes that begin
 * like a message of another format version), magic, version, foreign-cluster, type,
 * reserved (the reserved field and the spare), and a body length over MAX_BODY ("length"). Any
 * ring id is accepted: which rings a node serves is its runtime's business. Throws only DecodeError.
 */
export function decodeHeader(buf: Uint8Array, expectCluster: number): Header {
  if (buf.byteLength < HEADER_SIZE) {
    // A message of another format version may be shorter than this version's header (a version-2
    // hello has 16 bytes): it is refused as of its version, like a longer one.
    if (buf.byteLength > OFF_VERSION && getU16(buf, OFF_MAGIC) === MAGIC && buf[OFF_VERSION] !== VERSION)
      throw new DecodeError("version", `format version ${buf[OFF_VERSION] as number}, expected ${VERSION}`);
    throw new DecodeError("short", `${buf.byteLength} bytes, a header needs ${HEADER_SIZE}`);
  }
  const magic = getU16(buf, OFF_MAGIC);
  if (magic !== MAGIC) throw new DecodeError("magic", `0x${magic.toString(16)}`);
  const version = buf[OFF_VERSION] as number;
  if (version !== VERSION) throw new DecodeError("version", `format version ${version}, expected ${VERSION}`);
  const cluster = getU32(buf, OFF_CLUSTER);
  if (cluster !== expectCluster) throw new DecodeError("foreign-cluster", `cluster ${cluster}, expected ${expectCluster}`);
  const code = buf[OFF_TYPE] as number;
  const type = typeOfCode(code);
  if (type === undefined) throw new DecodeError("type", `unknown type code ${code}`);
  const reserved = getU16(buf, OFF_RESERVED);
  if (reserved !== 0) throw new DecodeError("reserved", `reserved field ${reserved}`);
  const spare = getU16(buf, OFF_SPARE);
  if (spare !== 0) throw new DecodeError("reserved", `spare field ${spare}`);
  const bodyLength = getU32(buf, OFF_LENGTH);
  if (bodyLength > MAX_BODY) throw new DecodeError("length", `body length ${bodyLength} > MAX_BODY ${MAX_BODY}`);
  return { type, cluster, sender: getU16(buf, OFF_SENDER), ring: getU16(buf, OFF_RING), bodyLength };
}

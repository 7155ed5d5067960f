/**
 * encode / decode: a Msg to the bytes of one UDP datagram or TCP frame (header + body) and back.
 *
 * Zero-copy: the payloads of a decoded message (ClientValue.payload, in value, 2a, 2ab,
 * udecision, 1b and catchup-reply) are `subarray` views of the input buffer, not copies. The
 * caller must not reuse or overwrite that buffer while the message (or anything that kept one of
 * its payloads, e.g. a ledger or a learner's buffer) is alive; copy the payload
 * (`payload.slice()`) to keep it longer than the buffer.
 *
 * The encoding is canonical: each message has exactly one encoding, so for any bytes `decode`
 * accepts, `encode(decode(b).msg, { cluster, sender, ring } of b)` gives back exactly `b`.
 */
import type { Msg, MsgType } from "../core/types.ts";
import type { BodyCodec, MsgOf } from "./body.ts";
import { checkNodeId, checkRingId, checkU32 } from "./check.ts";
import {
  catchupCodec,
  catchupReplyCodec,
  decidedValueCodec,
  heartbeatAckCodec,
  appliedCodec,
  slowDownCodec,
  laggingCodec,
  readIndexCodec,
  readIndexReplyCodec,
  subscribeCodec,
  deliveredCodec,
  stateAskCodec,
  stateCodec,
  heartbeatCodec,
  helloCodec,
  nackCodec,
  phase1aCodec,
  phase1bCodec,
  ringCodec,
} from "./control.ts";
import { DecodeError, EncodeError } from "./errors.ts";
import { decodeHeader, HEADER_SIZE, TYPE_CODES, writeHeader } from "./header.ts";
import { decisionCodec, phase2abCodec, phase2aCodec, phase2bCodec, udecisionCodec, valueCodec } from "./hot.ts";
import { MAX_BODY } from "./limits.ts";
import { Reader } from "./reader.ts";
import { Writer } from "./writer.ts";

const CODECS: { readonly [T in MsgType]: BodyCodec<MsgOf<T>> } = {
  value: valueCodec,
  "1a": phase1aCodec,
  "1b": phase1bCodec,
  nack: nackCodec,
  "2a": phase2aCodec,
  "2b": phase2bCodec,
  decision: decisionCodec,
  "2ab": phase2abCodec,
  udecision: udecisionCodec,
  catchup: catchupCodec,
  "catchup-reply": catchupReplyCodec,
  hello: helloCodec,
  ring: ringCodec,
  "decided-value": decidedValueCodec,
  heartbeat: heartbeatCodec,
  "heartbeat-ack": heartbeatAckCodec,
  applied: appliedCodec,
  "slow-down": slowDownCodec,
  lagging: laggingCodec,
  "read-index": readIndexCodec,
  "read-index-reply": readIndexReplyCodec,
  subscribe: subscribeCodec,
  delivered: deliveredCodec,
  "state-ask": stateAskCodec,
  state: stateCodec,
};

/** The codec of `t`; the table pairs each type with its own codec, so the widening is sound. */
function codecOf(t: MsgType): BodyCodec<Msg> {
  return CODECS[t] as BodyCodec<Msg>;
}

export interface WireHeaderFields {
  /** Cluster id (u32): receivers drop packets of any other cluster. */
  readonly cluster: number;
  /** Sender node id (u16). */
  readonly sender: number;
  /** Ring id (u16, Multi-Ring Paxos): the ring the message belongs to; absent: 0, a configuration without rings. */
  readonly ring?: number;
}

/**
 * The bytes of `msg` (header of HEADER_SIZE bytes + body), in a fresh buffer of exactly that size, plus
 * `trailer` bytes of zeros after the body (a number, or a function of the message's size: an
 * authentication trailer's size depends on it, see auth.ts).
 * Throws EncodeError for a message the format cannot carry (see EncodeError), including a body
 * over MAX_BODY.
 */
export function encode(msg: Msg, h: WireHeaderFields, trailer: number | ((messageBytes: number) => number) = 0): Uint8Array {
  checkU32(h.cluster, "cluster");
  checkNodeId(h.sender, "sender");
  const ring = h.ring ?? 0;
  checkRingId(ring, "ring");
  if (typeof msg !== "object" || msg === null || typeof msg.t !== "string" || !Object.hasOwn(TYPE_CODES, msg.t))
    throw new EncodeError(`unknown message type ${typeof msg === "object" && msg !== null ? String(msg.t) : typeof msg}`);
  const codec = codecOf(msg.t);
  const bodyLength = codec.measure(msg);
  if (bodyLength > MAX_BODY) throw new EncodeError(`${msg.t}: body of ${bodyLength} bytes > MAX_BODY ${MAX_BODY}`);
  // Room after the body for an authentication tag (auth.ts), so that sealing copies nothing.
  const trailerBytes = typeof trailer === "number" ? trailer : trailer(HEADER_SIZE + bodyLength);
  const bytes = new Uint8Array(HEADER_SIZE + bodyLength + trailerBytes);
  const w = new Writer(bytes, HEADER_SIZE);
  writeHeader(bytes, TYPE_CODES[msg.t], h.cluster, h.sender, ring, bodyLength);
  codec.write(w, msg);
  if (w.pos !== bytes.byteLength - trailerBytes) throw new EncodeError(`${msg.t}: internal error, wrote ${w.pos} of ${bytes.byteLength} bytes`);
  return bytes;
}

/** A decoded message and the header fields its receiver needs. */
export interface Decoded {
  /** Sender node id. */
  readonly sender: number;
  /** Ring id (0 without rings). */
  readonly ring: number;
  readonly msg: Msg;
}

/**
 * The message in `buf`, with its sender and ring id from the header. `buf` must hold exactly one
 * datagram / frame: header and body, no trailing bytes. Throws DecodeError, and nothing else, for any input that is not exactly one
 * well-formed message of cluster `expectCluster` (see DecodeReason). Payloads in the result are
 * views of `buf` (see the module comment).
 */
export function decode(buf: Uint8Array, expectCluster: number): Decoded {
  try {
    const h = decodeHeader(buf, expectCluster);
    const present = buf.byteLength - HEADER_SIZE;
    if (present !== h.bodyLength)
      throw new DecodeError(
        "length",
        `body length field ${h.bodyLength}, ${present} bytes present (${present < h.bodyLength ? "truncated" : "trailing bytes"})`,
      );
    const r = new Reader(buf, HEADER_SIZE, buf.byteLength);
    const msg = codecOf(h.type).read(r);
    r.finish(h.type);
    return { sender: h.sender, ring: h.ring, msg };
  } catch (e) {
    if (e instanceof DecodeError) throw e;
    // Defence in depth: every read is bounds-checked, so this is not expected to happen (the fuzz
    // test asserts it never does: such errors are the only ones that carry a `cause`).
    throw new DecodeError("body", `unexpected ${String(e)}`, { cause: e });
  }
}

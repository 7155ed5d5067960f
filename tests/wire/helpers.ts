/** Seeded generators of well-formed messages for the wire tests. */
import type { Batch, ClientValue, DecisionId, Msg, NodeId, VoteReport } from "../../src/core/types.ts";
import { Prng } from "../../src/sim/prng.ts";
import { DecodeError, HEADER_SIZE, MAX_RING, MAX_RING_ID, MAX_SKIP, MAX_VID, type WireAuth, type WireHeaderFields } from "../../src/wire/index.ts";
import { bundler } from "../../src/wire/bundle.ts";
import { FRAME_HEADER_BYTES, writeFrameAt } from "../../src/net/frame.ts";

export { Prng };

/** Numbers that stress the u53 / u32 layouts, mixed with ordinary ones. */
const EDGE_U53 = [0, 1, 255, 256, 0xffffffff, 0x100000000, 2 ** 52, Number.MAX_SAFE_INTEGER];

export function u53(r: Prng): number {
  if (r.chance(0.3)) return r.pick(EDGE_U53);
  if (r.chance(0.5)) return r.int(0, 1000);
  return (r.u32() & 0x1fffff) * 0x100000000 + r.u32();
}

export function u32(r: Prng): number {
  return r.chance(0.2) ? r.pick([0, 1, 0xffff, 0x10000, 0xffffffff]) : r.u32();
}

export function nodeId(r: Prng): NodeId {
  return r.chance(0.2) ? r.pick([0, 0xffff]) : r.int(0, 40);
}

/** Distinct node ids, 0..max of them. */
export function nodes(r: Prng, max = 9): NodeId[] {
  const n = r.int(0, Math.min(max, MAX_RING));
  const out: NodeId[] = [];
  while (out.length < n) {
    const id = r.chance(0.1) ? r.int(0, 0xffff) : r.int(0, 80);
    if (!out.includes(id)) out.push(id);
  }
  return out;
}

export function vid(r: Prng): string {
  if (r.chance(0.8)) return `${r.int(0, 100000)}.${r.int(0, 1000)}`;
  const n = r.chance(0.5) ? MAX_VID : r.int(1, MAX_VID);
  let s = "";
  for (let i = 0; i < n; i++) s += String.fromCharCode(r.int(0x20, 0x7e));
  return s;
}

export function bytes(r: Prng, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = r.u32() & 0xff;
  return b;
}

export function clientValue(r: Prng, maxPayload = 64): ClientValue {
  return { client: u32(r), seq: u53(r), payload: bytes(r, r.int(0, maxPayload)) };
}

/** A Multi-Ring skip count: small, or at the edges of 1..MAX_SKIP. */
export function skipCount(r: Prng): number {
  return r.chance(0.3) ? r.pick([1, 0xffff, 0x10000, MAX_SKIP - 1, MAX_SKIP]) : r.int(1, 1000);
}

/** A batch of 0..maxValues values, or now and then a skip batch (no values). */
export function batch(r: Prng, maxValues = 4): Batch {
  if (r.chance(0.1)) return { vid: vid(r), values: [], skip: skipCount(r) };
  const n = r.int(0, maxValues);
  return { vid: vid(r), values: Array.from({ length: n }, () => clientValue(r)) };
}

/** A ring id for a header: mostly 0 (no rings), else small or at the edges of the u16. */
export function ringId(r: Prng): number {
  return r.chance(0.5) ? 0 : r.chance(0.3) ? r.pick([1, 0xff, 0x100, MAX_RING_ID]) : r.int(1, 16);
}

function decisions(r: Prng): DecisionId[] {
  return Array.from({ length: r.int(0, 4) }, () => ({ instance: u53(r), vid: vid(r) }));
}

/** A random well-formed message of a random type. */
export function randomMsg(r: Prng): Msg {
  switch (r.int(0, 24)) {
    case 0: {
      const hops = r.chance(0.5) ? r.int(0, 20) : u32(r);
      return r.chance(0.5) ? { t: "value", v: clientValue(r), hops } : { t: "value", v: clientValue(r), hops, origin: nodeId(r) };
    }
    case 12:
      return { t: "decided-value", client: u32(r), seq: u53(r), instance: u53(r) };
    case 1:
      return { t: "1a", rnd: u53(r), from: u53(r) };
    case 2: {
      const votes: VoteReport[] = Array.from({ length: r.int(0, 3) }, () => ({
        instance: u53(r),
        vrnd: u53(r),
        batch: batch(r, 2),
        decided: r.chance(0.5),
      }));
      const trimmed = r.chance(0.5) ? u53(r) : 0; // 0 travels as "none" and is left out
      return { t: "1b", rnd: u53(r), from: u53(r), acceptor: r.chance(0.5), votes, ...(trimmed > 0 ? { trimmed } : {}) };
    }
    case 3:
      return { t: "nack", rnd: u53(r), promised: u53(r) };
    case 4:
      return { t: "2a", rnd: u53(r), instance: u53(r), batch: batch(r), ring: nodes(r), decisions: decisions(r) };
    case 5:
      return { t: "2b", rnd: u53(r), instance: u53(r), vid: vid(r), ring: nodes(r), voters: nodes(r) };
    case 6:
      return { t: "decision", decisions: decisions(r) };
    case 7:
      return { t: "2ab", rnd: u53(r), instance: u53(r), batch: batch(r), ring: nodes(r), voters: nodes(r) };
    case 8:
      return {
        t: "udecision",
        instance: u53(r),
        vid: vid(r),
        batch: r.chance(0.5) ? batch(r) : null,
        ring: nodes(r),
        rnd: u53(r),
      };
    case 9:
      return { t: "catchup", from: u53(r), count: r.chance(0.5) ? 64 : u32(r) };
    case 10:
      return {
        t: "catchup-reply",
        rnd: u53(r),
        entries: Array.from({ length: r.int(0, 3) }, () => ({ instance: u53(r), batch: batch(r, 2) })),
        ...(r.chance(0.5) ? { floor: 1 + r.int(0, 1 << 30) } : {}),
      };
    case 11:
      return { t: "hello" };
    case 14:
      return { t: "heartbeat", rnd: u53(r), seq: u53(r) };
    case 15:
      return { t: "heartbeat-ack", rnd: u53(r), seq: u53(r) };
    case 16:
      return { t: "applied", upTo: u53(r) };
    case 17:
      return { t: "slow-down", backlog: u32(r), hops: r.chance(0.5) ? r.int(0, 2) : u32(r) };
    case 18:
      return { t: "subscribe", client: u32(r), seqs: Array.from({ length: r.int(0, 4) }, () => u53(r)) };
    case 19: {
      const n = r.int(0, 4);
      return { t: "delivered", client: u32(r), seqs: Array.from({ length: n }, () => u53(r)), instances: Array.from({ length: n }, () => u53(r)), unplaced: Array.from({ length: r.int(0, 2) }, () => u53(r)) };
    }
    case 20:
      return { t: "state-ask" };
    case 23:
      return { t: "read-index", id: u32(r) };
    case 24:
      return { t: "read-index-reply", id: u32(r), index: r.chance(0.3) ? null : u53(r) };
    case 22:
      return { t: "lagging", at: u53(r), slots: r.chance(0.5) ? r.int(1, 100) : u32(r), hops: r.chance(0.5) ? r.int(0, 2) : u32(r) };
    case 21:
      return {
        t: "state",
        next: u53(r),
        exact: r.chance(0.5),
        clients: Array.from({ length: r.int(0, 3) }, () => ({ client: u32(r), low: r.chance(0.3) ? -1 : r.int(0, 1 << 30), above: Array.from({ length: r.int(0, 3) }, () => u53(r)) })),
      };
    default:
      return { t: "ring", rnd: u53(r), ring: nodes(r, MAX_RING) };
  }
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The DecodeError reason `f` throws, or "accepted". */
export function reason(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof DecodeError) return e.reason;
    throw e;
  }
  return "accepted";
}

/** Frames as a TCP link writes them (u32 length + message, repeated). */
export function framesOf(messages: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(messages.reduce((n, m) => n + FRAME_HEADER_BYTES + m.byteLength, 0));
  let at = 0;
  for (const m of messages) at = writeFrameAt(out, at, m);
  return out;
}

/** `frames` sealed as one bundle from `h`, as a link's bundler builds it in place (here in a copy). */
export function sealBundle(frames: Uint8Array, h: WireHeaderFields, auth: WireAuth): Uint8Array {
  const b = bundler(h, auth);
  const bytes = new Uint8Array(HEADER_SIZE + frames.byteLength + b.tailBytes(frames.byteLength));
  bytes.set(frames, HEADER_SIZE);
  b.seal(bytes, frames.byteLength);
  return bytes;
}

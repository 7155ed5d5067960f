/**
 * Helpers of tests/e2e/fuzz-node.test.ts: seeded generators of hostile inputs for live nodes
 * (bytes that must not decode, or that name a sender outside the cluster), the counter key each
 * one must be dropped under, and small TCP / stats utilities.
 *
 * Every input is a pure function of (seed, index): `hostileInput(seed, i, ...)` regenerates input
 * number i of a run on its own, so a node that died after some input can be replayed exactly.
 */
import * as net from "node:net";
import type { Batch, ClientValue, Msg, NodeId } from "../../src/core/types.ts";
import { DEFAULT_MAX_FRAME, encodeFrame } from "../../src/net/frame.ts";
import { Prng } from "../../src/sim/prng.ts";
import { WireAuth } from "../../src/wire/auth.ts";
import {
  decode,
  DecodeError,
  encode,
  HEADER_SIZE,
  MAGIC,
  MAX_BODY,
  OFF_CLUSTER,
  OFF_LENGTH,
  OFF_MAGIC,
  OFF_RESERVED,
  OFF_RING,
  OFF_SENDER,
  OFF_SPARE,
  OFF_TYPE,
  OFF_VERSION,
  TYPE_CODES,
  VERSION,
} from "../../src/wire/index.ts";

export { Prng };

/** How an input was made. */
export const CATEGORIES = [
  "random-bytes",
  "truncated",
  "bit-flipped",
  "wrong-magic",
  "wrong-version",
  "unknown-type",
  "reserved-set",
  "oversized-length",
  "trailing-bytes",
  "garbage-body",
  "foreign-cluster",
  "unknown-sender",
] as const;
export type Category = (typeof CATEGORIES)[number];

export interface HostileInput {
  readonly category: Category;
  readonly bytes: Uint8Array;
  /** The node's counter this input must increment: dropped_<reason>, as the node's NetCounters names it (src/node/net-counters.ts). */
  readonly counter: string;
}

export interface FuzzShape {
  /** The cluster id of the configuration. */
  readonly cluster: number;
  /** Every node id of the configuration (a well-formed message from one of these is NOT hostile). */
  readonly nodeIds: readonly number[];
  /** Largest input to generate (the UDP receivers drop larger datagrams before decoding). */
  readonly maxBytes: number;
}

/** Number of wire type codes: codes 1..TYPES exist. */
const TYPES = Object.keys(TYPE_CODES).length;
const MAX_U53 = Number.MAX_SAFE_INTEGER;

/** The counter key a node increments for a drop `reason` (dropCounter in src/node/net-counters.ts). */
export function dropCounter(reason: string): string {
  return `dropped_${reason.replace(/[^a-z0-9]+/g, "_")}`;
}

/**
 * What a node does with `bytes`: the counter it drops them under, or null if it accepts them
 * (they decode, for this cluster, from a configured node) and hands them to the protocol core.
 */
export function expectedDrop(bytes: Uint8Array, shape: Pick<FuzzShape, "cluster" | "nodeIds">, auth = new WireAuth([])): string | null {
  let sender: number;
  try {
    // The node's gate: the MAC check first (a keyless node refuses tagged input), then decoding.
    sender = decode(auth.open(bytes.slice()), shape.cluster).sender;
  } catch (e) {
    if (e instanceof DecodeError) return dropCounter(e.reason);
    throw e;
  }
  return shape.nodeIds.includes(sender) ? null : dropCounter("unknown-sender");
}

/* ---- random well-formed messages (the raw material that gets corrupted) ---- */

function u53(r: Prng): number {
  if (r.chance(0.2)) return r.pick([0, 1, 255, 256, 0xffffffff, 2 ** 32, 2 ** 52, MAX_U53]);
  if (r.chance(0.6)) return r.int(0, 5000);
  return (r.u32() & 0x1fffff) * 2 ** 32 + r.u32();
}

function u32(r: Prng): number {
  return r.chance(0.2) ? r.pick([0, 1, 0xffff, 0xffffffff]) : r.u32();
}

function randomBytes(r: Prng, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = r.u32() & 0xff;
  return b;
}

function vid(r: Prng): string {
  if (r.chance(0.8)) return `${r.int(0, 100000)}.${r.int(0, 1000)}`;
  let s = "";
  for (let i = r.int(1, 64); i > 0; i--) s += String.fromCharCode(r.int(0x20, 0x7e));
  return s;
}

function nodes(r: Prng, max = 6): NodeId[] {
  const out: NodeId[] = [];
  for (let n = r.int(0, max); out.length < n; ) {
    const id = r.chance(0.15) ? r.int(0, 0xffff) : r.int(0, 8);
    if (!out.includes(id)) out.push(id);
  }
  return out;
}

function clientValue(r: Prng, maxPayload: number): ClientValue {
  return { client: u32(r), seq: u53(r), payload: randomBytes(r, r.int(0, maxPayload)) };
}

function batch(r: Prng, maxPayload: number): Batch {
  // Now and then a Multi-Ring skip batch (no values).
  if (r.chance(0.1)) return { vid: vid(r), values: [], skip: r.chance(0.2) ? r.pick([1, 2 ** 31]) : r.int(1, 1000) };
  return { vid: vid(r), values: Array.from({ length: r.int(0, 3) }, () => clientValue(r, maxPayload)) };
}

/** A header's ring id: mostly 0 (no rings), else any u16. */
function ringId(r: Prng): number {
  return r.chance(0.7) ? 0 : r.chance(0.5) ? r.int(1, 8) : r.int(0, 0xffff);
}

function decisions(r: Prng): { instance: number; vid: string }[] {
  return Array.from({ length: r.int(0, 4) }, () => ({ instance: u53(r), vid: vid(r) }));
}

/** A random well-formed message of any type; payloads stay small unless `big`. */
export function randomMsg(r: Prng, big = false): Msg {
  const p = big ? 2000 : 48;
  switch (r.int(0, TYPES - 1)) {
    case 0:
      return r.chance(0.5)
        ? { t: "value", v: clientValue(r, p), hops: r.int(0, 3) }
        : { t: "value", v: clientValue(r, p), hops: u32(r), origin: r.int(0, 0xffff) };
    case 1:
      return { t: "1a", rnd: u53(r), from: u53(r) };
    case 2:
      return {
        t: "1b",
        rnd: u53(r),
        from: u53(r),
        acceptor: r.chance(0.5),
        votes: Array.from({ length: r.int(0, 3) }, () => ({ instance: u53(r), vrnd: u53(r), batch: batch(r, p), decided: r.chance(0.5) })),
      };
    case 3:
      return { t: "nack", rnd: u53(r), promised: u53(r) };
    case 4:
      return { t: "2a", rnd: u53(r), instance: u53(r), batch: batch(r, p), ring: nodes(r), decisions: decisions(r) };
    case 5:
      return { t: "2b", rnd: u53(r), instance: u53(r), vid: vid(r), ring: nodes(r), voters: nodes(r) };
    case 6:
      return { t: "decision", decisions: decisions(r) };
    case 7:
      return { t: "2ab", rnd: u53(r), instance: u53(r), batch: batch(r, p), ring: nodes(r), voters: nodes(r) };
    case 8:
      return { t: "udecision", rnd: u53(r), instance: u53(r), vid: vid(r), batch: r.chance(0.5) ? batch(r, p) : null, ring: nodes(r) };
    case 9:
      return { t: "catchup", from: u53(r), count: u32(r) };
    case 10:
      return { t: "catchup-reply", rnd: u53(r), entries: Array.from({ length: r.int(0, 3) }, () => ({ instance: u53(r), batch: batch(r, p) })) };
    case 11:
      return { t: "hello" };
    case 12:
      return { t: "ring", rnd: u53(r), ring: nodes(r, 64) };
    default:
      return { t: "decided-value", client: u32(r), seq: u53(r), instance: u53(r) };
  }
}

/* ---- corruption ---- */

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}

/** A valid encoding of a random message from a configured node (or `sender`), at most `max` bytes. */
function validEncoding(r: Prng, shape: FuzzShape, cluster = shape.cluster, sender?: number): Uint8Array {
  for (;;) {
    const b = encode(randomMsg(r, r.chance(0.1)), { cluster, sender: sender ?? r.pick(shape.nodeIds), ring: ringId(r) });
    if (b.byteLength <= shape.maxBytes) return b;
  }
}

function foreignCluster(r: Prng, cluster: number): number {
  const c = r.chance(0.3) ? r.pick([0, 1, 0xffffffff, cluster ^ 1, cluster + 1]) : r.u32();
  return c === cluster ? (cluster + 7) >>> 0 : c >>> 0;
}

function make(r: Prng, category: Category, shape: FuzzShape): Uint8Array {
  const max = shape.maxBytes;
  switch (category) {
    case "random-bytes": {
      const n = r.chance(0.05) ? r.int(0, HEADER_SIZE - 1) : r.chance(0.9) ? r.int(HEADER_SIZE, 300) : r.int(300, max);
      const b = randomBytes(r, n);
      // Half of them start like a message of this cluster, so the fields after the magic get exercised.
      if (n >= HEADER_SIZE && r.chance(0.5)) {
        view(b).setUint16(OFF_MAGIC, MAGIC);
        if (r.chance(0.7)) view(b).setUint8(OFF_VERSION, VERSION);
        if (r.chance(0.7)) view(b).setUint32(OFF_CLUSTER, shape.cluster);
      }
      return b;
    }
    case "truncated": {
      const b = validEncoding(r, shape);
      return b.slice(0, r.chance(0.3) ? r.int(0, Math.min(HEADER_SIZE, b.byteLength - 1)) : r.int(0, b.byteLength - 1));
    }
    case "bit-flipped": {
      const b = validEncoding(r, shape).slice();
      for (let k = r.int(1, 8); k > 0; k--) {
        // Flips cluster on the header half the time: that is where the checks are.
        const i = r.chance(0.5) ? r.int(0, Math.min(HEADER_SIZE, b.byteLength) - 1) : r.int(0, b.byteLength - 1);
        b[i] = (b[i] as number) ^ (1 << r.int(0, 7));
      }
      return b;
    }
    case "wrong-magic": {
      const b = validEncoding(r, shape).slice();
      let m = r.chance(0.5) ? r.pick([0, 0xffff, 0x5052, 0x5251, 0x4250]) : r.u32() & 0xffff;
      if (m === MAGIC) m = 0;
      view(b).setUint16(OFF_MAGIC, m);
      return b;
    }
    case "wrong-version": {
      const b = validEncoding(r, shape).slice();
      // Any version but this one: 2 (the previous format) among them.
      const v = r.chance(0.5) ? r.pick([0, 1, 2, 255]) : r.int(0, 254);
      view(b).setUint8(OFF_VERSION, v === VERSION ? 255 : v);
      return b;
    }
    case "unknown-type": {
      const b = validEncoding(r, shape).slice();
      view(b).setUint8(OFF_TYPE, r.chance(0.5) ? r.pick([0, TYPES + 1, 255]) : r.chance(0.1) ? 0 : r.int(TYPES + 1, 255));
      return b;
    }
    case "reserved-set": {
      const b = validEncoding(r, shape).slice();
      view(b).setUint16(r.chance(0.5) ? OFF_RESERVED : OFF_SPARE, r.int(1, 0xffff));
      return b;
    }
    case "oversized-length": {
      const b = validEncoding(r, shape).slice();
      const body = b.byteLength - HEADER_SIZE;
      const len = r.pick([
        MAX_BODY + 1,
        0xffffffff,
        r.int(MAX_BODY + 1, 0xffffffff),
        DEFAULT_MAX_FRAME,
        body + r.int(1, 1 << 20),
        ...(body > 0 ? [r.int(0, body - 1)] : []),
      ]);
      view(b).setUint32(OFF_LENGTH, len === body ? body + 1 : len);
      return b;
    }
    case "trailing-bytes": {
      const b = validEncoding(r, shape);
      return concat(b, randomBytes(r, Math.max(1, Math.min(r.int(1, 64), max - b.byteLength))));
    }
    case "garbage-body": {
      // A correct header of a known type whose body is random bytes of the declared length.
      const n = r.chance(0.8) ? r.int(0, 120) : r.int(0, max - HEADER_SIZE);
      const b = concat(new Uint8Array(HEADER_SIZE), randomBytes(r, n));
      const v = view(b);
      v.setUint16(OFF_MAGIC, MAGIC);
      v.setUint8(OFF_VERSION, VERSION);
      v.setUint8(OFF_TYPE, r.int(1, TYPES));
      v.setUint32(OFF_CLUSTER, shape.cluster);
      v.setUint16(OFF_SENDER, r.pick(shape.nodeIds));
      v.setUint16(OFF_RESERVED, 0);
      v.setUint16(OFF_RING, ringId(r));
      v.setUint16(OFF_SPARE, 0);
      v.setUint32(OFF_LENGTH, n);
      return b;
    }
    case "foreign-cluster":
      return validEncoding(r, shape, foreignCluster(r, shape.cluster));
    case "unknown-sender": {
      let s = r.chance(0.5) ? r.pick([256, 999, 0xffff]) : r.int(0, 0xffff);
      while (shape.nodeIds.includes(s)) s = (s + 1) & 0xffff;
      return validEncoding(r, shape, shape.cluster, s);
    }
  }
}

/** Mixes the run seed with the input index into a seed of its own. */
function inputSeed(seed: number, index: number): number {
  return (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0;
}

/**
 * Input number `index` of the run `seed`: a category (drawn from `categories`) and bytes that the
 * node must drop. A corruption that happens to leave a well-formed message of a configured sender
 * (possible for bit flips and garbage bodies) is redrawn: such inputs belong to the semantic tests.
 */
export function hostileInput(seed: number, index: number, shape: FuzzShape, categories: readonly Category[] = CATEGORIES): HostileInput {
  const r = new Prng(inputSeed(seed, index));
  const category = r.pick(categories);
  for (let attempt = 0; attempt < 100; attempt++) {
    const bytes = make(r, category, shape);
    const counter = expectedDrop(bytes, shape);
    if (counter !== null && bytes.byteLength <= shape.maxBytes) return { category, bytes, counter };
  }
  throw new Error(`hostileInput(${seed}, ${index}): no undecodable ${category} input in 100 attempts`);
}

/* ---- TCP ---- */

export function frame(payload: Uint8Array): Uint8Array {
  return encodeFrame(payload);
}

/** A 4-byte frame header declaring `declared` bytes (any u32, unlike encodeFrame). */
export function framePrefix(declared: number): Uint8Array {
  const b = new Uint8Array(4);
  view(b).setUint32(0, declared >>> 0);
  return b;
}

/** A TCP connection to a node. */
export interface Conn {
  readonly socket: net.Socket;
  /** Resolves when the connection is closed, with whether the node closed it (we had not ended it). */
  readonly closed: Promise<{ byPeer: boolean }>;
  /** Ends our side (an orderly close by us). */
  end(): void;
}

export async function connect(port: number): Promise<Conn> {
  const socket = net.connect({ host: "127.0.0.1", port });
  let endedByUs = false;
  // A reset by the node is an expected outcome here; 'close' follows.
  socket.on("error", () => {});
  const closed = new Promise<{ byPeer: boolean }>((resolve) => socket.once("close", () => resolve({ byPeer: !endedByUs })));
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("error", reject);
  });
  socket.setNoDelay(true);
  return {
    socket,
    closed,
    end() {
      endedByUs = true;
      socket.end();
    },
  };
}

/** Writes `bytes` in pieces of random sizes (frames cut anywhere), waiting for 'drain' when told to. */
export async function writeChopped(conn: Conn, bytes: Uint8Array, r: Prng): Promise<void> {
  let pos = 0;
  while (pos < bytes.byteLength) {
    const n = r.chance(0.2) ? r.int(1, 7) : r.int(8, 64 * 1024);
    const piece = bytes.subarray(pos, Math.min(bytes.byteLength, pos + n));
    pos += piece.byteLength;
    if (!conn.socket.write(piece)) await new Promise<void>((resolve) => conn.socket.once("drain", () => resolve()));
    // Now and then let the bytes leave on their own, so the node sees headers split across reads.
    if (n < 8) await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/* ---- stats ---- */

/** The `net` counters of a stats line (LocalCluster types the line without them). */
export function netCounters(line: unknown): Record<string, number> {
  if (typeof line !== "object" || line === null) return {};
  const n = (line as { net?: unknown }).net;
  if (typeof n !== "object" || n === null) return {};
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(n)) if (typeof v === "number") out[k] = v;
  return out;
}

export function droppedOnly(c: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(c)) if (k.startsWith("dropped_")) out[k] = v;
  return out;
}

export function sumValues(c: Record<string, number>): number {
  let s = 0;
  for (const v of Object.values(c)) s += v;
  return s;
}

/** after - before, key by key (keys of either side). */
export function diff(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of new Set([...Object.keys(after), ...Object.keys(before)])) {
    const d = (after[k] ?? 0) - (before[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}

export function hex(b: Uint8Array, max = 96): string {
  const s = Buffer.from(b.buffer, b.byteOffset, Math.min(b.byteLength, max)).toString("hex");
  return b.byteLength > max ? `${s}… (${b.byteLength} bytes)` : s;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

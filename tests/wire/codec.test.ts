import { describe, expect, test } from "bun:test";
import type { Batch, Msg } from "../../src/core/types.ts";
import { MAX_PACK_VALUES } from "../../src/core/pack.ts";
import {
  decode,
  DecodeError,
  type DecodeReason,
  decodeHeader,
  encode,
  EncodeError,
  HEADER_SIZE,
  MAGIC,
  MAX_BATCH_VALUES,
  MAX_BODY,
  MAX_RING,
  MAX_RING_ID,
  MAX_SKIP,
  MAX_VID,
  OFF_LENGTH,
  OFF_RESERVED,
  OFF_RING,
  OFF_SPARE,
  TYPE_CODES,
  typeOfCode,
  VERSION,
} from "../../src/wire/index.ts";
import { bytes, Prng, sameBytes } from "./helpers.ts";

const CLUSTER = 0xa1b2c3d4;
const H = { cluster: CLUSTER, sender: 0x0102 };

function roundTrip(msg: Msg, ring?: number): Uint8Array {
  const h = ring === undefined ? H : { ...H, ring };
  const buf = encode(msg, h);
  const got = decode(buf, CLUSTER);
  expect(got.sender).toBe(H.sender);
  expect(got.ring).toBe(ring ?? 0);
  expect(got.msg).toEqual(msg);
  // Canonical: re-encoding what was decoded gives the very same bytes.
  expect(sameBytes(encode(got.msg, h), buf)).toBe(true);
  return buf;
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");
}

/** A frame with a valid header (type `t`, cluster CLUSTER, sender 1, ring 0, exact length) around `body`. */
function craft(t: Msg["t"], body: readonly number[]): Uint8Array {
  const buf = new Uint8Array(HEADER_SIZE + body.length);
  const v = new DataView(buf.buffer);
  v.setUint16(0, MAGIC);
  v.setUint8(2, VERSION);
  v.setUint8(3, TYPE_CODES[t]);
  v.setUint32(4, CLUSTER);
  v.setUint16(8, 1);
  v.setUint32(16, body.length);
  buf.set(body, HEADER_SIZE);
  return buf;
}

const u32 = (x: number): number[] => [(x >>> 24) & 0xff, (x >>> 16) & 0xff, (x >>> 8) & 0xff, x & 0xff];
const u53 = (x: number): number[] => [...u32(Math.floor(x / 2 ** 32)), ...u32(x % 2 ** 32)];
const vidBytes = (s: string): number[] => [s.length, ...Array.from(s, (c) => c.charCodeAt(0))];

function rejects(buf: Uint8Array, reason: DecodeReason, detail?: RegExp, cluster = CLUSTER): void {
  let caught: unknown;
  try {
    decode(buf, cluster);
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(DecodeError);
  const err = caught as DecodeError;
  expect(err.reason).toBe(reason);
  expect(err.cause).toBeUndefined();
  if (detail) expect(err.message).toMatch(detail);
}

const payload = (n: number, seed = 1): Uint8Array => bytes(new Prng(seed), n);

describe("round trip of every message type", () => {
  const batch3 = {
    vid: "33.6",
    values: [
      { client: 9, seq: 0, payload: payload(10) },
      { client: 0xffffffff, seq: Number.MAX_SAFE_INTEGER, payload: new Uint8Array(0) },
      { client: 0, seq: 2 ** 32, payload: payload(300, 2) },
    ],
  };
  const empty = { vid: "65.0", values: [] };
  const cases: [string, Msg][] = [
    ["value", { t: "value", v: { client: 7, seq: 12, payload: payload(100) }, hops: 3 }],
    ["value, empty payload", { t: "value", v: { client: 0, seq: 0, payload: new Uint8Array(0) }, hops: 0 }],
    ["value, 1 MiB payload", { t: "value", v: { client: 1, seq: 1, payload: payload(1 << 20) }, hops: 0xffffffff }],
    ["1a", { t: "1a", rnd: 65, from: 0 }],
    ["1b without votes (a non-acceptor)", { t: "1b", rnd: 65, from: 3, acceptor: false, votes: [] }],
    [
      "1b with several votes",
      {
        t: "1b",
        rnd: 97,
        from: 10,
        acceptor: true,
        votes: [
          { instance: 10, vrnd: 65, batch: batch3, decided: true },
          { instance: 11, vrnd: 33, batch: empty, decided: false },
          { instance: Number.MAX_SAFE_INTEGER, vrnd: Number.MAX_SAFE_INTEGER, batch: { vid: "x", values: [] }, decided: false },
        ],
      },
    ],
    ["nack", { t: "nack", rnd: 33, promised: 2 ** 40 + 5 }],
    ["2a with an empty batch", { t: "2a", rnd: 33, instance: 0, batch: empty, ring: [1, 2, 0], decisions: [] }],
    [
      "2a with values, a ring of five and decisions",
      {
        t: "2a",
        rnd: 2 ** 35,
        instance: 123456789,
        batch: batch3,
        ring: [4, 3, 1, 2, 0],
        decisions: [
          { instance: 1, vid: "33.1" },
          { instance: 2, vid: "33.2" },
        ],
      },
    ],
    [
      "2a with 128 values of 64 B",
      {
        t: "2a",
        rnd: 33,
        instance: 5,
        batch: { vid: "33.5", values: Array.from({ length: 128 }, (_, i) => ({ client: i, seq: i * 3, payload: payload(64, i + 1) })) },
        ring: [1, 2, 0],
        decisions: [],
      },
    ],
    ["2b", { t: "2b", rnd: 33, instance: 7, vid: "33.5", ring: [1, 2, 0], voters: [1] }],
    ["2b with no voters and an empty ring", { t: "2b", rnd: 0, instance: 0, vid: "0.0", ring: [], voters: [] }],
    ["decision (none)", { t: "decision", decisions: [] }],
    [
      "decision (several)",
      { t: "decision", decisions: [0, 1, 2, 3].map((i) => ({ instance: i, vid: `${i}.${"z".repeat(i)}` })) },
    ],
    ["2ab", { t: "2ab", rnd: 66, instance: 4, batch: batch3, ring: [2, 0, 1, 5, 4], voters: [2, 0] }],
    ["2ab with an empty batch", { t: "2ab", rnd: 66, instance: 4, batch: empty, ring: [2], voters: [] }],
    ["udecision with its batch", { t: "udecision", instance: 4, vid: "33.6", batch: batch3, ring: [0, 1, 2], rnd: 33 }],
    ["udecision, ids only", { t: "udecision", instance: 4, vid: "33.6", batch: null, ring: [0, 1, 2], rnd: 33 }],
    ["catchup", { t: "catchup", from: 17, count: 64 }],
    ["catchup-reply without entries", { t: "catchup-reply", rnd: 0, entries: [] }],
    [
      "catchup-reply with decisions lacking values and votes lacking decisions",
      {
        t: "catchup-reply",
        rnd: 3,
        entries: [],
        decisions: [{ instance: 8, vid: "641.0" }],
        votes: [{ instance: 9, batch: { vid: "641.1", values: [{ client: 2, seq: 5, payload: payload(10) }] } }],
      },
    ],
    [
      "catchup-reply with entries",
      {
        t: "catchup-reply",
        rnd: 97,
        entries: [
          { instance: 17, batch: batch3 },
          { instance: 18, batch: empty },
          { instance: 19, batch: { vid: "97.0", values: [{ client: 3, seq: 4, payload: payload(8192) }] } },
        ],
      },
    ],
    ["hello", { t: "hello" }],
    ["1b reporting a trim point", { t: "1b", rnd: 65, from: 3, acceptor: true, votes: [{ instance: 700, vrnd: 33, batch: empty, decided: false }], trimmed: 640 }],
    ["catchup-reply with a floor", { t: "catchup-reply", rnd: 9, entries: [{ instance: 512, batch: batch3 }], floor: 512 }],
    ["applied", { t: "applied", upTo: Number.MAX_SAFE_INTEGER }],
    ["slow-down", { t: "slow-down", backlog: 0xffffffff, hops: 2 }],
    ["lagging", { t: "lagging", at: Number.MAX_SAFE_INTEGER, slots: 2 ** 31, hops: 1 }],
    ["read-index", { t: "read-index", id: 0xffffffff }],
    ["read-index-reply", { t: "read-index-reply", id: 7, index: Number.MAX_SAFE_INTEGER }],
    ["read-index-reply without an index", { t: "read-index-reply", id: 8, index: null }],
    ["heartbeat", { t: "heartbeat", rnd: 2 ** 50, seq: 7 }],
    ["heartbeat-ack", { t: "heartbeat-ack", rnd: 33, seq: Number.MAX_SAFE_INTEGER }],
    ["ring", { t: "ring", rnd: 98, ring: [2, 0, 1, 3] }],
    ["value with its origin", { t: "value", v: { client: 9, seq: 4, payload: payload(3) }, hops: 1, origin: 200 }],
    ["value with origin 0xffff", { t: "value", v: { client: 7, seq: 12, payload: payload(10) }, hops: 0, origin: 0xffff }],
    ["value with origin 0", { t: "value", v: { client: 7, seq: 12, payload: payload(10) }, hops: 0, origin: 0 }],
    ["decided-value", { t: "decided-value", client: 0xfffffffe, seq: 2 ** 40, instance: 12345 }],
    ["subscribe without questions", { t: "subscribe", client: 0xffffffff, seqs: [] }],
    ["subscribe asking about seqs", { t: "subscribe", client: 7, seqs: [0, 3, Number.MAX_SAFE_INTEGER] }],
    ["delivered", { t: "delivered", client: 7, seqs: [4, 5, 9], instances: [100, 100, 2 ** 45], unplaced: [] }],
    ["state-ask", { t: "state-ask" }],
    ["state of a learner", { t: "state", next: 4096, exact: true, clients: [{ client: 0xffffffff, low: -1, above: [3, 9] }, { client: 7, low: 2 ** 40, above: [] }] }],
    ["state of a learner without clients", { t: "state", next: 0, exact: false, clients: [] }],
    ["delivered with unplaced seqs only", { t: "delivered", client: 1, seqs: [], instances: [], unplaced: [2, 8] }],
    [
      "ring at the limits: MAX_RING members, node ids up to 0xffff",
      { t: "ring", rnd: Number.MAX_SAFE_INTEGER, ring: Array.from({ length: MAX_RING }, (_, i) => 0xffff - i) },
    ],
    ["2b with a vid of MAX_VID printable characters", { t: "2b", rnd: 1, instance: 1, vid: " ~".repeat(MAX_VID / 2), ring: [1], voters: [1] }],
  ];
  for (const [name, msg] of cases) test(name, () => void roundTrip(msg));

  test("every message type round-trips with a ring id in its header", () => {
    for (const ring of [1, 0x1234, MAX_RING_ID]) for (const [, msg] of cases) roundTrip(msg, ring);
  });

  test("ring 0 is the default: a header without a ring id encodes as ring 0", () => {
    for (const [, msg] of cases) expect(sameBytes(encode(msg, { ...H, ring: 0 }), encode(msg, H))).toBe(true);
  });

  test("every message type is covered above", () => {
    expect(new Set(cases.map(([, m]) => m.t))).toEqual(new Set(Object.keys(TYPE_CODES) as Msg["t"][]));
  });

  test("a frame embedded at an odd offset of a larger buffer decodes (DataView offsets respected)", () => {
    const msg = cases.find(([n]) => n === "2a with values, a ring of five and decisions")?.[1] as Msg;
    const frame = encode(msg, H);
    const big = new Uint8Array(frame.byteLength + 10);
    big.fill(0xee);
    big.set(frame, 3);
    expect(decode(big.subarray(3, 3 + frame.byteLength), CLUSTER).msg).toEqual(msg);
    rejects(big.subarray(3, 4 + frame.byteLength), "length", /trailing/);
  });
});

describe("header layout", () => {
  test("20 bytes at fixed offsets, big-endian: magic, version, type, cluster, sender, reserved, ring, spare, length", () => {
    const buf = encode({ t: "1a", rnd: 0x0102030405, from: 7 }, H);
    expect(HEADER_SIZE).toBe(20);
    expect(VERSION).toBe(4);
    expect([OFF_RESERVED, OFF_RING, OFF_SPARE, OFF_LENGTH]).toEqual([10, 12, 14, 16]);
    expect(hex(buf)).toBe(
      "52 50 04 02 a1 b2 c3 d4 01 02 00 00 00 00 00 00 00 00 00 10 " + "00 00 00 01 02 03 04 05 " + "00 00 00 00 00 00 00 07",
    );
    // The ring id (u16) at offset 12, nothing else changed.
    const ringed = encode({ t: "1a", rnd: 0x0102030405, from: 7 }, { ...H, ring: 0xbeef });
    expect(hex(ringed.subarray(0, HEADER_SIZE))).toBe("52 50 04 02 a1 b2 c3 d4 01 02 00 00 be ef 00 00 00 00 00 10");
    expect(sameBytes(ringed.subarray(HEADER_SIZE), buf.subarray(HEADER_SIZE))).toBe(true);
  });

  test("the type code of every message sits at offset 3 and the body length at offset 16", () => {
    const r = new Prng(5);
    const msgs: Msg[] = [
      { t: "value", v: { client: 1, seq: 2, payload: bytes(r, 5) }, hops: 0 },
      { t: "hello" },
      { t: "decision", decisions: [{ instance: 3, vid: "1.1" }] },
    ];
    for (const m of msgs) {
      const buf = encode(m, { cluster: 1, sender: 65535 });
      const v = new DataView(buf.buffer);
      expect(v.getUint16(0)).toBe(0x5250);
      expect(buf[2]).toBe(VERSION);
      expect(buf[3]).toBe(TYPE_CODES[m.t]);
      expect(v.getUint32(4)).toBe(1);
      expect(v.getUint16(8)).toBe(65535);
      expect(v.getUint16(10)).toBe(0);
      expect(v.getUint16(12)).toBe(0);
      expect(v.getUint16(14)).toBe(0);
      expect(v.getUint32(16)).toBe(buf.byteLength - 20);
    }
  });

  test("exact body layout of a batch: vid, u32 skip, u32 count, values (u32 client, u53 seq, u16 group, u16 packed, u32 length, bytes)", () => {
    const v = { client: 0x0a0b0c0d, seq: 2, payload: new Uint8Array([0xde, 0xad]) };
    const frame = encode({ t: "decision", decisions: [] }, H);
    expect(frame.byteLength).toBe(HEADER_SIZE + 4);
    const ordinary = encode({ t: "2ab", rnd: 1, instance: 2, batch: { vid: "1.2", values: [v] }, ring: [], voters: [] }, H);
    expect(hex(ordinary.subarray(HEADER_SIZE + 16 + 2))).toBe(
      "03 31 2e 32 00 00 00 00 00 00 00 01 0a 0b 0c 0d 00 00 00 00 00 00 00 02 00 00 00 00 00 00 00 02 de ad",
    );
    const grouped = encode({ t: "2ab", rnd: 1, instance: 2, batch: { vid: "1.2", values: [{ ...v, group: 0x0102 }] }, ring: [], voters: [] }, H);
    expect(hex(grouped.subarray(HEADER_SIZE + 16 + 2))).toBe(
      "03 31 2e 32 00 00 00 00 00 00 00 01 0a 0b 0c 0d 00 00 00 00 00 00 00 02 01 02 00 00 00 00 00 02 de ad",
    );
    const skip = encode({ t: "2ab", rnd: 1, instance: 2, batch: { vid: "1.2", values: [], skip: 0x01020304 }, ring: [], voters: [] }, H);
    expect(hex(skip.subarray(HEADER_SIZE + 16 + 2))).toBe("03 31 2e 32 01 02 03 04 00 00 00 00");
  });

  test("a value's group: absent for 0, 1..65535 round-trips, anything else refused", () => {
    const v = { client: 1, seq: 1, payload: new Uint8Array([1]) };
    for (const group of [1, 0x0102, 0xffff]) expect(decode(encode({ t: "value", v: { ...v, group }, hops: 0 }, H), CLUSTER).msg).toEqual({ t: "value", v: { ...v, group }, hops: 0 });
    expect(decode(encode({ t: "value", v, hops: 0 }, H), CLUSTER).msg).toEqual({ t: "value", v, hops: 0 });
    for (const group of [0, 0x10000, 1.5]) expect(() => encode({ t: "value", v: { ...v, group }, hops: 0 }, H)).toThrow(EncodeError);
  });

  test("a value's pack count: absent for one value, 2..MAX_PACK_VALUES round-trips (with a group too), anything else refused", () => {
    const v = { client: 1, seq: 5, payload: new Uint8Array([1, 2]) };
    for (const packed of [2, 77, MAX_PACK_VALUES])
      for (const w of [{ ...v, packed }, { ...v, packed, group: 3 }]) expect(decode(encode({ t: "value", v: w, hops: 0 }, H), CLUSTER).msg).toEqual({ t: "value", v: w, hops: 0 });
    for (const packed of [0, 1, MAX_PACK_VALUES + 1, 2.5]) expect(() => encode({ t: "value", v: { ...v, packed }, hops: 0 }, H)).toThrow(/packed/);
  });

  test("exact body layouts of value and 2b", () => {
    const v = { client: 0x0a0b0c0d, seq: 2 ** 32 + 2, payload: new Uint8Array([0xde, 0xad]) };
    const value = encode({ t: "value", v, hops: 1 }, H);
    expect(hex(value.subarray(HEADER_SIZE))).toBe("00 00 00 01 00 0a 0b 0c 0d 00 00 00 01 00 00 00 02 00 00 00 00 00 00 00 02 de ad");
    const withOrigin = encode({ t: "value", v, hops: 1, origin: 0x0304 }, H);
    expect(hex(withOrigin.subarray(HEADER_SIZE))).toBe("00 00 00 01 01 03 04 0a 0b 0c 0d 00 00 00 01 00 00 00 02 00 00 00 00 00 00 00 02 de ad");
    const b2 = encode({ t: "2b", rnd: 33, instance: 7, vid: "33.5", ring: [1, 2, 0], voters: [1] }, H);
    expect(hex(b2.subarray(HEADER_SIZE))).toBe(
      "00 00 00 00 00 00 00 21 00 00 00 00 00 00 00 07 04 33 33 2e 35 03 00 01 00 02 00 00 01 00 01",
    );
  });

  test("type codes are 1..N, one per message type, and map back", () => {
    const codes: number[] = Object.values(TYPE_CODES);
    const n = codes.length;
    expect(n).toBeGreaterThanOrEqual(14);
    expect([...codes].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    for (const [t, c] of Object.entries(TYPE_CODES)) expect(typeOfCode(c)).toBe(t as Msg["t"]);
    expect(typeOfCode(0)).toBeUndefined();
    expect(typeOfCode(n + 1)).toBeUndefined();
  });

  test("decodeHeader on the first HEADER_SIZE bytes of a stream gives the frame length (TCP framing) and the ring", () => {
    const frame = encode({ t: "catchup", from: 3, count: 64 }, { ...H, ring: 5 });
    const h = decodeHeader(frame.subarray(0, HEADER_SIZE), CLUSTER);
    expect(h).toEqual({ type: "catchup", cluster: CLUSTER, sender: H.sender, ring: 5, bodyLength: 12 });
    expect(HEADER_SIZE + h.bodyLength).toBe(frame.byteLength);
  });
});

describe("every rejection reason, from crafted buffers", () => {
  const good = (): Uint8Array => encode({ t: "nack", rnd: 33, promised: 65 }, H);

  test("short: fewer bytes than a header", () => {
    rejects(new Uint8Array(0), "short");
    rejects(good().subarray(0, HEADER_SIZE - 1), "short");
  });

  test("magic", () => {
    const b = good();
    b[0] = 0x50;
    rejects(b, "magic");
    const c = good();
    c[1] = 0x51;
    rejects(c, "magic");
  });

  test("version", () => {
    for (const v of [0, 1, 2, 3, 5, 255]) {
      const b = good();
      b[2] = v;
      rejects(b, "version", new RegExp(`version ${v}, expected 4`));
    }
  });

  test("version: a whole format-2 message (16-byte header, no ring id) is refused as such", () => {
    // nack rnd 33 promised 65 as version 2 wrote it: magic, version 2, type, cluster, sender, reserved, length.
    const v2 = new Uint8Array([
      0x52, 0x50, 2, TYPE_CODES.nack, ...u32(CLUSTER), 0x01, 0x02, 0, 0, ...u32(16), ...u53(33), ...u53(65),
    ]);
    expect(v2.byteLength).toBe(16 + 16);
    rejects(v2, "version", /format version 2, expected 4/);
    // Even of another cluster, or cut short of a v3 header: the version is checked first.
    rejects(v2, "version", undefined, 7);
    // Shorter than a version-3 header: still refused as of its version, not as short.
    rejects(v2.subarray(0, 16 + 3), "version");
    const hello2 = new Uint8Array([0x52, 0x50, 2, TYPE_CODES.hello, ...u32(CLUSTER), 0, 1, 0, 0, ...u32(0)]);
    rejects(hello2, "version", /format version 2/);
    rejects(hello2.subarray(0, 3), "version");
    rejects(hello2.subarray(0, 2), "short");
  });

  test("foreign-cluster", () => {
    rejects(good(), "foreign-cluster", /cluster 2712847316, expected 7/, 7);
    const b = good();
    b[7] = (b[7] as number) ^ 1;
    rejects(b, "foreign-cluster");
  });

  test("type: unknown codes", () => {
    for (const code of [0, Object.keys(TYPE_CODES).length + 1, 99, 255]) {
      const b = good();
      b[3] = code;
      rejects(b, "type", new RegExp(`code ${code}`));
    }
  });

  test("reserved: not zero, nor the spare field", () => {
    const b = good();
    b[11] = 1;
    rejects(b, "reserved", /reserved field 1/);
    for (const at of [OFF_SPARE, OFF_SPARE + 1]) {
      const c = good();
      c[at] = 0x80;
      rejects(c, "reserved", /spare field/);
    }
  });

  test("any ring id is accepted (which rings a node serves is not the codec's business)", () => {
    for (const ring of [0, 1, 0x00ff, 0xff00, MAX_RING_ID]) {
      const b = good();
      new DataView(b.buffer).setUint16(OFF_RING, ring);
      expect(decode(b, CLUSTER)).toEqual({ sender: H.sender, ring, msg: { t: "nack", rnd: 33, promised: 65 } });
    }
  });

  test("length: over MAX_BODY, truncated, trailing bytes, too small", () => {
    const over = good();
    new DataView(over.buffer).setUint32(OFF_LENGTH, MAX_BODY + 1);
    rejects(over, "length", /MAX_BODY/);
    const huge = good();
    new DataView(huge.buffer).setUint32(OFF_LENGTH, 0xffffffff);
    rejects(huge, "length");
    rejects(good().subarray(0, good().byteLength - 1), "length", /truncated/);
    const trailing = new Uint8Array(good().byteLength + 1);
    trailing.set(good());
    rejects(trailing, "length", /trailing/);
    const small = good();
    new DataView(small.buffer).setUint32(OFF_LENGTH, 15);
    rejects(small, "length");
    rejects(good().subarray(0, HEADER_SIZE), "length");
  });

  test("body: a u53 that is not a safe integer", () => {
    rejects(craft("1a", [0, 0x20, 0, 0, 0, 0, 0, 0, ...u53(1)]), "body", /1a\.rnd: not a safe integer/);
    rejects(craft("1a", [...u53(1), 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]), "body", /1a\.from/);
    // The largest safe integer is accepted.
    expect(decode(craft("1a", [0, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, ...u53(0)]), CLUSTER).msg).toEqual({
      t: "1a",
      rnd: Number.MAX_SAFE_INTEGER,
      from: 0,
    });
  });

  test("body: a boolean byte other than 0 or 1", () => {
    rejects(craft("1b", [...u53(1), ...u53(0), 2, ...u32(0)]), "body", /1b\.acceptor: boolean byte 2/);
    rejects(craft("udecision", [...u53(1), ...u53(0), ...vidBytes("1.0"), 0, 2]), "body", /has-batch: boolean byte 2/);
    rejects(craft("value", [...u32(0), 2, 0, 1, ...u32(1), ...u53(1), ...u32(0)]), "body", /has-origin: boolean byte 2/);
  });

  test("body: bad vids (empty, too long, not printable ASCII)", () => {
    const pre = [...u53(1), ...u53(2)];
    rejects(craft("2b", [...pre, 0, 0, 0]), "body", /vid length 0/);
    rejects(craft("2b", [...pre, 65, ...new Array<number>(65).fill(0x41), 0, 0]), "body", /vid length 65/);
    rejects(craft("2b", [...pre, 2, 0x41, 0x7f, 0, 0]), "body", /0x7f is not printable/);
    rejects(craft("2b", [...pre, 2, 0x0a, 0x41, 0, 0]), "body", /0xa is not printable/);
    rejects(craft("2b", [...pre, 2, 0xc3, 0xa9, 0, 0]), "body", /not printable/);
    rejects(craft("2b", [...pre, 10, 0x41]), "body", /vid/);
  });

  test("body: bad rings (too many members, repeated member, count beyond the bytes)", () => {
    const many = Array.from({ length: MAX_RING + 1 }, (_, i) => [0, i]).flat();
    rejects(craft("ring", [...u53(1), MAX_RING + 1, ...many]), "body", /65 members > MAX_RING 64/);
    rejects(craft("ring", [...u53(1), 3, 0, 1, 0, 2, 0, 1]), "body", /node 1 appears twice/);
    rejects(craft("ring", [...u53(1), 10, 0, 1, 0, 2]), "body", /10 members do not fit/);
    rejects(craft("2b", [...u53(1), ...u53(2), ...vidBytes("1.1"), 1, 0, 4, 2, 0, 4, 0, 4]), "body", /voters: node 4 appears twice/);
  });

  test("body: a forged batch count is refused before anything is allocated", () => {
    const pre = [...u53(1), ...u53(2), 0, ...u32(0), ...vidBytes("1.2"), ...u32(0)];
    rejects(craft("2a", [...pre, ...u32(0xffffffff)]), "body", new RegExp(`count 4294967295 > ${MAX_BATCH_VALUES}`));
    rejects(craft("2a", [...pre, ...u32(MAX_BATCH_VALUES)]), "body", /1000000 items need at least 20000000 bytes, 0 left/);
    // Two values declared, one present.
    rejects(craft("2a", [...pre, ...u32(2), ...u32(1), ...u53(1), 0, 0, 0, 0, ...u32(0), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]), "body");
  });

  test("body: forged counts of decisions, 1b votes and catch-up entries", () => {
    rejects(craft("decision", [...u32(0xffffffff)]), "body", /decision\.decisions: count/);
    rejects(craft("decision", [...u32(2), ...u53(1), ...vidBytes("1.1")]), "body", /2 items need at least 20 bytes, 12 left/);
    rejects(craft("1b", [...u53(1), ...u53(0), 1, ...u32(1000)]), "body", /1b\.votes: 1000 items/);
    rejects(craft("catchup-reply", [...u53(1), ...u32(50), ...u53(1)]), "body", /catchup-reply\.entries: 50 items/);
  });

  test("body: a payload length beyond the body", () => {
    rejects(craft("value", [...u32(0), 0, ...u32(1), ...u53(1), 0, 0, 0, 0, ...u32(0xffffffff), 1, 2, 3]), "body", /value\.v\.payload: needs 4294967295 bytes, 3 left/);
    rejects(craft("value", [...u32(0), 1, 0, 7, ...u32(1), ...u53(1), 0, 0, 0, 0, ...u32(4), 1, 2, 3]), "body", /value\.v\.payload/);
    rejects(craft("value", [...u32(0), 0, ...u32(1), ...u53(1), 0, 0, 0, 1, ...u32(0)]), "body", /value\.v\.packed: 1 is not 0 or 2\.\.1024/);
    rejects(craft("value", [...u32(0), 0, ...u32(1), ...u53(1), 0, 0, 0x04, 0x01, ...u32(0)]), "body", /value\.v\.packed: 1025/);
  });

  test("body: trailing bytes inside a body of the right length", () => {
    rejects(craft("hello", [0]), "body", /1 trailing bytes/);
    rejects(craft("nack", [...u53(1), ...u53(2), 9]), "body", /trailing/);
    rejects(craft("udecision", [...u53(1), ...u53(0), ...vidBytes("1.0"), 0, 0, 0]), "body", /trailing/);
  });

  test("body: truncated inside a field", () => {
    rejects(craft("nack", [...u53(1), 0, 0, 0]), "body", /nack\.promised: needs 8 bytes, 3 left/);
    rejects(craft("catchup", [...u53(1), 0, 0]), "body", /catchup\.count/);
    rejects(craft("decided-value", [...u32(1), ...u53(1), 0, 0, 0, 0]), "body", /decided-value\.instance/);
  });

  test("a well-formed crafted body decodes (the crafting helper itself is right)", () => {
    expect(decode(craft("udecision", [...u53(5), ...u53(6), ...vidBytes("5.1"), 2, 0, 1, 0, 2, 0]), CLUSTER).msg).toEqual({
      t: "udecision",
      rnd: 5,
      instance: 6,
      vid: "5.1",
      ring: [1, 2],
      batch: null,
    });
  });

  test("inputs that are not even typed arrays only ever raise DecodeError", () => {
    for (const junk of [null, undefined, 42, "RP", {}, new ArrayBuffer(32), [0x52, 0x50]]) {
      let caught: unknown;
      try {
        decode(junk as unknown as Uint8Array, CLUSTER);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(DecodeError);
    }
  });
});

describe("skip batches (Multi-Ring Paxos: one instance standing for n empty ones)", () => {
  const skip = (n: number): Batch => ({ vid: "33.9", values: [], skip: n });
  const carriers = (b: Batch): [string, Msg][] => [
    ["2a", { t: "2a", rnd: 33, instance: 9, batch: b, ring: [1, 2, 0], decisions: [{ instance: 8, vid: "33.8" }] }],
    ["2ab", { t: "2ab", rnd: 33, instance: 9, batch: b, ring: [0, 1, 2], voters: [0] }],
    ["udecision", { t: "udecision", rnd: 33, instance: 9, vid: b.vid, batch: b, ring: [0, 1, 2] }],
    ["catchup-reply", { t: "catchup-reply", rnd: 33, entries: [{ instance: 9, batch: b }, { instance: 10, batch: { vid: "33.10", values: [] } }], votes: [{ instance: 11, batch: b }] }],
    ["1b", { t: "1b", rnd: 65, from: 9, acceptor: true, votes: [{ instance: 9, vrnd: 33, batch: b, decided: true }] }],
  ];

  for (const n of [1, 7, 0xffff, MAX_SKIP])
    for (const [name, msg] of carriers(skip(n))) test(`${name} carrying skip(${n}) round-trips, with and without a ring id`, () => {
      roundTrip(msg);
      roundTrip(msg, 3);
    });

  test("an ordinary batch decodes without a skip key at all, a skip batch with it", () => {
    const plain = decode(encode({ t: "2ab", rnd: 1, instance: 1, batch: { vid: "1.1", values: [] }, ring: [], voters: [] }, H), CLUSTER).msg;
    expect(plain.t === "2ab" && Object.hasOwn(plain.batch, "skip")).toBe(false);
    const skipped = decode(encode({ t: "2ab", rnd: 1, instance: 1, batch: skip(4), ring: [], voters: [] }, H), CLUSTER).msg;
    expect(skipped.t === "2ab" && skipped.batch.skip).toBe(4);
  });

  test("encode refuses a skip batch with values, and a skip out of 1..MAX_SKIP", () => {
    const v = { client: 1, seq: 1, payload: payload(4) };
    const bad: Batch[] = [
      { vid: "1.1", values: [v], skip: 3 },
      { vid: "1.1", values: [], skip: 0 },
      { vid: "1.1", values: [], skip: -1 },
      { vid: "1.1", values: [], skip: 1.5 },
      { vid: "1.1", values: [], skip: Number.NaN },
      { vid: "1.1", values: [], skip: MAX_SKIP + 1 },
    ];
    for (const b of bad)
      for (const [, msg] of carriers(b)) expect(() => encode(msg, H)).toThrow(EncodeError);
    expect(() => encode({ t: "2a", rnd: 1, instance: 1, batch: bad[0] as Batch, ring: [], decisions: [] }, H)).toThrow(/2a\.batch: a skip batch with 1 values/);
    expect(() => encode({ t: "2a", rnd: 1, instance: 1, batch: bad[1] as Batch, ring: [], decisions: [] }, H)).toThrow(/2a\.batch\.skip: 0 is not in 1\.\.MAX_SKIP/);
  });

  test("decode refuses a skip batch with values, and a skip over MAX_SKIP", () => {
    // 2ab: rnd, instance, empty ring, no voters, then the batch: vid, skip, count, values.
    const pre = [...u53(1), ...u53(2), 0, 0, ...vidBytes("1.2")];
    const value = [...u32(7), ...u53(1), 0, 0, 0, 0, ...u32(2), 0xab, 0xcd];
    expect(decode(craft("2ab", [...pre, ...u32(0), ...u32(1), ...value]), CLUSTER).msg).toEqual({
      t: "2ab",
      rnd: 1,
      instance: 2,
      ring: [],
      voters: [],
      batch: { vid: "1.2", values: [{ client: 7, seq: 1, payload: new Uint8Array([0xab, 0xcd]) }] },
    });
    rejects(craft("2ab", [...pre, ...u32(5), ...u32(1), ...value]), "body", /2ab\.batch: a skip batch with 1 values/);
    expect(decode(craft("2ab", [...pre, ...u32(MAX_SKIP), ...u32(0)]), CLUSTER).msg).toEqual({
      t: "2ab",
      rnd: 1,
      instance: 2,
      ring: [],
      voters: [],
      batch: { vid: "1.2", values: [], skip: MAX_SKIP },
    });
    rejects(craft("2ab", [...pre, ...u32(MAX_SKIP + 1), ...u32(0)]), "body", /2ab\.batch\.skip: 2147483649 > MAX_SKIP/);
    rejects(craft("2ab", [...pre, ...u32(0xffffffff), ...u32(0)]), "body", /skip/);
    rejects(craft("catchup-reply", [...u53(1), ...u32(1), ...u53(4), ...vidBytes("1.4"), ...u32(2), ...u32(1), ...value, ...u32(0), ...u32(0), ...u53(0)]), "body", /catchup-reply\.batch: a skip batch/);
    // Cut inside the skip field.
    rejects(craft("2ab", [...pre, 0, 0]), "body", /2ab\.batch\.skip: needs 4 bytes/);
  });
});

describe("zero-copy payloads", () => {
  test("decoded payloads are views of the input buffer at their offsets", () => {
    const msg: Msg = {
      t: "2a",
      rnd: 33,
      instance: 5,
      batch: { vid: "33.5", values: [{ client: 1, seq: 1, payload: payload(64) }, { client: 2, seq: 2, payload: payload(8192, 3) }] },
      ring: [1, 2, 0],
      decisions: [],
    };
    const buf = encode(msg, H);
    const got = decode(buf, CLUSTER).msg;
    if (got.t !== "2a") throw new Error("wrong type");
    const [a, b] = got.batch.values;
    expect(a?.payload.buffer).toBe(buf.buffer);
    expect(b?.payload.buffer).toBe(buf.buffer);
    // header 20, rnd 8, instance 8, ring 1+6, decisions 4, vid 5, skip 4, count 4, then client, seq, group, packed, length.
    const first = HEADER_SIZE + 8 + 8 + 7 + 4 + 5 + 4 + 4 + 20;
    expect(a?.payload.byteOffset).toBe(first);
    expect(b?.payload.byteOffset).toBe(first + 64 + 20);
    // A write to the input shows through the payload: nothing was copied.
    buf[first] = (buf[first] as number) ^ 0xff;
    expect(a?.payload[0]).toBe(buf[first] as number);
  });

  test("also in value, 2ab, udecision, 1b and catchup-reply, and inside a larger buffer", () => {
    const p = payload(100);
    const v = { client: 1, seq: 1, payload: p };
    const bt = { vid: "1.1", values: [v] };
    const msgs: Msg[] = [
      { t: "value", v, hops: 0 },
      { t: "2ab", rnd: 1, instance: 1, batch: bt, ring: [0], voters: [] },
      { t: "udecision", rnd: 1, instance: 1, vid: "1.1", batch: bt, ring: [0] },
      { t: "1b", rnd: 1, from: 0, acceptor: true, votes: [{ instance: 1, vrnd: 1, batch: bt, decided: false }] },
      { t: "catchup-reply", rnd: 1, entries: [{ instance: 1, batch: bt }] },
    ];
    for (const m of msgs) {
      const frame = encode(m, H);
      const big = new Uint8Array(frame.byteLength + 7);
      big.set(frame, 7);
      const got = decode(big.subarray(7), CLUSTER).msg;
      const payloads: Uint8Array[] = [];
      if (got.t === "value") payloads.push(got.v.payload);
      else if (got.t === "2ab") payloads.push(...got.batch.values.map((x) => x.payload));
      else if (got.t === "udecision") payloads.push(...(got.batch?.values.map((x) => x.payload) ?? []));
      else if (got.t === "1b") payloads.push(...got.votes.flatMap((x) => x.batch.values.map((y) => y.payload)));
      else if (got.t === "catchup-reply") payloads.push(...got.entries.flatMap((x) => x.batch.values.map((y) => y.payload)));
      expect(payloads.length).toBe(1);
      expect(payloads[0]?.buffer).toBe(big.buffer);
      expect(payloads[0]).toEqual(p);
      // catchup-reply ends with the (empty) decisions and votes lists (two u32 counts) and its
      // floor (u53) after the payload; 1b with its trim point (u53).
      const trailing = m.t === "catchup-reply" ? 16 : m.t === "1b" ? 8 : 0;
      expect(payloads[0]?.byteOffset).toBe(7 + frame.byteLength - 100 - trailing);
    }
  });
});

describe("encode refuses what the format cannot carry", () => {
  const bad: [string, Msg][] = [
    ["negative round", { t: "1a", rnd: -1, from: 0 }],
    ["fractional instance", { t: "1a", rnd: 1, from: 1.5 }],
    ["NaN", { t: "nack", rnd: Number.NaN, promised: 1 }],
    ["unsafe integer", { t: "nack", rnd: 2 ** 53, promised: 1 }],
    ["empty vid", { t: "2b", rnd: 1, instance: 1, vid: "", ring: [], voters: [] }],
    ["long vid", { t: "2b", rnd: 1, instance: 1, vid: "x".repeat(MAX_VID + 1), ring: [], voters: [] }],
    ["non-ASCII vid", { t: "decision", decisions: [{ instance: 1, vid: "é" }] }],
    ["ring too large", { t: "ring", rnd: 1, ring: Array.from({ length: MAX_RING + 1 }, (_, i) => i) }],
    ["repeated ring member", { t: "ring", rnd: 1, ring: [1, 2, 1] }],
    ["node id over u16", { t: "ring", rnd: 1, ring: [0x10000] }],
    ["repeated voter", { t: "2ab", rnd: 1, instance: 1, batch: { vid: "1.1", values: [] }, ring: [1, 2], voters: [1, 1] }],
    ["client over u32", { t: "value", v: { client: 2 ** 32, seq: 0, payload: new Uint8Array(0) }, hops: 0 }],
    ["negative seq", { t: "value", v: { client: 0, seq: -1, payload: new Uint8Array(0) }, hops: 0 }],
    ["origin over u16", { t: "value", v: { client: 0, seq: 0, payload: new Uint8Array(0) }, hops: 0, origin: 0x10000 }],
    ["decided-value with a negative seq", { t: "decided-value", client: 1, seq: -1, instance: 0 }],
    ["hops over u32", { t: "value", v: { client: 0, seq: 0, payload: new Uint8Array(0) }, hops: 2 ** 32 }],
    ["catch-up count over u32", { t: "catchup", from: 0, count: 2 ** 32 }],
    ["unknown type", { t: "toString" } as unknown as Msg],
  ];
  for (const [name, msg] of bad) test(name, () => expect(() => encode(msg, H)).toThrow(EncodeError));

  test("bad header fields", () => {
    expect(() => encode({ t: "hello" }, { cluster: -1, sender: 0 })).toThrow(EncodeError);
    expect(() => encode({ t: "hello" }, { cluster: 2 ** 32, sender: 0 })).toThrow(EncodeError);
    expect(() => encode({ t: "hello" }, { cluster: 0, sender: 0x10000 })).toThrow(EncodeError);
    expect(() => encode({ t: "hello" }, { cluster: 0, sender: 0, ring: 0x10000 })).toThrow(/ring/);
    expect(() => encode({ t: "hello" }, { cluster: 0, sender: 0, ring: -1 })).toThrow(EncodeError);
    expect(() => encode({ t: "hello" }, { cluster: 0, sender: 0, ring: 1.5 })).toThrow(EncodeError);
    expect(encode({ t: "hello" }, { cluster: 0, sender: 0, ring: MAX_RING_ID }).byteLength).toBe(HEADER_SIZE);
    expect(encode({ t: "hello" }, { cluster: 2 ** 32 - 1, sender: 0xffff }).byteLength).toBe(HEADER_SIZE);
  });

  test("a body over MAX_BODY", () => {
    const overhead = encode({ t: "value", v: { client: 0, seq: 0, payload: new Uint8Array(0) }, hops: 0 }, H).byteLength - HEADER_SIZE;
    const big = new Uint8Array(MAX_BODY - overhead + 1);
    expect(() => encode({ t: "value", v: { client: 0, seq: 0, payload: big }, hops: 0 }, H)).toThrow(/MAX_BODY/);
    // Exactly MAX_BODY is fine and decodes.
    const fit = big.subarray(0, MAX_BODY - overhead);
    const frame = encode({ t: "value", v: { client: 0, seq: 0, payload: fit }, hops: 0 }, H);
    expect(frame.byteLength).toBe(HEADER_SIZE + MAX_BODY);
    const got = decode(frame, CLUSTER).msg;
    expect(got.t === "value" && got.v.payload.byteLength).toBe(MAX_BODY - overhead);
  });

});

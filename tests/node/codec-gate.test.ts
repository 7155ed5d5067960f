import { describe, expect, test } from "bun:test";
import { createHmac, randomBytes } from "node:crypto";
import type { Msg, NodeId } from "../../src/core/types.ts";
import { CodecGate } from "../../src/node/codec-gate.ts";
import { NetCounters } from "../../src/node/net-counters.ts";
import { isBundle } from "../../src/wire/bundle.ts";
import { decode, encode, HEADER_SIZE, keyId, OFF_RING, OFF_VERSION, TYPE_CODES, VERSION, WireAuth } from "../../src/wire/index.ts";
import { framesOf, sealBundle } from "../wire/helpers.ts";

const CLUSTER = 9;
const CONFIG = { cluster: CLUSTER, nodes: [{ id: 0 }, { id: 1 }, { id: 2 }] };
const KEY = randomBytes(32);
/** Another key, of another key id (ids are one byte: random keys collide once in 256). */
const OTHER_KEY = ((): Uint8Array => {
  for (;;) {
    const k = randomBytes(32);
    if (keyId(k) !== keyId(KEY)) return k;
  }
})();
const hb = (seq: number): Msg => ({ t: "heartbeat", rnd: 3, seq });

/** A gate of node 0 and what it let through, as "from:seq" (and "@ring" for a ring other than 0). */
function gateOf(auth = new WireAuth([])): { gate: CodecGate; passed: string[]; counters: NetCounters } {
  const counters = new NetCounters();
  const passed: string[] = [];
  const gate = new CodecGate(CONFIG, 0, auth, counters, (from: NodeId, msg: Msg, ring: number) =>
    passed.push(`${from}:${msg.t === "heartbeat" ? msg.seq : msg.t}${ring === 0 ? "" : `@${ring}`}`),
  );
  return { gate, passed, counters };
}

const u32 = (x: number): number[] => [(x >>> 24) & 0xff, (x >>> 16) & 0xff, (x >>> 8) & 0xff, x & 0xff];

/** hb(seq) from `sender` as wire format version 2 wrote it (a 16-byte header without a ring id). */
function heartbeatV2(sender: number, seq: number): Uint8Array {
  return new Uint8Array([0x52, 0x50, 2, TYPE_CODES.heartbeat, ...u32(CLUSTER), 0, sender, 0, 0, ...u32(16), ...u32(0), ...u32(3), ...u32(0), ...u32(seq)]);
}

/** The counters that are drops, without the zeros. */
function drops(c: NetCounters): Record<string, number> {
  return Object.fromEntries(Object.entries(c.values).filter(([k, v]) => k.startsWith("dropped_") && v > 0));
}

describe("CodecGate without a cluster key", () => {
  test("passes a message of this cluster from a configured node, with its sender, from a Buffer too", () => {
    const { gate, passed, counters } = gateOf();
    gate.accept(encode(hb(1), { cluster: CLUSTER, sender: 1 }));
    gate.accept(Buffer.from(encode(hb(2), { cluster: CLUSTER, sender: 2 })));
    expect(passed).toEqual(["1:1", "2:2"]);
    expect(drops(counters)).toEqual({});
  });

  test("drops another cluster's message, an unknown sender's and garbage, each counted by reason, and keeps going", () => {
    const { gate, passed, counters } = gateOf();
    gate.accept(encode(hb(1), { cluster: CLUSTER + 1, sender: 1 }));
    gate.accept(encode(hb(2), { cluster: CLUSTER, sender: 77 }));
    gate.accept(encode(hb(3), { cluster: CLUSTER, sender: 77 }));
    gate.accept(new Uint8Array(5));
    const tagged = encode(hb(4), { cluster: CLUSTER, sender: 1 }, new WireAuth([KEY]).trailerBytes);
    gate.accept(new WireAuth([KEY]).seal(tagged));
    gate.accept(encode(hb(5), { cluster: CLUSTER, sender: 1 }));
    expect(drops(counters)).toEqual({ dropped_foreign_cluster: 1, dropped_unknown_sender: 2, dropped_short: 1, dropped_mac_unexpected: 1 });
    expect(passed).toEqual(["1:5"]);
  });

  test("hands the handler each message's ring id from its header (0 without rings)", () => {
    const { gate, passed, counters } = gateOf();
    gate.accept(encode(hb(1), { cluster: CLUSTER, sender: 1, ring: 0 }));
    gate.accept(encode(hb(2), { cluster: CLUSTER, sender: 1, ring: 7 }));
    gate.accept(encode(hb(3), { cluster: CLUSTER, sender: 2, ring: 0xffff }));
    expect(passed).toEqual(["1:1", "1:2@7", "2:3@65535"]);
    expect(drops(counters)).toEqual({});
  });

  test("messages of wire format versions 2 and 3 are dropped and counted as dropped_version", () => {
    const { gate, passed, counters } = gateOf();
    // The crafted bytes are right: the same message in the current version passes (a heartbeat's
    // body is the same in versions 3 and 4, which differ in client values only).
    const v2 = heartbeatV2(1, 1);
    const current = new Uint8Array(HEADER_SIZE + 16);
    current.set(v2.subarray(0, 12));
    current[OFF_VERSION] = VERSION;
    current.set(v2.subarray(12, 16), 16);
    current.set(v2.subarray(16), HEADER_SIZE);
    gate.accept(current);
    expect(passed).toEqual(["1:1"]);
    const v3 = current.slice();
    v3[OFF_VERSION] = 3;
    gate.accept(v3);
    gate.accept(heartbeatV2(1, 2));
    gate.accept(heartbeatV2(2, 3));
    // A version-2 hello: 16 bytes, shorter than a current header, still "version".
    gate.accept(new Uint8Array([0x52, 0x50, 2, TYPE_CODES.hello, ...u32(CLUSTER), 0, 1, 0, 0, ...u32(0)]));
    expect(passed).toEqual(["1:1"]);
    expect(drops(counters)).toEqual({ dropped_version: 4 });
  });

  test("a bug behind the gate is no bad input: the handler's error propagates, uncounted", () => {
    const counters = new NetCounters();
    const gate = new CodecGate(CONFIG, 0, new WireAuth([]), counters, () => {
      throw new Error("broken invariant");
    });
    expect(() => gate.accept(encode(hb(1), { cluster: CLUSTER, sender: 1 }))).toThrow("broken invariant");
    expect(drops(counters)).toEqual({});
  });

  test("encodes frames and datagrams as node 0 of this cluster; a message the format cannot carry is counted, not sent", () => {
    const { gate, counters } = gateOf();
    expect(gate.linkWrap).toBeUndefined();
    expect(gate.authenticated).toBe(false);
    expect(decode(gate.encodeFrame(hb(1)) as Uint8Array, CLUSTER)).toEqual({ sender: 0, ring: 0, msg: hb(1) });
    expect(decode(gate.encodeDatagram(hb(2)) as Uint8Array, CLUSTER)).toEqual({ sender: 0, ring: 0, msg: hb(2) });
    expect(gate.encodeFrame({ t: "applied", upTo: -1 })).toBeNull();
    expect(gate.encodeDatagram({ t: "applied", upTo: 1.5 })).toBeNull();
    expect(drops(counters)).toEqual({ dropped_encode: 2 });
  });

  test("encodes with the ring id asked for in the header; a ring id the format cannot carry is counted, not sent", () => {
    const { gate, counters } = gateOf();
    expect(decode(gate.encodeFrame(hb(1), 2) as Uint8Array, CLUSTER)).toEqual({ sender: 0, ring: 2, msg: hb(1) });
    expect(decode(gate.encodeDatagram(hb(2), 65535) as Uint8Array, CLUSTER)).toEqual({ sender: 0, ring: 65535, msg: hb(2) });
    expect(decode(gate.encodeFrame(hb(3), 2) as Uint8Array, CLUSTER)).toEqual({ sender: 0, ring: 2, msg: hb(3) });
    expect(gate.encodeFrame(hb(4), 65536)).toBeNull();
    expect(drops(counters)).toEqual({ dropped_encode: 1 });
  });
});

describe("CodecGate with a cluster key", () => {
  test("a datagram sealed by a member's gate passes; missing, wrong or unknown-key MACs are dropped by reason", () => {
    const sender = new CodecGate(CONFIG, 1, new WireAuth([KEY]), new NetCounters(), () => {});
    const { gate, passed, counters } = gateOf(new WireAuth([KEY]));
    expect(gate.authenticated).toBe(true);
    gate.accept(sender.encodeDatagram(hb(1)) as Uint8Array);
    const flipped = sender.encodeDatagram(hb(2)) as Uint8Array;
    flipped[HEADER_SIZE] = (flipped[HEADER_SIZE] as number) ^ 1;
    gate.accept(flipped);
    const ringFlipped = sender.encodeDatagram(hb(2)) as Uint8Array;
    ringFlipped[OFF_RING + 1] = (ringFlipped[OFF_RING + 1] as number) ^ 1;
    gate.accept(ringFlipped);
    gate.accept(encode(hb(3), { cluster: CLUSTER, sender: 1 }));
    gate.accept(new CodecGate(CONFIG, 1, new WireAuth([OTHER_KEY]), new NetCounters(), () => {}).encodeDatagram(hb(4)) as Uint8Array);
    // A stranger holding the key is still no member.
    gate.accept(new CodecGate({ cluster: CLUSTER, nodes: [{ id: 50 }] }, 50, new WireAuth([KEY]), new NetCounters(), () => {}).encodeDatagram(hb(5)) as Uint8Array);
    expect(passed).toEqual(["1:1"]);
    expect(drops(counters)).toEqual({ dropped_mac_bad: 2, dropped_mac_missing: 1, dropped_mac_key: 1, dropped_unknown_sender: 1 });
  });

  test("a TCP bundle passes as its messages (counted once); a bundle speaking for another member is dropped whole", () => {
    const { gate, passed, counters } = gateOf(new WireAuth([KEY]));
    const h1 = { cluster: CLUSTER, sender: 1 };
    const frames = framesOf([encode(hb(1), h1), encode(hb(2), h1), encode(hb(3), h1)]);
    gate.accept(sealBundle(frames, h1, new WireAuth([KEY])));
    expect(passed).toEqual(["1:1", "1:2", "1:3"]);
    expect(counters.values["tcp_bundles_in"]).toBe(1);

    const forged = framesOf([encode(hb(4), h1), encode(hb(5), { cluster: CLUSTER, sender: 2 })]);
    gate.accept(sealBundle(forged, h1, new WireAuth([KEY])));
    expect(passed).toEqual(["1:1", "1:2", "1:3"]);
    expect(drops(counters)).toEqual({ dropped_bundle: 1 });
    expect(counters.values["tcp_bundles_in"]).toBe(1);
  });

  test("a version-2 TCP bundle under a good MAC is counted as dropped_version, as a version-2 datagram is", () => {
    const { gate, passed, counters } = gateOf(new WireAuth([KEY]));
    const auth = new WireAuth([KEY]);
    const h1 = { cluster: CLUSTER, sender: 1 };
    const bundle = sealBundle(framesOf([encode(hb(1), h1)]), h1, auth);
    bundle[OFF_VERSION] = 2;
    auth.seal(bundle);
    gate.accept(bundle);
    // A datagram as a version-2 node sealed it: HMAC-SHA-256-128 over header and body, the MAC
    // kind and key id in the reserved field (which sits at the same offset in both versions).
    const v2 = heartbeatV2(1, 2);
    v2[10] = 1;
    v2[11] = keyId(KEY);
    gate.accept(Buffer.concat([v2, createHmac("sha256", KEY).update(v2).digest().subarray(0, 16)]));
    expect(passed).toEqual([]);
    expect(drops(counters)).toEqual({ dropped_version: 2 });
  });

  test("frames go without a MAC of their own; the links' wrap seals what they write as one bundle", () => {
    const { gate } = gateOf(new WireAuth([KEY]));
    const frame = gate.encodeFrame(hb(1)) as Uint8Array;
    expect(decode(frame, CLUSTER)).toEqual({ sender: 0, ring: 0, msg: hb(1) });
    const wrap = gate.linkWrap;
    if (!wrap) throw new Error("expected a link wrap with a key");
    const frames = framesOf([frame]);
    const bytes = new Uint8Array(wrap.headBytes + frames.byteLength + wrap.tailBytes(frames.byteLength));
    bytes.set(frames, wrap.headBytes);
    expect(wrap.seal(bytes, frames.byteLength)).toBe(true);
    expect(isBundle(new WireAuth([KEY]).open(bytes.slice()))).toBe(true);
    const got: Msg[] = [];
    new CodecGate(CONFIG, 2, new WireAuth([KEY]), new NetCounters(), (from, msg) => from === 0 && got.push(msg)).accept(bytes);
    expect(got).toEqual([hb(1)]);
  });
});

describe("CodecGate: messages the node ignores whole", () => {
  test("datagrams are dropped before the MAC is checked, counted as spare_2a_unopened; TCP frames and everything else go on as before", () => {
    const auth = new WireAuth([KEY]);
    const counters = new NetCounters();
    const passed: string[] = [];
    const isTwoA = (b: Uint8Array): boolean => b[3] === TYPE_CODES["2a"];
    const gate = new CodecGate(CONFIG, 0, auth, counters, (_from, msg) => passed.push(msg.t), isTwoA);
    const seal = (m: Msg): Uint8Array => auth.seal(encode(m, { cluster: CLUSTER, sender: 1 }, auth.trailerBytes));
    const twoA: Msg = { t: "2a", rnd: 3, instance: 0, ring: [1], decisions: [], batch: { vid: "3.0", values: [] } };
    gate.accept(seal(twoA), true);
    const forged = seal(twoA);
    forged[forged.byteLength - 1] = (forged.at(-1) as number) ^ 1;
    gate.accept(forged, true);
    gate.accept(seal(hb(1)), true);
    expect(passed).toEqual(["heartbeat"]);
    expect(counters.values["spare_2a_unopened"]).toBe(2);
    expect(drops(counters)).toEqual({});
    // The same bytes as a TCP frame are checked and counted under their reason (no 2A travels so).
    gate.accept(forged, false);
    expect(counters.values["spare_2a_unopened"]).toBe(2);
    expect(drops(counters)).toEqual({ dropped_mac_bad: 1 });
  });
});

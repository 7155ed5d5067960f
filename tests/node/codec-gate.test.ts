import { describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import type { Msg, NodeId } from "../../src/core/types.ts";
import { CodecGate } from "../../src/node/codec-gate.ts";
import { NetCounters } from "../../src/node/net-counters.ts";
import { isBundle } from "../../src/wire/bundle.ts";
import { decode, encode, HEADER_SIZE, keyId, WireAuth } from "../../src/wire/index.ts";
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

/** A gate of node 0 and what it let through, as "from:seq". */
function gateOf(auth = new WireAuth([])): { gate: CodecGate; passed: string[]; counters: NetCounters } {
  const counters = new NetCounters();
  const passed: string[] = [];
  const gate = new CodecGate(CONFIG, 0, auth, counters, (from: NodeId, msg: Msg) => passed.push(`${from}:${msg.t === "heartbeat" ? msg.seq : msg.t}`));
  return { gate, passed, counters };
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
    expect(decode(gate.encodeFrame(hb(1)) as Uint8Array, CLUSTER)).toEqual({ sender: 0, msg: hb(1) });
    expect(decode(gate.encodeDatagram(hb(2)) as Uint8Array, CLUSTER)).toEqual({ sender: 0, msg: hb(2) });
    expect(gate.encodeFrame({ t: "applied", upTo: -1 })).toBeNull();
    expect(gate.encodeDatagram({ t: "applied", upTo: 1.5 })).toBeNull();
    expect(drops(counters)).toEqual({ dropped_encode: 2 });
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
    gate.accept(encode(hb(3), { cluster: CLUSTER, sender: 1 }));
    gate.accept(new CodecGate(CONFIG, 1, new WireAuth([OTHER_KEY]), new NetCounters(), () => {}).encodeDatagram(hb(4)) as Uint8Array);
    // A stranger holding the key is still no member.
    gate.accept(new CodecGate({ cluster: CLUSTER, nodes: [{ id: 50 }] }, 50, new WireAuth([KEY]), new NetCounters(), () => {}).encodeDatagram(hb(5)) as Uint8Array);
    expect(passed).toEqual(["1:1"]);
    expect(drops(counters)).toEqual({ dropped_mac_bad: 1, dropped_mac_missing: 1, dropped_mac_key: 1, dropped_unknown_sender: 1 });
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

  test("frames go without a MAC of their own; the links' wrap seals what they write as one bundle", () => {
    const { gate } = gateOf(new WireAuth([KEY]));
    const frame = gate.encodeFrame(hb(1)) as Uint8Array;
    expect(decode(frame, CLUSTER)).toEqual({ sender: 0, msg: hb(1) });
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

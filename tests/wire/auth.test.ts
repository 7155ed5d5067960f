import { describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { decode, encode, OFF_RING, OFF_SPARE, TAG_BYTES, WireAuth } from "../../src/wire/index.ts";
import { GMAC_TRAILER_BYTES, MAX_PEER_KEYS } from "../../src/wire/auth.ts";
import { portableGmac } from "../../src/wire/gmac.ts";
import type { Msg } from "../../src/core/types.ts";
import { reason } from "./helpers.ts";

const H = { cluster: 7, sender: 3 };
const msg: Msg = { t: "decision", decisions: [{ instance: 5, vid: "17.5" }] };
const A = randomBytes(32);
/** Large enough for GMAC whichever implementation the host has. */
const big: Msg = { t: "value", v: { client: 9, seq: 1, payload: new Uint8Array(portableGmac.minBytes).fill(7) }, hops: 0 };
const B = randomBytes(32);

function sealed(auth: WireAuth, m: Msg = msg): Uint8Array {
  return auth.seal(encode(m, H, auth.trailerBytes));
}

describe("wire authentication (HMAC-SHA-256-128 or per-sender GMAC over header and body)", () => {
  test("a sealed message opens with the key and decodes to the same message; the tag adds 16 bytes", () => {
    const auth = new WireAuth([A]);
    const b = sealed(auth);
    expect(b.byteLength).toBe(encode(msg, H).byteLength + TAG_BYTES);
    expect(decode(auth.open(b), 7)).toEqual({ sender: 3, ring: 0, msg });
  });

  const ringed = { ...H, ring: 0x0102 };

  test("the ring id is covered: a message of ring r opens as of ring r, and a flipped bit in the ring id or spare field fails the MAC", () => {
    for (const m of [msg, big]) {
      const auth = new WireAuth([A]);
      const b = auth.seal(encode(m, ringed, auth.trailerBytes));
      expect(decode(new WireAuth([A]).open(b.slice()), 7)).toEqual({ sender: 3, ring: 0x0102, msg: m });
      for (const at of [OFF_RING, OFF_RING + 1, OFF_SPARE, OFF_SPARE + 1])
        for (const bit of [0, 7]) {
          const x = b.slice();
          x[at] = (x[at] as number) ^ (1 << bit);
          expect(reason(() => new WireAuth([A]).open(x))).toBe("mac-bad");
        }
      // Moved to another ring wholesale (ring 0: the default): still refused.
      const moved = b.slice();
      moved[OFF_RING] = 0;
      moved[OFF_RING + 1] = 0;
      expect(reason(() => new WireAuth([A]).open(moved))).toBe("mac-bad");
    }
  });

  test("no MAC, a wrong key, an unknown key id, a flipped bit in header or body: each refused with its reason", () => {
    const auth = new WireAuth([A]);
    expect(reason(() => auth.open(encode(msg, H)))).toBe("mac-missing");
    expect(reason(() => auth.open(sealed(new WireAuth([B]))))).toBe("mac-key");
    const forgedId = sealed(new WireAuth([B]));
    forgedId[11] = sealed(auth)[11] as number; // the real key's id, with B's tag
    expect(reason(() => auth.open(forgedId))).toBe("mac-bad");
    for (const at of [8, 20]) {
      const b = sealed(auth);
      b[at] = (b[at] as number) ^ 1; // the sender id; a byte of the body
      expect(reason(() => auth.open(b))).toBe("mac-bad");
    }
  });

  test("without keys messages pass unchanged and a tagged one is refused (it cannot be checked)", () => {
    const none = new WireAuth([]);
    const plain = encode(msg, H);
    expect(none.open(plain)).toBe(plain);
    expect(reason(() => none.open(sealed(new WireAuth([A]))))).toBe("mac-unexpected");
  });

  test("rotation: [B, A] opens what [A, B] and [B] sealed, and seals with B", () => {
    const rotating = new WireAuth([B, A]);
    expect(decode(rotating.open(sealed(new WireAuth([A, B]))), 7).msg).toEqual(msg);
    expect(decode(new WireAuth([B]).open(sealed(rotating)), 7).msg).toEqual(msg);
    expect(reason(() => new WireAuth([A]).open(sealed(rotating)))).toBe("mac-key");
  });

  test("a large message is sealed with GMAC: a 32-byte trailer, opens with the key, each refusal with its reason", () => {
    const auth = new WireAuth([A]);
    const b = sealed(auth, big);
    expect(b.byteLength).toBe(encode(big, H).byteLength + GMAC_TRAILER_BYTES);
    expect(decode(new WireAuth([A]).open(b), 7)).toEqual({ sender: 3, ring: 0, msg: big });
    expect(reason(() => new WireAuth([B]).open(sealed(auth, big)))).toBe("mac-key");
    expect(reason(() => new WireAuth([]).open(sealed(auth, big)))).toBe("mac-unexpected");
    // A flipped bit anywhere: the sender id, the body, the epoch, the counter, the tag.
    for (const at of [8, 40, b.byteLength - 30, b.byteLength - 20, b.byteLength - 1]) {
      const x = sealed(auth, big);
      x[at] = (x[at] as number) ^ 1;
      expect(reason(() => new WireAuth([A]).open(x))).toBe("mac-bad");
    }
  });

  test("GMAC nonces never repeat: every message of one sender has its own counter, every sender incarnation its own epoch", () => {
    const trailerOf = (b: Uint8Array) => Buffer.from(b.subarray(b.byteLength - GMAC_TRAILER_BYTES, b.byteLength - TAG_BYTES)).toString("hex");
    const one = new WireAuth([A]);
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++) seen.add(trailerOf(sealed(one, big)));
    const other = new WireAuth([A]); // a restarted process: a fresh epoch
    for (let i = 0; i < 100; i++) seen.add(trailerOf(sealed(other, big)));
    expect(seen.size).toBe(200);
    // The receiver derives each sender incarnation's key and opens both.
    const rx = new WireAuth([A]);
    expect(decode(rx.open(sealed(one, big)), 7).msg).toEqual(big);
    expect(decode(rx.open(sealed(other, big)), 7).msg).toEqual(big);
  });

  test("a receiver keeps opening a sender's incarnations as they alternate, and past MAX_PEER_KEYS of them (the key cache evicts, derives again)", () => {
    const rx = new WireAuth([A]);
    const first = new WireAuth([A]);
    const second = new WireAuth([A]);
    for (let i = 0; i < 3; i++)
      for (const tx of [first, second]) expect(decode(rx.open(sealed(tx, big)), 7).msg).toEqual(big);
    for (let i = 0; i < MAX_PEER_KEYS + 5; i++) expect(decode(rx.open(sealed(new WireAuth([A]), big)), 7).msg).toEqual(big);
    // The first incarnation's key was evicted long ago: derived again, its messages still open, and forgeries still fail.
    expect(decode(rx.open(sealed(first, big)), 7).msg).toEqual(big);
    const forged = sealed(first, big);
    forged[forged.byteLength - 1] = (forged[forged.byteLength - 1] as number) ^ 1;
    expect(reason(() => rx.open(forged))).toBe("mac-bad");
  });

  test("rotation with GMAC: [B, A] opens what [A, B] sealed, and seals with B", () => {
    const rotating = new WireAuth([B, A]);
    expect(decode(rotating.open(sealed(new WireAuth([A, B]), big)), 7).msg).toEqual(big);
    expect(decode(new WireAuth([B]).open(sealed(rotating, big)), 7).msg).toEqual(big);
  });
});

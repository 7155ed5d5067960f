import { describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { hostGmac, portableGmac } from "../../src/wire/gmac.ts";
import { openSslGmac } from "../../src/wire/gmac-openssl.ts";
import { decode, encode, TAG_BYTES, WireAuth } from "../../src/wire/index.ts";
import { GMAC_TRAILER_BYTES } from "../../src/wire/auth.ts";
import type { Msg } from "../../src/core/types.ts";
import { reason } from "./helpers.ts";

// Where the fast path is present (Bun with OpenSSL 3: this project's CI), it is checked against
// node:crypto; where it is absent, gmacFactory must fall back to node:crypto.
const native = openSslGmac();
const H = { cluster: 7, sender: 3 };

describe("GMAC: the OpenSSL fast path and node:crypto give the same tags", () => {
  test("the fast path is found under Bun on a host with libcrypto.so.3, and is what hostGmac() picks (unless PAXOS_GMAC=node)", () => {
    const hasBun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";
    if (hasBun && process.platform === "linux") expect(native).not.toBeNull();
    if (native === null || process.env["PAXOS_GMAC"] === "node") expect(hostGmac()).toBe(portableGmac);
    else expect(hostGmac()).not.toBe(portableGmac);
  });

  test("random keys, nonces, sizes 0 to 70,000 bytes and unaligned views: identical tags; a changed byte changes the tag", () => {
    if (native === null) return;
    const pool = new Uint8Array(randomBytes(70_100));
    for (let i = 0; i < 60; i++) {
      const key = new Uint8Array(randomBytes(32));
      const nonce = new Uint8Array(randomBytes(12));
      const size = i < 5 ? i : Math.floor(Math.random() * 70_000);
      const from = Math.floor(Math.random() * 100);
      const data = pool.subarray(from, from + size);
      const [a, b] = [native.key(key), portableGmac.key(key)];
      const tag = a.tag(nonce, data);
      expect(Buffer.from(tag).toString("hex")).toBe(Buffer.from(b.tag(nonce, data)).toString("hex"));
      if (size > 0) {
        const changed = new Uint8Array(data);
        changed[size - 1] = (changed[size - 1] as number) ^ 0x80;
        expect(Buffer.from(a.tag(nonce, changed)).equals(Buffer.from(tag))).toBe(false);
      }
      // The context is re-armed per message: the same message under the same nonce gives the same tag again.
      expect(Buffer.from(a.tag(nonce, data)).equals(Buffer.from(tag))).toBe(true);
      a.free();
    }
  });

  test("a freed key refuses to compute (no use of a released native context); free twice is harmless", () => {
    if (native === null) return;
    const k = native.key(new Uint8Array(32));
    k.free();
    k.free();
    expect(() => k.tag(new Uint8Array(12), new Uint8Array(8))).toThrow("after free");
  });

  test("WireAuth with either implementation opens what the other sealed, and refuses a flipped bit", () => {
    if (native === null) return;
    const secret = randomBytes(32);
    const big: Msg = { t: "value", v: { client: 9, seq: 1, payload: new Uint8Array(randomBytes(9000)) }, hops: 0 };
    // Each implementation picks GMAC from its own size on (node:crypto's set-up costs more); a
    // receiver opens either kind whatever its own choice.
    const mid: Msg = { t: "value", v: { client: 9, seq: 2, payload: new Uint8Array(300).fill(5) }, hops: 0 };
    const fast = new WireAuth([secret], native);
    const midSealed = fast.seal(encode(mid, H, fast.trailerBytes));
    expect(midSealed.byteLength - encode(mid, H).byteLength).toBe(GMAC_TRAILER_BYTES);
    expect(new WireAuth([secret], portableGmac).trailerBytes(encode(mid, H).byteLength)).toBe(TAG_BYTES);
    expect(decode(new WireAuth([secret], portableGmac).open(midSealed), 7).msg).toEqual(mid);
    for (const [tx, rx] of [[native, portableGmac], [portableGmac, native]] as const) {
      const sender = new WireAuth([secret], tx);
      const receiver = new WireAuth([secret], rx);
      const b = sender.seal(encode(big, H, sender.trailerBytes));
      const flipped = new Uint8Array(b);
      flipped[100] = (flipped[100] as number) ^ 1;
      expect(decode(receiver.open(b), 7).msg).toEqual(big);
      expect(reason(() => receiver.open(flipped))).toBe("mac-bad");
    }
  });
});

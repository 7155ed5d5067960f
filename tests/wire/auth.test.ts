import { describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { decode, DecodeError, encode, TAG_BYTES, WireAuth } from "../../src/wire/index.ts";
import type { Msg } from "../../src/core/types.ts";

const H = { cluster: 7, sender: 3 };
const msg: Msg = { t: "decision", decisions: [{ instance: 5, vid: "17.5" }] };
const A = randomBytes(32);
const B = randomBytes(32);

function sealed(auth: WireAuth, m: Msg = msg): Uint8Array {
  return auth.seal(encode(m, H, auth.trailerBytes));
}
function reason(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof DecodeError) return e.reason;
    throw e;
  }
  return "accepted";
}

describe("wire authentication (HMAC-SHA-256-128 over header and body)", () => {
  test("a sealed message opens with the key and decodes to the same message; the tag adds 16 bytes", () => {
    const auth = new WireAuth([A]);
    const b = sealed(auth);
    expect(b.byteLength).toBe(encode(msg, H).byteLength + TAG_BYTES);
    expect(decode(auth.open(b), 7)).toEqual({ sender: 3, msg });
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
});

import { describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { decode, encode, OFF_RING, OFF_SPARE, OFF_VERSION, WireAuth } from "../../src/wire/index.ts";
import { isBundle, splitBundle } from "../../src/wire/bundle.ts";
import type { Msg } from "../../src/core/types.ts";
import { framesOf, reason, sealBundle } from "./helpers.ts";

const H = { cluster: 7, sender: 3 };
const A = randomBytes(32);
const msgs: Msg[] = [
  { t: "heartbeat", rnd: 5, seq: 1 },
  { t: "value", v: { client: 9, seq: 2, payload: new Uint8Array(5000).fill(1) }, hops: 0 },
  { t: "applied", upTo: 12 },
];


describe("bundles: one MAC for the frames of one TCP write", () => {
  test("a sealed bundle opens with the key and splits into the messages, in order", () => {
    const b = sealBundle(framesOf(msgs.map((m) => encode(m, H))), H, new WireAuth([A]));
    const opened = new WireAuth([A]).open(b);
    expect(isBundle(opened)).toBe(true);
    expect(splitBundle(opened, 7).map((m) => decode(m, 7).msg)).toEqual(msgs);
  });

  test("a flipped bit anywhere in a bundle fails its MAC; a message of another sender inside, or a torn frame, is refused", () => {
    const b = sealBundle(framesOf(msgs.map((m) => encode(m, H))), H, new WireAuth([A]));
    for (const at of [9, 30, 2000, b.byteLength - 1]) {
      const x = b.slice();
      x[at] = (x[at] as number) ^ 1;
      expect(reason(() => new WireAuth([A]).open(x))).toBe("mac-bad");
    }
    // An authenticated member cannot speak for another one inside its bundle.
    const other = sealBundle(framesOf([encode(msgs[0] as Msg, H), encode(msgs[2] as Msg, { cluster: 7, sender: 4 })]), H, new WireAuth([A]));
    expect(reason(() => splitBundle(new WireAuth([A]).open(other), 7))).toBe("bundle");
    const frames = framesOf([encode(msgs[0] as Msg, H)]);
    const torn = sealBundle(frames.subarray(0, frames.byteLength - 3), H, new WireAuth([A]));
    expect(reason(() => splitBundle(new WireAuth([A]).open(torn), 7))).toBe("bundle");
    expect(reason(() => splitBundle(new WireAuth([A]).open(sealBundle(frames, { cluster: 8, sender: 3 }, new WireAuth([A]))), 7))).toBe("bundle");
  });

  test("a bundle (ring 0 itself) carries messages of several rings, each keeping its own ring id", () => {
    const auth = new WireAuth([A]);
    const rings = [0, 5, 0xffff];
    const b = sealBundle(framesOf(msgs.map((m, i) => encode(m, { ...H, ring: rings[i] as number }))), H, auth);
    expect(b[OFF_RING]).toBe(0);
    expect(b[OFF_RING + 1]).toBe(0);
    expect(splitBundle(new WireAuth([A]).open(b), 7).map((m) => decode(m, 7))).toEqual(msgs.map((msg, i) => ({ sender: 3, ring: rings[i] as number, msg })));
  });

  test("a bundle header with a ring id or spare set, or of another format version, is refused even under a good MAC", () => {
    const auth = new WireAuth([A]);
    const frames = framesOf([encode(msgs[0] as Msg, H)]);
    for (const [at, x, why] of [
      [OFF_RING + 1, 1, "bundle"],
      [OFF_SPARE, 0x80, "bundle"],
      [OFF_VERSION, 2, "version"],
    ] as const) {
      const b = sealBundle(frames, H, auth);
      b[at] = x;
      auth.seal(b); // re-sealed: a member's bundle as it sent it
      expect(reason(() => splitBundle(new WireAuth([A]).open(b), 7))).toBe(why);
    }
  });

  test("without a key a bundle is no message: refused as tagged, or as an unknown type", () => {
    const b = sealBundle(framesOf(msgs.map((m) => encode(m, H))), H, new WireAuth([A]));
    expect(reason(() => new WireAuth([]).open(b))).toBe("mac-unexpected");
    const plain = sealBundle(framesOf(msgs.map((m) => encode(m, H))), H, new WireAuth([]));
    expect(reason(() => decode(new WireAuth([]).open(plain), 7))).toBe("type");
  });
});

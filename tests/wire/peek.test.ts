import { describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import type { Msg } from "../../src/core/types.ts";
import { encode, WireAuth } from "../../src/wire/index.ts";
import { spare2a } from "../../src/wire/peek.ts";

const H = { cluster: 4, sender: 1 };
const twoA = (ring: number[]): Msg => ({
  t: "2a",
  rnd: 2 ** 40 + 17,
  instance: 2 ** 33 + 5,
  ring,
  decisions: [{ instance: 3, vid: "17.3" }],
  batch: { vid: "17.4", values: [{ client: 9, seq: 1, payload: new Uint8Array(8192).fill(7) }] },
});

describe("spare2a: a spare's 2A told from its bytes before the MAC", () => {
  test("a 2A of a listed ring whose ring of acceptors lacks the node, plain or sealed", () => {
    const plain = encode(twoA([2, 3, 1]), H);
    expect(spare2a(plain, new Set([0]), 4)).toBe(true);
    const auth = new WireAuth([randomBytes(32)]);
    expect(spare2a(auth.seal(encode(twoA([2, 3, 1]), H, auth.trailerBytes)), new Set([0]), 4)).toBe(true);
    expect(spare2a(encode(twoA([2, 3, 1]), { ...H, ring: 7 }), new Set([7]), 4)).toBe(true);
  });

  test("not when the node is on the ring, the ring is not listed, or the message is another type", () => {
    for (const node of [1, 2, 3]) expect(spare2a(encode(twoA([2, 3, 1]), H), new Set([0]), node)).toBe(false);
    expect(spare2a(encode(twoA([2, 3, 1]), { ...H, ring: 7 }), new Set([0]), 4)).toBe(false);
    expect(spare2a(encode({ t: "heartbeat", rnd: 3, seq: 1 }, H), new Set([0]), 4)).toBe(false);
    expect(spare2a(encode({ t: "2b", rnd: 3, instance: 1, vid: "3.1", ring: [2, 3, 1], voters: [2] }, H), new Set([0]), 4)).toBe(false);
  });

  test("malformed bytes are left to the gate's checks: a cut-off ring, an empty ring, too short", () => {
    const bytes = encode(twoA([2, 3, 1]), H);
    expect(spare2a(bytes.subarray(0, 20 + 16 + 1 + 4), new Set([0]), 4)).toBe(false);
    expect(spare2a(bytes.subarray(0, 20 + 16), new Set([0]), 4)).toBe(false);
    const empty = bytes.slice();
    empty[20 + 16] = 0;
    expect(spare2a(empty, new Set([0]), 4)).toBe(false);
    // Another format version (or not this protocol at all) is the gate's to count, not a spare's 2A.
    const other = bytes.slice();
    other[2] = (other[2] as number) + 1;
    expect(spare2a(other, new Set([0]), 4)).toBe(false);
    const foreign = bytes.slice();
    foreign[0] = 0;
    expect(spare2a(foreign, new Set([0]), 4)).toBe(false);
  });
});

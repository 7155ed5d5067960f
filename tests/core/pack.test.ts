import { describe, expect, test } from "bun:test";
import { MAX_PACK_VALUES, packPayload, unpack } from "../../src/core/pack.ts";
import type { ClientValue } from "../../src/core/types.ts";

const p = (...b: number[]): Uint8Array => new Uint8Array(b);

describe("packs", () => {
  test("a pack's payload is each value's u32 length and bytes; unpacking gives the values with consecutive seqs, as views", () => {
    const payload = packPayload([p(1, 2), p(), p(3)]);
    expect([...payload]).toEqual([0, 0, 0, 2, 1, 2, 0, 0, 0, 0, 0, 0, 0, 1, 3]);
    const inner = unpack({ client: 9, seq: 40, payload, packed: 3 });
    expect(inner).toEqual([
      { client: 9, seq: 40, payload: p(1, 2) },
      { client: 9, seq: 41, payload: p() },
      { client: 9, seq: 42, payload: p(3) },
    ]);
    expect(inner?.[0]?.payload.buffer).toBe(payload.buffer);
  });

  test("the group rides with every value of a pack", () => {
    const inner = unpack({ client: 1, seq: 0, payload: packPayload([p(1), p(2)]), packed: 2, group: 4 });
    expect(inner?.map((v) => v.group)).toEqual([4, 4]);
  });

  test("a pack that does not hold exactly the values it claims is refused whole", () => {
    const good = packPayload([p(1), p(2, 3)]);
    const bad: ClientValue[] = [
      { client: 1, seq: 0, payload: good, packed: 3 }, // claims more
      { client: 1, seq: 0, payload: new Uint8Array([...good, 9]), packed: 2 }, // a trailing byte
      { client: 1, seq: 0, payload: good.subarray(0, good.byteLength - 1), packed: 2 }, // cut inside the last value
      { client: 1, seq: 0, payload: good.subarray(0, 6), packed: 2 }, // cut inside a length
      { client: 1, seq: 0, payload: p(0xff, 0xff, 0xff, 0xff, 1), packed: 2 }, // a length beyond the payload
    ];
    for (const v of bad) expect(unpack(v)).toBeNull();
    expect(unpack({ client: 1, seq: 0, payload: good, packed: 2 })).toHaveLength(2);
  });

  test("a pack of the most values round-trips", () => {
    const payloads = Array.from({ length: MAX_PACK_VALUES }, (_, i) => p(i & 0xff));
    const inner = unpack({ client: 2, seq: 7, payload: packPayload(payloads), packed: MAX_PACK_VALUES });
    expect(inner?.map((v) => v.payload[0])).toEqual(payloads.map((x) => x[0]));
    expect(inner?.at(-1)?.seq).toBe(7 + MAX_PACK_VALUES - 1);
  });
});

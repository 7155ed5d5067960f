import { describe, expect, test } from "bun:test";
import { checksum, decodeBody, encodeRecord, readHeader, RECORD_HEADER_BYTES, RecordError, RecordType, type WalRecord } from "../../src/ledger/record.ts";
import { vote } from "./helpers.ts";

function bodyOf(bytes: Uint8Array): Uint8Array {
  return bytes.subarray(RECORD_HEADER_BYTES);
}

describe("write-ahead-log records", () => {
  test("every kind of record round-trips through its frame, payload bytes included", () => {
    const records: WalRecord[] = [
      { k: "promise", rnd: 2 ** 50 },
      vote(7, 33, 8192),
      { k: "vote", instance: 8, vrnd: 33, batch: { vid: "33.8", values: [] } },
      { k: "vote", instance: 10, vrnd: 33, batch: { vid: "33.10", values: [], skip: 250 } },
      { k: "vote", instance: 11, vrnd: 33, batch: { vid: "33.11", values: [{ client: 4, seq: 9, payload: new Uint8Array([7]), group: 3 }] } },
      // Packs (core/pack.ts), with a group and without one.
      { k: "vote", instance: 12, vrnd: 33, batch: { vid: "33.12", values: [{ client: 4, seq: 10, payload: new Uint8Array([0, 0, 0, 1, 7, 0, 0, 0, 0]), packed: 2 }, { client: 5, seq: 1, payload: new Uint8Array(8), group: 2, packed: 2 }] } },
      { k: "vote", instance: 9, vrnd: 33, batch: { vid: "33.9", values: [{ client: 1, seq: 0, payload: new Uint8Array(0) }, { client: 2 ** 32 - 1, seq: 2 ** 53 - 1, payload: new Uint8Array([1, 2, 3]) }] } },
      { k: "decision", instance: 7, vid: "33.7" },
      { k: "trim", below: 5 },
      { k: "checkpoint", rnd: 33, trimmedBelow: 5 },
    ];
    for (const r of records) {
      const bytes = encodeRecord(r);
      const h = readHeader(bytes, 0);
      expect(h).not.toBeNull();
      expect(h?.length).toBe(bytes.length - RECORD_HEADER_BYTES);
      expect(h?.bodyCrc).toBe(checksum(bodyOf(bytes)));
      expect(decodeBody(h?.type ?? 0, bodyOf(bytes))).toEqual(r);
    }
  });

  test("a skip vote with values, or skipping nothing, is refused as corrupt", () => {
    const withValues = encodeRecord({ k: "vote", instance: 1, vrnd: 3, batch: { vid: "3.1", values: [{ client: 1, seq: 1, payload: new Uint8Array(1) }], skip: 2 } });
    expect(() => decodeBody(RecordType.Vote, bodyOf(withValues))).toThrow(RecordError);
    const none = encodeRecord({ k: "vote", instance: 1, vrnd: 3, batch: { vid: "3.1", values: [], skip: 0 } });
    expect(() => decodeBody(RecordType.Vote, bodyOf(none))).toThrow(RecordError);
  });

  test("a header with any flipped bit fails its own checksum", () => {
    const bytes = encodeRecord(vote(1, 1));
    for (let bit = 0; bit < 12 * 8; bit++) {
      const b = bytes.slice();
      b[bit >> 3] = (b[bit >> 3] as number) ^ (1 << (bit & 7));
      expect(readHeader(b, 0)).toBeNull();
    }
  });

  test("a body whose checksum matches but whose shape is wrong is refused, never trusted", () => {
    const v = bodyOf(encodeRecord(vote(3, 4, 10)));
    const extra = new Uint8Array(v.length + 1);
    extra.set(v);
    expect(() => decodeBody(RecordType.Vote, extra)).toThrow(/1 bytes after the last payload/);
    expect(() => decodeBody(RecordType.Vote, v.subarray(0, v.length - 1))).toThrow(/runs past the body/);
    expect(() => decodeBody(RecordType.Vote, v.subarray(0, 3))).toThrow(RecordError);
    const promise = bodyOf(encodeRecord({ k: "promise", rnd: 5 }));
    expect(() => decodeBody(RecordType.Decision, promise)).toThrow(/decision: expected an array of 2/);
    expect(() => decodeBody(99, promise)).toThrow(/unknown record type 99/);
    expect(() => decodeBody(RecordType.Promise, bodyOf(encodeRecord({ k: "trim", below: 0 })).map(() => 0xff))).toThrow(RecordError);
  });
});

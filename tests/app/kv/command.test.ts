import { describe, expect, test } from "bun:test";
import { encode } from "cbor-x";
import { type Command, CommandError, decodeRequest, encodeRequest, MAX_KEY_BYTES, MAX_RANGE_LIMIT, MAX_VALUE_BYTES, type Request } from "../../../src/app/kv/command.ts";

const k = new TextEncoder().encode("k");
const v = new TextEncoder().encode("v");

describe("key-value commands on the log", () => {
  test("every command survives its encoding", () => {
    const commands: Command[] = [
      { op: "put", key: k, value: v },
      { op: "get", key: k },
      { op: "delete", key: k },
      { op: "insert", key: k, value: new Uint8Array(0) },
      { op: "update", key: k, value: v },
      { op: "cas", key: k, expected: 0, value: v },
      { op: "range", from: new Uint8Array(0), to: null, limit: 10 },
      { op: "range", from: k, to: v, limit: 1 },
    ];
    for (const command of commands) {
      const r: Request = { client: 2 ** 52 + 7, seq: 9, command };
      const back = decodeRequest(encodeRequest(r));
      expect(back).not.toBeInstanceOf(CommandError);
      expect(JSON.stringify(back, (_, x) => (x instanceof Uint8Array ? [...x] : x))).toBe(JSON.stringify(r, (_, x) => (x instanceof Uint8Array ? [...x] : x)));
    }
  });

  test("bounds are enforced when encoding, with a message naming the field", () => {
    const bad: [Request, string][] = [
      [{ client: 1, seq: 1, command: { op: "put", key: new Uint8Array(MAX_KEY_BYTES + 1), value: v } }, "key"],
      [{ client: 1, seq: 1, command: { op: "put", key: new Uint8Array(0), value: v } }, "key"],
      [{ client: 1, seq: 1, command: { op: "put", key: k, value: new Uint8Array(MAX_VALUE_BYTES + 1) } }, "value"],
      [{ client: 1, seq: 0, command: { op: "get", key: k } }, "seq"],
      [{ client: -1, seq: 1, command: { op: "get", key: k } }, "client"],
      [{ client: 1, seq: 1, command: { op: "range", from: k, to: null, limit: MAX_RANGE_LIMIT + 1 } }, "limit"],
      [{ client: 1, seq: 1, command: { op: "cas", key: k, expected: -2, value: v } }, "expected"],
    ];
    for (const [r, field] of bad) expect(() => encodeRequest(r)).toThrow(field);
  });

  test("malformed log values decode to a CommandError, never a throw", () => {
    const inputs = [new Uint8Array([0xff, 0x00]), encode([1, 2]), encode("text"), encode({ c: 1, s: 1, o: "drop", k: k }), encode({ c: 1, s: 1, o: "put", k: "not bytes", v }), encode({ c: 1.5, s: 1, o: "get", k }), new Uint8Array(0)];
    for (const b of inputs) expect(decodeRequest(b)).toBeInstanceOf(CommandError);
  });
});

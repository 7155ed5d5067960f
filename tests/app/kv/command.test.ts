import { describe, expect, test } from "bun:test";
import { encode } from "cbor-x";
import { type Command, CommandError, decodeRequest, encodeRequest, MAX_BATCH_OPS, MAX_KEY_BYTES, MAX_PARTITIONS, MAX_RANGE_LIMIT, MAX_VALUE_BYTES, type Request } from "../../../src/app/kv/command.ts";
import { batchOps } from "../../../src/app/kv/batch-json.ts";

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
      { op: "range", from: k, to: null, limit: 5, partition: 3 },
      { op: "batch", ops: [{ op: "put", key: k, value: v }, { op: "delete", key: v }] },
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
      [{ client: 1, seq: 1, command: { op: "range", from: k, to: null, limit: 1, partition: MAX_PARTITIONS } }, "partition"],
      [{ client: 1, seq: 1, command: { op: "batch", ops: [] } }, "batch"],
      [{ client: 1, seq: 1, command: { op: "batch", ops: Array.from({ length: MAX_BATCH_OPS + 1 }, () => ({ op: "delete" as const, key: k })) } }, "batch"],
      [{ client: 1, seq: 1, command: { op: "batch", ops: [{ op: "put", key: k, value: v }, { op: "put", key: new Uint8Array(0), value: v }] } }, "batch[1].key"],
      [{ client: 1, seq: 1, command: { op: "batch", ops: [{ op: "put", key: k, value: new Uint8Array(MAX_VALUE_BYTES + 1) }] } }, "batch[0].value"],
    ];
    for (const [r, field] of bad) expect(() => encodeRequest(r)).toThrow(field);
  });

  test("malformed log values decode to a CommandError, never a throw", () => {
    const inputs = [new Uint8Array([0xff, 0x00]), encode([1, 2]), encode("text"), encode({ c: 1, s: 1, o: "drop", k: k }), encode({ c: 1, s: 1, o: "put", k: "not bytes", v }), encode({ c: 1.5, s: 1, o: "get", k }), new Uint8Array(0), encode({ c: 1, s: 1, o: "batch", b: "x" }), encode({ c: 1, s: 1, o: "batch", b: [[2, k]] }), encode({ c: 1, s: 1, o: "batch", b: [[0, k]] })];
    for (const b of inputs) expect(decodeRequest(b)).toBeInstanceOf(CommandError);
  });

  test("a batch's JSON body: puts (UTF-8 or base64 values) and deletes; anything else one line naming the write", () => {
    const j = (x: unknown) => new TextEncoder().encode(JSON.stringify(x));
    expect(batchOps(j({ ops: [{ op: "put", key: "a", value: "1" }, { op: "put", key: "b", value: "AAE=", encoding: "base64" }, { op: "delete", key: "c" }] }))).toEqual([
      { op: "put", key: new TextEncoder().encode("a"), value: new TextEncoder().encode("1") },
      { op: "put", key: new TextEncoder().encode("b"), value: new Uint8Array([0, 1]) },
      { op: "delete", key: new TextEncoder().encode("c") },
    ]);
    expect(batchOps(new TextEncoder().encode("{"))).toStartWith("the batch is not JSON");
    expect(batchOps(j({ ops: [] }))).toStartWith("ops: expected a list");
    expect(batchOps(j({ ops: [{ op: "put", key: "a" }] }))).toBe("ops[0]: value: expected a string");
    expect(batchOps(j({ ops: [{ op: "put", key: "a", value: "x" }, { op: "cas", key: "a" }] }))).toBe('ops[1]: op: put or delete, not "cas"');
    expect(batchOps(j({ ops: [{ op: "delete", key: "" }] }))).toBe("ops[0]: key: expected a non-empty string");
  });
});

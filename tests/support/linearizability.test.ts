import { describe, expect, test } from "bun:test";
import { checkHistory, type KvInput, type KvOutput, type Operation } from "./linearizability.ts";

/** An operation on key "k" from `client`, called at `call` and returned at `ret`. */
function op(client: number, call: number, ret: number, input: KvInput, output: KvOutput | null, key = "k"): Operation {
  return { client, key, input, output, call, ret };
}
const put = (value: string, revision: number, prev: number) => ({ input: { op: "put", value } as KvInput, output: { ok: true, revision, prev } as KvOutput });
const get = (value: string, revision: number) => ({ input: { op: "get" } as KvInput, output: { ok: true, value, revision } as KvOutput });

describe("linearizability checker (Wing & Gong, per key)", () => {
  test("sequential and overlapping histories with a valid order pass", () => {
    const w1 = put("a", 10, 0);
    const w2 = put("b", 20, 10);
    const r = get("a", 10);
    // r overlaps w2: it may be ordered before it.
    expect(checkHistory([op(1, 0, 1, w1.input, w1.output), op(2, 2, 6, w2.input, w2.output), op(3, 3, 5, r.input, r.output)]).ok).toBe(true);
    // Concurrent writes in either order, a read of the later one.
    const h = [op(1, 0, 5, put("x", 7, 9).input, put("x", 7, 9).output), op(2, 0, 5, put("y", 9, 0).input, put("y", 9, 0).output), op(3, 6, 7, get("x", 7).input, get("x", 7).output)];
    expect(checkHistory(h).ok).toBe(true);
  });

  test("a stale read (the value before a write that returned before the read was called) fails", () => {
    const w1 = put("a", 10, 0);
    const w2 = put("b", 20, 10);
    const stale = get("a", 10);
    const h = [op(1, 0, 1, w1.input, w1.output), op(2, 2, 3, w2.input, w2.output), op(3, 4, 5, stale.input, stale.output)];
    const r = checkHistory(h);
    expect(r.ok).toBe(false);
    expect(r.failedKeys).toEqual(["k"]);
  });

  test("a lost acknowledged write fails; a write of unknown outcome may or may not have happened", () => {
    const w = put("a", 10, 0);
    const notFound = { input: { op: "get" } as KvInput, output: { ok: false, code: "NOT_FOUND" } as KvOutput };
    expect(checkHistory([op(1, 0, 1, w.input, w.output), op(2, 2, 3, notFound.input, notFound.output)]).ok).toBe(false);
    // The same write timed out: either reading is fine, and its value may show up later.
    expect(checkHistory([op(1, 0, Infinity, w.input, null), op(2, 2, 3, notFound.input, notFound.output)]).ok).toBe(true);
    const later = get("a", 10);
    expect(checkHistory([op(1, 0, Infinity, w.input, null), op(2, 2, 3, notFound.input, notFound.output), op(3, 4, 5, later.input, later.output)]).ok).toBe(true);
    // …but not vanish again without a write in between.
    expect(checkHistory([op(1, 0, Infinity, w.input, null), op(3, 4, 5, later.input, later.output), op(2, 6, 7, notFound.input, notFound.output)]).ok).toBe(false);
  });

  test("cas: success needs the expected revision; a mismatch must name the current one; two winners of one revision fail", () => {
    const w = put("a", 10, 0);
    const cas = (client: number, call: number, ret: number, value: string, ok: boolean, revision: number) =>
      op(client, call, ret, { op: "cas", expected: 10, value }, ok ? { ok: true, revision, prev: 10 } : { ok: false, code: "REVISION_MISMATCH", revision });
    expect(checkHistory([op(1, 0, 1, w.input, w.output), cas(2, 2, 5, "b", true, 20), cas(3, 2, 5, "c", false, 20)]).ok).toBe(true);
    expect(checkHistory([op(1, 0, 1, w.input, w.output), cas(2, 2, 5, "b", true, 20), cas(3, 2, 5, "c", true, 30)]).ok).toBe(false);
    expect(checkHistory([op(1, 0, 1, w.input, w.output), cas(2, 2, 5, "b", false, 10)]).ok).toBe(false);
  });

  test("keys are independent; delete and insert follow presence", () => {
    const a = put("1", 5, 0);
    const h = [
      op(1, 0, 1, a.input, a.output, "a"),
      op(2, 0, 1, { op: "insert", value: "2" }, { ok: true, revision: 6, prev: 0 }, "b"),
      op(3, 2, 3, { op: "insert", value: "3" }, { ok: false, code: "EXISTS", revision: 6 }, "b"),
      op(1, 4, 5, { op: "delete" }, { ok: true, revision: 8, deleted: true }, "a"),
      op(2, 6, 7, { op: "delete" }, { ok: true, revision: 9, deleted: true }, "a"),
    ];
    const r = checkHistory(h);
    expect(r.ok).toBe(false);
    expect(r.failedKeys).toEqual(["a"]);
  });
});

import { describe, expect, test } from "bun:test";
import { VALUE_OVERHEAD_BYTES } from "../../../src/core/config.ts";
import { Batcher, type BatcherConfig } from "../../../src/core/coordinator/batcher.ts";
import { valueKey } from "../../../src/core/coordinator/value-dedup.ts";
import type { ClientValue } from "../../../src/core/types.ts";
import { cv } from "../helpers.ts";

/** Values of 16 payload bytes: 40 bytes each with the per-value overhead. */
const SIZE = 16 + VALUE_OVERHEAD_BYTES;

function batcher(cfg: Partial<BatcherConfig> = {}): Batcher {
  return new Batcher({ batchBytes: 3 * SIZE, batchDelayTicks: 5, maxPendingValues: 100, ...cfg });
}

const seqs = (vs: readonly ClientValue[] | null): number[] | null => vs && vs.map((v) => v.seq);

describe("Batcher", () => {
  test("a batch closes at once when it reaches batchBytes", () => {
    const b = batcher();
    b.add(cv(1, 0, 16), 0);
    b.add(cv(1, 1, 16), 0);
    expect(b.close(0)).toBeNull();
    b.add(cv(1, 2, 16), 0);
    expect(seqs(b.close(0))).toEqual([0, 1, 2]);
    expect(b.size).toBe(0);
  });

  test("a full batch takes what fits in batchBytes; the rest waits for the next", () => {
    const b = batcher();
    for (let s = 0; s < 4; s++) b.add(cv(1, s, 16), 0);
    expect(seqs(b.close(0))).toEqual([0, 1, 2]);
    expect(b.size).toBe(1);
    expect(b.close(0)).toBeNull(); // one value, just closed: it waits for the delay
  });

  test("a value larger than batchBytes makes a batch of its own", () => {
    const b = batcher();
    b.add(cv(1, 0, 10 * SIZE), 0);
    b.add(cv(1, 1, 16), 0);
    expect(seqs(b.close(0))).toEqual([0]);
  });

  test("a partial batch closes batchDelayTicks after its first value arrived", () => {
    const b = batcher();
    b.add(cv(1, 0, 16), 10);
    b.add(cv(1, 1, 16), 12);
    expect(b.close(14)).toBeNull();
    expect(seqs(b.close(15))).toEqual([0, 1]);
  });

  test("the delay of the next batch counts from when the previous one closed", () => {
    const b = batcher();
    for (let s = 0; s < 4; s++) b.add(cv(1, s, 16), 0);
    b.close(20); // full: values 0..2; value 3 waits from tick 20
    expect(b.close(24)).toBeNull();
    expect(seqs(b.close(25))).toEqual([3]);
  });

  test("with batchDelayTicks 0 every value closes a batch at once", () => {
    const b = batcher({ batchDelayTicks: 0 });
    b.add(cv(1, 0, 16), 3);
    expect(seqs(b.close(3))).toEqual([0]);
    expect(b.close(3)).toBeNull();
  });

  test("beyond maxPendingValues values are dropped and counted", () => {
    const b = batcher({ maxPendingValues: 2 });
    expect(b.add(cv(1, 0), 0)).toBe(true);
    expect(b.add(cv(1, 1), 0)).toBe(true);
    expect(b.add(cv(1, 2), 0)).toBe(false);
    expect(b.size).toBe(2);
    expect(b.dropped).toBe(1);
  });

  test("remove takes out the pending values with the given keys, keeps the order of the rest, and says which it removed", () => {
    const b = batcher({ batchDelayTicks: 0, batchBytes: 1 << 20 });
    for (let s = 0; s < 5; s++) b.add(cv(1, s), 0);
    const removed = b.remove(new Set([valueKey({ client: 1, seq: 1 }), valueKey({ client: 1, seq: 3 }), valueKey({ client: 9, seq: 9 })]));
    expect(removed).toEqual(["1:1", "1:3"]);
    expect(seqs(b.close(0))).toEqual([0, 2, 4]);
  });

  test("reset() empties the queue and keeps the dropped count; the next value starts a new delay", () => {
    const b = batcher({ maxPendingValues: 1 });
    b.add(cv(1, 0), 0);
    b.add(cv(1, 1), 0);
    b.reset();
    expect(b.size).toBe(0);
    expect(b.close(100)).toBeNull();
    expect(b.dropped).toBe(1);
    b.add(cv(1, 2, 16), 50);
    expect(b.close(54)).toBeNull();
    expect(seqs(b.close(55))).toEqual([2]);
  });
});

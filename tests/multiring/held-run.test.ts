import { describe, expect, test } from "bun:test";
import { HeldRun, MAX_HELD_BYTES, MAX_HELD_INSTANCES } from "../../src/multiring/held-run.ts";

describe("HeldRun (a ring's deliveries while its merge is held)", () => {
  const e = (instance: number, bytes = 10) => ({ instance, slots: 1, values: [{ payload: new Uint8Array(bytes) }] });
  test("contiguous from its start; a gap starts it again; bounded by MAX_HELD_BYTES, the oldest dropped", () => {
    const run = new HeldRun(4, [e(4), e(5)]);
    expect([run.from, run.end]).toEqual([4, 6]);
    run.push(e(6));
    expect(run.heldFrom(5).map((x) => x.instance)).toEqual([5, 6]);
    run.push(e(9)); // after another lost range
    expect([run.from, run.end]).toEqual([9, 10]);
    const big = new HeldRun(0);
    const each = 1 << 20;
    for (let i = 0; i < 70; i++) big.push(e(i, each));
    expect(big.end).toBe(70);
    expect(big.from).toBeGreaterThan(0);
    expect((big.end - big.from) * each).toBeLessThanOrEqual(MAX_HELD_BYTES);
  });

  test("skip instances (no payload) are bounded by count: MAX_HELD_INSTANCES, the oldest dropped", () => {
    const run = new HeldRun<{ payload: Uint8Array }>(0);
    for (let i = 0; i < MAX_HELD_INSTANCES + 10; i++) run.push({ instance: i, slots: 5, values: [] });
    expect(run.end - run.from).toBe(MAX_HELD_INSTANCES);
    expect(run.from).toBe(10);
  });
});

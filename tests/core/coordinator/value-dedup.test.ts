import { describe, expect, test } from "bun:test";
import { MAX_DECIDED_ELSEWHERE, MAX_RECENT_DECIDED, ValueDedup, valueKey } from "../../../src/core/coordinator/value-dedup.ts";

const v = (client: number, seq: number) => ({ client, seq });

describe("ValueDedup", () => {
  test("a new value is no retransmission", () => {
    const d = new ValueDedup();
    expect(d.retransmission(valueKey(v(1, 0)))).toBeNull();
    expect(d.duplicates).toBe(0);
  });

  test("a retransmission of a queued (pending or in flight) value is dropped and counted, until it is unqueued", () => {
    const d = new ValueDedup();
    d.queue("1:0");
    expect(d.retransmission("1:0")).toBe("queued");
    expect(d.retransmission("1:0")).toBe("queued");
    expect(d.duplicates).toBe(2);
    d.unqueue("1:0");
    expect(d.retransmission("1:0")).toBeNull();
  });

  test("a retransmission of a value of ours decided is answered with its instance; it leaves the queue", () => {
    const d = new ValueDedup();
    d.queue("1:0");
    d.queue("1:1");
    d.ownBatchDecided([v(1, 0), v(1, 1)], 7);
    expect(d.retransmission("1:0")).toBe(7);
    expect(d.retransmission("1:1")).toBe(7);
    d.reset(); // nothing queued any more, yet both stay decided
    expect(d.retransmission("1:1")).toBe(7);
    expect(d.duplicates).toBe(3);
  });

  test("the first instance holding a value is the one remembered (learners deliver it there)", () => {
    const d = new ValueDedup();
    d.ownBatchDecided([v(1, 0)], 3);
    d.ownBatchDecided([v(1, 0)], 9);
    expect(d.batchDecided([v(1, 0)], 12)).toEqual(new Set(["1:0"]));
    expect(d.retransmission("1:0")).toBe(3);
  });

  test("another coordinator's batch decided is remembered, but its values stay queued here until the caller unqueues them", () => {
    const d = new ValueDedup();
    d.queue("2:5");
    expect(d.batchDecided([v(2, 5), v(2, 6)], 4)).toEqual(new Set(["2:5", "2:6"]));
    expect(d.retransmission("2:6")).toBe(4);
    d.reset();
    expect(d.retransmission("2:5")).toBe(4);
  });

  test("forget() unqueues a lost batch: its proposers' retries are new values again", () => {
    const d = new ValueDedup();
    d.queue("1:0");
    d.queue("1:1");
    d.forget([v(1, 0), v(1, 1)]);
    expect(d.retransmission("1:0")).toBeNull();
    expect(d.retransmission("1:1")).toBeNull();
  });

  test("past MAX_RECENT_DECIDED decided values the oldest is forgotten: its retransmission is new again", () => {
    const d = new ValueDedup();
    for (let s = 0; s <= MAX_RECENT_DECIDED; s++) d.ownBatchDecided([v(1, s)], s);
    expect(d.retransmission("1:0")).toBeNull();
    expect(d.retransmission("1:1")).toBe(1);
    expect(d.retransmission(`1:${MAX_RECENT_DECIDED}`)).toBe(MAX_RECENT_DECIDED);
  });

  test("batches decided while not leading are kept by their ids and handed over once, in instance order", () => {
    const d = new ValueDedup();
    d.rememberWhileIdle(9, [v(3, 1)]);
    d.rememberWhileIdle(2, [v(1, 0), v(2, 0)]);
    d.rememberWhileIdle(5, []);
    d.reset(); // a step-down while not leading keeps them
    expect(d.takeRemembered()).toEqual([
      { instance: 2, values: [v(1, 0), v(2, 0)] },
      { instance: 5, values: [] },
      { instance: 9, values: [v(3, 1)] },
    ]);
    expect(d.takeRemembered()).toEqual([]);
    // Handing them over does not count them decided: the caller settles them.
    expect(d.retransmission("1:0")).toBeNull();
  });

  test("past MAX_DECIDED_ELSEWHERE batches decided while not leading the oldest is forgotten", () => {
    const d = new ValueDedup();
    for (let i = 0; i <= MAX_DECIDED_ELSEWHERE; i++) d.rememberWhileIdle(i, [v(1, i)]);
    const kept = d.takeRemembered();
    expect(kept.length).toBe(MAX_DECIDED_ELSEWHERE);
    expect(kept[0]?.instance).toBe(1);
  });

  test("reset() empties the queue", () => {
    const d = new ValueDedup();
    for (let s = 0; s < 10; s++) d.queue(`1:${s}`);
    d.reset();
    for (let s = 0; s < 10; s++) expect(d.retransmission(`1:${s}`)).toBeNull();
    expect(d.duplicates).toBe(0);
  });
});

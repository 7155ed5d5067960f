import { describe, expect, test } from "bun:test";
import { INITIAL_SEND_WINDOW, LATE_SHARE_FOR_CUT, SendWindow } from "../../src/core/send-window.ts";

describe("SendWindow", () => {
  test("starts at INITIAL_SEND_WINDOW (or a smaller maximum) and grows by one per delivered value up to its maximum", () => {
    expect(new SendWindow(4).size).toBe(4);
    const w = new SendWindow(256);
    expect(w.size).toBe(INITIAL_SEND_WINDOW);
    w.delivered(16);
    expect(w.size).toBe(32);
    w.delivered(1000);
    expect(w.size).toBe(256);
  });

  test("late values halve it once per hold period; past the threshold it grows by one per window delivered", () => {
    const w = new SendWindow(256);
    w.delivered(1000);
    w.late(100, 50, 256);
    expect([w.size, w.cuts]).toEqual([128, 1]);
    w.late(120, 50, 128); // within the hold: the same late spell
    expect([w.size, w.cuts]).toEqual([128, 1]);
    w.late(150, 50, 128);
    expect([w.size, w.cuts]).toEqual([64, 2]);
    // c' = 1/c: c² grows by 2 per value, from 64² (70 values: 65.1; 270: 68.1).
    w.delivered(70);
    expect(w.size).toBe(65);
    w.delivered(200);
    expect(w.size).toBe(68);
  });

  test("a few late values (a lost datagram's batch) do not cut it: more than LATE_SHARE_FOR_CUT of it must be late", () => {
    const w = new SendWindow(256);
    w.delivered(1000);
    w.late(100, 50, 100);
    expect([w.size, w.cuts]).toEqual([256, 0]);
    // Late values count over one hold period (they time out one tick at a time): 100 + 28 is not more than half ...
    w.late(120, 50, 28);
    expect([w.size, w.cuts]).toEqual([256, 0]);
    // ... one more is; a count from an earlier period is forgotten.
    w.late(149, 50, 1);
    expect([w.size, w.cuts]).toEqual([128, 1]);
    const fresh = new SendWindow(256);
    fresh.delivered(1000);
    fresh.late(0, 50, 100);
    fresh.late(60, 50, 100);
    expect(fresh.cuts).toBe(0);
    expect(LATE_SHARE_FOR_CUT * 256).toBe(128);
  });

  test("a cut never leaves less than the initial window (or the maximum, if smaller)", () => {
    const w = new SendWindow(256);
    w.delivered(1000);
    for (let t = 0; t < 10; t++) w.late(t * 10, 1, 256);
    expect(w.size).toBe(INITIAL_SEND_WINDOW);
    const small = new SendWindow(8);
    small.late(0, 1, 8);
    expect(small.size).toBe(8);
    expect(() => new SendWindow(0)).toThrow(RangeError);
  });
});

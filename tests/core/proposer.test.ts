import { describe, expect, test } from "bun:test";
import { OutputBuilder } from "../../src/core/output.ts";
import { INITIAL_TIMEOUT_FACTOR, MAX_BACKOFF_DOUBLINGS, MAX_TIMEOUT_FACTOR, MAX_WAIT_FACTOR, Proposer } from "../../src/core/proposer.ts";
import { PACK_VALUE_OVERHEAD_BYTES, packPayload } from "../../src/core/pack.ts";
import { VALUE_OVERHEAD_BYTES } from "../../src/core/config.ts";
import { makeCfg, sent, type CfgParts } from "./helpers.ts";
import { INITIAL_SEND_WINDOW } from "../../src/core/send-window.ts";

function cfgWith(timing: CfgParts["timing"] = {}) {
  return makeCfg({ processes: [1, 2, 3], acceptors: [1, 2, 3], proposers: [3], coordinator: 1, timing });
}

/** Route: the n-th try goes to node 10 + n, so tests can see which try a send is. */
const byTry = (tries: number): number => 10 + tries;
const bytes = (n: number): Uint8Array => new Uint8Array([n]);

describe("proposer", () => {
  test("proposer numbers its values (client, seq), says so in the step's output, and sends each to the coordinator route", () => {
    const p = new Proposer(300, cfgWith(), byTry);
    const out = new OutputBuilder();
    p.propose(bytes(1), 0, out);
    expect(out.proposed).toEqual({ client: 300, seq: 0 });
    p.propose(bytes(2), 0, out);
    expect(out.proposed).toEqual({ client: 300, seq: 1 });
    expect(out.refused).toBe(false);
    expect(sent(out, "value")).toEqual([
      { to: 10, msg: { t: "value", v: { client: 300, seq: 0, payload: bytes(1) }, hops: 0 } },
      { to: 10, msg: { t: "value", v: { client: 300, seq: 1, payload: bytes(2) }, hops: 0 } },
    ]);
    expect(p.inFlight).toBe(2);
  });

  test("proposer re-sends a value not delivered within the timeout, along the next route each time", () => {
    const cfg = cfgWith();
    const p = new Proposer(300, cfg, byTry);
    // Nothing measured yet: the timeout starts at its initial value.
    const t = INITIAL_TIMEOUT_FACTOR * cfg.proposerTimeoutTicks;
    p.propose(bytes(1), 5, new OutputBuilder());
    const early = new OutputBuilder();
    p.tick(5 + t - 1, early);
    expect(early.send).toEqual([]);
    const first = new OutputBuilder();
    p.tick(5 + t, first);
    expect(sent(first, "value").map((s) => [s.to, s.msg.v.seq, s.msg.hops])).toEqual([[11, 0, 0]]);
    // The timeout restarts from the re-send, twice as long.
    const quiet = new OutputBuilder();
    p.tick(5 + 3 * t - 1, quiet);
    expect(quiet.send).toEqual([]);
    const second = new OutputBuilder();
    p.tick(5 + 3 * t, second);
    expect(sent(second, "value").map((s) => s.to)).toEqual([12]);
    expect(p.resent).toBe(2);
  });

  test("before any delivery is measured the timeout is its initial value (as TCP's: a cold cluster's first window took longer than the floor, and all of it was re-sent); it doubles per try, never past MAX_WAIT_FACTOR floors", () => {
    const cfg = cfgWith();
    const p = new Proposer(300, cfg, byTry);
    const f = cfg.proposerTimeoutTicks;
    const t = INITIAL_TIMEOUT_FACTOR * f;
    expect(MAX_BACKOFF_DOUBLINGS).toBe(2);
    expect([0, 1, 2, 3, 10].map((k) => p.timeout(k))).toEqual([t, 2 * t, MAX_WAIT_FACTOR * f, MAX_WAIT_FACTOR * f, MAX_WAIT_FACTOR * f]);
    expect(2 * t).toBeLessThanOrEqual(MAX_WAIT_FACTOR * f);
  });

  test("a measured timeout near its ceiling doubles per try only up to MAX_WAIT_FACTOR floors", () => {
    const cfg = cfgWith();
    const f = cfg.proposerTimeoutTicks;
    const p = new Proposer(300, cfg, byTry);
    for (let i = 0; i < 40; i++) {
      p.propose(bytes(1), 1_000_000 * i, new OutputBuilder());
      p.onDelivered(300, i, i, 1_000_000 * i + 1000 * f, new OutputBuilder());
    }
    expect([0, 1, 2, 3].map((k) => p.timeout(k))).toEqual([MAX_TIMEOUT_FACTOR * f, MAX_WAIT_FACTOR * f, MAX_WAIT_FACTOR * f, MAX_WAIT_FACTOR * f]);
  });

  test("a slow but well cluster (deliveries at 7 floors: a large window on a slow link) is measured and not re-sent", () => {
    const cfg = cfgWith();
    const f = cfg.proposerTimeoutTicks;
    const p = new Proposer(300, cfg, byTry);
    let now = 0;
    for (let i = 0; i < 40; i++) {
      p.propose(bytes(1), now, new OutputBuilder());
      if (i >= 20) {
        const quiet = new OutputBuilder();
        p.tick(now + 7 * f - 1, quiet);
        expect(quiet.send).toEqual([]);
      }
      p.onDelivered(300, i, i, now + 7 * f, new OutputBuilder());
      now += 100 * f;
    }
    expect(p.timeout(0)).toBeGreaterThan(7 * f);
  });

  test("the measured timeout is at least twice the smoothed delivery time: a closed loop's queue has a longer tail than its deviation says", () => {
    const cfg = cfgWith();
    const t = cfg.proposerTimeoutTicks;
    const p = new Proposer(300, cfg, byTry);
    // Every delivery takes exactly 1.5t: no deviation left at all, and still no timeout below 3t.
    for (let i = 0; i < 30; i++) {
      p.propose(bytes(1), 10_000 * i, new OutputBuilder());
      p.onDelivered(300, i, i, 10_000 * i + (3 * t) / 2, new OutputBuilder());
    }
    expect(p.timeout(0)).toBe(3 * t);
  });

  test("the timeout follows measured delivery times, within its floor and ceiling", () => {
    const cfg = cfgWith();
    const t = cfg.proposerTimeoutTicks;
    const p = new Proposer(300, cfg, byTry);
    // Fast deliveries: the configured timeout stays the floor.
    for (let i = 0; i < 20; i++) {
      p.propose(bytes(1), 1000 * i, new OutputBuilder());
      p.onDelivered(300, i, i, 1000 * i + 2, new OutputBuilder());
    }
    expect(p.timeout(0)).toBe(t);
    // Deliveries that take 3 timeouts (re-sent at first): the timeout grows past them, so they no longer are.
    let now = 100_000;
    for (let i = 20; i < 60; i++) {
      p.propose(bytes(1), now, new OutputBuilder());
      const quiet = new OutputBuilder();
      p.tick(now + 3 * t - 1, quiet);
      if (i >= 50) expect(quiet.send).toEqual([]);
      p.onDelivered(300, i, i, now + 3 * t, new OutputBuilder());
      now += 10 * t;
    }
    expect(p.timeout(0)).toBeGreaterThanOrEqual(3 * t);
    expect(p.timeout(0)).toBeLessThanOrEqual(MAX_TIMEOUT_FACTOR * t);
    // A delivery after a re-send is not a measurement (which copy was delivered?); the re-send's
    // backoff lengthens the wait of later values too, until a measurement comes.
    const resentBefore = p.resent;
    const before = p.timeout(0);
    p.propose(bytes(1), now, new OutputBuilder());
    p.tick(now + before, new OutputBuilder());
    expect(p.resent).toBe(resentBefore + 1);
    expect(p.timeout(0)).toBe(2 * before);
    p.onDelivered(300, 60, 60, now + before + 1, new OutputBuilder());
    expect(p.timeout(0)).toBe(2 * before);
    now += 100 * t;
    p.propose(bytes(1), now, new OutputBuilder());
    p.onDelivered(300, 61, 61, now + 3 * t, new OutputBuilder());
    expect(p.timeout(0)).toBeLessThanOrEqual(before);
    // Never above the ceiling, however slow.
    for (let i = 62; i < 100; i++) {
      now += 1_000_000;
      p.propose(bytes(1), now, new OutputBuilder());
      p.onDelivered(300, i, i, now + 1000 * t, new OutputBuilder());
    }
    expect(p.timeout(0)).toBe(MAX_TIMEOUT_FACTOR * t);
  });

  test("the values in flight start at the send window's initial size and grow with deliveries; late values halve it, and only the oldest window's values are re-sent", () => {
    const cfg = { ...cfgWith(), proposerWindow: 64 };
    const p = new Proposer(300, cfg, byTry);
    const first = new OutputBuilder();
    for (let i = 0; i < 100; i++) p.propose(bytes(i), 0, first);
    expect(sent(first, "value")).toHaveLength(INITIAL_SEND_WINDOW);
    // Four delivered (sent once: measured): four go for them, and four more for the growth (two at a time, packed).
    const more = new OutputBuilder();
    for (let q = 0; q < 4; q++) p.onDelivered(300, q, q, 10, more);
    expect(sent(more, "value").map((s) => [s.msg.v.seq, s.msg.v.packed])).toEqual([
      [16, 2],
      [18, 2],
      [20, 2],
      [22, 2],
    ]);
    expect(p.sendWindow).toEqual({ size: INITIAL_SEND_WINDOW + 4, cuts: 0 });
    // Everything in flight is late: the window is cut (half of 20, but not below the initial 16),
    // and only what lies within its 16 oldest values goes again.
    const late = new OutputBuilder();
    p.tick(10 + p.timeout(0), late);
    expect(sent(late, "value").map((s) => s.msg.v.seq)).toEqual([4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18]);
    expect(p.sendWindow).toEqual({ size: INITIAL_SEND_WINDOW, cuts: 1 });
    expect(p.resent).toBe(14);
  });

  test("values waiting beyond a cut window are not counted late again: one cut per late spell, not one per tick", () => {
    const cfg = { ...cfgWith(), proposerWindow: 256 };
    const p = new Proposer(300, cfg, byTry);
    const out = new OutputBuilder();
    for (let i = 0; i < 64; i++) p.propose(bytes(i), 0, out);
    for (let q = 0; q < 16; q++) p.onDelivered(300, q, q, 1, new OutputBuilder());
    const base = p.timeout(0);
    const t0 = 1 + base;
    // Every tick of the late spell until the re-sent values could be late again (twice the timeout: backoff).
    for (let now = t0; now < t0 + 2 * base; now++) p.tick(now, new OutputBuilder());
    expect(p.sendWindow.cuts).toBe(1);
  });

  test("a delivered value is acknowledged once and no longer re-sent", () => {
    const cfg = cfgWith();
    const p = new Proposer(300, cfg, byTry);
    p.propose(bytes(1), 0, new OutputBuilder());
    p.propose(bytes(2), 0, new OutputBuilder());
    const out = new OutputBuilder();
    p.onDelivered(300, 0, 7, 1, out);
    p.onDelivered(300, 0, 9, 1, out); // a duplicate delivery report
    p.onDelivered(301, 1, 7, 1, out); // another client's value
    expect(out.acked).toEqual([{ client: 300, seq: 0, instance: 7 }]);
    expect(p.inFlight).toBe(1);
    const retry = new OutputBuilder();
    p.tick(cfg.proposerTimeoutTicks, retry);
    expect(sent(retry, "value").map((s) => s.msg.v.seq)).toEqual([1]);
  });

  test("at most proposerWindow values are in flight; the rest wait in the queue and leave as values are delivered", () => {
    const p = new Proposer(300, cfgWith({ proposerWindow: 2 }), byTry);
    const out = new OutputBuilder();
    for (let i = 0; i < 4; i++) p.propose(bytes(i), 0, out);
    expect(sent(out, "value").map((s) => s.msg.v.seq)).toEqual([0, 1]);
    expect(p.inFlight).toBe(4);
    const next = new OutputBuilder();
    p.onDelivered(300, 1, 0, 3, next);
    expect(sent(next, "value").map((s) => s.msg.v.seq)).toEqual([2]);
    // Queued values are not re-sent by the timeout: they were never sent. (A window this small is not cut.)
    const retry = new OutputBuilder();
    p.tick(1000, retry);
    expect(sent(retry, "value").map((s) => s.msg.v.seq).sort()).toEqual([0, 2]);
    expect(p.sendWindow.size).toBe(2);
  });

  test("a saturated proposer refuses values once its queue is full", () => {
    const p = new Proposer(300, cfgWith({ proposerWindow: 1, proposerQueue: 2 }), byTry);
    const outcome = (n: number) => {
      const out = new OutputBuilder();
      p.propose(bytes(n), 0, out);
      return { proposed: out.proposed, refused: out.refused };
    };
    expect(outcome(0)).toEqual({ proposed: { client: 300, seq: 0 }, refused: false }); // in flight
    expect(outcome(1)).toEqual({ proposed: { client: 300, seq: 1 }, refused: false }); // queued
    expect(outcome(2)).toEqual({ proposed: { client: 300, seq: 2 }, refused: false }); // queued
    expect(outcome(3)).toEqual({ proposed: null, refused: true }); // took no seq
    expect(outcome(4)).toEqual({ proposed: null, refused: true });
    expect(p.refused).toBe(2);
    expect(p.inFlight).toBe(3);
  });
  test("told by a coordinator that a value is decided: the learner's delivery, not the coordinator's instance, is acknowledged while the learner is behind", () => {
    const cfg = cfgWith();
    let next: number | null = 3;
    const p = new Proposer(300, cfg, byTry, 3, () => next);
    p.propose(bytes(1), 0, new OutputBuilder());
    p.propose(bytes(2), 0, new OutputBuilder());
    const told = new OutputBuilder();
    p.onToldDecided(300, 0, 8, 1, told);
    expect(told.acked).toEqual([]);
    // Decided: no longer re-sent while waiting for the learner.
    const quiet = new OutputBuilder();
    p.tick(INITIAL_TIMEOUT_FACTOR * cfg.proposerTimeoutTicks, quiet);
    expect(sent(quiet, "value").map((x) => x.msg.v.seq)).toEqual([1]);
    // The learner delivers it at 5, the first instance holding it.
    const delivered = new OutputBuilder();
    p.onDelivered(300, 0, 5, 2, delivered);
    expect(delivered.acked).toEqual([{ client: 300, seq: 0, instance: 5 }]);
    // Seq 1: told 9, and the learner passes 9 without delivering it here: the coordinator's word stands.
    p.onToldDecided(300, 1, 9, 3, new OutputBuilder());
    next = 10;
    const passed = new OutputBuilder();
    p.tick(MAX_TIMEOUT_FACTOR * cfg.proposerTimeoutTicks + 1, passed);
    expect(passed.acked).toEqual([{ client: 300, seq: 1, instance: 9 }]);
    expect(p.inFlight).toBe(0);
  });

  test("after its learner gave instances up as lost, a value the learner passed without delivering is acknowledged with its place unknown, not the coordinator's instance", () => {
    const cfg = cfgWith();
    let next: number | null = 3;
    let lostBelow = 0;
    const p = new Proposer(300, cfg, byTry, 3, () => next, null, () => lostBelow);
    p.propose(bytes(1), 0, new OutputBuilder());
    p.onToldDecided(300, 0, 31, 1, new OutputBuilder());
    // The learner jumped past the lost instances (the first copy may be among them), then past 31.
    lostBelow = 40;
    next = 45;
    const out = new OutputBuilder();
    p.tick(cfg.proposerTimeoutTicks, out);
    expect(out.acked).toEqual([{ client: 300, seq: 0, instance: null }]);
  });

  test("told decided with no co-located learner delivering in order (none, or not anchored): acknowledged at once", () => {
    const p = new Proposer(300, cfgWith(), byTry, 3, () => null);
    p.propose(bytes(1), 0, new OutputBuilder());
    const out = new OutputBuilder();
    p.onToldDecided(300, 0, 8, 1, out);
    p.onToldDecided(301, 0, 8, 1, out); // another client's value
    expect(out.acked).toEqual([{ client: 300, seq: 0, instance: 8 }]);
  });
});

describe("proposer packs (values proposed together travel as one)", () => {
  test("held values are not sent until a flush, which sends them as one pack with consecutive seqs", () => {
    const p = new Proposer(300, cfgWith(), byTry);
    const held = new OutputBuilder();
    for (let i = 0; i < 3; i++) p.propose(bytes(i), 0, held, undefined, true);
    expect(held.proposed).toEqual({ client: 300, seq: 2 });
    expect(held.send).toEqual([]);
    const out = new OutputBuilder();
    p.flush(0, out);
    expect(sent(out, "value")).toEqual([{ to: 10, msg: { t: "value", v: { client: 300, seq: 0, payload: packPayload([bytes(0), bytes(1), bytes(2)]), packed: 3 }, hops: 0 } }]);
    expect(p.inFlight).toBe(3);
  });

  test("a tick sends what was held and never flushed", () => {
    const p = new Proposer(300, cfgWith(), byTry);
    for (let i = 0; i < 2; i++) p.propose(bytes(i), 0, new OutputBuilder(), undefined, true);
    const out = new OutputBuilder();
    p.tick(1, out);
    expect(sent(out, "value").map((s) => [s.msg.v.seq, s.msg.v.packed])).toEqual([[0, 2]]);
  });

  test("a pack stays within the window, within one group, and within a batch's bytes", () => {
    const windowed = new Proposer(300, cfgWith({ proposerWindow: 5 }), byTry);
    for (let i = 0; i < 8; i++) windowed.propose(bytes(i), 0, new OutputBuilder(), undefined, true);
    const w = new OutputBuilder();
    windowed.flush(0, w);
    expect(sent(w, "value").map((s) => [s.msg.v.seq, s.msg.v.packed])).toEqual([[0, 5]]);

    const grouped = new Proposer(300, cfgWith(), byTry);
    for (const g of [1, 1, 2, 1]) grouped.propose(bytes(g), 0, new OutputBuilder(), g, true);
    const g = new OutputBuilder();
    grouped.flush(0, g);
    expect(sent(g, "value").map((s) => [s.msg.v.seq, s.msg.v.packed, s.msg.v.group])).toEqual([
      [0, 2, 1],
      [2, undefined, 2],
      [3, undefined, 1],
    ]);

    // Room for two 4-byte values and their lengths, not three.
    const small = new Proposer(300, cfgWith({ batchBytes: VALUE_OVERHEAD_BYTES + 2 * (PACK_VALUE_OVERHEAD_BYTES + 4) }), byTry);
    for (let i = 0; i < 3; i++) small.propose(new Uint8Array(4), 0, new OutputBuilder(), undefined, true);
    const s = new OutputBuilder();
    small.flush(0, s);
    expect(sent(s, "value").map((x) => [x.msg.v.seq, x.msg.v.packed])).toEqual([
      [0, 2],
      [2, undefined],
    ]);
  });

  test("a pack's values are acknowledged one by one; it is re-sent whole until they are delivered, and the freed window leaves packed", () => {
    const cfg = cfgWith({ proposerWindow: 3 });
    const p = new Proposer(300, cfg, byTry);
    for (let i = 0; i < 5; i++) p.propose(bytes(i), 0, new OutputBuilder(), undefined, true);
    p.flush(0, new OutputBuilder());
    const first = MAX_TIMEOUT_FACTOR * cfg.proposerTimeoutTicks;
    const retry = new OutputBuilder();
    p.tick(first, retry);
    expect(sent(retry, "value").map((s) => [s.to, s.msg.v.seq, s.msg.v.packed])).toEqual([[11, 0, 3]]);
    const out = new OutputBuilder();
    p.onNotice(300, [0, 1, 2], [4, 4, 4], [], first + 1, out);
    expect(out.acked).toEqual([0, 1, 2].map((seq) => ({ client: 300, seq, instance: 4 })));
    expect(sent(out, "value").map((s) => [s.msg.v.seq, s.msg.v.packed])).toEqual([[3, 2]]);
    const later = new OutputBuilder();
    p.tick(100 * cfg.proposerTimeoutTicks, later);
    expect(sent(later, "value").map((s) => s.msg.v.seq)).toEqual([3]);
    expect(p.inFlight).toBe(2);
  });

  test("told that a pack is decided (no co-located learner): every value of it is acknowledged", () => {
    const p = new Proposer(300, cfgWith(), byTry, 3, () => null);
    for (let i = 0; i < 3; i++) p.propose(bytes(i), 0, new OutputBuilder(), undefined, true);
    p.flush(0, new OutputBuilder());
    const out = new OutputBuilder();
    p.onToldDecided(300, 0, 8, 1, out);
    expect(out.acked).toEqual([0, 1, 2].map((seq) => ({ client: 300, seq, instance: 8 })));
    expect(p.inFlight).toBe(0);
  });
});

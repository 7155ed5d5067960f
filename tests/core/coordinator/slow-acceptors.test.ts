import { describe, expect, test } from "bun:test";
import { MAX_ACK_TIMES, SLOW_FACTOR, SlowAcceptors, type Layout } from "../../../src/core/coordinator/slow-acceptors.ts";
import type { NodeId } from "../../../src/core/types.ts";

const ACCEPTORS = [1, 2, 3, 4, 5]; // a quorum is 3: Phase 2 waits for the first three acceptors on the ring
const SLOW_TICKS = 50;

function slowAcceptors(slowAcceptorTicks = SLOW_TICKS): SlowAcceptors {
  return new SlowAcceptors(1, { acceptors: ACCEPTORS, slowAcceptorTicks });
}

/** Every acceptor acks heartbeat `seq` (sent at `at`) after the delay given for it (default 1 tick). */
function ackAll(s: SlowAcceptors, seq: number, at: number, delays: ReadonlyMap<NodeId, number>): void {
  s.sent(seq, at);
  for (const a of ACCEPTORS) s.onAck(a, seq, at + (delays.get(a) ?? 1));
}

/** The coordinator first, then the acceptors not avoided, the avoided ones last (as layoutMRing would). */
const layout: Layout = (responders, avoid) => {
  const ok = [...responders].filter((a) => a !== 1 && !avoid.has(a)).sort();
  const bad = [...responders].filter((a) => a !== 1 && avoid.has(a)).sort();
  return responders.size >= 3 ? [1, ...ok, ...bad] : null;
};

describe("SlowAcceptors", () => {
  test("an acceptor whose acks take SLOW_FACTOR times the median, and at least slowAcceptorTicks, is slow", () => {
    const s = slowAcceptors();
    ackAll(s, 1, 0, new Map([[3, 60]]));
    expect(s.slow()).toEqual(new Set([3]));
  });

  test("a delay under slowAcceptorTicks, or under SLOW_FACTOR times the median, is not slow", () => {
    const s = slowAcceptors();
    ackAll(s, 1, 0, new Map([[3, SLOW_TICKS - 1]]));
    expect(s.slow()).toEqual(new Set());
    const t = slowAcceptors();
    ackAll(t, 1, 0, new Map([[1, 20], [2, 20], [4, 20], [5, 20], [3, SLOW_FACTOR * 20 - 1]]));
    expect(t.slow()).toEqual(new Set());
  });

  test("the mean delay is weighted toward older acks: one late ack does not make an acceptor slow", () => {
    const s = slowAcceptors();
    for (let seq = 1; seq <= 5; seq++) ackAll(s, seq, seq * 100, new Map());
    ackAll(s, 6, 600, new Map([[3, 200]])); // 0.8 * 1 + 0.2 * 200 = 40.8
    expect(s.slow()).toEqual(new Set());
    ackAll(s, 7, 700, new Map([[3, 200]])); // 72.64
    expect(s.slow()).toEqual(new Set([3]));
  });

  test("the coordinator itself is never slow, and no measurement is taken of a non-acceptor", () => {
    const s = slowAcceptors();
    ackAll(s, 1, 0, new Map([[1, 90]]));
    s.onAck(9, 1, 500);
    expect(s.slow()).toEqual(new Set());
  });

  test("an ack of a heartbeat older than the MAX_ACK_TIMES tracked counts as late as the oldest one tracked", () => {
    const s = slowAcceptors();
    for (let seq = 1; seq <= MAX_ACK_TIMES + 1; seq++) s.sent(seq, seq);
    for (const a of [1, 2, 4, 5]) s.onAck(a, MAX_ACK_TIMES + 1, MAX_ACK_TIMES + 2);
    s.onAck(3, 1, 200); // seq 1 is forgotten: counted from seq 2's send time
    expect(s.slow()).toEqual(new Set([3]));
  });

  test("with slowAcceptorTicks 0 nothing is slow", () => {
    const s = slowAcceptors(0);
    ackAll(s, 1, 0, new Map([[3, 1000]]));
    expect(s.slow()).toEqual(new Set());
  });

  test("a relayout is wanted when a slow acceptor is on the ring's path and a ring without it there exists", () => {
    const s = slowAcceptors();
    ackAll(s, 1, 0, new Map([[2, 90]]));
    expect(s.wantsRelayout([1, 2, 3, 4, 5], layout)).toBe(true);
    expect(s.relayouts).toBe(1);
    // Off the path already (the first three acceptors are 1, 3, 4): nothing to gain.
    expect(s.wantsRelayout([1, 3, 4, 2, 5], layout)).toBe(false);
    // No better ring: still on the path of any layout found.
    expect(s.wantsRelayout([1, 2, 3, 4, 5], () => [1, 2, 3])).toBe(false);
    expect(s.wantsRelayout([1, 2, 3, 4, 5], () => null)).toBe(false);
    expect(s.relayouts).toBe(1);
  });

  test("reset() forgets the measurements and keeps the relayout count", () => {
    const s = slowAcceptors();
    ackAll(s, 1, 0, new Map([[2, 90]]));
    s.wantsRelayout([1, 2, 3, 4, 5], layout);
    s.reset();
    expect(s.slow()).toEqual(new Set());
    expect(s.wantsRelayout([1, 2, 3, 4, 5], layout)).toBe(false);
    s.onAck(2, 1, 500); // send times are forgotten too: an ack of an old heartbeat measures nothing
    s.onAck(3, 1, 10);
    expect(s.slow()).toEqual(new Set());
    expect(s.relayouts).toBe(1);
  });
});

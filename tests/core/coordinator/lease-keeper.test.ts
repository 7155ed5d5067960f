import { describe, expect, test } from "bun:test";
import { coordinatorLeaseTicks } from "../../../src/core/config.ts";
import { LeaseKeeper, MAX_HEARTBEATS_TRACKED } from "../../../src/core/coordinator/lease-keeper.ts";

const ACCEPTORS = [1, 2, 3, 4, 5]; // a quorum is 3
const LEASE = coordinatorLeaseTicks(150);

function keeper(): LeaseKeeper {
  return new LeaseKeeper({ acceptors: ACCEPTORS, heartbeatTicks: 20, leaseTicks: 150 });
}

describe("LeaseKeeper", () => {
  test("a heartbeat is due every heartbeatTicks, with seqs 1, 2, ...", () => {
    const l = keeper();
    expect(l.next(0)).toBe(1);
    expect(l.next(19)).toBeNull();
    expect(l.next(20)).toBe(2);
    expect(l.next(25)).toBeNull();
    expect(l.next(45)).toBe(3);
  });

  test("a quorum of acks of one heartbeat grants a lease counted from when it left", () => {
    const l = keeper();
    const seq = l.next(100) as number;
    l.onAck(1, seq);
    l.onAck(2, seq);
    l.onAck(2, seq); // the same acceptor twice counts once
    expect(l.holds(101)).toBe(false);
    l.onAck(3, seq);
    expect(l.holds(100 + LEASE - 1)).toBe(true);
    expect(l.holds(100 + LEASE)).toBe(false);
  });

  test("acks of a later heartbeat extend the lease; an older heartbeat's quorum does not shorten it", () => {
    const l = keeper();
    const first = l.next(0) as number;
    const second = l.next(20) as number;
    for (const a of [1, 2, 3]) l.onAck(a, second);
    expect(l.holds(20 + LEASE - 1)).toBe(true);
    for (const a of [1, 2, 3]) l.onAck(a, first); // forgotten: older than a heartbeat a quorum acked
    expect(l.holds(20 + LEASE - 1)).toBe(true);
  });

  test("acks of unknown heartbeats, or of one past the MAX_HEARTBEATS_TRACKED newest, grant nothing", () => {
    const l = keeper();
    const first = l.next(0) as number;
    for (let i = 1; i <= MAX_HEARTBEATS_TRACKED; i++) l.next(20 * i);
    for (const a of [1, 2, 3]) l.onAck(a, first);
    for (const a of [1, 2, 3]) l.onAck(a, 999);
    expect(l.holds(1)).toBe(false);
  });

  test("reset() (a new round, standing down) ends the lease and forgets the heartbeats, but not their seqs or period", () => {
    const l = keeper();
    const seq = l.next(0) as number;
    l.onAck(1, seq);
    l.onAck(2, seq);
    l.reset();
    l.onAck(3, seq); // the third ack of a heartbeat of the round before
    expect(l.holds(1)).toBe(false);
    for (const a of [1, 2, 3]) l.onAck(a, 1);
    expect(l.holds(1)).toBe(false);
    expect(l.next(10)).toBeNull(); // the period runs on
    expect(l.next(20)).toBe(2); // seqs stay unique
  });
});

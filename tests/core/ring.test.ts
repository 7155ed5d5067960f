import { describe, expect, test } from "bun:test";
import { InvariantError } from "../../src/core/assert.ts";
import { quorumSize } from "../../src/core/quorum.ts";
import {
  firstOf,
  lastAcceptor,
  lastOf,
  layoutMRing,
  layoutURing,
  predecessor,
  spares,
  successor,
} from "../../src/core/ring.ts";

describe("ring positions", () => {
  const ring = [4, 1, 7, 2];

  test("successor and predecessor follow the ring and wrap around", () => {
    expect([4, 1, 7, 2].map((p) => successor(ring, p))).toEqual([1, 7, 2, 4]);
    expect([4, 1, 7, 2].map((p) => predecessor(ring, p))).toEqual([2, 4, 1, 7]);
  });

  test("on a ring of one the process is its own successor and predecessor", () => {
    expect(successor([3], 3)).toBe(3);
    expect(predecessor([3], 3)).toBe(3);
  });

  test("a process that is not on the ring has no successor or predecessor", () => {
    expect(() => successor(ring, 9)).toThrow(InvariantError);
    expect(() => predecessor(ring, 9)).toThrow(InvariantError);
  });

  test("first and last of a ring; an empty ring has neither", () => {
    expect(firstOf(ring)).toBe(4);
    expect(lastOf(ring)).toBe(2);
    expect(() => firstOf([])).toThrow(InvariantError);
    expect(() => lastOf([])).toThrow(InvariantError);
  });
});

describe("M-Ring layout (Algorithm 2)", () => {
  const acceptors = [1, 2, 3, 4, 5];
  const q = quorumSize(acceptors.length); // 3

  test("ring layout puts the coordinator last (M-Ring) and fills from responders in preference order after it", () => {
    const all = new Set(acceptors);
    expect(layoutMRing(acceptors, 1, all, q)).toEqual([2, 3, 1]);
    // Preference starts after the coordinator and wraps around.
    expect(layoutMRing(acceptors, 4, all, q)).toEqual([5, 1, 4]);
  });

  test("M-Ring skips acceptors that did not answer Phase 1", () => {
    expect(layoutMRing(acceptors, 1, new Set([1, 3, 5]), q)).toEqual([3, 5, 1]);
    expect(layoutMRing(acceptors, 3, new Set([3, 2, 1]), q)).toEqual([1, 2, 3]);
  });

  test("the M-Ring holds exactly an m-quorum; the other acceptors are spares", () => {
    const ring = layoutMRing(acceptors, 2, new Set(acceptors), q);
    expect(ring).toEqual([3, 4, 2]);
    expect(ring?.length).toBe(q);
    expect(spares(acceptors, ring ?? [])).toEqual([1, 5]);
  });

  test("no M-Ring without the coordinator's own answer, or with fewer than a quorum", () => {
    expect(layoutMRing(acceptors, 1, new Set([2, 3, 4, 5]), q)).toBeNull();
    expect(layoutMRing(acceptors, 1, new Set([1, 2]), q)).toBeNull();
  });

  test("a single acceptor forms a ring by itself", () => {
    expect(layoutMRing([7], 7, new Set([7]), 1)).toEqual([7]);
  });

  test("the M-Ring coordinator must be an acceptor", () => {
    expect(() => layoutMRing(acceptors, 9, new Set([9, 1, 2]), q)).toThrow(InvariantError);
  });
});

describe("U-Ring layout (Algorithm 3)", () => {
  const processes = [0, 1, 2, 3, 4, 5];
  const acceptors = [1, 3, 4];
  const q = quorumSize(acceptors.length); // 2

  test("ring layout puts the coordinator first (U-Ring) and keeps the configured order of responders", () => {
    expect(layoutURing(processes, acceptors, 3, new Set(processes), q)).toEqual([3, 4, 5, 0, 1, 2]);
    expect(layoutURing(processes, acceptors, 1, new Set(processes), q)).toEqual([1, 2, 3, 4, 5, 0]);
  });

  test("U-Ring leaves out processes that did not answer Phase 1, acceptors or not", () => {
    expect(layoutURing(processes, acceptors, 1, new Set([1, 4, 5, 0]), q)).toEqual([1, 4, 5, 0]);
  });

  test("no U-Ring without the coordinator or with fewer than a quorum of acceptors", () => {
    expect(layoutURing(processes, acceptors, 1, new Set([3, 4, 0, 2]), q)).toBeNull();
    // Plenty of processes, but only one acceptor (the coordinator).
    expect(layoutURing(processes, acceptors, 1, new Set([0, 1, 2, 5]), q)).toBeNull();
  });

  test("the last acceptor is the (quorum-1)-th acceptor after the coordinator, skipping non-acceptors", () => {
    // Ring [1,2,3,4,5,0]: acceptors on it are 1,3,4; quorum 2 -> 3.
    expect(lastAcceptor([1, 2, 3, 4, 5, 0], acceptors, q)).toBe(3);
    // 5 acceptors, quorum 3: the f-th (2nd) acceptor after the coordinator.
    expect(lastAcceptor([1, 9, 2, 8, 3, 4, 5], [1, 2, 3, 4, 5], 3)).toBe(3);
    // A single acceptor decides alone.
    expect(lastAcceptor([1, 2, 3], [1], 1)).toBe(1);
  });

  test("coordinator..lastAcceptor holds exactly an m-quorum of acceptors", () => {
    const ring = [2, 0, 5, 3, 1, 4];
    const accs = [2, 3, 4, 5, 1];
    const qq = quorumSize(accs.length);
    const last = lastAcceptor(ring, accs, qq);
    const prefix = ring.slice(0, ring.indexOf(last) + 1).filter((p) => accs.includes(p));
    expect(prefix).toEqual([2, 5, 3]);
    expect(prefix.length).toBe(qq);
  });

  test("lastAcceptor refuses a ring not led by an acceptor or too short", () => {
    expect(() => lastAcceptor([0, 1, 3], acceptors, q)).toThrow(InvariantError);
    expect(() => lastAcceptor([1, 2, 5], acceptors, q)).toThrow(InvariantError);
  });
});

describe("layouts around slow acceptors", () => {
  test("M-Ring: a slow acceptor becomes a spare while enough others answered; otherwise it stays on the ring", () => {
    const acc = [0, 1, 2, 3, 4];
    expect(layoutMRing(acc, 0, new Set(acc), 3, new Set([1]))).toEqual([2, 3, 0]);
    expect(layoutMRing(acc, 0, new Set([0, 1, 2]), 3, new Set([1]))).toEqual([2, 1, 0]);
  });

  test("U-Ring: a slow acceptor goes past the deciding acceptor (still on the ring); not when the quorum needs it first", () => {
    const procs = [0, 1, 2, 3, 4, 5];
    const acc = [0, 1, 2, 3, 4];
    const ring = layoutURing(procs, acc, 0, new Set(procs), 3, new Set([1])) as number[];
    expect(ring).toEqual([0, 2, 3, 4, 5, 1]);
    expect(lastAcceptor(ring, acc, 3)).toBe(3);
    // Only 0, 1, 2 answered: 1 is needed for a quorum, the order stays as configured.
    expect(layoutURing(procs, acc, 0, new Set([0, 1, 2, 5]), 3, new Set([1]))).toEqual([0, 1, 2, 5]);
  });
});

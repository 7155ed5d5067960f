import { describe, expect, test } from "bun:test";
import { InvariantError } from "../../src/core/assert.ts";
import { faults, isQuorum, leaseQuorum, phase1Quorum, phase2Quorum, quorumFaults, quorumProblem, quorumSize } from "../../src/core/quorum.ts";

/** The thesis' definition: an m-quorum has ceil((|Na| + 1) / 2) acceptors. */
function thesisQuorum(n: number): number {
  return Math.ceil((n + 1) / 2);
}

describe("quorum arithmetic", () => {
  const sizes = [1, 2, 3, 4, 5, 6, 7, 8, 9];

  test("m-quorum size is ceil((n+1)/2) for 1..9 acceptors", () => {
    expect(sizes.map(quorumSize)).toEqual([1, 2, 2, 3, 3, 4, 4, 5, 5]);
    for (const n of sizes) expect(quorumSize(n)).toBe(thesisQuorum(n));
  });

  test("any two m-quorums intersect, and a smaller set would not (minimality), for 1..9 acceptors", () => {
    for (const n of sizes) {
      const q = quorumSize(n);
      expect(2 * q).toBeGreaterThan(n);
      expect(2 * (q - 1)).toBeLessThanOrEqual(n);
    }
  });

  test("2f+1 acceptors tolerate f failures: f = floor((n-1)/2) for 1..9 acceptors", () => {
    expect(sizes.map(faults)).toEqual([0, 0, 1, 1, 2, 2, 3, 3, 4]);
    for (const n of sizes) {
      const f = faults(n);
      expect(n).toBeGreaterThanOrEqual(2 * f + 1);
      // The survivors of f crashes still hold a quorum, of f+1 crashes not.
      expect(n - f).toBeGreaterThanOrEqual(quorumSize(n));
      expect(n - (f + 1)).toBeLessThan(quorumSize(n));
    }
  });

  test("for an odd number of acceptors the m-quorum is f+1", () => {
    for (const n of [1, 3, 5, 7, 9]) expect(quorumSize(n)).toBe(faults(n) + 1);
  });

  test("acceptor counts that are not positive integers are refused", () => {
    expect(() => quorumSize(0)).toThrow(InvariantError);
    expect(() => quorumSize(2.5)).toThrow(InvariantError);
    expect(() => faults(-1)).toThrow(InvariantError);
  });
});

describe("isQuorum", () => {
  const acceptors = [1, 2, 3, 4, 5];

  test("a majority of distinct acceptors is a quorum, one fewer is not", () => {
    expect(isQuorum([1, 2, 3], acceptors)).toBe(true);
    expect(isQuorum([5, 3, 1], acceptors)).toBe(true);
    expect(isQuorum([1, 2], acceptors)).toBe(false);
    expect(isQuorum([], acceptors)).toBe(false);
  });

  test("duplicates count once", () => {
    expect(isQuorum([1, 1, 2, 2], acceptors)).toBe(false);
    expect(isQuorum([1, 1, 2, 3], acceptors)).toBe(true);
  });

  test("processes that are not acceptors do not count", () => {
    expect(isQuorum([1, 2, 7, 8, 9], acceptors)).toBe(false);
    expect(isQuorum(new Set([7, 1, 2, 4]), acceptors)).toBe(true);
  });

  test("one acceptor is its own quorum; two acceptors need both", () => {
    expect(isQuorum([4], [4])).toBe(true);
    expect(isQuorum([1], [1, 2])).toBe(false);
    expect(isQuorum([2, 1], [1, 2])).toBe(true);
  });
});

describe("flexible quorums", () => {
  const acceptors = [0, 1, 2, 3, 4];
  test("absent, each phase needs a majority and a lease a majority of acks", () => {
    expect([phase1Quorum({ acceptors }), phase2Quorum({ acceptors }), leaseQuorum({ acceptors }), quorumFaults({ acceptors })]).toEqual([3, 3, 3, 2]);
  });

  test("a smaller Phase 2 quorum takes a larger Phase 1 one; a lease needs acks from n - q1 + 1, which every Phase 1 quorum meets", () => {
    const c = { acceptors, phase1Quorum: 4, phase2Quorum: 2 };
    expect([phase1Quorum(c), phase2Quorum(c), leaseQuorum(c), quorumFaults(c)]).toEqual([4, 2, 2, 1]);
    for (let q1 = 1; q1 <= 5; q1++) expect(leaseQuorum({ acceptors, phase1Quorum: q1, phase2Quorum: 5 }) + q1).toBe(6);
  });

  test("every legal pair intersects; a pair that need not is refused, as are sizes outside 1..n", () => {
    for (let q1 = 1; q1 <= 5; q1++)
      for (let q2 = 1; q2 <= 5; q2++) expect({ q1, q2, ok: quorumProblem(5, q1, q2) === null }).toEqual({ q1, q2, ok: q1 + q2 > 5 });
    expect(quorumProblem(5, 0, 5)).toContain("phase1Quorum 0 is not within 1..5");
    expect(quorumProblem(5, 3, 6)).toContain("phase2Quorum 6 is not within 1..5");
    expect(quorumProblem(5, 2, 3)).toContain("must exceed the 5 acceptors");
  });
});

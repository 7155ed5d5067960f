import { describe, expect, test } from "bun:test";
import { InvariantError } from "../../src/core/assert.ts";
import { makeRound, nextRound, roundOwner } from "../../src/core/round.ts";

describe("round numbers", () => {
  test("round = counter * maxNodes + node, and the owner is read back from the round", () => {
    expect(makeRound(1, 3, 16)).toBe(19);
    expect(makeRound(4, 0, 16)).toBe(64);
    expect(makeRound(2, 15, 16)).toBe(47);
    for (let node = 0; node < 16; node++)
      for (let counter = 1; counter <= 5; counter++) expect(roundOwner(makeRound(counter, node, 16), 16)).toBe(node);
  });

  test("round 0 (none) is never produced: counters start at 1", () => {
    expect(() => makeRound(0, 3, 16)).toThrow(InvariantError);
    for (let node = 0; node < 8; node++) expect(makeRound(1, node, 8)).toBeGreaterThan(0);
  });

  test("node ids outside [0, maxNodes) are refused", () => {
    expect(() => makeRound(1, 16, 16)).toThrow(InvariantError);
    expect(() => makeRound(1, -1, 16)).toThrow(InvariantError);
    expect(() => nextRound(0, 16, 16)).toThrow(InvariantError);
  });

  test("nextRound is always above the given round and owned by the node", () => {
    const maxNodes = 8;
    for (let above = 0; above < 100; above++)
      for (let node = 0; node < maxNodes; node++) {
        const r = nextRound(above, node, maxNodes);
        expect(r).toBeGreaterThan(above);
        expect(roundOwner(r, maxNodes)).toBe(node);
        // It does not jump arbitrarily far: within two counter steps.
        expect(r - above).toBeLessThanOrEqual(2 * maxNodes);
      }
  });

  test("two nodes never pick the same round, whatever rounds they saw", () => {
    const maxNodes = 8;
    const owners = new Map<number, number>();
    for (let node = 0; node < maxNodes; node++)
      for (let above = 0; above < 60; above++) {
        const r = nextRound(above, node, maxNodes);
        const prev = owners.get(r);
        if (prev !== undefined) expect(prev).toBe(node);
        owners.set(r, node);
      }
    expect(owners.size).toBeGreaterThan(maxNodes);
  });

  test("a coordinator restarting Phase 1 from its own round moves to a strictly higher round of its own", () => {
    let r = 0;
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) {
      r = nextRound(r, 5, 16);
      seen.push(r);
    }
    expect(seen).toEqual([21, 37, 53, 69, 85]);
  });

  test("a coordinator that saw a higher round of another node goes above it", () => {
    const other = makeRound(7, 9, 16); // 121
    const mine = nextRound(Math.max(makeRound(2, 3, 16), other), 3, 16);
    expect(mine).toBeGreaterThan(other);
    expect(roundOwner(mine, 16)).toBe(3);
  });
});

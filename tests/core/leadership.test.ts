import { describe, expect, test } from "bun:test";
import { Leadership } from "../../src/core/leadership.ts";
import { roundOwner } from "../../src/core/round.ts";

const MAX_NODES = 16;
/** The n-th round owned by `owner` (rounds encode their owner, see round.ts). */
function roundOf(owner: number, n: number): number {
  for (let r = n * MAX_NODES; ; r++) if (roundOwner(r, MAX_NODES) === owner) return r;
}

describe("Leadership: who leads as far as this process knows", () => {
  test("before any round is seen the configured coordinator leads", () => {
    const l = new Leadership(2, 0, MAX_NODES);
    expect(l.highestRound).toBe(0);
    expect(l.hint(false)).toBe(0);
  });

  test("the owner of the highest established round leads; a lower round changes nothing", () => {
    const l = new Leadership(2, 0, MAX_NODES);
    const r3 = roundOf(3, 5);
    l.established(r3);
    expect(l.hint(false)).toBe(3);
    l.established(roundOf(1, 2));
    expect(l.hint(false)).toBe(3);
    expect(l.highestRound).toBe(r3);
  });

  test("a process that owns the highest round but no longer leads points at the configured coordinator", () => {
    const l = new Leadership(2, 0, MAX_NODES);
    l.established(roundOf(2, 4));
    expect(l.hint(true)).toBe(2);
    expect(l.hint(false)).toBe(0);
  });
});

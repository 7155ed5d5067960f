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
    l.established(r3, 10);
    expect(l.hint(false)).toBe(3);
    l.established(roundOf(1, 2), 11);
    expect(l.hint(false)).toBe(3);
    expect(l.highestRound).toBe(r3);
  });

  test("a process that owns the highest round but no longer leads points at the configured coordinator", () => {
    const l = new Leadership(2, 0, MAX_NODES);
    l.established(roundOf(2, 4), 0);
    expect(l.hint(true)).toBe(2);
    expect(l.hint(false)).toBe(0);
  });

  test("view: nothing before any round; then the leader, the round's ring once a message carried it, and the silence since it was last heard of", () => {
    const l = new Leadership(2, 0, MAX_NODES);
    expect(l.view(5)).toEqual({ leader: null, ring: null, silence: null });
    const r = roundOf(1, 3);
    l.established(r, 10);
    expect(l.view(15)).toEqual({ leader: 1, ring: null, silence: 5 });
    l.established(r, 20, [2, 1]);
    expect(l.view(21)).toEqual({ leader: 1, ring: [2, 1], silence: 1 });
    l.established(r, 30); // a heartbeat: no ring, the ring stays
    expect(l.view(30)).toEqual({ leader: 1, ring: [2, 1], silence: 0 });
    l.established(roundOf(0, 1), 40, [2, 0]); // a lower round: nothing changes
    expect(l.view(40)).toEqual({ leader: 1, ring: [2, 1], silence: 10 });
    l.established(roundOf(3, 9), 50); // a higher round: its ring is not known yet
    expect(l.view(50)).toEqual({ leader: 3, ring: null, silence: 0 });
  });
});

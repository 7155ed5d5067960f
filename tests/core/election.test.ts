import { describe, expect, test } from "bun:test";
import { Election } from "../../src/core/election.ts";
import { makeCfg, rnd } from "./helpers.ts";

describe("election", () => {
  const cfg = makeCfg({ processes: [0, 1, 2], acceptors: [0, 1, 2], coordinator: 0 });
  const { suspectTicks: S, staggerTicks: G } = cfg;

  test("candidates stand in rank order after the leader: suspectTicks, plus staggerTicks per acceptor ranked before", () => {
    const one = new Election(1, cfg, false);
    const two = new Election(2, cfg, false);
    one.start(0);
    two.start(0);
    expect([one.due(S), one.due(S + 1)]).toEqual([false, true]);
    expect([two.due(S + G), two.due(S + G + 1)]).toEqual([false, true]);
  });

  test("a promise to a new candidate gives it a full suspicion period before the next acceptor stands against it", () => {
    const two = new Election(2, cfg, false);
    two.start(0);
    // Node 1 stood first (the leader, 0, fell silent); node 2 promised its round at S + 10.
    two.promised(rnd(1, 1), S + 10);
    expect(two.leader).toBe(1);
    // Node 2 now ranks right after the candidate, but its silence counts from the promise.
    expect(two.due(S + 11)).toBe(false);
    expect(two.due(S + 10 + S)).toBe(false);
    expect(two.due(S + 10 + S + 1)).toBe(true);
    // And the promise granted no lease: another candidate's 1A is not refused for it.
    expect(two.refuses(0, S + 20)).toBe(false);
  });

  test("evidence from the leader's round (Phase 2 traffic, a heartbeat) resets the silence; older rounds do not", () => {
    const one = new Election(1, cfg, false);
    one.start(0);
    one.established(rnd(1, 0), 100);
    one.established(rnd(0, 2), 300); // an older round: no evidence
    expect(one.silence(300)).toBe(200);
    expect(one.due(100 + S)).toBe(false);
    expect(one.due(100 + S + 1)).toBe(true);
    expect(one.refuses(2, 100 + cfg.leaseTicks - 1)).toBe(true);
    expect(one.refuses(2, 100 + cfg.leaseTicks)).toBe(false);
  });
});

import { describe, expect, test } from "bun:test";
import { validateProtocolConfig } from "../../src/core/config.ts";
import { describeCause, Election, LeadershipWatch, SAMPLE_PERIOD_HEARTBEATS, SILENCE_SAMPLES, STALL_TICKS, type LeadershipChange } from "../../src/core/election.ts";
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

  test("time this process did not run (a tick STALL_TICKS or more after the previous) is no silence of its leader", () => {
    const one = new Election(1, cfg, false);
    one.start(0);
    for (let t = 1; t <= 50; t++) one.ticked(t);
    one.established(rnd(1, 0), 50);
    // Stopped from tick 50 to 1,050: the first tick after it sees a silence of a few ticks, not 1,000.
    one.ticked(1050);
    expect(one.due(1050)).toBe(false);
    expect(one.silence(1050)).toBeLessThan(STALL_TICKS);
    // Still nothing heard once it runs again: suspected after the usual timeout, counted from there.
    for (let t = 1051; t <= 1050 + S; t++) one.ticked(t);
    expect(one.due(1050 + S - 5)).toBe(false);
    expect(one.due(1050 + S + 1)).toBe(true);
    // Without the stall being told (the old behaviour), the same acceptor stood at once.
    const old = new Election(1, cfg, false);
    old.start(0);
    old.established(rnd(1, 0), 50);
    expect(old.due(1050)).toBe(true);
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

/** Heartbeats every `every` ticks from `from`, with a long gap after every `spacing` beats, taking the gaps in turn. */
function jitteryStream(from: number, every: number, spacing: number, gaps: readonly number[]): number[] {
  const at: number[] = [];
  let t = from;
  for (const gap of gaps) {
    for (let k = 0; k < spacing; k++) at.push((t += every));
    at.push((t += gap));
  }
  return at;
}

/** Feeds evidence of `round` at the given ticks; returns the first tick (checked every tick) at which `e` would stand. */
function firstCandidacy(e: Election, round: number, at: readonly number[]): number | null {
  let t = at[0] ?? 0;
  for (const next of at) {
    for (; t < next; t++) if (e.due(t)) return t;
    e.established(round, next);
  }
  return null;
}

/** Feeds evidence of `round` at the given ticks, without asking whether `e` would have stood meanwhile (a refused candidacy learns too). */
function feed(e: Election, round: number, at: readonly number[]): void {
  for (const t of at) e.established(round, t);
}

describe("failure detection follows the leader's heartbeat jitter", () => {
  const cfg = makeCfg({ processes: [0, 1, 2], acceptors: [0, 1, 2], coordinator: 0 });
  const fixed = { ...cfg, suspectMaxTicks: cfg.suspectTicks };
  const leaderRound = rnd(1, 0);
  // A live leader on a busy host: heartbeats every 20 ms, and every 25 beats a gap of 200-300 ms
  // (longer than suspectMs, 250, from the third on), for about 17 s.
  const gaps = [200, 240, 300, 260, 220, 280, 300, 250, 290, 210, 270, 300, 230, 260, 280, 300, 240, 220, 290, 300, 260, 250, 280, 300, 200, 270, 290, 300];
  const stream = jitteryStream(0, 20, 25, gaps);

  test("a jittery but alive leader is not suspected; with the fixed timeout it is", () => {
    const adaptive = new Election(1, cfg, false);
    adaptive.start(0);
    adaptive.established(leaderRound, 0);
    expect(firstCandidacy(adaptive, leaderRound, stream)).toBeNull();
    // It learned: twice the longest silence survived (300).
    expect(adaptive.suspectAfter()).toBe(2 * 300);

    const rigid = new Election(1, fixed, false);
    rigid.start(0);
    rigid.established(leaderRound, 0);
    const stood = firstCandidacy(rigid, leaderRound, stream);
    // It stands during the first 300 ms gap, 251 ms into it.
    const firstLong = stream[3 * 26 - 1] as number;
    expect(stood).toBe(firstLong - 300 + cfg.suspectTicks + 1);
  });

  test("a dead leader is still suspected within suspectMaxTicks, however long the silences it survived", () => {
    const e = new Election(1, cfg, false);
    e.start(0);
    e.established(leaderRound, 0);
    // A 1.5 s pause survived (the leader came back): twice that would be 3 s, beyond the bound.
    const at = jitteryStream(0, 20, 25, [1500]);
    feed(e, leaderRound, at);
    expect(e.suspectAfter()).toBe(cfg.suspectMaxTicks);
    // Then the leader dies: node 1 (first in rank) stands once silent for more than suspectMaxTicks.
    const last = at.at(-1) as number;
    expect(e.due(last + cfg.suspectMaxTicks)).toBe(false);
    expect(e.due(last + cfg.suspectMaxTicks + 1)).toBe(true);
    expect(e.suspecting(last + cfg.suspectMaxTicks + 1)).toBe(true);
  });

  test("the timeout comes back to suspectTicks once the long silences are older than the samples kept", () => {
    const e = new Election(1, cfg, false);
    e.start(0);
    e.established(leaderRound, 0);
    const at = jitteryStream(0, 20, 25, [300]);
    feed(e, leaderRound, at);
    expect(e.suspectAfter()).toBe(600);
    // SILENCE_SAMPLES periods of SAMPLE_PERIOD_HEARTBEATS calm heartbeats each.
    let t = at.at(-1) as number;
    for (let k = 0; k < SILENCE_SAMPLES * SAMPLE_PERIOD_HEARTBEATS; k++) e.established(leaderRound, (t += cfg.heartbeatTicks));
    expect(e.suspectAfter()).toBe(cfg.suspectTicks);
  });

  test("under load (evidence every tick) the timeout stays at suspectTicks; a leader change is no silence survived", () => {
    const e = new Election(1, cfg, false);
    e.start(0);
    for (let t = 0; t < 5000; t++) e.established(leaderRound, t);
    expect(e.suspectAfter()).toBe(cfg.suspectTicks);
    // Node 2 takes over after node 0 was silent for 1 s: that silence ended no survival of node 0.
    e.established(rnd(2, 2), 6000);
    e.established(rnd(2, 2), 6020);
    expect(e.suspectAfter()).toBe(cfg.suspectTicks);
    // Nor is the time from a promise to the candidate's first heartbeat.
    e.promised(rnd(3, 1), 7000);
    e.established(rnd(3, 1), 7400);
    expect(e.suspectAfter()).toBe(cfg.suspectTicks);
  });

  test("leases do not adapt: a refused candidacy waits the adapted timeout, but the lease stays leaseTicks", () => {
    const e = new Election(1, cfg, false);
    e.start(0);
    e.established(leaderRound, 0);
    const at = jitteryStream(0, 20, 25, [400]);
    feed(e, leaderRound, at);
    const last = at.at(-1) as number;
    expect(e.refuses(2, last + cfg.leaseTicks - 1)).toBe(true);
    expect(e.refuses(2, last + cfg.leaseTicks)).toBe(false);
    e.refused(last);
    expect(e.due(last + 800)).toBe(false);
    expect(e.due(last + 801)).toBe(true);
  });

  test("the configuration refuses a bound below the floor", () => {
    expect(() => validateProtocolConfig({ ...cfg, suspectMaxTicks: cfg.suspectTicks - 1 })).toThrow(/suspectMaxTicks/);
    expect(() => validateProtocolConfig(fixed)).not.toThrow();
  });
});

describe("leadership changes and their causes", () => {
  const cfg = makeCfg({ processes: [0, 1, 2], acceptors: [0, 1, 2], coordinator: 0 });

  test("a follower is told the new leader when it sees a higher round, or promises a candidate", () => {
    const e = new Election(2, cfg, false);
    const w = new LeadershipWatch(2, { isActive: false, round: 0 }, e);
    e.start(0);
    e.established(rnd(1, 0), 0);
    expect(w.observe("msg", 0)).toBeNull(); // the configured coordinator: no change
    e.promised(rnd(2, 1), 300);
    expect(w.observe("msg", 300)).toEqual({ kind: "following", leader: 1, round: rnd(2, 1), cause: { k: "promised", round: rnd(2, 1), owner: 1 } });
    e.established(rnd(2, 1), 310);
    expect(w.observe("msg", 310)).toBeNull(); // the same leader: no second line
    e.established(rnd(3, 0), 400);
    const c = w.observe("msg", 400);
    expect(c).toEqual({ kind: "following", leader: 0, round: rnd(3, 0), cause: { k: "higher-round", round: rnd(3, 0), owner: 0 } });
    expect(describeCause((c as LeadershipChange).cause, 1)).toBe(`higher round ${rnd(3, 0)} of node 0 seen`);
  });

  test("a candidate says how long its leader was silent, and why it stood down", () => {
    const e = new Election(1, cfg, false);
    const coord = { isActive: false, round: 0 };
    const w = new LeadershipWatch(1, coord, e);
    e.start(0);
    e.established(rnd(1, 0), 0);
    const t = cfg.suspectTicks + 1;
    expect(e.due(t)).toBe(true);
    Object.assign(coord, { isActive: true, round: rnd(2, 1) });
    const stood = w.observe("tick", t) as LeadershipChange;
    expect(stood).toEqual({ kind: "leading", leader: 1, round: rnd(2, 1), cause: { k: "suspected", leader: 0, silence: t, after: cfg.suspectTicks } });
    expect(describeCause(stood.cause, 2)).toBe(`leader 0 silent for ${2 * t} ms (suspected after ${2 * cfg.suspectTicks} ms)`);
    // A majority still leased to node 0 refuses the candidacy.
    coord.isActive = false;
    e.refused(t + 5);
    expect(w.observe("msg", t + 5)).toEqual({ kind: "stood-down", leader: 0, round: rnd(1, 0), cause: { k: "refused", leader: 0 } });
    // Told to lead, then outranked by node 2's higher round.
    coord.isActive = true;
    expect(w.observe("lead", t + 10)?.cause).toEqual({ k: "told-to-lead" });
    coord.isActive = false;
    e.established(rnd(5, 2), t + 20);
    expect(w.observe("msg", t + 20)).toEqual({ kind: "stood-down", leader: 2, round: rnd(5, 2), cause: { k: "higher-round", round: rnd(5, 2), owner: 2 } });
  });

  test("a leader resumed after a stall that promises a candidate's round says so once, when it stands down", () => {
    const e = new Election(0, cfg, false);
    const coord = { isActive: true, round: rnd(1, 0) };
    const w = new LeadershipWatch(0, coord, e);
    e.start(0);
    e.established(rnd(1, 0), 0);
    expect(w.observe("msg", 0)).toBeNull();
    // Node 1's 1A: promised while this coordinator still counts itself active...
    e.promised(rnd(2, 1), 400);
    expect(w.observe("msg", 400)).toBeNull();
    // ...then node 1's round established: it stands down, and that line names the new leader.
    e.established(rnd(2, 1), 401);
    coord.isActive = false;
    expect(w.observe("msg", 401)).toEqual({ kind: "stood-down", leader: 1, round: rnd(2, 1), cause: { k: "higher-round", round: rnd(2, 1), owner: 1 } });
    expect(w.observe("tick", 402)).toBeNull();
  });
});

import { describe, expect, test } from "bun:test";
import { Acceptor } from "../../src/core/acceptor.ts";
import { OutputBuilder } from "../../src/core/output.ts";
import { instanceReach } from "../../src/core/config.ts";
import type { LedgerRecord } from "../../src/core/types.ts";
import { batch, cv, makeCfg, rnd } from "./helpers.ts";

const cfg = makeCfg({ processes: [1, 2, 3], acceptors: [1, 2, 3], coordinator: 1 });
const R1 = rnd(1, 1); // 17
const R2 = rnd(2, 2); // 34
const R3 = rnd(3, 1); // 49

function fresh(recovered: readonly LedgerRecord[] = []): Acceptor {
  return new Acceptor(2, cfg, recovered);
}

describe("acceptor Phase 1 (Task 2)", () => {
  test("acceptor promises a round above every round seen and persists the promise", () => {
    const a = fresh();
    const out = new OutputBuilder();
    expect(a.onPhase1A(R1, 0, out)).toEqual([]);
    expect(a.rnd).toBe(R1);
    expect(out.persist).toEqual([{ k: "promise", rnd: R1 }]);
    expect(out.send).toEqual([]);
  });

  test("acceptor that promised round 34 refuses a 1A of round 17 and persists nothing", () => {
    const a = fresh();
    a.onPhase1A(R2, 0, new OutputBuilder());
    const out = new OutputBuilder();
    expect(a.onPhase1A(R1, 0, out)).toBeNull();
    expect(a.rnd).toBe(R2);
    expect(out.persist).toEqual([]);
  });

  test("acceptor promises only a round strictly above rnd (Task 2: c-rnd > rnd): a second 1A of the promised round is refused", () => {
    const a = fresh();
    a.onPhase1A(R1, 0, new OutputBuilder());
    const out = new OutputBuilder();
    expect(a.onPhase1A(R1, 0, out)).toBeNull();
    expect(out.persist).toEqual([]);
  });

  test("an acceptor that voted in a round (without its 1A) refuses a 1A of that round", () => {
    const a = fresh();
    a.vote(R1, 0, batch("17.0"), new OutputBuilder());
    expect(a.onPhase1A(R1, 0, new OutputBuilder())).toBeNull();
  });

  test("planted bug acceptorRepromisesRound: a 1A of the promised round is answered again", () => {
    const buggy = new Acceptor(2, makeCfg({ processes: [1, 2, 3], acceptors: [1, 2, 3], coordinator: 1, bugs: { acceptorRepromisesRound: true } }));
    buggy.onPhase1A(R1, 0, new OutputBuilder());
    buggy.vote(R1, 0, batch("17.0"), new OutputBuilder());
    expect(buggy.onPhase1A(R1, 0, new OutputBuilder())?.map((r) => r.vrnd)).toEqual([R1]);
  });

  test("acceptor reports its highest-round vote in Phase 1B", () => {
    const a = fresh();
    const x = batch("17.0", cv(9, 0));
    const y = batch("34.0", cv(9, 1));
    a.vote(R1, 0, x, new OutputBuilder());
    a.vote(R2, 0, y, new OutputBuilder()); // a later round replaces the vote at instance 0
    const reports = a.onPhase1A(R3, 0, new OutputBuilder());
    expect(reports).toEqual([{ instance: 0, vrnd: R2, batch: y, decided: false }]);
  });

  test("Phase 1B reports only instances >= from, sorted, and flags the ones known decided", () => {
    const a = fresh();
    const b = (i: number) => batch(`17.${i}`, cv(1, i));
    for (const i of [5, 1, 3, 0]) a.vote(R1, i, b(i), new OutputBuilder());
    a.learnDecision(3, "17.3", new OutputBuilder());
    a.learnDecision(5, "other", new OutputBuilder()); // decided with a value it did not vote for
    const reports = a.onPhase1A(R2, 1, new OutputBuilder());
    expect(reports?.map((r) => [r.instance, r.decided])).toEqual([
      [1, false],
      [3, true],
      [5, false],
    ]);
  });
});

describe("acceptor Phase 2 (Task 4)", () => {
  test("acceptor that promised round 34 rejects a 2A of round 17", () => {
    const a = fresh();
    a.onPhase1A(R2, 0, new OutputBuilder());
    const out = new OutputBuilder();
    expect(a.vote(R1, 0, batch("17.0"), out)).toBe(false);
    expect(out.persist).toEqual([]);
    expect(a.hasVoted(0, R1, "17.0")).toBe(false);
  });

  test("acceptor votes in the promised round and persists the vote (v-rnd, v-val, v-vid)", () => {
    const a = fresh();
    a.onPhase1A(R1, 0, new OutputBuilder());
    const b = batch("17.0", cv(4, 2));
    const out = new OutputBuilder();
    expect(a.vote(R1, 7, b, out)).toBe(true);
    expect(out.persist).toEqual([{ k: "vote", instance: 7, vrnd: R1, batch: b }]);
    expect(a.hasVoted(7, R1, "17.0")).toBe(true);
    expect(a.hasVoted(7, R1, "17.1")).toBe(false);
    expect(a.hasVoted(6, R1, "17.0")).toBe(false);
  });

  test("a 2A of a round above the promise is accepted and raises rnd (c-rnd >= rnd)", () => {
    const a = fresh();
    a.onPhase1A(R1, 0, new OutputBuilder());
    expect(a.vote(R2, 0, batch("34.0"), new OutputBuilder())).toBe(true);
    expect(a.rnd).toBe(R2);
    // Now a 1A of the lower round is refused.
    expect(a.onPhase1A(R1, 0, new OutputBuilder())).toBeNull();
  });

  test("a repeated 2A of the same round and value is accepted again without a second record", () => {
    const a = fresh();
    a.vote(R1, 0, batch("17.0"), new OutputBuilder());
    const out = new OutputBuilder();
    expect(a.vote(R1, 0, batch("17.0"), out)).toBe(true);
    expect(out.persist).toEqual([]);
  });

  test("a second value in one round for one instance (forged or broken 2A) is refused and reported, not voted", () => {
    const a = fresh();
    a.vote(R1, 0, batch("17.0"), new OutputBuilder());
    const out = new OutputBuilder();
    out.source = 7;
    expect(a.vote(R1, 0, batch("17.9"), out)).toBe(false);
    expect(out.persist).toEqual([]);
    expect(out.conflicts).toEqual([{ from: 7, what: "second value in round 17 at instance 0 (17.9, voted 17.0)" }]);
    expect(a.hasVoted(0, R1, "17.0")).toBe(true);
    expect(a.hasVoted(0, R1, "17.9")).toBe(false);
  });

  test("a 2A or a decision far beyond what the acceptor knows is refused and reported (a forged 2A at 10^12 must not make later coordinators fill the gap)", () => {
    const a = fresh();
    a.vote(R1, 10, batch("17.0"), new OutputBuilder());
    const reach = instanceReach(cfg);
    const out = new OutputBuilder();
    expect(a.vote(R1, 1e12, batch("17.1"), out)).toBe(false);
    a.learnDecision(1e12, "17.1", out);
    expect(out.persist).toEqual([]);
    expect(out.conflicts.map((c) => c.what)).toEqual([
      "2A for instance 1000000000000, beyond reach (known up to 10)",
      "decision for instance 1000000000000, beyond reach (known up to 10)",
    ]);
    expect(a.isDecided(1e12)).toBe(false);
    // Within reach of its highest vote it votes as before, and a new promise's start moves the reach.
    expect(a.vote(R1, 10 + reach, batch("17.2"), new OutputBuilder())).toBe(true);
    a.onPhase1A(R2, 5 * reach, new OutputBuilder());
    expect(a.vote(R2, 6 * reach, batch("34.0"), new OutputBuilder())).toBe(true);
  });

  test("planted bug acceptorIgnoresPromise: the acceptor votes below its promise", () => {
    const buggy = new Acceptor(2, makeCfg({ processes: [1, 2, 3], acceptors: [1, 2, 3], coordinator: 1, bugs: { acceptorIgnoresPromise: true } }));
    buggy.onPhase1A(R2, 0, new OutputBuilder());
    expect(buggy.vote(R1, 0, batch("17.0"), new OutputBuilder())).toBe(true);
    expect(buggy.hasVoted(0, R1, "17.0")).toBe(true);
  });
});

describe("acceptor decisions and catch-up", () => {
  test("a decision is recorded once; a conflicting decision is reported and neither is trusted", () => {
    const a = fresh();
    const out = new OutputBuilder();
    a.learnDecision(4, "17.4", out);
    a.learnDecision(4, "17.4", out);
    expect(out.persist).toEqual([{ k: "decision", instance: 4, vid: "17.4" }]);
    expect(a.isDecided(4)).toBe(true);
    expect(a.isDecided(5)).toBe(false);
    const conflicting = new OutputBuilder();
    a.learnDecision(4, "34.0", conflicting);
    expect(conflicting.conflicts.length).toBe(1);
    expect(conflicting.persist).toEqual([]);
    expect(a.isDecided(4)).toBe(false);
    // It learns the decision again from the next honest message.
    a.learnDecision(4, "17.4", new OutputBuilder());
    expect(a.isDecided(4)).toBe(true);
  });

  test("catch-up returns decided instances with their value, decisions without a value, and values without a decision", () => {
    const a = fresh();
    const b0 = batch("17.0", cv(1, 0));
    const b1 = batch("17.1", cv(1, 1));
    const b3 = batch("17.3", cv(1, 3));
    a.vote(R1, 0, b0, new OutputBuilder());
    a.vote(R1, 1, b1, new OutputBuilder());
    a.vote(R1, 2, batch("17.2"), new OutputBuilder());
    a.vote(R1, 3, b3, new OutputBuilder());
    a.learnDecision(0, "17.0", new OutputBuilder());
    a.learnDecision(1, "17.1", new OutputBuilder());
    a.learnDecision(2, "elsewhere", new OutputBuilder()); // decided, but not the value it holds
    a.learnDecision(3, "17.3", new OutputBuilder());
    a.learnDecision(4, "17.4", new OutputBuilder()); // decided, no value at all
    a.vote(R1, 5, batch("17.5"), new OutputBuilder()); // voted, decision unknown here
    expect(a.catchup(0, 10)).toEqual({
      entries: [
        { instance: 0, batch: b0 },
        { instance: 1, batch: b1 },
        { instance: 3, batch: b3 },
      ],
      decisions: [
        { instance: 2, vid: "elsewhere" },
        { instance: 4, vid: "17.4" },
      ],
      votes: [
        { instance: 2, batch: batch("17.2") },
        { instance: 5, batch: batch("17.5") },
      ],
    });
    expect(a.catchup(1, 2)).toEqual({ entries: [{ instance: 1, batch: b1 }], decisions: [{ instance: 2, vid: "elsewhere" }], votes: [{ instance: 2, batch: batch("17.2") }] });
  });

  test("catch-up never returns more than catchupBatch instances", () => {
    const small = new Acceptor(2, makeCfg({ processes: [1, 2, 3], acceptors: [1, 2, 3], coordinator: 1, timing: { catchupBatch: 2 } }));
    for (let i = 0; i < 5; i++) {
      small.vote(R1, i, batch(`17.${i}`), new OutputBuilder());
      small.learnDecision(i, `17.${i}`, new OutputBuilder());
    }
    expect(small.catchup(0, 100).entries.map((e) => e.instance)).toEqual([0, 1]);
  });
});

describe("acceptor recovery from ledger records", () => {
  test("records written by one incarnation rebuild the next one's rnd, votes and decisions", () => {
    const a = fresh();
    const out = new OutputBuilder();
    const b0 = batch("17.0", cv(3, 0));
    const b1 = batch("34.0", cv(3, 1));
    a.onPhase1A(R1, 0, out);
    a.vote(R1, 0, b0, out);
    a.onPhase1A(R2, 0, out);
    a.vote(R2, 1, b1, out);
    a.learnDecision(0, "17.0", out);

    const b = fresh(out.persist);
    expect(b.rnd).toBe(R2);
    expect(b.hasVoted(0, R1, "17.0")).toBe(true);
    expect(b.hasVoted(1, R2, "34.0")).toBe(true);
    expect(b.isDecided(0)).toBe(true);
    expect(b.catchup(0, 5)).toEqual({ entries: [{ instance: 0, batch: b0 }], decisions: [], votes: [{ instance: 1, batch: b1 }] });
    expect(b.onPhase1A(R3, 0, new OutputBuilder())).toEqual([
      { instance: 0, vrnd: R1, batch: b0, decided: true },
      { instance: 1, vrnd: R2, batch: b1, decided: false },
    ]);
  });

  test("a replayed promise makes the recovered acceptor refuse lower rounds", () => {
    const a = fresh([{ k: "promise", rnd: R2 }]);
    expect(a.rnd).toBe(R2);
    expect(a.onPhase1A(R1, 0, new OutputBuilder())).toBeNull();
    expect(a.vote(R1, 0, batch("17.0"), new OutputBuilder())).toBe(false);
  });

  test("a replayed vote also counts as participation in its round (rnd >= v-rnd)", () => {
    const a = fresh([{ k: "vote", instance: 2, vrnd: R2, batch: batch("34.0") }]);
    expect(a.rnd).toBe(R2);
    expect(a.onPhase1A(R1, 0, new OutputBuilder())).toBeNull();
  });

  test("replay keeps the highest-round vote per instance, whatever the record order", () => {
    const hi = batch("34.0", cv(1, 1));
    const a = fresh([
      { k: "vote", instance: 0, vrnd: R2, batch: hi },
      { k: "vote", instance: 0, vrnd: R1, batch: batch("17.0") },
      { k: "promise", rnd: R1 },
    ]);
    expect(a.rnd).toBe(R2);
    expect(a.hasVoted(0, R2, "34.0")).toBe(true);
    expect(a.hasVoted(0, R1, "17.0")).toBe(false);
  });

  test("a replayed decision is not recorded again", () => {
    const a = fresh([{ k: "decision", instance: 3, vid: "17.3" }]);
    const out = new OutputBuilder();
    a.learnDecision(3, "17.3", out);
    expect(out.persist).toEqual([]);
    const conflicting = new OutputBuilder();
    a.learnDecision(3, "17.4", conflicting);
    expect(conflicting.conflicts.length).toBe(1);
  });
});

describe("acceptor records: which ones the step's sends must wait for", () => {
  test("a promise and a vote make the step's sends wait until they are durable; a decision and a trim do not", () => {
    const a = fresh();
    const promised = new OutputBuilder();
    a.onPhase1A(R1, 0, promised);
    expect(promised.sendsAfterPersist).toBe(true);
    const voted = new OutputBuilder();
    expect(a.vote(R1, 0, batch("17.0", cv(1, 1)), voted)).toBe(true);
    expect(voted.persist.map((r) => r.k)).toEqual(["vote"]);
    expect(voted.sendsAfterPersist).toBe(true);
    const decided = new OutputBuilder();
    a.learnDecision(0, "17.0", decided);
    expect(decided.persist.map((r) => r.k)).toEqual(["decision"]);
    expect(decided.sendsAfterPersist).toBe(false);
    const trimmed = new OutputBuilder();
    a.trim(1, trimmed);
    expect(trimmed.persist.map((r) => r.k)).toEqual(["trim"]);
    expect(trimmed.sendsAfterPersist).toBe(false);
  });
});

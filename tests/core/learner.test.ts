import { describe, expect, test } from "bun:test";
import { Learner, MAX_OUT_OF_ORDER_SEQS } from "../../src/core/learner.ts";
import { OutputBuilder } from "../../src/core/output.ts";
import { packPayload } from "../../src/core/pack.ts";
import { batch, cv, makeCfg, sent, type CfgParts } from "./helpers.ts";

// Acceptors 1,2,3; learners 4,5,6 (learner 5 is the second, so its preferred acceptor is the second).
function cfgWith(timing: CfgParts["timing"] = {}, bugs?: CfgParts["bugs"]) {
  const parts: CfgParts = { processes: [1, 2, 3, 4, 5, 6], acceptors: [1, 2, 3], learners: [4, 5, 6], coordinator: 1, timing };
  return makeCfg(bugs === undefined ? parts : { ...parts, bugs });
}
const cfg = cfgWith();
const T = cfg.catchupTicks;

const b0 = batch("17.0", cv(1, 0), cv(2, 0));
const b1 = batch("17.1", cv(1, 1));
const b2 = batch("17.2", cv(2, 1));

describe("learner delivery", () => {
  test("learner delivers in instance order and only after the decision", () => {
    const l = new Learner(4, cfg);
    const out = new OutputBuilder();
    l.onBatch(1, b1, 0, out);
    l.onDecision(1, "17.1", 0, out);
    expect(out.deliver).toEqual([]); // instance 0 is missing
    l.onBatch(0, b0, 0, out);
    expect(out.deliver).toEqual([]); // value without decision
    l.onDecision(0, "17.0", 0, out);
    expect(out.deliver).toEqual([
      { instance: 0, vid: "17.0", values: b0.values },
      { instance: 1, vid: "17.1", values: b1.values },
    ]);
    expect(l.nextInstance).toBe(2);
    expect(l.delivered).toBe(3);
  });

  test("a decision that arrives before its value is delivered when the value arrives", () => {
    const l = new Learner(4, cfg);
    const out = new OutputBuilder();
    l.onDecision(0, "17.0", 0, out);
    expect(out.deliver).toEqual([]);
    l.onBatch(0, b0, 0, out);
    expect(out.deliver.map((d) => d.instance)).toEqual([0]);
  });

  test("the learner delivers the decided batch, not another batch proposed for the same instance in another round", () => {
    const l = new Learner(4, cfg);
    const out = new OutputBuilder();
    const loser = batch("17.9", cv(9, 9));
    const winner = batch("33.0", cv(8, 8));
    l.onBatch(0, loser, 0, out);
    l.onBatch(0, winner, 0, out);
    l.onDecision(0, "33.0", 0, out);
    expect(out.deliver).toEqual([{ instance: 0, vid: "33.0", values: [cv(8, 8)] }]);
  });

  test("learner delivers a retransmitted client value (same client, seq) once", () => {
    const l = new Learner(4, cfg);
    const out = new OutputBuilder();
    const first = batch("17.0", cv(1, 0), cv(1, 1));
    const retry = batch("17.1", cv(1, 1), cv(3, 0), cv(1, 0));
    l.onBatch(0, first, 0, out);
    l.onDecision(0, "17.0", 0, out);
    l.onBatch(1, retry, 0, out);
    l.onDecision(1, "17.1", 0, out);
    expect(out.deliver.map((d) => d.values)).toEqual([[cv(1, 0), cv(1, 1)], [cv(3, 0)]]);
    expect(l.delivered).toBe(3);
  });

  test("a pack is delivered as its values, each once: a re-sent copy decided later delivers nothing, a malformed pack nothing at all", () => {
    const l = new Learner(4, cfg);
    const out = new OutputBuilder();
    const pack = { client: 1, seq: 2, payload: packPayload([cv(1, 2).payload, cv(1, 3).payload, cv(1, 4).payload]), packed: 3 };
    const malformed = { client: 5, seq: 0, payload: packPayload([cv(5, 0).payload]), packed: 2 };
    l.onBatch(0, batch("17.0", cv(1, 0), pack, malformed), 0, out);
    l.onDecision(0, "17.0", 0, out);
    l.onBatch(1, batch("17.1", pack, cv(1, 5)), 0, out);
    l.onDecision(1, "17.1", 0, out);
    expect(out.deliver.map((d) => d.values)).toEqual([[cv(1, 0), cv(1, 2), cv(1, 3), cv(1, 4)], [cv(1, 5)]]);
    expect(l.delivered).toBe(5);
    expect(l.malformedPacks).toBe(1);
    expect(l.hasDelivered(1, 3)).toBe(true);
  });

  test("a delivery with values left out tells each value's place in its instance (packs split), so that replicas number them alike", () => {
    const l = new Learner(4, cfg);
    const out = new OutputBuilder();
    const pack = { client: 1, seq: 2, payload: packPayload([cv(1, 2).payload, cv(1, 3).payload]), packed: 2 };
    l.onBatch(0, batch("17.0", cv(1, 0), cv(1, 2)), 0, out);
    l.onDecision(0, "17.0", 0, out);
    // Places: cv(1,0) 0 (seen), pack -> cv(1,2) 1 (seen), cv(1,3) 2, then cv(3,0) 3.
    l.onBatch(1, batch("17.1", cv(1, 0), pack, cv(3, 0)), 0, out);
    l.onDecision(1, "17.1", 0, out);
    expect(out.deliver.map((d) => [d.values, d.positions])).toEqual([
      [[cv(1, 0), cv(1, 2)], undefined],
      [[cv(1, 3), cv(3, 0)], [2, 3]],
    ]);
  });

  test("a state taken from a peer adds to what the learner saw itself: a peer's empty filter does not make it deliver a value again", () => {
    const l = new Learner(4, cfg);
    const out = new OutputBuilder();
    l.onBatch(0, b0, 0, out);
    l.onDecision(0, "17.0", 0, out);
    expect(l.hasDelivered(1, 0)).toBe(true);
    // Stuck behind what every process retains (trimmed to 10 by the acceptors), it asks a peer for its state.
    const step = (now: number): OutputBuilder => {
      const o = new OutputBuilder();
      l.tick(now, o);
      return o;
    };
    l.onFloor(10, 0);
    let asked = false;
    for (let now = 1; now < 2 * cfg.catchupGiveUpTicks && !asked; now++) asked = sent(step(now), "state-ask").length > 0;
    expect(asked).toBe(true);
    // The peer restarted from its store: no filter at all.
    l.onState(5, 10, false, [], 2 * cfg.catchupGiveUpTicks, new OutputBuilder());
    expect(l.behindGc).toBe(false);
    expect(l.hasDelivered(1, 0)).toBe(true);
    const after = new OutputBuilder();
    l.onBatch(10, batch("17.10", cv(1, 0), cv(4, 0)), 0, after);
    l.onDecision(10, "17.10", 0, after);
    expect(after.deliver.map((d) => [d.instance, d.values, d.positions])).toEqual([[10, [cv(4, 0)], [1]]]);
  });

  test("duplicate filtering also holds for seqs delivered out of order", () => {
    const l = new Learner(4, cfg);
    const out = new OutputBuilder();
    l.onCatchup(
      [
        { instance: 0, batch: batch("a", cv(1, 2)) },
        { instance: 1, batch: batch("b", cv(1, 0), cv(1, 2)) },
        { instance: 2, batch: batch("c", cv(1, 1), cv(1, 0), cv(1, 3)) },
      ],
      0,
      out,
    );
    expect(out.deliver.map((d) => d.values.map((v) => v.seq))).toEqual([[2], [0], [1, 3]]);
  });

  test("an already delivered instance is ignored; a conflicting decision for a pending one is reported, neither is trusted, and catch-up settles it", () => {
    const l = new Learner(4, cfg);
    const out = new OutputBuilder();
    l.onBatch(0, b0, 0, out);
    l.onDecision(0, "17.0", 0, out);
    l.onBatch(0, b0, 1, out);
    l.onDecision(0, "17.0", 1, out);
    expect(out.deliver.length).toBe(1);
    // A forged decision for instance 1 arrives first, then the real one.
    l.onDecision(1, "33.1", 1, out);
    out.source = 2;
    l.onDecision(1, "17.1", 1, out);
    expect(out.conflicts).toEqual([{ from: 2, what: "second decision for instance 1 (17.1, known 33.1)" }]);
    // An acceptor's retransmission of the decided batch delivers it.
    l.onCatchup([{ instance: 1, batch: b1 }], 2, out);
    expect(out.deliver.map((d) => d.vid)).toEqual(["17.0", "17.1"]);
  });

  test("values and decisions beyond learnerBufferInstances ahead are not kept", () => {
    const l = new Learner(4, cfgWith({ learnerBufferInstances: 2 }));
    const out = new OutputBuilder();
    l.onBatch(2, b2, 0, out);
    l.onDecision(2, "17.2", 0, out);
    l.onCatchup(
      [
        { instance: 0, batch: b0 },
        { instance: 1, batch: b1 },
      ],
      0,
      out,
    );
    expect(out.deliver.map((d) => d.instance)).toEqual([0, 1]);
    expect(l.nextInstance).toBe(2); // instance 2 was dropped when it arrived
  });

  test("planted bug learnerDeliversEarly: a batch is delivered before any decision", () => {
    const l = new Learner(4, cfgWith({}, { learnerDeliversEarly: true }));
    const out = new OutputBuilder();
    l.onBatch(0, b0, 0, out);
    expect(out.deliver.map((d) => d.vid)).toEqual(["17.0"]);
  });
});

describe("learner recovery of lost messages (thesis 3.3.4)", () => {
  test("learner recovers the three loss cases by asking its preferred acceptor, then the next", () => {
    // (a) value without decision
    const a = new Learner(5, cfg);
    const outA = new OutputBuilder();
    a.onBatch(0, b0, 0, outA);
    a.tick(T - 1, outA);
    expect(sent(outA, "catchup")).toEqual([]);
    a.tick(T, outA);
    expect(sent(outA, "catchup")).toEqual([{ to: 2, msg: { t: "catchup", from: 0, count: cfg.catchupBatch } }]);
    const retry = new OutputBuilder();
    a.tick(2 * T, retry);
    expect(sent(retry, "catchup").map((s) => s.to)).toEqual([3]);
    a.onCatchup([{ instance: 0, batch: b0 }], 2 * T + 1, retry);
    expect(retry.deliver.map((d) => d.instance)).toEqual([0]);

    // (b) decision without value
    const b = new Learner(5, cfg);
    const outB = new OutputBuilder();
    b.onDecision(0, "17.0", 0, outB);
    b.tick(T, outB);
    expect(sent(outB, "catchup").map((s) => [s.to, s.msg.from])).toEqual([[2, 0]]);
    b.onCatchup([{ instance: 0, batch: b0 }], T + 1, outB);
    expect(outB.deliver.map((d) => d.instance)).toEqual([0]);

    // (c) neither value nor decision: nothing shows a gap, yet the learner asks
    const c = new Learner(5, cfg);
    const outC = new OutputBuilder();
    c.tick(T, outC);
    expect(sent(outC, "catchup").map((s) => [s.to, s.msg.from])).toEqual([[2, 0]]);
    c.onCatchup([{ instance: 0, batch: b0 }], T + 1, outC);
    expect(outC.deliver.map((d) => d.instance)).toEqual([0]);
  });

  test("each learner starts with its own preferred acceptor and moves round-robin over the acceptors", () => {
    const l = new Learner(6, cfg); // third learner: preferred acceptor 3
    const asked: number[] = [];
    l.onDecision(0, "17.0", 0, new OutputBuilder());
    for (let k = 1; k <= 4; k++) {
      const out = new OutputBuilder();
      l.tick(k * T, out);
      for (const s of sent(out, "catchup")) asked.push(Number(s.to));
    }
    expect(asked).toEqual([3, 1, 2, 3]);
  });

  test("catch-up asks from the next undelivered instance", () => {
    const l = new Learner(4, cfg);
    const out = new OutputBuilder();
    l.onCatchup([{ instance: 0, batch: b0 }], 0, out);
    l.onBatch(2, b2, 0, out); // gap at 1
    l.tick(T, out);
    expect(sent(out, "catchup").map((s) => s.msg.from)).toEqual([1]);
  });

  test("while it makes progress the learner does not ask", () => {
    const l = new Learner(4, cfg);
    const out = new OutputBuilder();
    l.onBatch(1, b1, 0, out); // gap: instance 0 missing
    l.onCatchup([{ instance: 0, batch: b0 }], T - 1, out); // progress at T-1 (0 delivered; 1 waits for its decision)
    l.tick(T, out);
    l.tick(2 * T - 2, out);
    expect(sent(out, "catchup")).toEqual([]);
    l.tick(2 * T - 1, out);
    expect(sent(out, "catchup").map((s) => s.msg.from)).toEqual([1]);
  });

  test("a full catch-up reply that moved the learner on brings the next ask at once; a partial one does not", () => {
    const small = cfgWith({ catchupBatch: 2 });
    const l = new Learner(4, small);
    const out = new OutputBuilder();
    l.onCatchup(
      [
        { instance: 0, batch: b0 },
        { instance: 1, batch: b1 },
      ],
      1,
      out,
    );
    expect(l.nextInstance).toBe(2);
    expect(sent(out, "catchup").map((s) => [s.msg.from, s.msg.count])).toEqual([[2, 2]]);
    // The same reply again (a duplicate) moves nothing: no ask.
    const dup = new OutputBuilder();
    l.onCatchup(
      [
        { instance: 0, batch: b0 },
        { instance: 1, batch: b1 },
      ],
      2,
      dup,
    );
    expect(sent(dup, "catchup")).toEqual([]);
    // A partial reply: the learner is near the head, the timer decides.
    const partial = new OutputBuilder();
    l.onCatchup([{ instance: 2, batch: b2 }], 3, partial);
    expect(l.nextInstance).toBe(3);
    expect(sent(partial, "catchup")).toEqual([]);
  });

  test("without evidence of a gap the learner polls only every 4 x catchupTicks", () => {
    const l = new Learner(4, cfg);
    const first = new OutputBuilder();
    l.tick(T, first);
    expect(sent(first, "catchup").length).toBe(1);
    const quiet = new OutputBuilder();
    for (let t = T + 1; t < 5 * T; t++) l.tick(t, quiet);
    expect(sent(quiet, "catchup")).toEqual([]);
    const again = new OutputBuilder();
    l.tick(5 * T, again);
    expect(sent(again, "catchup").length).toBe(1);
  });
});

describe("learner that starts from the first decision it sees (a client's learner)", () => {
  test("delivers from that instance on, asks for nothing before it, and still orders what follows", () => {
    const cfg = makeCfg({ processes: [1, 2, 3, 9], acceptors: [1, 2, 3], learners: [9], coordinator: 1 });
    const l = new Learner(9, cfg, "first-seen");
    const out = new OutputBuilder();
    l.onBatch(500, batch("a", cv(7, 0)), 0, out);
    l.onBatch(501, batch("b", cv(7, 1)), 0, out);
    // No decision yet: nothing delivered, and no catch-up for a history it does not want.
    l.tick(1000, out);
    expect(out.deliver).toEqual([]);
    expect(out.send).toEqual([]);
    l.onDecision(501, "b", 1000, out);
    expect(out.deliver.map((d) => d.instance)).toEqual([501]);
    expect(l.nextInstance).toBe(502);
    // Below the anchor is ignored; above it, order holds and gaps are asked for.
    l.onDecision(500, "a", 1000, out);
    l.onDecision(503, "d", 1000, out);
    expect(out.deliver.map((d) => d.instance)).toEqual([501]);
    l.tick(2000, out);
    expect(sent(out, "catchup").map((s) => s.msg.from)).toEqual([502]);
  });

  test("a learner from the beginning does not deliver instance 501 before 0..500", () => {
    const cfg = makeCfg({ processes: [1, 2, 3, 9], acceptors: [1, 2, 3], learners: [9], coordinator: 1 });
    const l = new Learner(9, cfg);
    const out = new OutputBuilder();
    l.onBatch(501, batch("b", cv(7, 1)), 0, out);
    l.onDecision(501, "b", 0, out);
    expect(out.deliver).toEqual([]);
    expect(l.nextInstance).toBe(0);
  });
});

describe("the duplicate filter's bound", () => {
  test("a first-seen learner that missed a client's early seqs slides past them instead of failing", () => {
    const cfg = makeCfg({ processes: [1, 2, 3, 9], acceptors: [1, 2, 3], learners: [9], coordinator: 1 });
    const l = new Learner(9, cfg, "first-seen");
    const out = new OutputBuilder();
    // Seqs 0..9 were decided before this learner joined; it sees 10.. onwards, far beyond the bound.
    const n = MAX_OUT_OF_ORDER_SEQS + 50;
    for (let i = 0; i < n; i++) {
      l.onBatch(100 + i, batch(`v${i}`, cv(5, 10 + i)), 0, out);
      l.onDecision(100 + i, `v${i}`, 0, out);
    }
    expect(out.deliver.flatMap((d) => d.values.map((v) => v.seq))).toEqual(Array.from({ length: n }, (_, i) => 10 + i));
    // A late duplicate of an already delivered seq is still filtered.
    l.onBatch(100 + n, batch("dup", cv(5, 20)), 0, out);
    l.onDecision(100 + n, "dup", 0, out);
    expect(out.deliver.at(-1)?.values).toEqual([]);
  });

  test("a learner from the beginning reports the same gap (a broken or hostile client) as conflicting, slides past it and keeps delivering", () => {
    const cfg = makeCfg({ processes: [1, 2, 3, 9], acceptors: [1, 2, 3], learners: [9], coordinator: 1 });
    const l = new Learner(9, cfg);
    const out = new OutputBuilder();
    for (let i = 0; i <= MAX_OUT_OF_ORDER_SEQS + 1; i++) {
      l.onBatch(i, batch(`v${i}`, cv(5, 10 + i)), 0, out);
      l.onDecision(i, `v${i}`, 0, out);
    }
    expect(out.conflicts.length).toBe(1);
    expect(out.deliver.length).toBe(MAX_OUT_OF_ORDER_SEQS + 2);
    expect(out.deliver.every((d) => d.values.length === 1)).toBe(true);
  });
});

describe("what a replica reports as applied", () => {
  const applied = (out: OutputBuilder) => out.send.flatMap((e) => (e.msg.t === "applied" ? [e.msg.upTo] : []));
  test("by default what it delivered; after the host's first 'applied', what the host applied (never more than delivered)", () => {
    const l = new Learner(4, cfg);
    const out = new OutputBuilder();
    l.onBatch(0, b0, 0, out);
    l.onDecision(0, "17.0", 0, out);
    l.onBatch(1, b1, 0, out);
    l.onDecision(1, "17.1", 0, out);
    const t1 = new OutputBuilder();
    l.tick(cfg.appliedTicks, t1);
    expect(new Set(applied(t1))).toEqual(new Set([2]));
    l.onHostApplied(1);
    const t2 = new OutputBuilder();
    l.tick(2 * cfg.appliedTicks, t2);
    expect(new Set(applied(t2))).toEqual(new Set([1]));
    // The host's mark never goes back, and cannot pass what was delivered (the host's bug: asserted).
    l.onHostApplied(0);
    const t3 = new OutputBuilder();
    l.tick(3 * cfg.appliedTicks, t3);
    expect(new Set(applied(t3))).toEqual(new Set([1]));
    expect(() => l.onHostApplied(3)).toThrow(/applied only what was delivered/);
  });
});

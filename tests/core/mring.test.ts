import { describe, expect, test } from "bun:test";
import { INITIAL_TIMEOUT_FACTOR } from "../../src/core/proposer.ts";
import { DEFAULT_TIMING } from "../../src/core/config.ts";
import { InvariantError } from "../../src/core/assert.ts";
import { createProcess } from "../../src/core/factory.ts";
import { mringProcess } from "../../src/core/mring.ts";
import type { RingProcess } from "../../src/core/process.ts";
import type { Batch, Msg, NodeId, Output } from "../../src/core/types.ts";
import { Net, batch, cv, makeCfg, only, rnd, sent, trafficOf, type CfgParts, get, msg } from "./helpers.ts";

// Acceptors 1..5 (coordinator 1, quorum 3): the ring is [2, 3, 1], spares 4 and 5.
// Learners 2, 6, 7; node 6 also proposes.
function cfgWith(timing: CfgParts["timing"] = {}) {
  return makeCfg({
    variant: "mring",
    processes: [1, 2, 3, 4, 5, 6, 7],
    acceptors: [1, 2, 3, 4, 5],
    learners: [2, 6, 7],
    proposers: [6],
    coordinator: 1,
    timing,
  });
}
const R = rnd(1, 1); // 17
const RING = [2, 3, 1];

type Procs = Map<NodeId, RingProcess>;


/** Every process of the configuration, with the coordinator through Phase 1 (round 17, ring [2,3,1]). */
function leading(timing: CfgParts["timing"] = {}): Procs {
  const cfg = cfgWith(timing);
  const ps: Procs = new Map(cfg.processes.map((id) => [id, createProcess(id, cfg)]));
  const c = get(ps, 1);
  const oneAs = sent(c.step({ k: "lead" }, 0), "1a");
  expect(oneAs.map((s) => s.to)).toEqual([1, 2, 3, 4, 5]);
  for (const s of oneAs) {
    const reply = only(msg(get(ps, Number(s.to)), 1, s.msg), "1b");
    msg(c, Number(s.to), reply.msg);
  }
  expect(c.coordinator?.ring).toEqual(RING);
  return ps;
}

/** The coordinator proposes client value (6, seq); returns the 2A it ip-multicasts. */
function propose(ps: Procs, seq: number): Extract<Msg, { t: "2a" }> {
  return only(msg(get(ps, 1), 6, { t: "value", v: cv(6, seq), hops: 0 }), "2a").msg;
}

describe("M-Ring Phase 1", () => {
  test("M-Ring: the coordinator sends 1A to the acceptors only, and each acceptor persists its promise with the 1B", () => {
    const cfg = cfgWith();
    const c = mringProcess(1, cfg);
    const out = c.step({ k: "lead" }, 0);
    expect(sent(out, "1a").map((s) => s.to)).toEqual([1, 2, 3, 4, 5]);
    const a = mringProcess(3, cfg);
    const reply = msg(a, 1, { t: "1a", rnd: R, from: 0 });
    expect(reply.persist).toEqual([{ k: "promise", rnd: R }]);
    expect(sent(reply, "1b")).toEqual([{ to: 1, msg: { t: "1b", rnd: R, from: 0, acceptor: true, votes: [] } }]);
  });

  test("the output tells each change of the coordinator's leadership, once: a candidate, then established with its ring", () => {
    const cfg = cfgWith();
    const ps: Procs = new Map(cfg.processes.map((id) => [id, createProcess(id, cfg)]));
    const c = get(ps, 1);
    const lead = c.step({ k: "lead" }, 0);
    expect(lead.leading).toEqual({ active: true, established: false, round: R, ring: null });
    const changes = [];
    for (const s of sent(lead, "1a")) {
      const reply = only(msg(get(ps, Number(s.to)), 1, s.msg), "1b");
      const out = msg(c, Number(s.to), reply.msg);
      if (out.leading !== null) changes.push(out.leading);
    }
    expect(changes).toEqual([{ active: true, established: true, round: R, ring: RING }]);
    expect(c.step({ k: "tick" }, 1).leading).toBeNull();
    expect(c.step({ k: "step-down" }, 2).leading).toEqual({ active: false, established: false, round: R, ring: null });
    // A process without a coordinator never reports one.
    expect(get(ps, 6).step({ k: "tick" }, 0).leading).toBeNull();
  });

  test("M-Ring: an acceptor that promised a higher round nacks the 1A with its promise", () => {
    const cfg = cfgWith();
    const a = mringProcess(3, cfg);
    a.step({ k: "tick" }, 0);
    // After the configured coordinator's lease, node 2's round is promised...
    msg(a, 2, { t: "1a", rnd: rnd(2, 2), from: 0 }, cfg.leaseTicks);
    const out = msg(a, 1, { t: "1a", rnd: R, from: 0 }, cfg.leaseTicks + 1);
    expect(sent(out, "nack")).toEqual([{ to: 1, msg: { t: "nack", rnd: R, promised: rnd(2, 2) } }]);
    expect(out.persist).toEqual([]);
  });

  test("a process that is no acceptor ignores 1A in M-Ring", () => {
    const l = mringProcess(6, cfgWith());
    expect(msg(l, 1, { t: "1a", rnd: R, from: 0 }).send).toEqual([]);
  });
});

describe("M-Ring Phase 2 (Algorithm 2, Tasks 3-5)", () => {
  test("M-Ring: the coordinator ip-multicasts 2A with the batch, its id and the ring", () => {
    const ps = leading();
    const out = msg(get(ps, 1), 6, { t: "value", v: cv(6, 0), hops: 0 });
    expect(sent(out, "2a")).toEqual([
      { to: "mc", msg: { t: "2a", rnd: R, instance: 0, batch: { vid: `${R}.0`, values: [cv(6, 0)] }, ring: RING, decisions: [] } },
    ]);
  });

  test("M-Ring: the first acceptor on the ring starts Phase 2B after voting", () => {
    const ps = leading();
    const twoA = propose(ps, 0);
    const out = msg(get(ps, 2), 1, twoA);
    expect(out.persist).toEqual([{ k: "vote", instance: 0, vrnd: R, batch: twoA.batch }]);
    expect(sent(out, "2b")).toEqual([{ to: 3, msg: { t: "2b", rnd: R, instance: 0, vid: twoA.batch.vid, ring: RING, voters: [2] } }]);
  });

  test("M-Ring: an acceptor on the ring that is not first only votes on 2A", () => {
    const ps = leading();
    const twoA = propose(ps, 0);
    const out = msg(get(ps, 3), 1, twoA);
    expect(out.persist.map((r) => r.k)).toEqual(["vote"]);
    expect(out.send).toEqual([]);
  });

  test("M-Ring: a spare acceptor neither votes nor sends on a 2A (thesis Algorithm 2: Phase 2 is the ring's)", () => {
    const ps = leading();
    const twoA = propose(ps, 0);
    const spare = get(ps, 4);
    const out = msg(spare, 1, twoA);
    expect(out.persist).toEqual([]);
    expect(out.send).toEqual([]);
    expect(spare.acceptor?.votedBatch(0, twoA.batch.vid)).toBeUndefined();
  });

  test("M-Ring: an acceptor that voted forwards 2B to its successor, adding itself to the voters", () => {
    const ps = leading();
    const twoA = propose(ps, 0);
    const a3 = get(ps, 3);
    msg(a3, 1, twoA);
    const twoB = only(msg(get(ps, 2), 1, twoA), "2b").msg;
    const out = msg(a3, 2, twoB);
    expect(sent(out, "2b")).toEqual([{ to: 1, msg: { ...twoB, voters: [2, 3] } }]);
  });

  test("M-Ring: an acceptor that has not received the value (v-vid != c-vid) does not forward 2B", () => {
    const ps = leading();
    const twoA = propose(ps, 0);
    const twoB = only(msg(get(ps, 2), 1, twoA), "2b").msg;
    const a3 = get(ps, 3);
    // 3 has not received the 2A: it holds no vote for this id and stays silent.
    expect(isQuiet(msg(a3, 2, twoB))).toBe(true);
    // Having voted for this id in round 17, a 2B of the same id in round 33 is not forwarded either.
    const later = leading();
    const twoA2 = propose(later, 0);
    const b3 = get(later, 3);
    msg(b3, 1, twoA2);
    expect(isQuiet(msg(b3, 2, { ...only(msg(get(later, 2), 1, twoA2), "2b").msg, rnd: rnd(2, 1) }))).toBe(true);
  });

  test("M-Ring: a 2B that overtook its 2A is acted on once the 2A arrives and the acceptor voted", () => {
    const ps = leading();
    const twoA = propose(ps, 0);
    const twoB = only(msg(get(ps, 2), 1, twoA), "2b").msg;
    const a3 = get(ps, 3);
    expect(isQuiet(msg(a3, 2, twoB))).toBe(true);
    const out = msg(a3, 1, twoA);
    expect(out.persist.map((r) => r.k)).toEqual(["vote"]);
    expect(sent(out, "2b")).toEqual([{ to: 1, msg: { ...twoB, voters: [2, 3] } }]);
    // Only once: a repeated 2A does not replay the kept 2B.
    expect(sent(msg(a3, 1, twoA), "2b")).toEqual([]);
  });

  test("M-Ring: a kept 2B is not used for a 2A of another round", () => {
    const ps = leading();
    const twoA = propose(ps, 0);
    const twoB = only(msg(get(ps, 2), 1, twoA), "2b").msg;
    const a3 = get(ps, 3);
    msg(a3, 2, twoB); // kept: round 17
    const out = msg(a3, 1, { ...twoA, rnd: rnd(2, 1) }); // the 2A of the same instance in round 33
    expect(out.persist.map((r) => r.k)).toEqual(["vote"]);
    expect(sent(out, "2b")).toEqual([]);
  });

  test("M-Ring: a 2B whose voters are not exactly the ring members before the receiver is dropped", () => {
    const ps = leading();
    const twoA = propose(ps, 0);
    const twoB = only(msg(get(ps, 2), 1, twoA), "2b").msg;
    const a3 = get(ps, 3);
    msg(a3, 1, twoA);
    expect(msg(a3, 2, { ...twoB, voters: [] }).send).toEqual([]);
    expect(msg(a3, 2, { ...twoB, voters: [4] }).send).toEqual([]);
    expect(msg(a3, 2, { ...twoB, voters: [2, 2] }).send).toEqual([]);
    // The first of the ring never takes a 2B: it starts it.
    expect(msg(get(ps, 2), 1, { ...twoB, voters: [] }).send).toEqual([]);
  });

  test("M-Ring: the coordinator, last on the ring, decides once the 2B visited the ring and multicasts the decision", () => {
    const ps = leading();
    const c = get(ps, 1);
    const twoA = propose(ps, 0);
    msg(c, 1, twoA); // its own ip-multicast: the coordinator votes as an acceptor
    msg(get(ps, 3), 1, twoA);
    const b23 = only(msg(get(ps, 3), 2, only(msg(get(ps, 2), 1, twoA), "2b").msg), "2b").msg;
    const out = msg(c, 3, b23);
    expect(out.decided).toEqual([{ instance: 0, vid: twoA.batch.vid }]);
    expect(out.persist).toEqual([{ k: "decision", instance: 0, vid: twoA.batch.vid }]);
    expect(sent(out, "decision")).toEqual([{ to: "mc", msg: { t: "decision", decisions: [{ instance: 0, vid: twoA.batch.vid }] } }]);
    expect(c.coordinator?.inFlight).toBe(0);
  });

  test("M-Ring: the coordinator decides only once it voted for the value itself", () => {
    const ps = leading();
    const c = get(ps, 1);
    const twoA = propose(ps, 0);
    msg(get(ps, 3), 1, twoA);
    const b23 = only(msg(get(ps, 3), 2, only(msg(get(ps, 2), 1, twoA), "2b").msg), "2b").msg;
    const early = msg(c, 3, b23); // the coordinator's own copy of the 2A has not arrived yet
    expect(early.decided).toEqual([]);
    expect(early.send).toEqual([]);
    const out = msg(c, 1, twoA);
    expect(out.decided).toEqual([{ instance: 0, vid: twoA.batch.vid }]);
    expect(sent(out, "decision").length).toBe(1);
  });

  test("M-Ring: the coordinator, last on the ring, multicasts the decision, riding on the next 2A", () => {
    const ps = leading({ window: 1 });
    const c = get(ps, 1);
    const twoA = propose(ps, 0);
    expect(sent(msg(c, 6, { t: "value", v: cv(6, 1), hops: 0 }), "2a")).toEqual([]); // window full
    msg(c, 1, twoA);
    msg(get(ps, 3), 1, twoA);
    const b23 = only(msg(get(ps, 3), 2, only(msg(get(ps, 2), 1, twoA), "2b").msg), "2b").msg;
    const out = msg(c, 3, b23);
    expect(sent(out, "decision")).toEqual([]);
    const next = only(out, "2a");
    expect(next.to).toBe("mc");
    expect(next.msg.instance).toBe(1);
    expect(next.msg.batch.values).toEqual([cv(6, 1)]);
    expect(next.msg.decisions).toEqual([{ instance: 0, vid: twoA.batch.vid }]);
  });

  test("M-Ring: learners deliver on the decision; a decision riding on a 2A counts as well", () => {
    const ps = leading({ window: 1 });
    const c = get(ps, 1);
    const twoA0 = propose(ps, 0);
    msg(c, 6, { t: "value", v: cv(6, 1), hops: 0 });
    const l7 = get(ps, 7);
    expect(msg(l7, 1, twoA0).deliver).toEqual([]); // value, no decision yet
    const riding: Batch = { vid: `${R}.1`, values: [cv(6, 1)] };
    const out = msg(l7, 1, { t: "2a", rnd: R, instance: 1, batch: riding, ring: RING, decisions: [{ instance: 0, vid: twoA0.batch.vid }] });
    expect(out.deliver).toEqual([{ instance: 0, vid: twoA0.batch.vid, values: [cv(6, 0)] }]);
    const dec = msg(l7, 1, { t: "decision", decisions: [{ instance: 1, vid: riding.vid }] });
    expect(dec.deliver.map((d) => d.instance)).toEqual([1]);
  });

  test("M-Ring: an acceptor that refuses a 2A tells the round's coordinator, which stands down (no duel) and later leads in a round above the promise", () => {
    const ps = leading();
    const twoA = propose(ps, 0);
    const member = get(ps, 3);
    const L = DEFAULT_TIMING.leaseTicks; // once the lease it gave node 1 ran out...
    msg(member, 2, { t: "1a", rnd: rnd(1, 2), from: 0 }, L); // ...3 promised round 18 to node 2
    const out = msg(member, 1, twoA, L);
    expect(out.persist).toEqual([]);
    expect(sent(out, "nack")).toEqual([{ to: 1, msg: { t: "nack", rnd: R, promised: rnd(1, 2) } }]);
    // The coordinator stands down rather than duel with node 2 (the election decides who leads next)...
    const c = get(ps, 1);
    expect(sent(msg(c, 3, only(out, "nack").msg, L), "1a")).toEqual([]);
    expect(c.coordinator?.isActive).toBe(false);
    // ...and when it leads again, its round is above the promise.
    expect(sent(c.step({ k: "lead" }, L + 1), "1a").map((s) => s.msg.rnd)).toEqual([1, 2, 3, 4, 5].map(() => rnd(2, 1)));
  });

  test("a single-acceptor M-Ring decides on its own 2A", () => {
    const cfg = makeCfg({ variant: "mring", processes: [0, 1], acceptors: [0], learners: [0, 1], coordinator: 0 });
    const c = mringProcess(0, cfg);
    const oneA = only(c.step({ k: "lead" }, 0), "1a").msg;
    msg(c, 0, only(msg(c, 0, oneA), "1b").msg);
    expect(c.coordinator?.ring).toEqual([0]);
    const twoA = only(msg(c, 1, { t: "value", v: cv(1, 0), hops: 0 }), "2a").msg;
    const out = msg(c, 0, twoA);
    expect(out.decided).toEqual([{ instance: 0, vid: twoA.batch.vid }]);
    expect(out.deliver.map((d) => d.values)).toEqual([[cv(1, 0)]]);
    expect(sent(out, "decision").length).toBe(1);
  });
});

describe("M-Ring client values, catch-up and leadership", () => {
  test("a client value reaching a process that does not coordinate is forwarded to the leader, at most twice", () => {
    const l = mringProcess(7, cfgWith());
    expect(sent(msg(l, 6, { t: "value", v: cv(6, 0), hops: 0 }), "value")).toEqual([{ to: 1, msg: { t: "value", v: cv(6, 0), hops: 1 } }]);
    expect(msg(l, 6, { t: "value", v: cv(6, 0), hops: 2 }).send).toEqual([]);
  });

  test("the proposer sends to the owner of the highest round it saw, and its retries alternate with the configured coordinator", () => {
    const p = mringProcess(6, cfgWith());
    expect(sent(p.step({ k: "propose", payload: new Uint8Array([1]) }, 0), "value").map((s) => s.to)).toEqual([1]);
    // A 2A of round 18 shows that node 2 now coordinates.
    msg(p, 2, { t: "2a", rnd: rnd(1, 2), instance: 5, batch: batch("18.0"), ring: [3, 4, 2], decisions: [] });
    expect(sent(p.step({ k: "propose", payload: new Uint8Array([2]) }, 1), "value").map((s) => s.to)).toEqual([2]);
    const retry = p.step({ k: "tick" }, INITIAL_TIMEOUT_FACTOR * cfgWith().proposerTimeoutTicks); // nothing measured: the initial timeout
    expect(sent(retry, "value").map((s) => s.to)).toEqual([1]); // tries = 1: the configured coordinator
  });

  test("an acceptor answers catch-up with the decided batches it holds and its round", () => {
    const ps = leading();
    const twoA = propose(ps, 0);
    const a3 = get(ps, 3);
    msg(a3, 1, twoA);
    msg(a3, 1, { t: "decision", decisions: [{ instance: 0, vid: twoA.batch.vid }] });
    const out = msg(a3, 7, { t: "catchup", from: 0, count: 10 });
    expect(sent(out, "catchup-reply")).toEqual([
      { to: 7, msg: { t: "catchup-reply", rnd: R, entries: [{ instance: 0, batch: twoA.batch }] } },
    ]);
    const l7 = get(ps, 7);
    const delivered = msg(l7, 3, only(out, "catchup-reply").msg);
    expect(delivered.deliver.map((d) => d.values)).toEqual([[cv(6, 0)]]);
  });

  test("M-Ring end to end: values proposed at a learner are delivered in the same order by every learner and acknowledged", () => {
    const net = new Net(cfgWith());
    net.input(1, { k: "lead" });
    net.run();
    for (let i = 0; i < 5; i++) net.input(6, { k: "propose", payload: new Uint8Array([i]) });
    net.run();
    const expected = [0, 1, 2, 3, 4];
    for (const l of [2, 6, 7]) expect(net.delivered(l).flatMap((d) => d.values.map((v) => v.seq))).toEqual(expected);
    expect(net.delivered(6).map((d) => d.instance)).toEqual(net.delivered(7).map((d) => d.instance));
    expect(net.proc(6).proposer?.inFlight).toBe(0);
  });

  test("M-Ring end to end: a learner that lost a 2A and its decision recovers the value from its preferred acceptor", () => {
    const net = new Net(cfgWith());
    net.input(1, { k: "lead" });
    net.run();
    net.drop = (m) => m.to === 7 && (m.msg.t === "2a" || m.msg.t === "decision");
    net.input(6, { k: "propose", payload: new Uint8Array([9]) });
    net.run();
    expect(net.delivered(6).length).toBe(1);
    expect(net.delivered(7)).toEqual([]);
    net.tickUntil(cfgWith().catchupTicks);
    const ask = net.log.filter((m) => m.from === 7 && m.msg.t === "catchup");
    expect(ask.map((m) => m.to)).toEqual([3]); // learner 7 is the third learner: acceptors[2]
    expect(net.delivered(7)).toEqual(net.delivered(6));
  });
});

describe("M-Ring coordinator restart", () => {
  test("M-Ring: a coordinator restarted from its ledger cannot complete Phase 1 again in its old round, and a value voted in it survives", () => {
    const cfg = makeCfg({ variant: "mring", processes: [1, 2, 3], acceptors: [1, 2, 3], learners: [2, 3], coordinator: 1 });
    const net = new Net(cfg);
    net.input(1, { k: "lead" });
    net.run();
    expect(net.proc(1).coordinator?.ring).toEqual([2, 1]); // node 3 is a spare
    // Incarnation 1 proposes A in round 17; its 2A reaches only node 2, whose 2B is lost, then node 1 crashes.
    net.drop = (m) => (m.msg.t === "2a" && m.to !== 2) || m.msg.t === "2b";
    net.input(1, { k: "msg", from: 2, msg: { t: "value", v: cv(2, 0), hops: 0 } });
    net.run();
    net.drop = () => false;
    const again = net.restart(1);
    const restartedAt = net.log.length;
    net.input(1, { k: "lead" });
    // The restarted coordinator remembers no round of its own: it tries 17 again...
    expect(net.queue.filter((m) => m.msg.t === "1a").map((m) => (m.msg.t === "1a" ? m.msg.rnd : 0))).toEqual([R, R, R]);
    net.run();
    // ...which every acceptor refuses, having promised it already (its own acceptor from the ledger).
    const refusedR = net.log.filter((m) => m.msg.t === "nack" && m.msg.rnd === R && m.to === 1);
    expect(refusedR.map((m) => m.from).sort()).toEqual([1, 2, 3]);
    expect(net.log.slice(restartedAt).filter((m) => m.msg.t === "1b" && m.msg.rnd === R)).toEqual([]);
    // The first such nack sends it to a higher round, where Phase 1 finds node 2's vote and
    // re-proposes A (once its own acceptor, restarted, stops refusing: one lease, see election.ts).
    net.tickUntil(cfg.leaseTicks + cfg.retransmitTicks * (cfg.retriesBeforeNewRound + 2));
    expect(again.coordinator?.round).toBeGreaterThan(R);
    expect(again.coordinator?.ring).toEqual([2, 1]);
    net.input(1, { k: "msg", from: 2, msg: { t: "value", v: cv(2, 1), hops: 0 } });
    net.run();
    const seqs = (id: number) => net.delivered(id).flatMap((d) => d.values.map((v) => `${d.instance}:${v.seq}`));
    expect(seqs(2)).toEqual(["0:0", "1:1"]);
    expect(seqs(3)).toEqual(seqs(2));
  });
});

function isQuiet(o: Output): boolean {
  return o.send.length === 0 && o.persist.length === 0 && o.decided.length === 0;
}

test("createProcess builds an M-Ring process for an M-Ring configuration, and refuses a mismatch", () => {
  // M-Ring: Phase 1A goes to the acceptors only, and the process keeps no ring of its own.
  expect(createProcess(2, cfgWith()).knownRing).toBeNull();
  expect(trafficOf(createProcess(1, cfgWith()).step({ k: "lead" }, 0))).toEqual(["1a->1", "1a->2", "1a->3", "1a->4", "1a->5"]);
  expect(() => mringProcess(2, { ...cfgWith(), variant: "uring" })).toThrow(InvariantError);
});

describe("M-Ring messages that a correct process could not have sent are dropped", () => {
  test("a 2B naming this node last on the ring of a round it does not own: no decision, no crash", () => {
    const ps = leading();
    const twoA = propose(ps, 0);
    for (const id of [1, 2, 3]) msg(get(ps, id), 1, twoA);
    // Node 3 is not the owner of round R (node 1 is); a ring ending at 3 cannot be R's.
    const forged: Msg = { t: "2b", rnd: R, instance: twoA.instance, vid: twoA.batch.vid, ring: [2, 3], voters: [2] };
    const out = msg(get(ps, 3), 2, forged);
    expect({ decided: out.decided, send: out.send }).toEqual({ decided: [], send: [] });
  });

  test("a 2A whose ring holds a non-acceptor or repeats a member is ignored", () => {
    const ps = leading();
    const twoA = propose(ps, 0);
    for (const ring of [[2, 7, 1], [2, 2, 1], [1]])
      expect(isQuiet(msg(get(ps, 2), 1, { ...twoA, ring }))).toBe(true);
  });
});

describe("Multi-Ring skip instances (thesis §5.2.2) at an M-Ring coordinator", () => {
  const skipping = { multiRing: { skipPerInterval: 4, skipIntervalTicks: 10 } };
  // Skip instances among the 2As of a step (value batches and their retransmissions left out).
  const skipsIn = (o: Output) => sent(o, "2a").flatMap((s) => (s.msg.batch.skip === undefined ? [] : [s.msg.batch.skip]));

  test("an idle ring's coordinator proposes one skip(λ·Δ) instance per interval; values proposed in the interval reduce it", () => {
    const ps = leading(skipping);
    const c = get(ps, 1);
    expect(skipsIn(c.step({ k: "tick" }, 9))).toEqual([]);
    const first = c.step({ k: "tick" }, 10);
    expect(skipsIn(first)).toEqual([4]);
    expect(only(first, "2a").msg.batch.values).toEqual([]);
    // Two instances of values in the next interval: the skip makes up the other two.
    propose(ps, 0);
    propose(ps, 1);
    expect(skipsIn(c.step({ k: "tick" }, 20))).toEqual([2]);
    // Every learner of the ring delivers the skip instance with its count.
    const l = get(ps, 6);
    const twoA = only(first, "2a").msg;
    msg(l, 1, twoA, 11);
    const d = msg(l, 1, { t: "decision", decisions: [{ instance: twoA.instance, vid: twoA.batch.vid }] }, 11);
    expect(d.deliver.map((x) => [x.instance, x.values.length, x.skip])).toEqual([[twoA.instance, 0, 4]]);
  });

  test("a lagging notice is skipped at once, relayed to the leader by another acceptor; one beyond the next instance is dropped", () => {
    const ps = leading(skipping);
    const c = get(ps, 1);
    // Acceptor 2 follows the leader: it passes the notice on (one hop), and the leader skips 37 slots on its next tick.
    const relayed = only(msg(get(ps, 2), 6, { t: "lagging", at: 0, slots: 37, hops: 0 }, 1), "lagging");
    expect(relayed.msg).toEqual({ t: "lagging", at: 0, slots: 37, hops: 1 });
    msg(c, 2, relayed.msg, 2);
    expect(skipsIn(c.step({ k: "tick" }, 3))).toEqual([37]);
    expect(c.status(3).coordinator?.catchUpSkips).toBe(1);
    // No learner can wait for an instance the coordinator has not reached: forged or stale, dropped.
    msg(c, 6, { t: "lagging", at: 1_000_000, slots: 50, hops: 0 }, 4);
    expect(skipsIn(c.step({ k: "tick" }, 5))).toEqual([]);
    expect(c.status(5).coordinator?.catchUpSkips).toBe(1);
  });

  test("a single ring (no multiRing configuration) never skips", () => {
    const c = get(leading(), 1);
    for (let t = 1; t <= 100; t += 10) expect(skipsIn(c.step({ k: "tick" }, t))).toEqual([]);
  });

  test("a coordinator taking the ring over owes the outage since the last decision it learned, at once", () => {
    const cfg = cfgWith({ ...skipping, leaseTicks: 0 });
    const ps: Procs = new Map(cfg.processes.map((id) => [id, createProcess(id, cfg)]));
    // Node 2 (an acceptor) learned a decision at tick 100; it leads from tick 300.
    msg(get(ps, 2), 1, { t: "decision", decisions: [{ instance: 0, vid: "17.0" }] }, 100);
    const c = get(ps, 2);
    const oneAs = sent(c.step({ k: "lead" }, 300), "1a");
    let last: Output | null = null;
    for (const s of oneAs) last = msg(c, Number(s.to), only(msg(get(ps, Number(s.to)), 2, s.msg, 300), "1b").msg, 300);
    // Every acceptor answered at tick 300: 200 ticks of outage at 0.4 per tick owe 80 slots at once.
    const done = c.step({ k: "tick" }, 300 + cfg.phase1GraceTicks);
    expect([...skipsIn(last as Output), ...skipsIn(done)]).toEqual([80]);
  });
});

describe("M-Ring with flexible quorums", () => {
  const cfg = (drop: readonly number[]) => {
    const c = makeCfg({ variant: "mring", processes: [1, 2, 3, 4, 5, 6], acceptors: [1, 2, 3, 4, 5], learners: [6], proposers: [6], coordinator: 1, timing: { phase1Quorum: 4, phase2Quorum: 2 } });
    const net = new Net(c);
    net.drop = (m) => drop.includes(Number(m.to)) || drop.includes(Number(m.from));
    return net;
  };

  test("Phase 2 runs over a ring of phase2Quorum acceptors and decides; Phase 1 completes with phase1Quorum replies", () => {
    const net = cfg([5]);
    net.input(1, { k: "lead" });
    net.run();
    // Four of five answered: Phase 1 ends when its grace for the fifth runs out.
    net.tickUntil(DEFAULT_TIMING.phase1GraceTicks + 1);
    expect(net.proc(1).coordinator?.ring).toEqual([2, 1]);
    for (let i = 0; i < 3; i++) net.input(6, { k: "propose", payload: new Uint8Array([i]) });
    net.run();
    expect(net.delivered(6).flatMap((d) => d.values.map((v) => v.seq))).toEqual([0, 1, 2]);
    // Two voters per decision: the ring's; the others hold nothing.
    expect(net.proc(3).acceptor?.votedBatch(0, net.delivered(6)[0]?.vid ?? "")).toBeUndefined();
  });

  test("with fewer than phase1Quorum acceptors answering, no round is established (a majority would have been enough)", () => {
    const net = cfg([4, 5]);
    net.input(1, { k: "lead" });
    net.run();
    net.tickUntil(200);
    expect(net.proc(1).coordinator?.ring ?? null).toBeNull();
  });
});

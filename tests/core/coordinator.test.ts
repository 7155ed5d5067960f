import { describe, expect, test } from "bun:test";
import { coordinatorLeaseTicks, VALUE_OVERHEAD_BYTES } from "../../src/core/config.ts";
import type { ProtocolConfig } from "../../src/core/config.ts";
import { Coordinator, type CoordinatorVariant } from "../../src/core/coordinator.ts";
import { OutputBuilder } from "../../src/core/output.ts";
import { quorumSize } from "../../src/core/quorum.ts";
import { layoutMRing } from "../../src/core/ring.ts";
import type { NodeId, VoteReport } from "../../src/core/types.ts";
import { batch, cv, makeCfg, rnd, sent, type CfgParts } from "./helpers.ts";

const ACCEPTORS = [1, 2, 3, 4, 5];
const R17 = rnd(1, 1);

function setup(timing: CfgParts["timing"] = {}, bugs?: CfgParts["bugs"]): { c: Coordinator; cfg: ProtocolConfig } {
  const parts: CfgParts = { processes: ACCEPTORS, acceptors: ACCEPTORS, coordinator: 1, timing };
  const cfg = makeCfg(bugs === undefined ? parts : { ...parts, bugs });
  const q = quorumSize(cfg.acceptors.length);
  const variant: CoordinatorVariant = {
    phase1Targets: cfg.acceptors,
    layout: (responders, avoid) => layoutMRing(cfg.acceptors, 1, responders, q, avoid),
    sendPhase2: (r, instance, b, ring, out) => out.multicast({ t: "2a", rnd: r, instance, batch: b, ring, decisions: [] }),
  };
  return { c: new Coordinator(1, cfg, variant), cfg };
}

/** Activates the coordinator and answers its Phase 1A from every acceptor with the given votes. */
function toPhase2(c: Coordinator, votes: ReadonlyMap<NodeId, VoteReport[]> = new Map(), now = 0): OutputBuilder {
  c.activate(now, new OutputBuilder());
  const out = new OutputBuilder();
  for (const a of ACCEPTORS) c.onPhase1B(a, c.round, votes.get(a) ?? [], now, out);
  return out;
}

describe("coordinator Phase 1 (Tasks 1 and 3)", () => {
  test("on becoming leader the coordinator sends 1A of a fresh round of its own to every acceptor", () => {
    const { c } = setup();
    const out = new OutputBuilder();
    c.activate(0, out);
    expect(c.isActive).toBe(true);
    expect(c.round).toBe(R17);
    expect(sent(out, "1a")).toEqual(ACCEPTORS.map((a) => ({ to: a, msg: { t: "1a", rnd: R17, from: 0 } })));
    const again = new OutputBuilder();
    c.activate(1, again);
    expect(again.send).toEqual([]);
  });

  test("coordinator lays out the ring and enters Phase 2 once every acceptor answered", () => {
    const { c } = setup();
    c.activate(0, new OutputBuilder());
    for (const a of [1, 2, 3, 4]) c.onPhase1B(a, R17, [], 0, new OutputBuilder());
    expect(c.ring).toBeNull();
    c.onPhase1B(5, R17, [], 0, new OutputBuilder());
    expect(c.ring).toEqual([2, 3, 1]);
  });

  test("with an m-quorum of answers the coordinator waits phase1GraceTicks for the others, then lays out the ring", () => {
    const { c, cfg } = setup();
    c.activate(0, new OutputBuilder());
    for (const a of [1, 3, 5]) c.onPhase1B(a, R17, [], 2, new OutputBuilder());
    c.tick(2 + cfg.phase1GraceTicks - 1, new OutputBuilder());
    expect(c.ring).toBeNull();
    c.tick(2 + cfg.phase1GraceTicks, new OutputBuilder());
    expect(c.ring).toEqual([3, 5, 1]);
  });

  test("Phase 1B of another round is ignored (Task 3: rnd = c-rnd)", () => {
    const { c } = setup();
    c.activate(0, new OutputBuilder());
    for (const a of ACCEPTORS) c.onPhase1B(a, rnd(1, 2), [], 0, new OutputBuilder());
    expect(c.ring).toBeNull();
  });

  test("without a quorum the coordinator re-sends 1A to the silent acceptors, then tries a higher round", () => {
    const { c, cfg } = setup();
    c.activate(0, new OutputBuilder());
    c.onPhase1B(1, R17, [], 0, new OutputBuilder());
    c.onPhase1B(4, R17, [], 0, new OutputBuilder());
    const early = new OutputBuilder();
    c.tick(cfg.retransmitTicks - 1, early);
    expect(early.send).toEqual([]);
    for (let k = 1; k <= cfg.retriesBeforeNewRound; k++) {
      const out = new OutputBuilder();
      c.tick(k * cfg.retransmitTicks, out);
      expect(sent(out, "1a")).toEqual([2, 3, 5].map((a) => ({ to: a, msg: { t: "1a", rnd: R17, from: 0 } })));
    }
    const out = new OutputBuilder();
    c.tick((cfg.retriesBeforeNewRound + 1) * cfg.retransmitTicks, out);
    expect(c.round).toBe(rnd(2, 1));
    expect(sent(out, "1a").map((s) => [s.to, s.msg.rnd])).toEqual(ACCEPTORS.map((a) => [a, rnd(2, 1)]));
  });

  test("a nack from an acceptor that promised a higher round: stand down; leading again starts a round above it", () => {
    const { c } = setup();
    c.activate(0, new OutputBuilder());
    const out = new OutputBuilder();
    expect(c.onNack(2, R17, rnd(3, 4), 1, out)).toBe("outranked");
    expect(sent(out, "1a")).toEqual([]);
    c.deactivate();
    c.activate(2, out);
    expect(c.round).toBe(rnd(4, 1));
    expect(sent(out, "1a").length).toBe(ACCEPTORS.length);
  });

  test("a nack for a round the coordinator no longer runs does not restart Phase 1", () => {
    const { c } = setup();
    c.activate(0, new OutputBuilder());
    const out = new OutputBuilder();
    c.onNack(2, rnd(1, 3), rnd(2, 3), 1, out);
    expect(out.send).toEqual([]);
    expect(c.round).toBe(R17);
  });

  test("Phase 1 covers every instance from the first one not known decided", () => {
    const { c } = setup();
    const out = new OutputBuilder();
    c.onDecision(0, "x.0", 0, out);
    c.onDecision(1, "x.1", 0, out);
    c.onDecision(3, "x.3", 0, out); // not contiguous: instance 2 is still open
    c.activate(0, out);
    expect(sent(out, "1a").every((s) => s.msg.from === 2)).toBe(true);
  });

  test("coordinator re-proposes the value of the highest-round vote after Phase 1", () => {
    const { c } = setup();
    c.observeRound(rnd(3, 2)); // the coordinator knows of round 50: its round is 65
    const x = batch("17.0", cv(7, 0));
    const y = batch("50.0", cv(8, 0));
    const votes = new Map<NodeId, VoteReport[]>([
      [2, [{ instance: 0, vrnd: R17, batch: x, decided: false }]],
      [3, [{ instance: 0, vrnd: rnd(3, 2), batch: y, decided: false }]],
      [5, [{ instance: 0, vrnd: R17, batch: x, decided: false }]],
    ]);
    const out = toPhase2(c, votes);
    expect(c.round).toBe(rnd(4, 1));
    expect(sent(out, "2a").map((s) => [s.msg.rnd, s.msg.instance, s.msg.batch])).toEqual([[rnd(4, 1), 0, y]]);
  });

  test("coordinator fills a hole with a no-op", () => {
    const { c } = setup();
    const b0 = batch("9.0", cv(1, 0));
    const b2 = batch("9.2", cv(1, 2));
    const votes = new Map<NodeId, VoteReport[]>([
      [2, [{ instance: 0, vrnd: 9, batch: b0, decided: false }]],
      [4, [{ instance: 2, vrnd: 9, batch: b2, decided: false }]],
    ]);
    const out = toPhase2(c, votes);
    const twoAs = sent(out, "2a").map((s) => s.msg);
    expect(twoAs.map((m) => m.instance)).toEqual([0, 1, 2]);
    expect(twoAs[0]?.batch).toEqual(b0);
    expect(twoAs[2]?.batch).toEqual(b2);
    const noop = twoAs[1]?.batch;
    expect(noop?.values).toEqual([]);
    expect(noop?.vid.startsWith(`${R17}.`)).toBe(true);
    // The next client value goes after the re-proposed instances.
    const next = new OutputBuilder();
    c.onValue(cv(3, 0), 1, next);
    expect(sent(next, "2a").map((s) => s.msg.instance)).toEqual([3]);
  });

  test("instances reported decided are re-proposed with their decided value", () => {
    const { c } = setup();
    const b = batch("9.0", cv(1, 0));
    const out = toPhase2(c, new Map([[3, [{ instance: 0, vrnd: 9, batch: b, decided: true }]]]));
    expect(sent(out, "2a").map((s) => s.msg.batch)).toEqual([b]);
  });

  test("a Phase 1B claiming a decision that is not the highest vote is reported as conflicting; the highest vote is re-proposed", () => {
    const { c } = setup();
    c.activate(0, new OutputBuilder());
    const b = (vid: string) => batch(vid, cv(1, 0));
    c.onPhase1B(2, R17, [{ instance: 0, vrnd: 3, batch: b("3.0"), decided: true }], 0, new OutputBuilder());
    c.onPhase1B(3, R17, [{ instance: 0, vrnd: 9, batch: b("9.0"), decided: false }], 0, new OutputBuilder());
    c.onPhase1B(1, R17, [], 0, new OutputBuilder());
    c.onPhase1B(4, R17, [], 0, new OutputBuilder());
    const out = new OutputBuilder();
    c.onPhase1B(5, R17, [], 0, out);
    expect(out.conflicts.map((x) => x.what)).toEqual(["instance 0: reported decided 3.0, not the highest vote"]);
    expect(sent(out, "2a").map((s) => s.msg.batch.vid)).toEqual(["9.0"]);
  });

  test("a Phase 1B reporting a vote above its own round is dropped as conflicting", () => {
    const { c } = setup();
    c.activate(0, new OutputBuilder());
    const out = new OutputBuilder();
    out.source = 2;
    c.onPhase1B(2, R17, [{ instance: 0, vrnd: R17 + 16, batch: batch("33.0", cv(1, 0)), decided: false }], 0, out);
    expect(out.conflicts).toEqual([{ from: 2, what: `1B of round ${R17} reports a vote in a higher round` }]);
  });

  test("planted bug coordinatorIgnoresVotes: the reported vote is replaced by a no-op", () => {
    const { c } = setup({}, { coordinatorIgnoresVotes: true });
    const b = batch("9.0", cv(1, 0));
    const out = toPhase2(c, new Map([[2, [{ instance: 0, vrnd: 9, batch: b, decided: false }]]]));
    const twoA = sent(out, "2a")[0]?.msg;
    expect(twoA?.instance).toBe(0);
    expect(twoA?.batch.values).toEqual([]);
  });

  test("client values received during Phase 1 are proposed once Phase 1 completes", () => {
    const { c } = setup();
    c.activate(0, new OutputBuilder());
    const early = new OutputBuilder();
    c.onValue(cv(2, 0), 0, early);
    expect(early.send).toEqual([]);
    const out = new OutputBuilder();
    for (const a of ACCEPTORS) c.onPhase1B(a, R17, [], 1, out);
    expect(sent(out, "2a").map((s) => [s.msg.instance, s.msg.batch.values])).toEqual([[0, [cv(2, 0)]]]);
  });
});

describe("coordinator Phase 2 (Task 3)", () => {
  test("each batch gets a unique vid of the coordinator's round and the next instance", () => {
    const { c } = setup();
    toPhase2(c);
    const out = new OutputBuilder();
    c.onValue(cv(1, 0), 1, out);
    c.onValue(cv(1, 1), 1, out);
    expect(sent(out, "2a").map((s) => [s.msg.rnd, s.msg.instance, s.msg.batch.vid, s.msg.ring])).toEqual([
      [R17, 0, `${R17}.0`, [2, 3, 1]],
      [R17, 1, `${R17}.1`, [2, 3, 1]],
    ]);
  });

  test("coordinator keeps at most `window` instances in flight", () => {
    const { c } = setup({ window: 2, batchBytes: 4 });
    toPhase2(c);
    const out = new OutputBuilder();
    for (let s = 0; s < 5; s++) c.onValue(cv(1, s), 1, out);
    expect(sent(out, "2a").map((x) => x.msg.instance)).toEqual([0, 1]);
    expect(c.inFlight).toBe(2);
    // A decision frees one slot: exactly one more instance opens.
    const more = new OutputBuilder();
    c.onDecision(0, `${R17}.0`, 2, more);
    expect(sent(more, "2a").map((x) => [x.msg.instance, x.msg.batch.values])).toEqual([[2, [cv(1, 2)]]]);
    expect(c.inFlight).toBe(2);
  });

  test("values that queue while the window is full travel together in the next batch", () => {
    const { c } = setup({ window: 1 });
    toPhase2(c);
    const out = new OutputBuilder();
    for (let s = 0; s < 4; s++) c.onValue(cv(1, s), 1, out);
    expect(sent(out, "2a").length).toBe(1);
    const more = new OutputBuilder();
    c.onDecision(0, `${R17}.0`, 2, more);
    expect(sent(more, "2a").map((x) => x.msg.batch.values)).toEqual([[cv(1, 1), cv(1, 2), cv(1, 3)]]);
  });

  test("a batch is closed at batchBytes, counting each value's wire overhead", () => {
    const { c } = setup({ window: 1, batchBytes: 2 * (4 + VALUE_OVERHEAD_BYTES) + 2 });
    toPhase2(c);
    const out = new OutputBuilder();
    for (let s = 0; s < 6; s++) c.onValue(cv(1, s, 4), 1, out); // first batch: value 0 alone
    const more = new OutputBuilder();
    c.onDecision(0, `${R17}.0`, 2, more);
    // Two 4-byte values with their overhead fit; a third does not: two values per batch.
    expect(sent(more, "2a").map((x) => x.msg.batch.values.map((v) => v.seq))).toEqual([[1, 2]]);
  });

  test("a partial batch waits batchDelayTicks for more values", () => {
    const { c } = setup({ batchDelayTicks: 10 });
    toPhase2(c);
    const out = new OutputBuilder();
    c.onValue(cv(1, 0), 3, out);
    c.onValue(cv(1, 1), 5, out);
    c.tick(12, out);
    expect(sent(out, "2a")).toEqual([]);
    const later = new OutputBuilder();
    c.tick(13, later);
    expect(sent(later, "2a").map((x) => x.msg.batch.values)).toEqual([[cv(1, 0), cv(1, 1)]]);
  });

  test("beyond maxPendingValues client values are dropped and counted", () => {
    const { c } = setup({ maxPendingValues: 2, batchDelayTicks: 100 });
    toPhase2(c);
    for (let s = 0; s < 5; s++) c.onValue(cv(1, s), 1, new OutputBuilder());
    expect(c.droppedValues).toBe(3);
  });

  test("a decided instance is skipped when numbering the next batch", () => {
    const { c } = setup();
    toPhase2(c);
    const out = new OutputBuilder();
    c.onValue(cv(1, 0), 1, out); // instance 0
    c.onDecision(1, "other.1", 1, out); // another coordinator's decision at instance 1
    c.onValue(cv(1, 1), 1, out);
    expect(sent(out, "2a").map((x) => x.msg.instance)).toEqual([0, 2]);
  });

  test("a retransmitted client value (same client, seq) that is queued or in flight is not proposed again", () => {
    const { c } = setup({ batchDelayTicks: 10 });
    toPhase2(c);
    const out = new OutputBuilder();
    c.onValue(cv(4, 0), 0, out); // pending (waiting for the batch delay)
    c.onValue(cv(4, 0), 1, out);
    c.tick(10, out); // the batch closes, in flight now
    c.onValue(cv(4, 0), 11, out);
    c.tick(25, out);
    expect(sent(out, "2a").map((x) => [x.msg.instance, x.msg.batch.values])).toEqual([[0, [cv(4, 0)]]]);
    expect(c.duplicateValues).toBe(2);
  });

  test("a late retransmission of a value decided in this coordinator's batch is dropped", () => {
    const { c } = setup();
    toPhase2(c);
    c.onValue(cv(4, 0), 0, new OutputBuilder());
    c.onDecision(0, `${R17}.0`, 1, new OutputBuilder());
    const out = new OutputBuilder();
    c.onValue(cv(4, 0), 2, out);
    expect(sent(out, "2a")).toEqual([]);
    expect(c.duplicateValues).toBe(1);
  });

  test("a value whose batch lost its instance to another coordinator's value is proposed again when retransmitted", () => {
    const { c } = setup();
    toPhase2(c);
    c.onValue(cv(4, 0), 0, new OutputBuilder());
    c.onDecision(0, "other.0", 1, new OutputBuilder());
    const out = new OutputBuilder();
    c.onValue(cv(4, 0), 2, out);
    expect(sent(out, "2a").map((x) => [x.msg.instance, x.msg.batch.values])).toEqual([[1, [cv(4, 0)]]]);
    expect(c.duplicateValues).toBe(0);
  });

  test("a value whose in-flight batch Phase 1 replaced by a voted value is proposed again when retransmitted", () => {
    const { c } = setup();
    toPhase2(c);
    c.onValue(cv(4, 0), 0, new OutputBuilder());
    c.onNack(2, R17, R17, 1, new OutputBuilder()); // round 17 promised already (a lost 1B)
    const voted = batch("18.0", cv(9, 9));
    const p1 = new OutputBuilder();
    for (const a of ACCEPTORS)
      c.onPhase1B(a, c.round, a === 3 ? [{ instance: 0, vrnd: rnd(1, 2), batch: voted, decided: false }] : [], 2, p1);
    expect(sent(p1, "2a").map((x) => x.msg.batch)).toEqual([voted]);
    const out = new OutputBuilder();
    c.onValue(cv(4, 0), 3, out);
    expect(sent(out, "2a").map((x) => [x.msg.instance, x.msg.batch.values])).toEqual([[1, [cv(4, 0)]]]);
  });

  test("a value re-sent while Phase 1 runs is not proposed again when Phase 1 re-proposes another coordinator's batch holding it", () => {
    const { c } = setup();
    c.activate(0, new OutputBuilder());
    const early = new OutputBuilder();
    c.onValue(cv(4, 0), 1, early); // pending: Phase 1 has not completed
    const voted = batch("2.0", cv(4, 0), cv(5, 0));
    const p1 = new OutputBuilder();
    for (const a of ACCEPTORS) c.onPhase1B(a, c.round, a === 3 ? [{ instance: 0, vrnd: rnd(0, 2), batch: voted, decided: false }] : [], 2, p1);
    // Only the recovered batch leaves: the pending copy is in flight in it.
    expect(sent(p1, "2a").map((x) => [x.msg.instance, x.msg.batch.vid])).toEqual([[0, "2.0"]]);
    const resent = new OutputBuilder();
    c.onValue(cv(4, 0), 3, resent);
    expect(sent(resent, "2a")).toEqual([]);
    // Decided there: a later re-send is told instance 0, where learners deliver it.
    c.onDecision(0, "2.0", 4, new OutputBuilder());
    const late = new OutputBuilder();
    c.onValue(cv(4, 0), 5, late, 9);
    expect(sent(late, "decided-value").map((x) => [x.to, x.msg.instance])).toEqual([[9, 0]]);
    expect(sent(late, "2a")).toEqual([]);
  });

  test("values of a batch decided elsewhere (while another coordinator led) are answered with its instance, not proposed again", () => {
    const { c } = setup();
    const elsewhere = batch("other.0", cv(4, 0));
    c.onDecision(0, "other.0", 0, new OutputBuilder(), elsewhere); // this acceptor voted it; not leading
    c.onDecision(3, "other.3", 0, new OutputBuilder(), batch("other.3", cv(4, 0))); // a later copy: the first instance counts
    toPhase2(c);
    const out = new OutputBuilder();
    c.onValue(cv(4, 0), 1, out, 9);
    expect(sent(out, "decided-value").map((x) => [x.to, x.msg.instance])).toEqual([[9, 0]]);
    expect(sent(out, "2a")).toEqual([]);
  });

  test("coordinator re-sends 2A after retransmitTicks (a fast ring measured), and after retriesBeforeNewRound re-sends starts a higher round", () => {
    const { c, cfg } = setup();
    toPhase2(c);
    // A first instance decided in 2 ticks: the Phase 2 timeout is its floor, retransmitTicks.
    c.onValue(cv(1, 0), 0, new OutputBuilder());
    c.onDecision(0, `${R17}.0`, 2, new OutputBuilder());
    const t0 = 10;
    c.onValue(cv(1, 1), t0, new OutputBuilder());
    const quiet = new OutputBuilder();
    c.tick(t0 + cfg.retransmitTicks - 1, quiet);
    expect(quiet.send.filter((e) => e.msg.t !== "heartbeat")).toEqual([]);
    for (let k = 1; k <= cfg.retriesBeforeNewRound; k++) {
      const out = new OutputBuilder();
      c.tick(t0 + k * cfg.retransmitTicks, out);
      expect(sent(out, "2a").map((x) => [x.msg.rnd, x.msg.instance, x.msg.batch.vid])).toEqual([[R17, 1, `${R17}.1`]]);
    }
    const out = new OutputBuilder();
    c.tick(t0 + (cfg.retriesBeforeNewRound + 1) * cfg.retransmitTicks, out);
    expect(sent(out, "2a")).toEqual([]);
    expect(sent(out, "1a").map((x) => x.msg.rnd)).toEqual(ACCEPTORS.map(() => rnd(2, 1)));
  });

  test("the Phase 2 timeout follows the ring's measured round trip: on a slow ring, more than its round trip", () => {
    const { c, cfg } = setup();
    toPhase2(c);
    // Instances decided 5 floors after their 2A: a ring on slow links. The first three only
    // measure it; after them no 2A goes again before its decision.
    let now = 0;
    for (let i = 0; i < 20; i++) {
      c.onValue(cv(1, i), now, new OutputBuilder());
      if (i >= 3) {
        const waiting = new OutputBuilder();
        c.tick(now + 5 * cfg.retransmitTicks - 1, waiting);
        expect(sent(waiting, "2a")).toEqual([]);
      }
      now += 5 * cfg.retransmitTicks;
      c.onDecision(i, `${R17}.${i}`, now, new OutputBuilder());
    }
  });

  test("after a new round, a batch that was in flight is re-proposed with its vid when no vote is reported", () => {
    const { c } = setup();
    toPhase2(c);
    c.onValue(cv(1, 0), 0, new OutputBuilder());
    c.onNack(2, R17, R17, 1, new OutputBuilder()); // an acceptor promised round 17 already (a lost 1B)
    expect(c.round).toBe(rnd(2, 1));
    const out = new OutputBuilder();
    for (const a of ACCEPTORS) c.onPhase1B(a, c.round, [], 2, out);
    expect(sent(out, "2a").map((x) => [x.msg.rnd, x.msg.instance, x.msg.batch.vid, x.msg.batch.values])).toEqual([
      [rnd(2, 1), 0, `${R17}.0`, [cv(1, 0)]],
    ]);
  });

  test("a coordinator that only hears of a higher round keeps its own: no duel from a rumour (standing down is for established rounds)", () => {
    const { c, cfg } = setup();
    toPhase2(c, new Map(), 0);
    c.observeRound(rnd(2, 3));
    const out = new OutputBuilder();
    c.tick(cfg.retransmitTicks * 5, out);
    expect(c.round).toBe(R17);
    expect(c.isActive).toBe(true);
    expect(sent(out, "1a")).toEqual([]);
  });

  test("heartbeats go to every acceptor each heartbeatTicks; a quorum of acks gives a lease, counted from before the heartbeat left and shorter than the acceptors grant", () => {
    const { c, cfg } = setup();
    toPhase2(c, new Map(), 0);
    const out = new OutputBuilder();
    c.tick(1, out);
    const hb = sent(out, "heartbeat");
    expect(hb.map((e) => e.to)).toEqual(ACCEPTORS); // every process (here: the acceptors)
    const seq = (hb[0] as { msg: { seq: number } }).msg.seq;
    expect(c.hasLease(2)).toBe(false);
    c.onHeartbeatAck(ACCEPTORS[0] as number, R17, seq, 1);
    expect(c.hasLease(2)).toBe(false); // one ack is no quorum
    c.onHeartbeatAck(ACCEPTORS[1] as number, R17 + 1, seq, 1); // another round's ack does not count
    expect(c.hasLease(2)).toBe(false);
    c.onHeartbeatAck(ACCEPTORS[1] as number, R17, seq, 1);
    expect(c.hasLease(2)).toBe(false); // two of five
    c.onHeartbeatAck(ACCEPTORS[2] as number, R17, seq, 1);
    expect(c.hasLease(2)).toBe(true);
    const own = coordinatorLeaseTicks(cfg.leaseTicks);
    expect(own).toBeLessThan(cfg.leaseTicks);
    expect(c.hasLease(1 + own - 1)).toBe(true);
    expect(c.hasLease(1 + own)).toBe(false);
    // No heartbeat again before heartbeatTicks; a new round drops the lease.
    const soon = new OutputBuilder();
    c.tick(cfg.heartbeatTicks, soon);
    expect(sent(soon, "heartbeat")).toEqual([]);
    c.deactivate();
    expect(c.hasLease(2)).toBe(false);
  });

  test("read index: none without the lease (Phase 1, no quorum of acks, stood down); with it, the instance after the highest proposed", () => {
    const { c, cfg } = setup();
    expect(c.readIndex(0)).toBeNull();
    toPhase2(c, new Map(), 0);
    expect(c.readIndex(1)).toBeNull(); // established, but no lease yet
    const out = new OutputBuilder();
    c.tick(1, out);
    const seq = (sent(out, "heartbeat")[0] as { msg: { seq: number } }).msg.seq;
    for (const a of ACCEPTORS.slice(0, 3)) c.onHeartbeatAck(a, R17, seq, 1);
    expect(c.readIndex(2)).toBe(0);
    const proposals = new OutputBuilder();
    c.onValue(cv(1, 0), 2, proposals);
    c.onValue(cv(1, 1), 2, proposals);
    c.tick(2, proposals);
    const highest = Math.max(...sent(proposals, "2a").map((e) => (e.msg as { instance: number }).instance));
    expect(c.readIndex(3)).toBe(highest + 1);
    expect(c.readIndex(1 + coordinatorLeaseTicks(cfg.leaseTicks))).toBeNull(); // the lease ran out
    c.deactivate();
    expect(c.readIndex(3)).toBeNull();
  });

  test("a quorum of lease refusals (nacks below our round) tells the caller to stand down; refusals from fewer do not", () => {
    const { c } = setup();
    const out = new OutputBuilder();
    c.activate(0, out);
    const r = c.round;
    expect(c.onNack(ACCEPTORS[0] as number, r, 0, 1, out)).toBeNull();
    expect(c.onNack(ACCEPTORS[0] as number, r, 0, 1, out)).toBeNull(); // the same acceptor twice
    expect(c.onNack(ACCEPTORS[1] as number, r, 0, 1, out)).toBeNull();
    expect(c.onNack(ACCEPTORS[2] as number, r, 0, 1, out)).toBe("leased"); // three of five
    expect(c.round).toBe(r); // no new round out of a lease refusal
  });

  test("a nack with another coordinator's higher round says stand down (no duel); one with our own round number starts a fresh round", () => {
    const { c } = setup();
    const out = new OutputBuilder();
    c.activate(0, out);
    const r = c.round;
    expect(c.onNack(2, r, rnd(5, 3), 1, out)).toBe("outranked");
    expect(c.round).toBe(r);
    expect(c.onNack(2, r, r, 1, out)).toBeNull();
    expect(c.round).toBeGreaterThan(rnd(5, 3)); // above every round seen, the outranking one included
  });

  test("a coordinator that stepped down proposes nothing and forgets its queue", () => {
    const { c } = setup({ batchDelayTicks: 50 });
    toPhase2(c);
    c.onValue(cv(1, 0), 0, new OutputBuilder());
    c.deactivate();
    expect(c.isActive).toBe(false);
    expect(c.ring).toBeNull();
    const out = new OutputBuilder();
    c.onValue(cv(1, 1), 1, out);
    c.tick(100, out);
    expect(out.send).toEqual([]);
    // Leading again starts a new, higher round.
    const again = new OutputBuilder();
    c.activate(101, again);
    expect(c.round).toBe(rnd(2, 1));
  });
});

describe("slow-acceptor avoidance", () => {
  test("an acceptor on the ring whose heartbeat acks are persistently slow is laid out as a spare in a new round", () => {
    const { c, cfg } = setup();
    toPhase2(c);
    expect(c.ring).toEqual([2, 3, 1]);
    const round = c.round;
    const hb = (out: OutputBuilder) => sent(out, "heartbeat").filter((s) => s.to === 1).map((s) => s.msg.seq);
    let now = 0;
    // Acceptor 2 acks 120 ticks late, the others at once; the coordinator sees it after a while.
    const late: [number, number][] = [];
    let restarted: OutputBuilder | null = null;
    while (now < 4 * cfg.suspectTicks + 200 && !restarted) {
      now++;
      const out = new OutputBuilder();
      c.tick(now, out);
      if (c.round !== round) restarted = out;
      for (const seq of hb(out)) {
        for (const a of [1, 3, 4, 5]) c.onHeartbeatAck(a, c.round, seq, now);
        late.push([seq, now + 120]);
      }
      for (const [seq, at] of late) if (at === now) c.onHeartbeatAck(2, round, seq, now);
    }
    expect(c.slowAcceptors()).toEqual(new Set([2]));
    expect(restarted).not.toBeNull();
    expect(c.slowRelayouts).toBe(1);
    expect(now).toBeGreaterThanOrEqual(4 * cfg.suspectTicks); // not before four suspicion periods
    for (const a of ACCEPTORS) c.onPhase1B(a, c.round, [], now, new OutputBuilder());
    expect(c.ring).toEqual([3, 4, 1]);
  });

  test("nobody is slow when delays are alike, or below slowAcceptorTicks, or avoidance is off", () => {
    for (const [timing, delays] of [
      [{}, [5, 6, 7, 5]],
      [{}, [1, 1, 40, 1]],
      [{ slowAcceptorTicks: 0 }, [1, 1, 500, 1]],
    ] as const) {
      const { c } = setup(timing);
      toPhase2(c);
      const out = new OutputBuilder();
      c.tick(1, out);
      const seq = sent(out, "heartbeat")[0]?.msg.seq ?? 0;
      [2, 3, 4, 5].forEach((a, i) => c.onHeartbeatAck(a, c.round, seq, 1 + (delays[i] as number)));
      expect(c.slowAcceptors()).toEqual(new Set());
    }
  });
});

/**
 * Garbage collection, learner-to-learner catch-up and flow control, across the cores that share
 * them: replicas report what they applied, acceptors trim below what min(f+1, replicas) applied,
 * a new coordinator skips trimmed instances, a learner behind catches up from another learner,
 * and a learner far behind makes the coordinator halve its window.
 */
import { describe, expect, test } from "bun:test";
import { Acceptor } from "../../src/core/acceptor.ts";
import { Learner } from "../../src/core/learner.ts";
import { OutputBuilder } from "../../src/core/output.ts";
import { createProcess } from "../../src/core/factory.ts";
import type { Delivery } from "../../src/core/types.ts";
import { batch, cv, makeCfg, msg, Net, sent, type CfgParts } from "./helpers.ts";

/** M-Ring: acceptors 0, 1, 2 (0 coordinates), replicas 3 and 4, node 3 proposes. */
function gcNet(timing: CfgParts["timing"] = {}): Net {
  const cfg = makeCfg({
    processes: [0, 1, 2, 3, 4],
    acceptors: [0, 1, 2],
    learners: [3, 4],
    proposers: [3],
    coordinator: 0,
    timing: { appliedTicks: 5, retainInstances: 0, learnerRetainInstances: 10_000, window: 4, ...timing },
  });
  const net = new Net(cfg);
  net.input(0, { k: "lead" });
  net.run();
  return net;
}

function proposeAll(net: Net, n: number, until: number): void {
  for (let i = 0; i < n; i++) net.input(3, { k: "propose", payload: new Uint8Array([i & 0xff, i >> 8]) });
  net.run();
  net.tickUntil(until);
}

const values = (ds: readonly Delivery[]) => ds.flatMap((d) => d.values.map((v) => `${d.instance}:${v.client}:${v.seq}`));

describe("garbage collection", () => {
  test("acceptors trim below what both replicas applied, record it, and keep nothing below", () => {
    const net = gcNet();
    proposeAll(net, 40, 200);
    expect(values(net.delivered(3))).toHaveLength(40);
    for (const a of [0, 1, 2]) {
      const acc = net.proc(a).acceptor as Acceptor;
      const applied = Math.min(net.proc(3).learner?.nextInstance ?? 0, net.proc(4).learner?.nextInstance ?? 0);
      expect(acc.trimmedBelow).toBeGreaterThan(0);
      expect(acc.trimmedBelow).toBeLessThanOrEqual(applied);
      expect(acc.heldInstances).toBeLessThanOrEqual(applied + 1 - acc.trimmedBelow);
      expect((net.ledgers.get(a) ?? []).filter((r) => r.k === "trim").length).toBeGreaterThan(0);
    }
  });

  test("with one replica silent, nothing is trimmed (f+1 = 2 replicas must have applied)", () => {
    const net = gcNet();
    net.drop = (m) => m.msg.t === "applied" && m.from === 4;
    proposeAll(net, 20, 150);
    for (const a of [0, 1, 2]) expect(net.proc(a).acceptor?.trimmedBelow).toBe(0);
  });

  test("a learner restarted without its state catches up from the other replica once acceptors trimmed", () => {
    const net = gcNet();
    proposeAll(net, 30, 200);
    const before = values(net.delivered(3));
    expect(net.proc(0).acceptor?.trimmedBelow).toBeGreaterThan(0);
    // Node 4 restarts with nothing: every acceptor answers with its floor, node 3 with batches.
    net.procs.set(4, createProcess(4, net.cfg));
    net.deliveries.set(4, []);
    net.tickUntil(600);
    expect(values(net.delivered(4))).toEqual(before);
    expect(net.log.some((m) => m.from === 3 && m.to === 4 && m.msg.t === "catchup-reply" && m.msg.entries.length > 0)).toBe(true);
  });

  test("a new coordinator skips the trimmed instances (1B reports the trim point) and decides above them", () => {
    const net = gcNet();
    proposeAll(net, 30, 200);
    const trimmed = net.proc(1).acceptor?.trimmedBelow ?? 0;
    expect(trimmed).toBeGreaterThan(0);
    // The coordinator crashes; once its lease ran out the next acceptor stands (election).
    net.down.add(0);
    net.tickUntil(net.now + 1000);
    const leader = [1, 2].find((a) => net.proc(a).coordinator?.isActive);
    expect(leader).toBeDefined();
    const oneBs = net.log.filter((m) => m.to === leader && m.msg.t === "1b");
    expect(oneBs.some((m) => m.msg.t === "1b" && (m.msg.trimmed ?? 0) > 0)).toBe(true);
    const twoAs = net.log.filter((m) => m.from === leader && m.msg.t === "2a");
    for (const m of twoAs) if (m.msg.t === "2a") expect(m.msg.instance).toBeGreaterThanOrEqual(trimmed);
    const n = values(net.delivered(3)).length;
    proposeAll(net, 5, 400);
    expect(values(net.delivered(3)).length).toBe(n + 5);
    expect(values(net.delivered(4))).toEqual(values(net.delivered(3)));
  });

  test("an acceptor does not vote below its trim point, answers catch-up with its floor, and reports it in 1B; replay restores it", () => {
    const cfg = makeCfg({ processes: [0, 1, 2], acceptors: [0, 1, 2], coordinator: 0 });
    const a = new Acceptor(1, cfg);
    a.vote(17, 3, batch("17.0", cv(1, 0)), new OutputBuilder());
    a.vote(17, 9, batch("17.1", cv(1, 1)), new OutputBuilder());
    const out = new OutputBuilder();
    a.trim(5, out);
    expect(out.persist).toEqual([{ k: "trim", below: 5 }]);
    expect(a.vote(33, 4, batch("33.0"), new OutputBuilder())).toBe(false);
    expect(a.catchup(0, 64).votes.map((e) => e.instance)).toEqual([9]);
    expect(a.onPhase1A(49, 0, new OutputBuilder())?.map((v) => v.instance)).toEqual([9]);
    const p = createProcess(1, cfg, { recovered: [{ k: "promise", rnd: 17 }, { k: "trim", below: 5 }] });
    expect(p.acceptor?.trimmedBelow).toBe(5);
    const reply = sent(msg(p, 2, { t: "catchup", from: 0, count: 8 }), "catchup-reply");
    expect(reply.map((r) => r.msg.floor)).toEqual([5]);
    const oneB = sent(msg(p, 0, { t: "1a", rnd: 49, from: 0 }, 1000), "1b"); // after the restart's quiet period
    expect(oneB.map((r) => r.msg.trimmed)).toEqual([5]);
  });
});

describe("a dead replica does not stop the cluster", () => {
  const timing = { maxUnappliedInstances: 8, gcSuspectTicks: 50, catchupGiveUpTicks: 100, learnerRetainInstances: 4 };

  test("a replica silent for gcSuspectTicks leaves the GC quorum: the other's reports let the coordinator go on, acceptors trim", () => {
    const net = gcNet(timing);
    net.down.add(4);
    proposeAll(net, 40, 400);
    // Before: with both replicas needed, nothing beyond maxUnappliedInstances was ever proposed.
    expect(values(net.delivered(3))).toHaveLength(40);
    for (const a of [0, 1, 2]) {
      expect(net.proc(a).status(net.now).acceptor?.gcExcludedReplicas).toEqual([4]);
      expect(net.proc(a).acceptor?.trimmedBelow).toBeGreaterThan(8);
    }
  });

  test("a replica back from the dead, behind what everyone trimmed, takes the other replica's state, reports the gap and rejoins the quorum", () => {
    const net = gcNet(timing);
    net.down.add(4);
    proposeAll(net, 40, 400);
    net.procs.set(4, createProcess(4, net.cfg));
    net.down.delete(4);
    net.tickUntil(800);
    const lost = net.lost.get(4) ?? [];
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatchObject({ from: 0, stateFrom: 3, exact: true });
    const to = lost[0]?.to ?? 0;
    expect(to).toBeGreaterThan(0);
    expect(net.log.some((m) => m.from === 4 && m.to === 3 && m.msg.t === "state-ask")).toBe(true);
    // From the gap on, it delivers exactly what the other replica does.
    proposeAll(net, 10, 1000);
    const after = (id: number) => values(net.delivered(id).filter((d) => d.instance >= to));
    expect(after(4)).toEqual(after(3));
    expect(after(4).length).toBeGreaterThanOrEqual(10);
    for (const a of [0, 1, 2]) expect(net.proc(a).status(net.now).acceptor?.gcExcludedReplicas).toEqual([]);
  });

  test("a replica sends its state only to another replica, at most once per catchupTicks each", () => {
    const net = gcNet(timing);
    const p3 = net.proc(3);
    const states = (out: ReturnType<typeof msg>) => sent(out, "state").length;
    expect(states(msg(p3, 0, { t: "state-ask" }, 100))).toBe(0); // an acceptor is no replica
    expect(states(msg(p3, 4, { t: "state-ask" }, 100))).toBe(1);
    expect(states(msg(p3, 4, { t: "state-ask" }, 101))).toBe(0);
    expect(states(msg(p3, 4, { t: "state-ask" }, 100 + net.cfg.catchupTicks))).toBe(1);
  });

  test("with no other replica to take state from, a learner gives the trimmed instances up as lost (reported) and goes on", () => {
    const cfg = makeCfg({
      processes: [0, 1, 2, 3],
      acceptors: [0, 1, 2],
      learners: [3],
      proposers: [3],
      coordinator: 0,
      timing: { appliedTicks: 5, retainInstances: 0, window: 4, ...timing },
    });
    const net = new Net(cfg);
    net.input(0, { k: "lead" });
    net.run();
    proposeAll(net, 30, 200);
    expect(net.proc(0).acceptor?.trimmedBelow).toBeGreaterThan(0);
    // A new incarnation: a new client id, as the runtime gives each one.
    net.procs.set(3, createProcess(3, net.cfg, { clientId: 99 }));
    net.deliveries.set(3, []);
    net.tickUntil(600);
    const lost = net.lost.get(3) ?? [];
    expect(lost).toEqual([{ from: 0, to: net.proc(0).acceptor?.trimmedBelow ?? -1, stateFrom: null, exact: false }]);
    proposeAll(net, 5, 800);
    expect(values(net.delivered(3)).length).toBeGreaterThanOrEqual(5);
  });
});

describe("the bound on what the coordinator runs ahead of the replicas", () => {
  test("no instance is proposed maxUnappliedInstances beyond what replicas applied; their reports let it go on", () => {
    const net = gcNet({ maxUnappliedInstances: 4, appliedTicks: 5 });
    net.drop = (m) => m.msg.t === "applied";
    proposeAll(net, 12, 100);
    const twoAs = () => new Set(net.log.filter((m) => m.msg.t === "2a").map((m) => (m.msg.t === "2a" ? m.msg.instance : -1)));
    expect(Math.max(...twoAs())).toBe(3);
    net.drop = () => false;
    net.tickUntil(300);
    expect(values(net.delivered(3))).toHaveLength(12);
  });
});

describe("flow control", () => {
  test("a learner far behind tells its preferred acceptor, at most once per flowNoticeTicks", () => {
    const cfg = makeCfg({ processes: [0, 1, 2, 3], acceptors: [0, 1, 2], learners: [3], coordinator: 0, timing: { flowBacklogInstances: 2, flowNoticeTicks: 10 } });
    const l = new Learner(3, cfg);
    l.onDecision(5, "x.5", 0, new OutputBuilder()); // instances 0..5 known of, none deliverable
    expect(l.backlog).toBe(6);
    const notices: [number, number][] = [];
    for (let t = 1; t <= 21; t++) {
      const out = new OutputBuilder();
      l.tick(t, out);
      for (const s of sent(out, "slow-down")) {
        expect(cfg.acceptors).toContain(s.to as number);
        notices.push([t, s.msg.backlog]);
      }
    }
    expect(notices).toEqual([
      [1, 6],
      [11, 6],
      [21, 6],
    ]);
  });

  test("a learner behind what every process trimmed sends no slow-down: a slower coordinator cannot bring the instances back", () => {
    const cfg = makeCfg({ processes: [0, 1, 2, 3], acceptors: [0, 1, 2], learners: [3], coordinator: 0, timing: { flowBacklogInstances: 2, flowNoticeTicks: 10 } });
    const l = new Learner(3, cfg);
    l.onDecision(50, "x.50", 0, new OutputBuilder());
    l.onFloor(40, 0); // every acceptor trimmed below 40: instances 0..39 are gone
    expect(l.behindGc).toBe(true);
    let notices = 0;
    for (let t = 1; t <= 30; t++) {
      const out = new OutputBuilder();
      l.tick(t, out);
      notices += sent(out, "slow-down").length;
    }
    expect(notices).toBe(0);
  });

  test("an acceptor that does not coordinate passes the notice to the leader; the coordinator halves its window, then grows it back", () => {
    const net = gcNet({ window: 16, flowNoticeTicks: 10 });
    const fwd = msg(net.proc(1), 3, { t: "slow-down", backlog: 300, hops: 0 }, net.now);
    expect(sent(fwd, "slow-down").map((s) => [s.to, s.msg.hops])).toEqual([[0, 1]]);
    const c = net.proc(0).coordinator;
    msg(net.proc(0), 1, { t: "slow-down", backlog: 300, hops: 1 }, net.now);
    expect(c?.flowWindow).toBe(8);
    msg(net.proc(0), 1, { t: "slow-down", backlog: 300, hops: 1 }, net.now + 1); // within the period: no second cut
    expect(c?.flowWindow).toBe(8);
    msg(net.proc(0), 1, { t: "slow-down", backlog: 300, hops: 1 }, net.now + 10);
    expect(c?.flowWindow).toBe(4);
    expect(c?.windowCuts).toBe(2);
    // Quiet for four periods: one step back per decided instance, up to the configured window.
    net.tickUntil(net.now + 60);
    proposeAll(net, 40, net.now + 200);
    expect(c?.flowWindow).toBe(16);
  });
});

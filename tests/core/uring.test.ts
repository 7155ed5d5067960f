import { describe, expect, test } from "bun:test";
import { INITIAL_TIMEOUT_FACTOR } from "../../src/core/proposer.ts";
import { DEFAULT_TIMING } from "../../src/core/config.ts";
import { InvariantError } from "../../src/core/assert.ts";
import { createProcess } from "../../src/core/factory.ts";
import type { RingProcess } from "../../src/core/process.ts";
import type { Msg, NodeId, Output } from "../../src/core/types.ts";
import { uringProcess } from "../../src/core/uring.ts";
import { Net, cv, makeCfg, only, rnd, sent, type CfgParts, get, msg } from "./helpers.ts";

// Ring [1, 7, 2, 3, 4, 5]: coordinator 1, acceptors 1, 2, 3 (quorum 2, so the last acceptor is 2),
// node 7 sits between the coordinator and the last acceptor; 4 and 5 are learners; 4 proposes.
const PROCESSES = [1, 7, 2, 3, 4, 5];
const RING = [1, 7, 2, 3, 4, 5];
function cfgWith(timing: CfgParts["timing"] = {}) {
  return makeCfg({ variant: "uring", processes: PROCESSES, acceptors: [1, 2, 3], proposers: [4], coordinator: 1, timing });
}
const R = rnd(1, 1); // 17

type Procs = Map<NodeId, RingProcess>;
type M<T extends Msg["t"]> = Extract<Msg, { t: T }>;


/** Every process, the coordinator through Phase 1 with all of them answering: ring RING, round 17. */
function leading(timing: CfgParts["timing"] = {}, silent: readonly NodeId[] = []): Procs {
  const cfg = cfgWith(timing);
  const ps: Procs = new Map(cfg.processes.map((id) => [id, createProcess(id, cfg)]));
  const c = get(ps, 1);
  const oneAs = sent(c.step({ k: "lead" }, 0), "1a");
  for (const s of oneAs) {
    const to = Number(s.to);
    const reply = msg(get(ps, to), 1, s.msg);
    if (!silent.includes(to)) msg(c, to, only(reply, "1b").msg);
  }
  return ps;
}

/** The coordinator proposes a value of client 4 and sends 2A/2B to itself; returns that message. */
function propose(ps: Procs, seq: number): M<"2ab"> {
  const out = msg(get(ps, 1), 4, { t: "value", v: cv(4, seq), hops: 0 });
  const s = only(out, "2ab");
  expect(s.to).toBe(1);
  return s.msg;
}

/** Passes a 2A/2B from the coordinator down to the last acceptor (2); returns 2's output. */
function toLastAcceptor(ps: Procs, twoAB: M<"2ab">): Output {
  const at1 = only(msg(get(ps, 1), 1, twoAB), "2ab");
  const at7 = only(msg(get(ps, 7), 1, at1.msg), "2ab");
  return msg(get(ps, 2), 7, at7.msg);
}

describe("U-Ring Phase 1", () => {
  test("U-Ring: the coordinator sends 1A to every process; one that is no acceptor answers without a promise", () => {
    const cfg = cfgWith();
    const c = uringProcess(1, cfg);
    expect(sent(c.step({ k: "lead" }, 0), "1a").map((s) => s.to)).toEqual(PROCESSES);
    const p7 = uringProcess(7, cfg);
    const out = msg(p7, 1, { t: "1a", rnd: R, from: 0 });
    expect(out.persist).toEqual([]);
    expect(sent(out, "1b")).toEqual([{ to: 1, msg: { t: "1b", rnd: R, from: 0, acceptor: false, votes: [] } }]);
    const a2 = uringProcess(2, cfg);
    const out2 = msg(a2, 1, { t: "1a", rnd: R, from: 0 });
    expect(out2.persist).toEqual([{ k: "promise", rnd: R }]);
    expect(only(out2, "1b").msg.acceptor).toBe(true);
  });

  test("ring layout puts the coordinator first (U-Ring) with every process that answered, in configured order", () => {
    expect(get(leading(), 1).coordinator?.ring).toEqual(RING);
  });

  test("U-Ring: a process that did not answer Phase 1 is left out once the grace period after the quorum ends", () => {
    const cfg = cfgWith();
    const ps = leading({}, [4]);
    const c = get(ps, 1);
    expect(c.coordinator?.ring).toBeNull();
    c.step({ k: "tick" }, cfg.phase1GraceTicks);
    expect(c.coordinator?.ring).toEqual([1, 7, 2, 3, 5]);
  });

  test("U-Ring: answers of processes that are no acceptors do not make a quorum", () => {
    const cfg = cfgWith();
    const ps = leading({}, [2, 3]);
    const c = get(ps, 1);
    c.step({ k: "tick" }, cfg.phase1GraceTicks + 1);
    expect(c.coordinator?.ring).toBeNull();
  });
});

describe("U-Ring Phase 2 (Algorithm 3, Tasks 3-5)", () => {
  test("U-Ring: the coordinator starts 2A/2B at itself: it votes and passes the value to its successor", () => {
    const ps = leading();
    const twoAB = propose(ps, 0);
    expect(twoAB).toEqual({ t: "2ab", rnd: R, instance: 0, batch: { vid: `${R}.0`, values: [cv(4, 0)] }, ring: RING, voters: [] });
    const out = msg(get(ps, 1), 1, twoAB);
    expect(out.persist).toEqual([{ k: "vote", instance: 0, vrnd: R, batch: twoAB.batch }]);
    expect(sent(out, "2ab")).toEqual([{ to: 7, msg: { ...twoAB, voters: [1] } }]);
  });

  test("U-Ring: a process that is no acceptor passes 2A/2B on without voting", () => {
    const ps = leading();
    const twoAB = propose(ps, 0);
    const at1 = only(msg(get(ps, 1), 1, twoAB), "2ab").msg;
    const out = msg(get(ps, 7), 1, at1);
    expect(out.persist).toEqual([]);
    expect(sent(out, "2ab")).toEqual([{ to: 2, msg: at1 }]);
  });

  test("U-Ring: the last acceptor decides and the batch travels with the decision until the coordinator's predecessor", () => {
    const ps = leading();
    const twoAB = propose(ps, 0);
    const vid = twoAB.batch.vid;
    const at2 = toLastAcceptor(ps, twoAB);
    expect(at2.persist).toEqual([
      { k: "vote", instance: 0, vrnd: R, batch: twoAB.batch },
      { k: "decision", instance: 0, vid },
    ]);
    expect(at2.decided).toEqual([{ instance: 0, vid }]);
    expect(sent(at2, "2ab")).toEqual([]);
    // Follow the decision around the ring: 2 -> 3 -> 4 -> 5 -> 1 -> 7.
    const hops: [NodeId, NodeId, boolean][] = [];
    let from: NodeId = 2;
    let d = only(at2, "udecision");
    for (let i = 0; i < 10; i++) {
      hops.push([from, Number(d.to), d.msg.batch !== null]);
      expect(d.msg.batch === null || d.msg.batch.vid === vid).toBe(true);
      const out = msg(get(ps, Number(d.to)), from, d.msg);
      expect(out.decided).toEqual([{ instance: 0, vid }]);
      const next = sent(out, "udecision");
      if (next.length === 0) break;
      from = Number(d.to);
      d = next[0] ?? d;
    }
    expect(hops).toEqual([
      [2, 3, true],
      [3, 4, true],
      [4, 5, true],
      [5, 1, false], // the coordinator has the batch
      [1, 7, false], // 7 got the batch with the 2A/2B
    ]);
  });

  test("U-Ring: the decision stops at the predecessor of the last acceptor", () => {
    const ps = leading();
    const twoAB = propose(ps, 0);
    const dec: M<"udecision"> = { t: "udecision", instance: 0, vid: twoAB.batch.vid, batch: null, ring: RING, rnd: R };
    // 7 precedes the last acceptor (2): it takes the decision and stops it.
    expect(sent(msg(get(ps, 7), 1, dec), "udecision")).toEqual([]);
    // The coordinator (not the predecessor here) passes it on.
    expect(sent(msg(get(ps, 1), 5, dec), "udecision").map((s) => s.to)).toEqual([7]);
  });

  test("U-Ring: learners on the ring deliver when the decision passes, with or without the batch riding along", () => {
    const ps = leading();
    const twoAB = propose(ps, 0);
    const at1 = msg(get(ps, 1), 1, twoAB); // the coordinator's learner got the batch here
    expect(at1.deliver).toEqual([]);
    const dec = only(toLastAcceptor(ps, twoAB), "udecision").msg;
    // 4 never saw the 2A/2B: the batch comes with the decision.
    expect(msg(get(ps, 4), 3, dec).deliver).toEqual([{ instance: 0, vid: twoAB.batch.vid, values: [cv(4, 0)] }]);
    // The coordinator gets the decision without the batch, and still delivers.
    expect(msg(get(ps, 1), 5, { ...dec, batch: null }).deliver.map((d) => d.values)).toEqual([[cv(4, 0)]]);
  });

  test("U-Ring: an acceptor past the last acceptor records the decision but never votes", () => {
    const ps = leading();
    const twoAB = propose(ps, 0);
    const dec = only(toLastAcceptor(ps, twoAB), "udecision").msg;
    const out = msg(get(ps, 3), 2, dec);
    expect(out.persist).toEqual([{ k: "decision", instance: 0, vid: twoAB.batch.vid }]);
  });

  test("U-Ring: an acceptor that promised a higher round stops the 2A/2B and nacks its coordinator", () => {
    const ps = leading();
    const twoAB = propose(ps, 0);
    const a2 = get(ps, 2);
    const L = DEFAULT_TIMING.leaseTicks; // once the lease it gave node 1 ran out...
    msg(a2, 3, { t: "1a", rnd: rnd(1, 3), from: 0 }, L); // ...2 promised round 19 to node 3
    const at7 = only(msg(get(ps, 7), 1, only(msg(get(ps, 1), 1, twoAB), "2ab").msg), "2ab").msg;
    const out = msg(a2, 7, at7, L);
    expect(out.persist).toEqual([]);
    expect(out.decided).toEqual([]);
    expect(sent(out, "nack")).toEqual([{ to: 1, msg: { t: "nack", rnd: R, promised: rnd(1, 3) } }]);
    expect(sent(out, "udecision")).toEqual([]);
  });

  test("U-Ring: a process that is not on the message's ring ignores 2A/2B and decisions", () => {
    const ps = leading();
    const twoAB = propose(ps, 0);
    const shortRing = [1, 7, 2, 3, 5];
    const p4 = get(ps, 4);
    expect(msg(p4, 3, { ...twoAB, ring: shortRing, voters: [1, 2] }).send).toEqual([]);
    const out = msg(p4, 3, { t: "udecision", instance: 0, vid: twoAB.batch.vid, batch: twoAB.batch, ring: shortRing, rnd: R });
    expect(out.decided).toEqual([]);
    expect(out.deliver).toEqual([]);
  });

  test("U-Ring with a single acceptor: the coordinator decides on its own 2A/2B and the decision circulates to its predecessor", () => {
    const cfg = makeCfg({ variant: "uring", processes: [0, 1, 2], acceptors: [0], coordinator: 0 });
    const c = uringProcess(0, cfg);
    const oneAs = sent(c.step({ k: "lead" }, 0), "1a");
    const others = new Map([1, 2].map((id) => [id, uringProcess(id, cfg)]));
    for (const s of oneAs) {
      const p = s.to === 0 ? c : others.get(Number(s.to));
      if (!p) throw new Error("unexpected");
      msg(c, Number(s.to), only(msg(p, 0, s.msg), "1b").msg);
    }
    expect(c.coordinator?.ring).toEqual([0, 1, 2]);
    const twoAB = only(msg(c, 1, { t: "value", v: cv(1, 0), hops: 0 }), "2ab").msg;
    const out = msg(c, 0, twoAB);
    expect(out.decided.length).toBe(1);
    const d1 = only(out, "udecision");
    expect([d1.to, d1.msg.batch?.vid]).toEqual([1, twoAB.batch.vid]);
    const d2 = only(msg(others.get(1) ?? c, 0, d1.msg), "udecision");
    expect([d2.to, d2.msg.batch?.vid]).toEqual([2, twoAB.batch.vid]);
    expect(sent(msg(others.get(2) ?? c, 1, d2.msg), "udecision")).toEqual([]);
  });

  test("a 2A/2B whose voters are not the acceptors before this process (a malformed message) is dropped, not trusted", () => {
    const ps = leading();
    const twoAB = propose(ps, 0);
    for (const voters of [[], [7], [2], [0, 0]]) {
      const out = msg(get(ps, 2), 7, { ...twoAB, voters });
      expect({ voters, persist: out.persist, send: out.send, decided: out.decided }).toEqual({ voters, persist: [], send: [], decided: [] });
    }
  });

  test("a ring that its round's coordinator could not have laid out is dropped (2A/2B, decision, ring notice)", () => {
    const ps = leading();
    const twoAB = propose(ps, 0);
    const bad = [
      { ...twoAB, ring: [7, ...twoAB.ring.slice(1)] }, // led by a process that is not the round's owner
      { ...twoAB, ring: [...twoAB.ring, twoAB.ring[1] as number] }, // a member twice
      { ...twoAB, ring: [twoAB.ring[0] as number, 99] }, // an unknown process, too few acceptors
    ];
    for (const m of bad) expect(msg(get(ps, 2), 7, m).send).toEqual([]);
    const decision = { t: "udecision" as const, instance: 0, vid: "x", batch: null, ring: [5, 0], rnd: twoAB.rnd };
    expect(msg(get(ps, 2), 7, decision).decided).toEqual([]);
  });
});

describe("U-Ring client values and ring membership", () => {
  test("U-Ring: a client value travels the ring to the coordinator", () => {
    const ps = leading();
    const first = only(get(ps, 4).step({ k: "propose", payload: new Uint8Array([1]) }, 0), "value");
    expect(first.to).toBe(5); // the successor of 4
    const fwd = only(msg(get(ps, 5), 4, first.msg), "value");
    expect([fwd.to, fwd.msg.hops]).toEqual([1, 1]); // 5's successor is the coordinator
    expect(only(msg(get(ps, 1), 5, fwd.msg), "2ab").msg.batch.values.map((v) => v.client)).toEqual([4]);
  });

  test("U-Ring: a proposer's retries go straight to the coordinator", () => {
    const cfg = cfgWith();
    const ps = leading();
    const p4 = get(ps, 4);
    p4.step({ k: "propose", payload: new Uint8Array([1]) }, 0);
    // Nothing measured yet: the first wait is the initial timeout.
    const t = INITIAL_TIMEOUT_FACTOR * cfg.proposerTimeoutTicks;
    expect(only(p4.step({ k: "tick" }, t), "value").to).toBe(1);
    expect(only(p4.step({ k: "tick" }, 3 * t), "value").to).toBe(1); // the second wait is twice as long (backoff)
  });

  test("U-Ring: forwarding of a client value is bounded (twice around the ring)", () => {
    const p5 = uringProcess(5, cfgWith());
    expect(sent(msg(p5, 4, { t: "value", v: cv(4, 0), hops: 2 * RING.length - 1 }), "value").length).toBe(1);
    expect(msg(p5, 4, { t: "value", v: cv(4, 0), hops: 2 * RING.length }).send).toEqual([]);
  });

  test("U-Ring: a process left out of the ring asks to be laid back in, and the coordinator starts a new round", () => {
    const cfg = cfgWith();
    const ps = leading({}, [4]);
    const c = get(ps, 1);
    c.step({ k: "tick" }, cfg.phase1GraceTicks);
    expect(c.coordinator?.ring).not.toContain(4);
    // 4 saw round 17 in the 1A but holds no ring of it: it says hello to the round's owner.
    const hello = only(get(ps, 4).step({ k: "tick" }, cfg.helloTicks), "hello");
    expect(hello.to).toBe(1);
    expect(get(ps, 4).step({ k: "tick" }, cfg.helloTicks + 1).send).toEqual([]); // not again before helloTicks
    // Too soon after the last Phase 1, the coordinator waits; later it lays the ring out again.
    expect(sent(msg(c, 4, hello.msg, cfg.retransmitTicks - 1), "1a")).toEqual([]);
    const again = msg(c, 4, hello.msg, cfg.retransmitTicks);
    expect(sent(again, "1a").map((s) => [s.to, s.msg.rnd])).toEqual(PROCESSES.map((p) => [p, rnd(2, 1)]));
  });

  test("U-Ring: a ring member with an out-of-date view of the ring is sent the current one, and stops asking", () => {
    const cfg = cfgWith();
    const ps = leading();
    const c = get(ps, 1);
    const p5 = get(ps, 5);
    // 5 answered the 1A of round 17 but has not seen a 2A/2B or decision of it yet: its view is stale.
    const hello = only(p5.step({ k: "tick" }, 1), "hello");
    expect(hello.to).toBe(1);
    const reply = only(msg(c, 5, hello.msg, 1), "ring");
    expect(reply).toEqual({ to: 5, msg: { t: "ring", rnd: R, ring: RING } });
    expect(msg(c, 5, hello.msg, 1).send.map((e) => e.msg.t)).toEqual(["ring"]); // no new round for a member
    msg(p5, 1, reply.msg, 2);
    expect(sent(p5.step({ k: "tick" }, 1 + cfg.helloTicks), "hello")).toEqual([]);
  });

  test("U-Ring: a process adopts the ring of a higher round only if it is on it", () => {
    const fresh = uringProcess(5, cfgWith());
    msg(fresh, 1, { t: "ring", rnd: rnd(2, 1), ring: [1, 2, 5] });
    expect(fresh.knownRing).toEqual([1, 2, 5]);
    msg(fresh, 1, { t: "ring", rnd: rnd(3, 1), ring: [1, 2, 3] }); // 5 is not on it
    expect(fresh.knownRing).toEqual([1, 2, 5]);
    msg(fresh, 1, { t: "ring", rnd: R, ring: [1, 5] }); // an older round
    expect(fresh.knownRing).toEqual([1, 2, 5]);
  });

  test("U-Ring end to end: values proposed on the ring are delivered in the same order by every process and acknowledged", () => {
    const net = new Net(cfgWith());
    net.input(1, { k: "lead" });
    net.run();
    for (let i = 0; i < 4; i++) net.input(4, { k: "propose", payload: new Uint8Array([i]) });
    net.run();
    for (const id of PROCESSES) expect(net.delivered(id).flatMap((d) => d.values.map((v) => v.seq))).toEqual([0, 1, 2, 3]);
    expect(net.proc(4).proposer?.inFlight).toBe(0);
    // No 2A/2B went past the last acceptor, and no decision past its predecessor.
    expect(net.log.filter((m) => m.msg.t === "2ab" && m.from === 2)).toEqual([]);
    expect(net.log.filter((m) => m.msg.t === "udecision" && m.from === 7)).toEqual([]);
  });
});

test("createProcess builds a U-Ring process for a U-Ring configuration, and refuses a mismatch", () => {
  // U-Ring: every process knows a ring from the start (M-Ring processes know none).
  expect(createProcess(3, cfgWith()).knownRing).not.toBeNull();
  expect(() => uringProcess(3, { ...cfgWith(), variant: "mring" })).toThrow(InvariantError);
  expect(uringProcess(3, makeCfg({ variant: "uring", processes: [0, 1, 2, 3], acceptors: [2, 3], coordinator: 2 })).knownRing).toEqual([2, 3, 0, 1]);
});

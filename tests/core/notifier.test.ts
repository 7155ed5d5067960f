import { describe, expect, test } from "bun:test";
import { MAX_TRACKED_CLIENTS, Notifier, noticeSpan, SUBSCRIPTION_PERIODS, subscribeTicks } from "../../src/core/notifier.ts";
import { OutputBuilder } from "../../src/core/output.ts";
import { Proposer } from "../../src/core/proposer.ts";
import type { Delivery } from "../../src/core/types.ts";
import { makeCfg, sent } from "./helpers.ts";

const cfg = makeCfg({ processes: [1, 2, 3, 4, 5, 9], acceptors: [1, 2, 3], proposers: [9], coordinator: 1, timing: { proposerWindow: 4 } });
const value = (client: number, seq: number) => ({ client, seq, payload: new Uint8Array([seq & 0xff]) });
const delivery = (instance: number, values: readonly [number, number][]): Delivery => ({ instance, vid: `1.${instance}`, values: values.map(([c, q]) => value(c, q)) });

describe("notifier (a learner's delivery notices)", () => {
  test("a subscriber is told where each value of its client was delivered, after the step; other clients' values are not sent to it", () => {
    const n = new Notifier(cfg, () => false);
    const out = new OutputBuilder();
    n.onSubscribe(9, 900, [], out);
    expect(out.send).toEqual([]);
    n.onDeliveries([delivery(5, [[900, 0], [800, 0], [900, 1]]), delivery(6, [[900, 2]])], out);
    expect(sent(out, "delivered")).toEqual([{ to: 9, msg: { t: "delivered", client: 900, seqs: [0, 1, 2], instances: [5, 5, 6], unplaced: [] } }]);
  });

  test("questions are answered from the client's latest deliveries, subscribed or not before; a value delivered but forgotten is unplaced", () => {
    const delivered = new Set(["900:0", "900:1", "900:77"]);
    const n = new Notifier(cfg, (c, q) => delivered.has(`${c}:${q}`));
    n.onDeliveries([delivery(3, [[900, 0]]), delivery(4, [[900, 1]])], new OutputBuilder());
    const out = new OutputBuilder();
    // 0 and 1: remembered; 77: delivered here, instance forgotten; 5: not delivered here yet (no answer).
    n.onSubscribe(9, 900, [0, 1, 77, 5], out);
    expect(sent(out, "delivered")).toEqual([{ to: 9, msg: { t: "delivered", client: 900, seqs: [0, 1], instances: [3, 4], unplaced: [77] } }]);
  });

  test("bounds: noticeSpan seqs per client, MAX_TRACKED_CLIENTS clients (the one delivered longest ago is forgotten)", () => {
    const n = new Notifier(cfg, () => true);
    const span = noticeSpan(cfg);
    n.onDeliveries([delivery(1, Array.from({ length: span + 1 }, (_, q) => [900, q] as [number, number]))], new OutputBuilder());
    let out = new OutputBuilder();
    n.onSubscribe(9, 900, [0, 1, span], out);
    expect(sent(out, "delivered")[0]?.msg).toEqual({ t: "delivered", client: 900, seqs: [1, span], instances: [1, 1], unplaced: [0] });
    for (let c = 0; c < MAX_TRACKED_CLIENTS; c++) n.onDeliveries([delivery(2, [[c, 0]])], new OutputBuilder());
    out = new OutputBuilder();
    n.onSubscribe(9, 900, [span], out);
    expect(sent(out, "delivered")[0]?.msg).toEqual({ t: "delivered", client: 900, seqs: [], instances: [], unplaced: [span] });
  });
});

describe("proposer without a learner", () => {
  const period = subscribeTicks(cfg);

  test("subscribes before its first value leaves, renews while values are in flight, and acks on a notice with the learner's instance", () => {
    const p = new Proposer(900, cfg, () => 1, 9, () => null, [4, 5]);
    expect(p.subscribedTo).toBe(5); // 9 % 2: clients spread over the learners
    let out = new OutputBuilder();
    p.propose(new Uint8Array([1]), 0, out);
    expect(out.send.map((e) => e.msg.t)).toEqual(["subscribe", "value"]);
    out = new OutputBuilder();
    p.tick(period, out);
    expect(sent(out, "subscribe")).toEqual([{ to: 5, msg: { t: "subscribe", client: 900, seqs: [] } }]);
    out = new OutputBuilder();
    p.onNotice(900, [0], [42], [], period + 1, out);
    expect(out.acked).toEqual([{ client: 900, seq: 0, instance: 42 }]);
    expect(p.inFlight).toBe(0);
    // Nothing in flight: no renewals.
    out = new OutputBuilder();
    p.tick(3 * period, out);
    expect(sent(out, "subscribe")).toEqual([]);
  });

  test("a coordinator's word stops re-sends and is asked about; it is taken only when the learner says the value is unplaced", () => {
    const p = new Proposer(900, cfg, () => 1, 9, () => null, [4, 5]);
    p.propose(new Uint8Array([1]), 0, new OutputBuilder());
    p.propose(new Uint8Array([2]), 0, new OutputBuilder());
    let out = new OutputBuilder();
    p.onToldDecided(900, 0, 17, 5, out);
    p.onToldDecided(900, 1, 18, 5, out);
    expect(out.acked).toEqual([]);
    expect(sent(out, "subscribe")).toEqual([{ to: 5, msg: { t: "subscribe", client: 900, seqs: [0] } }]);
    out = new OutputBuilder();
    p.tick(10 * period, out);
    expect(sent(out, "value")).toEqual([]);
    out = new OutputBuilder();
    p.onNotice(900, [0], [3], [1], 10 * period, out);
    // Seq 0 at the learner's instance, seq 1 (unplaced) at the coordinator's.
    expect(out.acked).toEqual([
      { client: 900, seq: 0, instance: 3 },
      { client: 900, seq: 1, instance: 18 },
    ]);
    expect(p.tookCoordinatorsWord).toBe(1);
  });

  test("turns to the next learner when no notice came for SUBSCRIPTION_PERIODS periods while a value waited as long", () => {
    const p = new Proposer(900, cfg, () => 1, 9, () => null, [4, 5]);
    p.propose(new Uint8Array([1]), 0, new OutputBuilder());
    for (let t = 1; t < SUBSCRIPTION_PERIODS * period; t++) p.tick(t, new OutputBuilder());
    expect(p.subscribedTo).toBe(5);
    const out = new OutputBuilder();
    p.tick(SUBSCRIPTION_PERIODS * period, out);
    expect(p.subscribedTo).toBe(4);
    expect(p.learnerSwitches).toBe(1);
    expect(sent(out, "subscribe")).toEqual([{ to: 4, msg: { t: "subscribe", client: 900, seqs: [] } }]);
  });

  test("keeps its values within the span learners remember: a value whose notice is missing holds back values far ahead of it", () => {
    const c = makeCfg({ processes: [1, 2, 3, 4, 9], acceptors: [1, 2, 3], proposers: [9], coordinator: 1, timing: { proposerWindow: 4, proposerQueue: 1000 } });
    const span = noticeSpan(c);
    const p = new Proposer(900, c, () => 1, 9, () => null, [4]);
    const out = new OutputBuilder();
    for (let i = 0; i < span + 10; i++) p.propose(new Uint8Array([1]), 0, out);
    // Seq 0 is never noticed; every later one is, as soon as it leaves.
    for (let q = 1; q < span + 10; q++) p.onNotice(900, [q], [q], [], 1, out);
    const sentSeqs = sent(out, "value").map((e) => (e.msg as { v: { seq: number } }).v.seq);
    expect(Math.max(...sentSeqs)).toBe(span - 1);
    expect(p.inFlight).toBe(1 + 10);
  });
});

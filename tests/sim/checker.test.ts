import { describe, expect, test } from "bun:test";
import { Checker, PID_BYTES } from "../../src/sim/checker.ts";
import type { ClientValue, Delivery } from "../../src/core/types.ts";

function value(pid: number, client = 1, seq = pid): ClientValue {
  const payload = new Uint8Array(PID_BYTES + 4);
  new DataView(payload.buffer).setFloat64(0, pid);
  payload[PID_BYTES] = pid & 0xff;
  return { client, seq, payload };
}

function delivery(instance: number, vid: string, values: ClientValue[]): Delivery {
  return { instance, vid, values };
}

/** A checker that knows values 1..5 were proposed and instances 0..3 were decided as "v0".."v3". */
function primed(): Checker {
  const c = new Checker();
  for (let pid = 1; pid <= 5; pid++) c.propose({ pid, node: 9, incarnation: 0, payload: value(pid).payload });
  for (let i = 0; i < 4; i++) c.onDecided(0, { instance: i, vid: `v${i}` });
  return c;
}

describe("Checker", () => {
  test("a consistent history has no violation", () => {
    const c = primed();
    for (const node of [1, 2]) {
      c.onDeliver(node, 0, delivery(0, "v0", [value(1), value(2)]));
      c.onDeliver(node, 0, delivery(1, "v1", [value(3)]));
    }
    expect(c.violations).toEqual([]);
    expect(c.deliveredBy(1, 0).size).toBe(3);
  });

  test("rsvp: a proposer told an instance other than the one learners deliver its value at, before or after the delivery", () => {
    const c = primed();
    c.onAcked(9, { client: 1, seq: 1, instance: 0 }); // right, told before the delivery
    c.onAcked(9, { client: 1, seq: 2, instance: 1 }); // wrong, told before the delivery
    c.onDeliver(1, 0, delivery(0, "v0", [value(1), value(2)]));
    c.onAcked(9, { client: 1, seq: 1, instance: 0 }); // right, after
    c.onAcked(9, { client: 1, seq: 2, instance: 3 }); // wrong, after
    // A later (filtered) copy of a value does not move where it is delivered.
    c.onDeliver(2, 0, delivery(0, "v0", [value(1), value(2)]));
    expect(c.violations.map((v) => [v.kind, v.detail])).toEqual([
      ["rsvp", "node 9's proposer was told 1:2 is decided at instance 1; learners deliver it at 0"],
      ["rsvp", "node 9's proposer was told 1:2 is decided at instance 3; learners deliver it at 0"],
    ]);
  });

  test("decision-changed: two different ids decided for one instance", () => {
    const c = primed();
    c.onDecided(3, { instance: 2, vid: "other" });
    expect(c.violations.map((v) => v.kind)).toEqual(["decision-changed"]);
  });

  test("undecided-delivery: delivering an id nobody decided", () => {
    const c = primed();
    c.onDeliver(1, 0, delivery(0, "v0", []));
    c.onDeliver(1, 0, delivery(1, "not-v1", []));
    expect(c.violations.map((v) => v.kind)).toContain("undecided-delivery");
  });

  test("agreement: two learners deliver different batches at one instance", () => {
    const c = new Checker();
    c.onDecided(0, { instance: 0, vid: "a" });
    c.onDeliver(1, 0, delivery(0, "a", []));
    c.onDecided(5, { instance: 0, vid: "b" }); // reported too, as decision-changed
    c.onDeliver(2, 0, delivery(0, "b", []));
    expect(c.violations.map((v) => v.kind)).toContain("agreement");
  });

  test("integrity: a value never proposed, a forged payload, a value delivered twice", () => {
    const c = primed();
    c.onDeliver(1, 0, delivery(0, "v0", [value(99)]));
    expect(c.violations.at(-1)?.kind).toBe("integrity");
    const forged = value(2);
    forged.payload[PID_BYTES] = 0x7f;
    c.onDeliver(2, 0, delivery(0, "v0", [forged]));
    expect(c.violations.at(-1)?.kind).toBe("integrity");
    c.onDeliver(3, 0, delivery(0, "v0", [value(1)]));
    c.onDeliver(3, 0, delivery(1, "v1", [value(1)]));
    expect(c.violations.at(-1)?.detail).toContain("twice");
  });

  test("total order: learners whose value sequences diverge, or a skipped instance", () => {
    const c = primed();
    c.onDeliver(1, 0, delivery(0, "v0", [value(1), value(2)]));
    c.onDeliver(2, 0, delivery(0, "v0", [value(2), value(1)]));
    expect(c.violations.some((v) => v.kind === "total-order")).toBe(true);
    const d = primed();
    d.onDeliver(1, 0, delivery(1, "v1", []));
    expect(d.violations.map((v) => v.kind)).toEqual(["total-order"]);
  });

  test("a restarted learner (new incarnation) starts its own log at instance 0", () => {
    const c = primed();
    c.onDeliver(1, 0, delivery(0, "v0", [value(1)]));
    c.onDeliver(1, 1, delivery(0, "v0", [value(1)]));
    expect(c.violations).toEqual([]);
  });
});

import { expect, test } from "bun:test";
import { ClusterView } from "../../src/node/cluster-view.ts";
import type { Msg, NodeId } from "../../src/core/types.ts";
import type { Network } from "../../src/node/runtime.ts";

test("the leader is the owner of the highest round heard of; its ring once a message carries it; a lower round changes nothing", () => {
  let now = 0;
  const v = new ClusterView(16, () => now);
  expect([v.leader, v.ring, v.silenceMs()]).toEqual([null, null, Infinity]);
  v.see({ t: "heartbeat", rnd: 16 * 3 + 2, seq: 0 });
  expect([v.leader, v.ring]).toEqual([2, null]);
  now = 10;
  v.see({ t: "ring", rnd: 16 * 3 + 2, ring: [2, 0, 1] });
  v.see({ t: "heartbeat", rnd: 16 * 2 + 1, seq: 0 });
  expect([v.leader, v.ring]).toEqual([2, [2, 0, 1]]);
  now = 50;
  expect(v.silenceMs()).toBe(40);
  v.see({ t: "heartbeat", rnd: 16 * 4 + 1, seq: 0 });
  expect([v.leader, v.ring, v.silenceMs()]).toEqual([1, null, 0]);
});

test("observe() hands every message to the view, then to the runtime's handler", () => {
  let handler: (from: NodeId, msg: Msg) => void = () => {};
  const sent: Msg[] = [];
  const net: Network = { send: (_to, m) => sent.push(m), multicast: (m) => sent.push(m), onMessage: (h) => (handler = h), close: async () => {} };
  const v = new ClusterView(8);
  const got: Msg[] = [];
  const wrapped = v.observe(net);
  wrapped.onMessage((_f, m) => got.push(m));
  handler(3, { t: "heartbeat", rnd: 8 + 3, seq: 1 });
  expect(v.leader).toBe(3);
  expect(got).toHaveLength(1);
  wrapped.send(1, { t: "hello" });
  expect(sent).toEqual([{ t: "hello" }]);
});

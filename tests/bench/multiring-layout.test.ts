import { describe, expect, test } from "bun:test";
import { clusterConfig } from "../../src/bench/cluster.ts";
import { multiRingLayout, type MultiRingLayout } from "../../src/bench/multiring-layout.ts";
import { parseConfig } from "../../src/config/load.ts";
import { ringPlans, subscriptions } from "../../src/config/rings.ts";

const base: MultiRingLayout = { rings: 3, acceptorsPerRing: 3, shareAcceptors: false, groupsPerLearner: "one", learners: 1, clientsPerRing: 2, lambdaPerSecond: 1000, deltaMs: 5, m: 1 };

describe("the cluster of paxos bench --rings", () => {
  test("separate rings: each ring its own acceptors and coordinator, a learner per group, clients per ring", () => {
    const { nodes, rings } = multiRingLayout(base);
    expect(rings).toEqual([
      { id: 1, acceptors: [0, 1, 2], coordinator: 0 },
      { id: 2, acceptors: [3, 4, 5], coordinator: 3 },
      { id: 3, acceptors: [6, 7, 8], coordinator: 6 },
    ]);
    expect(nodes.filter((n) => n.roles.includes("learner")).map((n) => n.subscribe)).toEqual([[1], [2], [3]]);
    expect(nodes.filter((n) => n.roles.includes("proposer")).map((n) => n.group)).toEqual([1, 1, 2, 2, 3, 3]);
    expect(nodes.map((n) => n.id)).toEqual(nodes.map((_, i) => i));
  });

  test("shared acceptors: three processes serve every ring, the coordinators spread over them; learners of every group", () => {
    const { nodes, rings } = multiRingLayout({ ...base, rings: 4, shareAcceptors: true, groupsPerLearner: "all", learners: 2 });
    expect(rings.map((r) => [r.acceptors, r.coordinator])).toEqual([
      [[0, 1, 2], 0],
      [[0, 1, 2], 1],
      [[0, 1, 2], 2],
      [[0, 1, 2], 0],
    ]);
    expect(nodes.slice(0, 3).every((n) => n.roles.includes("coordinator"))).toBe(true);
    expect(nodes.filter((n) => n.roles.includes("learner")).map((n) => n.subscribe)).toEqual([
      [1, 2, 3, 4],
      [1, 2, 3, 4],
    ]);
  });

  test("the configuration it writes is valid: one multicast group per ring, each learner in its rings", async () => {
    const { nodes, config } = await clusterConfig({ variant: "mring", acceptors: 0, learners: 0, clients: 0, multiRing: { ...base, groupsPerLearner: "all" } });
    const c = parseConfig(JSON.stringify(config), "bench.json");
    const plans = ringPlans(c);
    expect(plans.map((p) => p.id)).toEqual([1, 2, 3]);
    expect(new Set(plans.map((p) => p.multicast?.group)).size).toBe(3);
    expect(plans.map((p) => p.skip.perSecond)).toEqual([1000, 1000, 1000]);
    const learner = nodes.find((n) => n.roles.includes("learner"));
    expect(subscriptions(c, learner?.id ?? -1).map((s) => s.ring)).toEqual([1, 2, 3]);
  });
});

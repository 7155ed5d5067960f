import { describe, expect, test } from "bun:test";
import { DEFAULT_TIMING, type ProtocolConfig } from "../../src/core/config.ts";
import type { ClientValue, NodeId } from "../../src/core/types.ts";
import type { Merged, RingId } from "../../src/multiring/merge.ts";
import { MemoryHub } from "../../src/node/memory-network.ts";
import { MultiRingNode } from "../../src/node/multi-ring-node.ts";
import { acyclicOrderViolations } from "../../src/sim/multiring/order-checker.ts";

/** Two M-Ring rings over seven processes: node 4 learns both (a merge), node 5 ring 2 only, node 6 proposes on both. */
function ring(acceptors: NodeId[], learners: NodeId[]): ProtocolConfig {
  const processes = [...new Set([...acceptors, ...learners, 6])].sort((a, b) => a - b);
  return {
    ...DEFAULT_TIMING,
    variant: "mring",
    maxNodes: 16,
    processes,
    acceptors,
    learners,
    proposers: [6],
    coordinator: acceptors[0] as NodeId,
    replicas: learners,
    // λ = 1,000 instances/s (one per 1 ms tick), Δ = 5 ticks.
    multiRing: { skipPerInterval: 5, skipIntervalTicks: 5 },
  };
}
const RINGS = new Map<RingId, ProtocolConfig>([
  [1, ring([0, 1, 2], [4, 6])],
  [2, ring([1, 2, 3], [4, 5, 6])],
]);
const SUBSCRIBED = new Map<NodeId, RingId[]>([
  [4, [1, 2]],
  [5, [2]],
  [6, [1, 2]],
]);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const text = (v: ClientValue) => new TextDecoder().decode(v.payload);

/** Nodes `ids` of `rings`, each on its rings' in-memory hubs, merging the rings of its SUBSCRIBED groups (node 6 learns from first seen). */
function startNodes(rings: ReadonlyMap<RingId, ProtocolConfig>, ids: readonly NodeId[], o: { clientId?: number; merged?: (id: NodeId) => (m: Merged<ClientValue>) => void } = {}): Map<NodeId, MultiRingNode> {
  const hubs = new Map([...rings.keys()].map((r) => [r, new MemoryHub()]));
  const nodes = new Map<NodeId, MultiRingNode>();
  for (const id of ids) {
    const subs = SUBSCRIBED.get(id) ?? [];
    const mine = [...rings].filter(([, cfg]) => cfg.processes.includes(id));
    nodes.set(
      id,
      new MultiRingNode({
        id,
        m: 1,
        tickMs: 1,
        ...(o.clientId !== undefined ? { clientId: o.clientId } : {}),
        learnFrom: id === 6 ? "first-seen" : "beginning",
        rings: mine.map(([r, cfg]) => ({ id: r, cfg, network: (hubs.get(r) as MemoryHub).network(id, cfg.acceptors.includes(id) || cfg.learners.includes(id)), merged: subs.includes(r) })),
        ...(o.merged ? { events: { merged: o.merged(id) } } : {}),
      }),
    );
  }
  return nodes;
}

describe("MultiRingNode: several rings per process, merged deliveries", () => {
  test("every learner merges its rings' values in one order; an idle ring's skips let a busy ring's values through", async () => {
    const merged = new Map<NodeId, string[]>([0, 1, 2, 3, 4, 5, 6].map((id) => [id, []]));
    const nodes = startNodes(RINGS, [0, 1, 2, 3, 4, 5, 6], { clientId: 6000, merged: (id) => (m) => (merged.get(id) as string[]).push(...m.values.map(text)) });
    try {
      for (const [r, cfg] of RINGS) nodes.get(cfg.coordinator)?.runtimes.get(r)?.input({ k: "lead" });
      for (const n of nodes.values()) n.startTicking();
      await sleep(150);
      const client = nodes.get(6) as MultiRingNode;
      // Ring 2 busy, ring 1 idle at first: node 4 must not wait for ring 1's values (skips).
      for (let i = 0; i < 20; i++) expect(client.propose(2, new TextEncoder().encode(`b${i}`))).not.toBeNull();
      for (let t = 0; t < 3000 && (merged.get(4) as string[]).length < 20; t += 20) await sleep(20);
      expect((merged.get(4) as string[]).filter((v) => v.startsWith("b"))).toHaveLength(20);
      for (let i = 0; i < 10; i++) client.propose(1, new TextEncoder().encode(`a${i}`));
      for (let i = 20; i < 30; i++) client.propose(2, new TextEncoder().encode(`b${i}`));
      for (let t = 0; t < 5000 && ((merged.get(4) as string[]).length < 40 || (merged.get(5) as string[]).length < 30); t += 20) await sleep(20);
      expect([...(merged.get(4) as string[])].sort()).toEqual([...Array.from({ length: 10 }, (_, i) => `a${i}`), ...Array.from({ length: 30 }, (_, i) => `b${i}`)].sort());
      expect(merged.get(5)).toEqual(Array.from({ length: 30 }, (_, i) => `b${i}`).filter((v) => (merged.get(5) as string[]).includes(v)));
      expect(merged.get(5)).toHaveLength(30);
      // One order: node 4's and node 5's merges agree on what both deliver.
      const ids = new Map<string, number>();
      const asIds = (xs: string[]) => xs.map((x) => ids.get(x) ?? (ids.set(x, ids.size), ids.size - 1));
      expect(acyclicOrderViolations(new Map([[4, asIds(merged.get(4) as string[])], [5, asIds(merged.get(5) as string[])]]))).toEqual([]);
    } finally {
      for (const n of nodes.values()) await n.close();
    }
  }, 20_000);

  test("a merging replica reports as applied what its merge released, not what its rings delivered: acceptors keep what the merge holds", async () => {
    // No skips: ring 2 idle means the merge (M = 1) releases ring 1's instance 0, then waits for ring 2.
    // Node 4 is the one replica (the client, node 6, reports nothing), so acceptors hear its reports alone.
    const still = (c: ProtocolConfig): ProtocolConfig => {
      const { multiRing: _skips, ...rest } = c;
      return { ...rest, replicas: [4] };
    };
    const rings = new Map([...RINGS].map(([r, c]) => [r, still(c)]));
    const nodes = startNodes(rings, [0, 1, 2, 3, 4, 6], { clientId: 6001 });
    try {
      for (const [r, cfg] of rings) nodes.get(cfg.coordinator)?.runtimes.get(r)?.input({ k: "lead" });
      for (const n of nodes.values()) n.startTicking();
      await sleep(150);
      const client = nodes.get(6) as MultiRingNode;
      for (let i = 0; i < 10; i++) {
        client.propose(1, new TextEncoder().encode(`a${i}`));
        await sleep(5);
      }
      const learner = (nodes.get(4) as MultiRingNode).runtimes.get(1);
      const acceptor = (nodes.get(0) as MultiRingNode).runtimes.get(1);
      const delivered = () => learner?.proc.status(learner.now()).learner?.nextInstance ?? 0;
      for (let t = 0; t < 3000 && delivered() < 3; t += 20) await sleep(20);
      expect(delivered()).toBeGreaterThanOrEqual(3);
      expect((nodes.get(4) as MultiRingNode).backlog(1)).toBeGreaterThanOrEqual(2);
      await sleep(5 * DEFAULT_TIMING.appliedTicks);
      // Ring 1's acceptors heard "applied up to 1" (the merge released instance 0 only), not what ring 1's learner delivered.
      expect(acceptor?.proc.status(acceptor.now()).acceptor?.applied).toBe(1);
    } finally {
      for (const n of nodes.values()) await n.close();
    }
  }, 20_000);

  test("rings whose coordinators began apart (ring 2 at its election timeout): the merge asks the late ring to catch up, and holds nothing of the early one after", async () => {
    // Node 4 merges both rings; nobody proposes: each ring only skips, λ = 1,000 instances/s.
    const nodes = startNodes(RINGS, [0, 1, 2, 3, 4]);
    try {
      for (const n of nodes.values()) n.startTicking();
      // Ring 1 is told to lead; ring 2 begins only when its acceptors' election times out.
      nodes.get(0)?.runtimes.get(1)?.input({ k: "lead" });
      const learner = nodes.get(4) as MultiRingNode;
      let peak = 0;
      for (let t = 0; t < 1200; t += 10) {
        peak = Math.max(peak, learner.backlog(1));
        await sleep(10);
      }
      // Ring 1 ran some 300 slots (60 skip instances) ahead before ring 2 began; after its catch-up, the merge holds next to nothing of it.
      expect(peak).toBeGreaterThan(20);
      expect(learner.backlog(1)).toBeLessThan(5);
    } finally {
      for (const n of nodes.values()) await n.close();
    }
  }, 20_000);
});


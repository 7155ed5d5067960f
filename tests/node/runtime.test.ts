import { describe, expect, test } from "bun:test";
import { DEFAULT_TIMING, type ProtocolConfig, type Variant } from "../../src/core/config.ts";
import type { Delivery } from "../../src/core/types.ts";
import { MemoryHub } from "../../src/node/memory-network.ts";
import { NodeRuntime } from "../../src/node/runtime.ts";

function cluster(variant: Variant, lose?: (from: number, to: number) => boolean) {
  const cfg: ProtocolConfig = {
    ...DEFAULT_TIMING,
    variant,
    maxNodes: 256,
    processes: [0, 1, 2, 3, 4],
    acceptors: [0, 1, 2],
    learners: variant === "mring" ? [3, 4] : [0, 1, 2, 3, 4],
    proposers: [4],
    coordinator: 0,
  };
  const hub = new MemoryHub(lose ? (f, t) => lose(f, t) : undefined);
  const delivered = new Map<number, Delivery[]>();
  const acked: number[] = [];
  const nodes = cfg.processes.map(
    (id) =>
      new NodeRuntime({
        id,
        cfg,
        tickMs: 1,
        network: hub.network(id, cfg.acceptors.includes(id) || cfg.learners.includes(id)),
        events: {
          deliver: (d) => delivered.set(id, [...(delivered.get(id) ?? []), d]),
          acked: (a) => acked.push(a.seq),
        },
      }),
  );
  nodes[0]?.input({ k: "lead" });
  for (const n of nodes) n.startTicking();
  return { cfg, nodes, delivered, acked };
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > ms) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe.each(["mring", "uring"] as const)("%s runtime on real timers", (variant) => {
  test("values proposed by a client are acked and delivered, in one order, by every learner", async () => {
    const { cfg, nodes, delivered, acked } = cluster(variant);
    const client = nodes[4] as NodeRuntime;
    for (let i = 0; i < 200; i++) client.propose(new TextEncoder().encode(`v${i}`));
    await until(() => acked.length === 200);
    const seqs = (id: number) => (delivered.get(id) ?? []).flatMap((d) => d.values.map((v) => v.seq));
    await until(() => cfg.learners.every((l) => seqs(l).length === 200));
    for (const l of cfg.learners) expect(seqs(l)).toEqual(seqs(4));
    expect([...seqs(4)].sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    await Promise.all(nodes.map((n) => n.close()));
  });

  test("with 10 % of messages between processes lost, every value still arrives exactly once", async () => {
    let k = 0;
    const { cfg, nodes, delivered, acked } = cluster(variant, (f, t) => f !== t && ++k % 10 === 0);
    const client = nodes[4] as NodeRuntime;
    for (let i = 0; i < 100; i++) client.propose(new Uint8Array([i]));
    await until(() => acked.length === 100, 15000);
    const seqs = (id: number) => (delivered.get(id) ?? []).flatMap((d) => d.values.map((v) => v.seq));
    await until(() => cfg.learners.every((l) => seqs(l).length === 100), 15000);
    for (const l of cfg.learners) expect(new Set(seqs(l)).size).toBe(100);
    await Promise.all(nodes.map((n) => n.close()));
  });
});

test("the runtime tells its network when its coordinator leads an established round, and when it stops", async () => {
  const cfg: ProtocolConfig = { ...DEFAULT_TIMING, variant: "mring", maxNodes: 256, processes: [0, 1, 2], acceptors: [0, 1, 2], learners: [2], proposers: [], coordinator: 0 };
  const hub = new MemoryHub();
  const calls: boolean[] = [];
  const nodes = cfg.processes.map((id) => {
    const net = hub.network(id, true);
    return new NodeRuntime({ id, cfg, tickMs: 1, network: id === 0 ? { ...net, leading: (active: boolean) => void calls.push(active) } : net });
  });
  const leader = nodes[0] as NodeRuntime;
  expect(calls).toEqual([]);
  leader.input({ k: "lead" });
  // A candidate in Phase 1 is not told to lead: it may lose, and must then hear the winner.
  expect(leader.proc.coordinator?.isActive).toBe(true);
  expect(calls).toEqual([]);
  await until(() => calls.length > 0, 5000);
  expect(calls).toEqual([true]);
  expect(leader.proc.coordinator?.ring).not.toBeNull();
  leader.input({ k: "step-down" });
  expect(calls).toEqual([true, false]);
  await Promise.all(nodes.map((n) => n.close()));
});

test("a candidate whose Phase 1 never completes never tells its network it leads", async () => {
  const cfg: ProtocolConfig = { ...DEFAULT_TIMING, variant: "mring", maxNodes: 256, processes: [0, 1, 2], acceptors: [0, 1, 2], learners: [2], proposers: [], coordinator: 0 };
  const hub = new MemoryHub();
  const calls: boolean[] = [];
  // Only node 0 exists: its 1As reach nobody.
  const node = new NodeRuntime({ id: 0, cfg, tickMs: 1, network: { ...hub.network(0, true), leading: (active: boolean) => void calls.push(active) } });
  node.input({ k: "lead" });
  for (let i = 0; i < 200; i++) node.input({ k: "tick" });
  expect(node.proc.coordinator?.isActive).toBe(true);
  expect(calls).toEqual([]);
  await node.close();
});

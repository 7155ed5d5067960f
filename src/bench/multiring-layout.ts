/**
 * The cluster of `paxos bench --rings K` (Multi-Ring Paxos, thesis ch. 5): K rings, ids 1..K,
 * one group per ring (group r on ring r), their acceptors, learners and clients, as a
 * configuration with `rings` for LocalCluster.
 */
import type { Role } from "../config/schema.ts";

export interface MultiRingLayout {
  readonly rings: number;
  /** Acceptors of each ring (odd; M-Ring puts f+1 of them on the ring). */
  readonly acceptorsPerRing: number;
  /**
   * true: `acceptorsPerRing` processes are acceptors of every ring, ring r coordinated by the
   * (r-1 mod n)-th (one process hosts several rings); false: every ring has processes of its own,
   * as in the thesis' deployments (and as links capped per ring need).
   */
  readonly shareAcceptors: boolean;
  /** "one": each learner subscribes to one group (the thesis' best case, Fig. 5.4); "all": to every group (worst case, Fig. 5.5). */
  readonly groupsPerLearner: "one" | "all";
  /** Learner processes: per ring with "one", in all with "all". */
  readonly learners: number;
  readonly clientsPerRing: number;
  /** Skip instances and merge (thesis' λ, Δ and M). */
  readonly lambdaPerSecond: number;
  readonly deltaMs: number;
  readonly m: number;
}

/** A node of the layout, without its ports (the cluster gives them). */
export interface LayoutNode {
  readonly id: number;
  readonly roles: Role[];
  readonly subscribe?: number[];
  /** The ring a client proposes to (its group: the ring's id). */
  readonly group?: number;
}

export interface LayoutRing {
  readonly id: number;
  readonly acceptors: number[];
  readonly coordinator: number;
}

/** Bound of `--rings`: each ring is at least its acceptors' and learners' processes on this host. */
export const MAX_BENCH_RINGS = 8;

/** The nodes and rings of a layout: acceptors first, then learners, then clients (ids from 0). */
export function multiRingLayout(l: MultiRingLayout): { nodes: LayoutNode[]; rings: LayoutRing[] } {
  const ringIds = Array.from({ length: l.rings }, (_, i) => i + 1);
  const acceptorIds = (r: number): number[] => Array.from({ length: l.acceptorsPerRing }, (_, i) => (l.shareAcceptors ? 0 : (r - 1) * l.acceptorsPerRing) + i);
  const rings = ringIds.map((r) => {
    const acceptors = acceptorIds(r);
    return { id: r, acceptors, coordinator: (l.shareAcceptors ? acceptors[(r - 1) % acceptors.length] : acceptors[0]) as number };
  });
  const coordinators = new Set(rings.map((r) => r.coordinator));
  const nodes: LayoutNode[] = [];
  const acceptorCount = l.shareAcceptors ? l.acceptorsPerRing : l.rings * l.acceptorsPerRing;
  for (let id = 0; id < acceptorCount; id++) nodes.push({ id, roles: coordinators.has(id) ? ["coordinator", "acceptor"] : ["acceptor"] });
  let id = acceptorCount;
  if (l.groupsPerLearner === "all") for (let i = 0; i < l.learners; i++) nodes.push({ id: id++, roles: ["learner"], subscribe: [...ringIds] });
  else for (const r of ringIds) for (let i = 0; i < l.learners; i++) nodes.push({ id: id++, roles: ["learner"], subscribe: [r] });
  // Clients propose and follow a learner's delivery notices: they receive no multicast.
  for (const r of ringIds) for (let i = 0; i < l.clientsPerRing; i++) nodes.push({ id: id++, roles: ["proposer"], group: r });
  return { nodes, rings };
}

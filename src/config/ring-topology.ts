/**
 * Which rings a configuration holds and who takes part in each (Multi-Ring Paxos, thesis ch. 5).
 * A configuration without `rings` is one ring, id SINGLE_RING, with one group, SINGLE_GROUP, that
 * every learner and client learns: its members follow the nodes' roles, exactly as before rings
 * existed. With `rings`, nodes keep their roles, and each ring names its acceptors and its
 * initial coordinator by node id; a ring's learners are the learners and clients subscribed to
 * one of its groups, its proposers every proposer and client (a client may propose to any group).
 */
import type { Variant } from "../core/config.ts";
import type { NodeId } from "../core/types.ts";
import type { RingId } from "../multiring/merge.ts";
import type { ProtocolSettings, RingMembers } from "./protocol.ts";
import { MultiRingSchema, type ClusterConfig, type NodeEntry, type RingEntry, type Role } from "./schema.ts";

export type { RingId };
export type GroupId = number;

/** The ring of a configuration without `rings`, and its one group. */
export const SINGLE_RING: RingId = 0;
export const SINGLE_GROUP: GroupId = 0;

/** The keys of a configuration that decide its rings and their members. */
export type RingsConfig = Pick<ClusterConfig, "variant" | "nodes" | "rings" | "groups">;

/** One ring as the configuration defines it, its defaults applied. */
export interface RingDefinition {
  readonly id: RingId;
  /** Its index in `rings`, for key paths; null: the one ring of a configuration without `rings`. */
  readonly index: number | null;
  readonly variant: Variant;
  /** In preference order (without `rings`: the acceptors in `nodes` order). */
  readonly acceptors: readonly NodeId[];
  /** The acceptor that coordinates at start; null only for a configuration without `rings` whose nodes have no coordinator (invalid). */
  readonly coordinator: NodeId | null;
  /** The ring's entry in `rings` (null: the single ring). */
  readonly entry: RingEntry | null;
}

/** What one node is in one ring. */
export interface RingRoles {
  readonly acceptor: boolean;
  readonly coordinator: boolean;
  readonly learner: boolean;
  readonly proposer: boolean;
}

const learns = (roles: readonly Role[]): boolean => roles.includes("learner") || roles.includes("client");
const proposes = (roles: readonly Role[]): boolean => roles.includes("proposer") || roles.includes("client");

/** Every ring of the configuration, in ascending id order (the merge's order). */
export function ringDefinitions(c: RingsConfig): RingDefinition[] {
  if (c.rings === undefined) {
    const coordinator = c.nodes.find((n) => n.roles.includes("coordinator"));
    return [
      {
        id: SINGLE_RING,
        index: null,
        variant: c.variant,
        acceptors: c.nodes.filter((n) => n.roles.includes("acceptor")).map((n) => n.id),
        coordinator: coordinator?.id ?? null,
        entry: null,
      },
    ];
  }
  return c.rings
    .map((r, index): RingDefinition => ({ id: r.id, index, variant: r.variant ?? c.variant, acceptors: r.acceptors, coordinator: r.coordinator, entry: r }))
    .sort((a, b) => a.id - b.id);
}

/** The ring with this id, or null. */
export function ringDefinition(c: RingsConfig, ring: RingId): RingDefinition | null {
  return ringDefinitions(c).find((r) => r.id === ring) ?? null;
}

/** The groups on a ring, in `groups` order. */
export function groupsOfRing(c: RingsConfig, ring: RingId): GroupId[] {
  if (c.rings === undefined) return ring === SINGLE_RING ? [SINGLE_GROUP] : [];
  return (c.groups ?? []).filter((g) => g.ring === ring).map((g) => g.id);
}

/** The ring a group is on, or null when there is no such group. */
export function ringOfGroup(c: RingsConfig, group: GroupId): RingId | null {
  if (c.rings === undefined) return group === SINGLE_GROUP ? SINGLE_RING : null;
  return (c.groups ?? []).find((g) => g.id === group)?.ring ?? null;
}

/**
 * The groups a node learns: none unless it is a learner or client; without `rings`, the one
 * group; with them, its `subscribe` list, and for a client without one, every group (it may
 * propose to any group and learns its own values where they are decided).
 */
export function subscribedGroups(c: RingsConfig, node: NodeEntry): GroupId[] {
  if (!learns(node.roles)) return [];
  if (c.rings === undefined) return [SINGLE_GROUP];
  return [...(node.subscribe ?? (node.roles.includes("client") ? (c.groups ?? []).map((g) => g.id) : []))];
}

/** One group a node learns and the ring it is on. */
export interface Subscription {
  readonly group: GroupId;
  readonly ring: RingId;
}

/** The groups (and so the rings) node `nodeId` learns, in its `subscribe` order; none for a node that does not learn. */
export function subscriptions(c: RingsConfig, nodeId: NodeId): Subscription[] {
  const node = c.nodes.find((n) => n.id === nodeId);
  if (!node) return [];
  return subscribedGroups(c, node).flatMap((group) => {
    const ring = ringOfGroup(c, group);
    return ring === null ? [] : [{ group, ring }];
  });
}

/** What `node` is in ring `r`: without `rings`, its roles; with them, the ring's lists and the node's subscriptions. */
export function ringRoles(c: RingsConfig, r: RingDefinition, node: NodeEntry): RingRoles {
  if (r.entry === null)
    return {
      acceptor: node.roles.includes("acceptor"),
      coordinator: node.roles.includes("coordinator"),
      learner: learns(node.roles),
      proposer: proposes(node.roles),
    };
  const groups = new Set(groupsOfRing(c, r.id));
  return {
    acceptor: r.acceptors.includes(node.id),
    coordinator: r.coordinator === node.id,
    learner: subscribedGroups(c, node).some((g) => groups.has(g)),
    proposer: proposes(node.roles),
  };
}

/** Who takes part in ring `r`. Throws when it has no coordinator (a configuration without `rings` whose nodes name none). */
export function ringMembers(c: RingsConfig, r: RingDefinition): RingMembers {
  if (r.coordinator === null) throw new Error("nodes: exactly one node must have the role coordinator (found 0)");
  const roles = c.nodes.map((n) => ({ n, in: ringRoles(c, r, n) }));
  const ids = (f: (x: RingRoles, n: NodeEntry) => boolean): NodeId[] => roles.filter((x) => f(x.in, x.n)).map((x) => x.n.id);
  return {
    processes: ids((x) => x.acceptor || x.learner || x.proposer),
    acceptors: r.acceptors,
    learners: ids((x) => x.learner),
    proposers: ids((x) => x.proposer),
    replicas: ids((x, n) => x.learner && n.roles.includes("learner")),
    coordinator: r.coordinator,
  };
}

/**
 * The rings some learner merges with another ring (it subscribes to groups on two rings or more):
 * only these need skip instances, which exist to let merges go on past an idle ring; a ring no
 * learner merges with another would skip for nobody (thesis Fig. 5.4's learners of one group).
 * Clients learn their own values where they are decided and merge nothing.
 */
export function mergedRings(c: RingsConfig): Set<RingId> {
  const out = new Set<RingId>();
  for (const n of c.nodes) {
    if (!n.roles.includes("learner")) continue;
    const rings = new Set(subscriptions(c, n.id).map((s) => s.ring));
    if (rings.size > 1) for (const r of rings) out.add(r);
  }
  return out;
}

/** The ring's protocol settings: the top-level section with the ring's own keys over it. */
export function ringProtocol(c: Pick<ClusterConfig, "protocol">, r: RingDefinition): ProtocolSettings {
  const own = r.entry?.protocol;
  if (own === undefined) return c.protocol;
  const out: Record<string, unknown> = { ...c.protocol };
  for (const [k, v] of Object.entries(own)) if (v !== undefined) out[k] = v;
  return out as ProtocolSettings;
}

/** The Multi-Ring parameters, their defaults applied. */
export function multiRingParams(c: Pick<ClusterConfig, "multiRing">): { readonly lambdaPerSecond: number; readonly deltaMs: number; readonly m: number } {
  return c.multiRing ?? MultiRingSchema.parse({});
}

import { ringDefinitions, ringRoles, type RingDefinition, type RingId, type RingsConfig } from "./ring-topology.ts";
import { MULTICAST_DEFAULTS, type ClusterConfig, type NodeEntry } from "./schema.ts";

/**
 * An M-Ring ip-multicast group as the configuration gives it to one node (or to the cluster):
 * where it is, which interface the node uses, and the socket settings. `key` and `interfaceKey`
 * name the configuration keys the group and the interface came from, so a start-up error can
 * point at them.
 */
export interface MulticastGroup {
  readonly group: string;
  readonly port: number;
  /** The section of the group and port: `multicast`, or a ring's own (`rings[i].multicast`). */
  readonly key: "multicast" | `rings[${number}].multicast`;
  readonly interface: string;
  readonly interfaceKey: "multicast.interface" | `rings[${number}].multicast.interface` | `nodes[${number}].multicastInterface`;
  readonly ttl: number;
  readonly maxDatagram: number;
  readonly recvBufferBytes: number;
  readonly sendBufferBytes: number;
  /**
   * The node sends from a socket of its own that never joins (see MulticastMembership): true for
   * the ring's configured coordinator, the one process that multicasts from the start.
   */
  readonly separateSender: boolean;
}

/** The ring `ring` names; without it, the configuration's only ring (one with several rings must name one). */
function theRing(config: RingsConfig, ring: RingId | undefined): RingDefinition | null {
  const rings = ringDefinitions(config);
  if (ring !== undefined) return rings.find((r) => r.id === ring) ?? null;
  if (rings.length !== 1) throw new Error(`multicastGroup: a configuration with ${rings.length} rings has a multicast group per ring: name the ring`);
  return rings[0] ?? null;
}

/**
 * The one rule for which multicast group a node uses, per ring: M-Ring rings only (a ring's
 * `variant`, else the top-level one), from the ring's own `multicast` (its missing keys from the
 * top-level section) or else the top-level `multicast` section, on the node's
 * `multicastInterface` if it has one (hosts differ), else the section's interface. Members are
 * the processes of the ring that receive Phase 2A and decisions: its acceptors (the coordinator is
 * one) and learners (learners and clients; with `rings`, those subscribed to one of its groups);
 * a proposer alone follows a learner's notices and uses no group. A configuration without `rings`
 * is one ring (see ring-topology.ts), so this is the rule it always had.
 * Without `node`: the ring's group (e.g. the datagram limit a client's values must fit).
 * Without `ring`: the configuration's only ring. Null: no group (U-Ring, no section, no such
 * ring, or a node that is no member).
 */
export function multicastGroup(
  config: RingsConfig & Pick<ClusterConfig, "multicast">,
  node?: NodeEntry,
  ring?: RingId,
): MulticastGroup | null {
  const r = theRing(config, ring);
  if (r === null || r.variant !== "mring") return null;
  const own = r.entry?.multicast;
  const top = config.multicast;
  if (!own && !top) return null;
  if (node) {
    const roles = ringRoles(config, r, node);
    if (!roles.acceptor && !roles.learner && !roles.coordinator) return null;
  }
  const base = top ?? MULTICAST_DEFAULTS;
  const section = own ? { ...base, ...definedKeys(own) } : (top as NonNullable<typeof top>);
  const sectionKey = own ? (`rings[${r.index ?? 0}].multicast` as const) : ("multicast" as const);
  const ownInterface = node?.multicastInterface;
  const index = node ? config.nodes.findIndex((n) => n.id === node.id) : -1;
  return {
    group: section.group,
    port: section.port,
    key: sectionKey,
    interface: ownInterface ?? section.interface,
    interfaceKey:
      ownInterface !== undefined
        ? `nodes[${index}].multicastInterface`
        : own?.interface !== undefined
          ? `rings[${r.index ?? 0}].multicast.interface`
          : "multicast.interface",
    ttl: section.ttl,
    maxDatagram: section.maxDatagram,
    recvBufferBytes: section.recvBufferBytes,
    sendBufferBytes: section.sendBufferBytes,
    separateSender: node ? ringRoles(config, r, node).coordinator : false,
  };
}

/** The keys of `o` whose value is not undefined (a ring's optional overrides). */
function definedKeys<T extends object>(o: T): { [K in keyof T]-?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]-?: Exclude<T[K], undefined> };
}

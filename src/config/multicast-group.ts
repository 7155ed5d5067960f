import type { ClusterConfig, NodeEntry } from "./schema.ts";

/**
 * The M-Ring ip-multicast group as the configuration gives it to one node (or to the cluster):
 * where it is, which interface the node uses, and the socket settings. `interfaceKey` names the
 * configuration key the interface came from, so a start-up error can point at it.
 */
export interface MulticastGroup {
  readonly group: string;
  readonly port: number;
  readonly interface: string;
  readonly interfaceKey: "multicast.interface" | `nodes[${number}].multicastInterface`;
  readonly ttl: number;
  readonly maxDatagram: number;
  readonly recvBufferBytes: number;
  readonly sendBufferBytes: number;
  /**
   * The node sends from a socket of its own that never joins (see MulticastMembership): true for
   * the configured coordinator, the one process that multicasts from the start.
   */
  readonly separateSender: boolean;
}

/**
 * The one rule for which multicast group a node uses: M-Ring only, from the `multicast` section,
 * on the node's `multicastInterface` if it has one (hosts differ), else `multicast.interface`.
 * Members are the processes that receive Phase 2A and decisions: acceptors (the coordinator is
 * one), learners and clients; a proposer alone follows a learner's notices and uses no group.
 * Without `node`: the cluster's group (e.g. the datagram limit a client's values must fit).
 * Null: no group (U-Ring, no section, or a node that is no member).
 */
export function multicastGroup(config: Pick<ClusterConfig, "variant" | "nodes" | "multicast">, node?: NodeEntry): MulticastGroup | null {
  const m = config.multicast;
  if (config.variant !== "mring" || !m) return null;
  if (node && !node.roles.some((r) => r === "acceptor" || r === "learner" || r === "client" || r === "coordinator")) return null;
  const own = node?.multicastInterface;
  const index = node ? config.nodes.findIndex((n) => n.id === node.id) : -1;
  return {
    group: m.group,
    port: m.port,
    interface: own ?? m.interface,
    interfaceKey: own !== undefined ? `nodes[${index}].multicastInterface` : "multicast.interface",
    ttl: m.ttl,
    maxDatagram: m.maxDatagram,
    recvBufferBytes: m.recvBufferBytes,
    sendBufferBytes: m.sendBufferBytes,
    separateSender: node?.roles.includes("coordinator") ?? false,
  };
}

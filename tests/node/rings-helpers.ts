/** A two-ring loopback configuration for the socket tests (Multi-Ring Paxos). */
import { freePorts } from "../../src/bench/cluster.ts";
import { parseConfig } from "../../src/config/load.ts";
import type { ClusterConfig } from "../../src/config/schema.ts";
import { randomMulticastPort } from "../../src/net/udp.ts";

export const LO = "127.0.0.1";
export const CLUSTER = 9;

const octet = (): number => 1 + Math.floor(Math.random() * 254);

/**
 * Two M-Ring rings on loopback, free TCP ports, random groups (as configs/multiring-2-ram.json):
 * ring 1 — acceptors 0, 1, 2, coordinator 0; ring 2 — acceptors 1, 0, 3, coordinator 1; learner 4
 * subscribes to both rings' groups. So node 0 coordinates ring 1 and is an acceptor of ring 2,
 * node 1 the other way round, node 2 is in ring 1 only, node 3 in ring 2 only, node 4 in both.
 * `ring2Interface`: ring 2's multicast interface (default loopback); `firstRing`: ring 1's id
 * (default 1; e.g. 0).
 */
export async function twoRingConfig(o: { ring2Interface?: string; firstRing?: number } = {}): Promise<ClusterConfig> {
  const r1 = o.firstRing ?? 1;
  const ports = await freePorts(5);
  const port = (i: number): number => ports[i] as number;
  const m1 = randomMulticastPort();
  let m2 = randomMulticastPort();
  while (m2 === m1) m2 = randomMulticastPort();
  return parseConfig(
    JSON.stringify({
      cluster: CLUSTER,
      variant: "mring",
      nodes: [
        { id: 0, host: LO, port: port(0), roles: ["coordinator", "acceptor"] },
        { id: 1, host: LO, port: port(1), roles: ["coordinator", "acceptor"] },
        { id: 2, host: LO, port: port(2), roles: ["acceptor"] },
        { id: 3, host: LO, port: port(3), roles: ["acceptor"] },
        { id: 4, host: LO, port: port(4), roles: ["learner"], subscribe: [1, 2] },
      ],
      rings: [
        { id: r1, acceptors: [0, 1, 2], coordinator: 0, multicast: { group: `239.${octet()}.${octet()}.${octet()}`, port: m1, interface: LO, ttl: 0 } },
        { id: 2, acceptors: [1, 0, 3], coordinator: 1, multicast: { group: `239.${octet()}.${octet()}.${octet()}`, port: m2, interface: o.ring2Interface ?? LO, ttl: 0 } },
      ],
      groups: [
        { id: 1, ring: r1 },
        { id: 2, ring: 2 },
      ],
    }),
  );
}

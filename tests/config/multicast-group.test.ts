import { describe, expect, test } from "bun:test";
import { parseConfig } from "../../src/config/load.ts";
import { multicastGroup } from "../../src/config/multicast-group.ts";
import type { ClusterConfig, NodeEntry } from "../../src/config/schema.ts";

function config(over: Record<string, unknown> = {}): ClusterConfig {
  return parseConfig(
    JSON.stringify({
      cluster: 1,
      variant: "mring",
      nodes: [
        { id: 0, host: "127.0.0.1", port: 7000, roles: ["coordinator", "acceptor"] },
        { id: 1, host: "127.0.0.1", port: 7001, roles: ["acceptor"], multicastInterface: "10.0.0.5" },
        { id: 2, host: "127.0.0.1", port: 7002, roles: ["acceptor", "learner"] },
        { id: 3, host: "127.0.0.1", port: 7003, roles: ["client"] },
        { id: 4, host: "127.0.0.1", port: 7004, roles: ["proposer"] },
      ],
      multicast: { group: "239.1.2.3", port: 7100, interface: "127.0.0.1", ttl: 0, maxDatagram: 12000 },
      ...over,
    }),
  );
}

const node = (c: ClusterConfig, id: number): NodeEntry => c.nodes.find((n) => n.id === id) as NodeEntry;

describe("multicastGroup: the one rule for which group a node uses", () => {
  test("members are acceptors, learners and clients, on the section's interface; only the coordinator sends from a socket of its own", () => {
    const c = config();
    expect(multicastGroup(c, node(c, 0))).toEqual({
      group: "239.1.2.3",
      port: 7100,
      key: "multicast",
      interface: "127.0.0.1",
      interfaceKey: "multicast.interface",
      ttl: 0,
      maxDatagram: 12000,
      recvBufferBytes: 16 * 1024 * 1024,
      sendBufferBytes: 16 * 1024 * 1024,
      separateSender: true,
    });
    for (const id of [2, 3]) expect(multicastGroup(c, node(c, id))?.separateSender).toBe(false);
    expect(multicastGroup(c, node(c, 3))?.interface).toBe("127.0.0.1");
  });

  test("a node's multicastInterface overrides the section's, and the key says where it came from", () => {
    const c = config();
    expect(multicastGroup(c, node(c, 1))).toMatchObject({ interface: "10.0.0.5", interfaceKey: "nodes[1].multicastInterface", group: "239.1.2.3" });
  });

  test("no group for a proposer alone, for U-Ring, or without the section (the interface defaults to 0.0.0.0)", () => {
    const c = config();
    expect(multicastGroup(c, node(c, 4))).toBeNull();
    const u = config({ variant: "uring" });
    expect(multicastGroup(u, node(u, 0))).toBeNull();
    expect(multicastGroup(u)).toBeNull();
    const d = config({ multicast: { group: "239.1.2.3", port: 7100 } });
    expect(multicastGroup(d, node(d, 0))?.interface).toBe("0.0.0.0");
  });

  test("without a node: the cluster's group (e.g. the datagram a client's values must fit)", () => {
    expect(multicastGroup(config())).toMatchObject({ group: "239.1.2.3", port: 7100, interface: "127.0.0.1", maxDatagram: 12000, separateSender: false });
  });
});

import { afterEach, expect, test } from "bun:test";
import { freePorts } from "../../src/bench/cluster.ts";
import { parseConfig } from "../../src/config/load.ts";
import type { ClusterConfig } from "../../src/config/schema.ts";
import type { Msg, NodeId } from "../../src/core/types.ts";
import { probeMulticast, randomMulticastPort } from "../../src/net/udp.ts";
import { createSocketNetwork, type SocketNetwork } from "../../src/node/socket-network.ts";
import { sleep, waitFor } from "../net/helpers.ts";

const LO = "127.0.0.1";
const probe = await probeMulticast({ interface: LO, timeoutMs: 1500 });
if (!probe.ok) console.warn(`SKIPPING socket-network multicast tests: loopback multicast unavailable here (${probe.reason})`);
const mtest = test.skipIf(!probe.ok);

const open: SocketNetwork[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((n) => n.close()));
});

async function cluster(): Promise<ClusterConfig> {
  const [p0, p1, p2] = await freePorts(3);
  const r = (): number => 1 + Math.floor(Math.random() * 254);
  return parseConfig(
    JSON.stringify({
      cluster: 9,
      variant: "mring",
      nodes: [
        { id: 0, host: LO, port: p0, roles: ["coordinator", "acceptor"] },
        { id: 1, host: LO, port: p1, roles: ["acceptor"] },
        { id: 2, host: LO, port: p2, roles: ["acceptor", "learner"] },
      ],
      multicast: { group: `239.${r()}.${r()}.${r()}`, port: randomMulticastPort(), interface: LO, ttl: 0 },
    }),
  );
}

/** A node's network and every message it received, as "from:seq". */
async function node(config: ClusterConfig, id: NodeId): Promise<{ net: SocketNetwork; got: string[] }> {
  const entry = config.nodes.find((n) => n.id === id);
  if (!entry) throw new Error(`no node ${id}`);
  const net = await createSocketNetwork(config, entry);
  open.push(net);
  const got: string[] = [];
  net.onMessage((from, msg) => {
    if (msg.t === "heartbeat-ack") got.push(`${from}:${msg.seq}`);
  });
  return { net, got };
}

const mark = (seq: number): Msg => ({ t: "heartbeat-ack", rnd: 1, seq });

mtest("a leading coordinator closes its multicast receiver and reopens it when it stands down", async () => {
  const config = await cluster();
  const [c, a, b] = [await node(config, 0), await node(config, 1), await node(config, 2)];
  expect(c.net.multicastReceiving).toBe(true);

  // Following: the coordinator's process receives the group, its own datagrams included.
  c.net.multicast(mark(1));
  a.net.multicast(mark(2));
  await waitFor(() => c.got.includes("0:1") && c.got.includes("1:2") && b.got.includes("0:1"), "the group's datagrams at every member");

  // Leading: what it multicasts still reaches the others, but nothing comes back to it.
  c.net.leading?.(true);
  await waitFor(() => c.net.multicastReceiving === false, "the receiver closed");
  c.net.multicast(mark(3));
  a.net.multicast(mark(4));
  await waitFor(() => b.got.includes("0:3") && b.got.includes("1:4") && a.got.includes("0:3"), "the leader's datagram at the members");
  await sleep(100);
  expect(c.got.filter((g) => g.endsWith(":3") || g.endsWith(":4"))).toEqual([]);

  // Stood down: it receives the group again.
  c.net.leading?.(false);
  await waitFor(() => c.net.multicastReceiving === true, "the receiver reopened");
  a.net.multicast(mark(5));
  c.net.multicast(mark(6));
  await waitFor(() => c.got.includes("1:5") && c.got.includes("0:6"), "the group's datagrams at the stood-down coordinator");
  expect(c.net.counters["udp_receiver_closed"]).toBe(1);
  expect(c.net.counters["udp_receiver_reopened"]).toBe(1);
});

mtest("quick leadership changes settle on the last one; other roles keep receiving", async () => {
  const config = await cluster();
  const [c, a] = [await node(config, 0), await node(config, 1)];
  for (let i = 0; i < 5; i++) {
    c.net.leading?.(true);
    c.net.leading?.(false);
  }
  c.net.leading?.(true);
  await waitFor(() => c.net.multicastReceiving === false, "the receiver closed");
  await sleep(50);
  expect(c.net.multicastReceiving).toBe(false);
  // An acceptor without the coordinator role has no separate sender: it never stops receiving.
  a.net.leading?.(true);
  c.net.multicast(mark(7));
  await waitFor(() => a.got.includes("0:7"), "the acceptor receiving");
  expect(a.net.multicastReceiving).toBe(true);
  // Closing while the receiver is closed (or switching) resolves and leaves nothing open.
  c.net.leading?.(false);
});

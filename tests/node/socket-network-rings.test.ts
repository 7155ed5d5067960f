import { afterEach, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { freePorts } from "../../src/bench/cluster.ts";
import { parseConfig } from "../../src/config/load.ts";
import type { ClusterConfig } from "../../src/config/schema.ts";
import type { Msg, NodeId } from "../../src/core/types.ts";
import { FrameLink } from "../../src/net/tcp.ts";
import { probeMulticast } from "../../src/net/udp.ts";
import { createSocketNetwork, type SocketNetwork } from "../../src/node/socket-network.ts";
import { encode, WireAuth } from "../../src/wire/index.ts";
import { sleep, waitFor } from "../net/helpers.ts";
import { CLUSTER, LO, twoRingConfig } from "./rings-helpers.ts";

const probe = await probeMulticast({ interface: LO, timeoutMs: 1500 });
if (!probe.ok) console.warn(`SKIPPING socket-network ring multicast tests: loopback multicast unavailable here (${probe.reason})`);
const mtest = test.skipIf(!probe.ok);

const open: SocketNetwork[] = [];
const links: FrameLink[] = [];
afterEach(async () => {
  for (const l of links.splice(0)) l.close();
  await Promise.all(open.splice(0).map((n) => n.close()));
});

const mark = (seq: number): Msg => ({ t: "heartbeat-ack", rnd: 1, seq });

interface Node {
  readonly net: SocketNetwork;
  /** What each handler got, as "from:seq", by the ring of the handler (0: the network's own onMessage). */
  readonly got: Record<number, string[]>;
}

/** Node `id`'s network, with a handler on each of `rings` (0: the network's own) recording what it gets. */
async function node(config: ClusterConfig, id: NodeId, rings: readonly number[], auth?: WireAuth): Promise<Node> {
  const entry = config.nodes.find((n) => n.id === id);
  if (!entry) throw new Error(`no node ${id}`);
  const net = await createSocketNetwork(config, entry, undefined, auth);
  open.push(net);
  const got: Record<number, string[]> = {};
  for (const r of rings) {
    const list: string[] = (got[r] = []);
    (r === 0 ? net : net.ring(r)).onMessage((from, msg) => {
      if (msg.t === "heartbeat-ack") list.push(`${from}:${msg.seq}`);
    });
  }
  return { net, got };
}

describe("one socket network, several rings", () => {
  for (const keyed of [false, true])
    test(`TCP: each ring's messages reach that ring's handler only${keyed ? " (with a key: bundles mix rings)" : ""}`, async () => {
      const config = await twoRingConfig();
      const auth = (): WireAuth => new WireAuth(keyed ? [KEY] : []);
      const [a, b] = [await node(config, 0, [0, 1, 2], auth()), await node(config, 4, [0, 1, 2], auth())];
      // One turn, before the link is up: the link writes them together (one bundle with a key).
      a.net.ring(1).send(4, mark(1));
      a.net.ring(2).send(4, mark(2));
      a.net.ring(1).send(4, mark(3));
      a.net.ring(2).send(4, mark(4));
      a.net.send(4, mark(5)); // the network itself: ring 0, not a ring of this configuration
      await waitFor(() => (b.got[1]?.length ?? 0) + (b.got[2]?.length ?? 0) === 4, "four messages at node 4");
      await sleep(50);
      expect(b.got).toEqual({ 0: [], 1: ["0:1", "0:3"], 2: ["0:2", "0:4"] });
      const c = b.net.counters;
      expect(c["dropped_unknown_ring"]).toBe(1);
      // Without a key one frame per message; with one, fewer bundles than messages, so (the rings
      // alternate) a bundle carried messages of several rings.
      if (keyed) expect(c["tcp_bundles_in"]).toBeLessThan(5);
      else expect(c["tcp_frames_in"]).toBe(5);
      expect(a.net.authenticated).toBe(keyed);
    });

  test("a frame of a ring not in the configuration, or of one this node hosts no handler for, is counted and dropped", async () => {
    const config = await twoRingConfig();
    const a = await node(config, 0, []);
    const b = await node(config, 2, [1]); // ring 1 only: no handler for ring 2, none of its own (ring 0)
    a.net.ring(2).send(2, mark(1));
    a.net.ring(1).send(2, mark(2));
    a.net.send(2, mark(3));
    // Forged header ring ids from a configured sender (no key: anyone may claim one).
    const target = config.nodes.find((n) => n.id === 2);
    if (!target) throw new Error("no node 2");
    const raw = new FrameLink({ host: LO, port: target.port });
    links.push(raw);
    raw.send(encode(mark(4), { cluster: CLUSTER, sender: 3, ring: 7 }));
    raw.send(encode(mark(5), { cluster: CLUSTER, sender: 3, ring: 65535 }));
    raw.send(encode(mark(6), { cluster: CLUSTER, sender: 3, ring: 1 }));
    await waitFor(() => (b.got[1]?.length ?? 0) === 2, "the ring-1 messages");
    await waitFor(() => (b.net.counters["dropped_unknown_ring"] ?? 0) + (b.net.counters["dropped_unhosted_ring"] ?? 0) === 4, "the drops");
    expect(b.got[1]).toEqual(["0:2", "3:6"]);
    expect([b.net.counters["dropped_unhosted_ring"], b.net.counters["dropped_unknown_ring"]]).toEqual([1, 3]);
  });

  test("ring(id): one view per ring, RangeError for a ring not in the configuration; a view's close closes nothing", async () => {
    const config = await twoRingConfig();
    const [a, b] = [await node(config, 0, []), await node(config, 4, [2])];
    expect(a.net.ring(1)).toBe(a.net.ring(1));
    expect(a.net.ring(1)).not.toBe(a.net.ring(2));
    expect(() => a.net.ring(3)).toThrow(RangeError);
    expect(() => a.net.ring(0)).toThrow(RangeError); // no ring 0 in this configuration
    await a.net.ring(2).close();
    await b.net.ring(2).close();
    a.net.ring(2).send(4, mark(1));
    await waitFor(() => b.got[2]?.length === 1, "a message after the views' close");
    // No group for node 4 on a ring it is no member of; none for ring 0 at all.
    expect(a.net.multicastReceiving).toBeNull();
  });

  test("with `rings` and a ring 0, ring(0) is a view (its close closes nothing) sharing the network's handler", async () => {
    const config = await twoRingConfig({ firstRing: 0 });
    const a = await node(config, 0, []);
    const b = await node(config, 2, [0]); // the network's own onMessage
    const v = a.net.ring(0);
    expect(v).not.toBe(a.net);
    await v.close();
    v.send(2, mark(1));
    a.net.send(2, mark(2));
    await waitFor(() => b.got[0]?.length === 2, "both at ring 0's handler");
    const got: string[] = [];
    b.net.ring(0).onMessage((from, msg) => got.push(`${from}:${msg.t}`));
    a.net.ring(2).send(2, mark(3)); // node 2 is not in ring 2 and hosts no handler for it
    a.net.send(2, mark(4));
    await waitFor(() => got.length === 1, "ring 0's new handler");
    expect([b.got[0], got, b.net.counters["dropped_unhosted_ring"]]).toEqual([["0:1", "0:2"], ["0:heartbeat-ack"], 1]);
  });

  mtest("multicast on a ring reaches that ring's members, at their handler of that ring only", async () => {
    const config = await twoRingConfig();
    const nodes = [await node(config, 0, [0, 1, 2]), await node(config, 1, [0, 1, 2]), await node(config, 2, [0, 1, 2]), await node(config, 3, [0, 1, 2]), await node(config, 4, [0, 1, 2])];
    const [n0, n1, n2, n3, n4] = nodes as [Node, Node, Node, Node, Node];
    expect(nodes.map((n) => n.net.multicastReceivingByRing())).toEqual([{ 1: true, 2: true }, { 1: true, 2: true }, { 1: true }, { 2: true }, { 1: true, 2: true }]);
    expect(nodes.map((n) => n.net.multicastReceiving)).toEqual([null, null, null, null, null]);
    expect(Object.keys(n0.net.socketBuffersByRing())).toEqual(["1", "2"]);
    expect(n0.net.socketBuffers).not.toBeNull();

    n1.net.ring(2).multicast(mark(10)); // ring 2's coordinator, from its own sender
    n0.net.ring(1).multicast(mark(11)); // ring 1's coordinator
    n3.net.ring(2).multicast(mark(12)); // an acceptor of ring 2 (through its receiver)
    const ring2 = [n0, n1, n3, n4];
    const ring1 = [n0, n1, n2, n4];
    await waitFor(
      () => ring2.every((n) => n.got[2]?.includes("1:10") && n.got[2].includes("3:12")) && ring1.every((n) => n.got[1]?.includes("0:11")),
      "every member's datagrams",
    );
    await sleep(100);
    for (const n of nodes) {
      expect(n.got[0]).toEqual([]);
      expect(n.got[1]).toEqual(ring1.includes(n) ? ["0:11"] : []);
      expect([...(n.got[2] ?? [])].sort()).toEqual(ring2.includes(n) ? ["1:10", "3:12"] : []);
    }
    // Node 2 is in ring 1 only: its one socket received ring 1's datagram, nothing of ring 2.
    expect(n2.net.counters["udp_datagrams_in"]).toBe(1);
    expect(n4.net.counters["udp_datagrams_in"]).toBe(3);
    // A ring without a group of this node (and ring 0) cannot be multicast on: counted.
    n2.net.ring(2).multicast(mark(13));
    n2.net.multicast(mark(14));
    expect(n2.net.counters["dropped_multicast_unavailable"]).toBe(2);
    expect(n1.net.counters["udp_datagrams_out"]).toBe(1);
  });

  mtest("leading a ring closes that ring's receiver only, and standing down reopens it", async () => {
    const config = await twoRingConfig();
    const [n0, n1, n2] = [await node(config, 0, [1, 2]), await node(config, 1, [1, 2]), await node(config, 2, [1])];
    n0.net.ring(1).leading?.(true);
    await waitFor(() => n0.net.multicastReceivingByRing()[1] === false, "ring 1's receiver closed");
    expect(n0.net.multicastReceivingByRing()).toEqual({ 1: false, 2: true });
    // Ring 2 still reaches node 0; ring 1's multicasts still leave it, but none comes back.
    n1.net.ring(2).multicast(mark(20));
    n0.net.ring(1).multicast(mark(21));
    n1.net.ring(1).multicast(mark(22));
    await waitFor(() => n0.got[2]?.includes("1:20") === true && n2.got[1]?.includes("0:21") === true && n2.got[1].includes("1:22"), "the datagrams");
    await sleep(100);
    expect(n0.got[1]).toEqual([]);
    // Node 0 does not coordinate ring 2 (it sends from its receiver there): leading it changes nothing; nor does ring 0.
    n0.net.ring(2).leading?.(true);
    n0.net.leading?.(true);
    await sleep(50);
    expect(n0.net.multicastReceivingByRing()).toEqual({ 1: false, 2: true });
    // Ring 2's coordinator leading ring 2 leaves ring 1 as it was.
    n1.net.ring(2).leading?.(true);
    await waitFor(() => n1.net.multicastReceivingByRing()[2] === false, "node 1 out of ring 2's group");
    expect(n1.net.multicastReceivingByRing()).toEqual({ 1: true, 2: false });

    n0.net.ring(1).leading?.(false);
    await waitFor(() => n0.net.multicastReceivingByRing()[1] === true, "ring 1's receiver reopened");
    n1.net.ring(1).multicast(mark(23));
    await waitFor(() => n0.got[1]?.includes("1:23") === true, "ring 1 at node 0 again");
    expect([n0.net.counters["udp_receiver_closed"], n0.net.counters["udp_receiver_reopened"]]).toEqual([1, 1]);
  });
});

describe("a configuration without rings", () => {
  test("ring(0) is the network itself; other ring ids are refused, and frames naming them dropped", async () => {
    const [p0, p1, p2] = await freePorts(3);
    const config = parseConfig(
      JSON.stringify({
        cluster: CLUSTER,
        variant: "uring",
        nodes: [
          { id: 0, host: LO, port: p0, roles: ["coordinator", "acceptor", "learner"] },
          { id: 1, host: LO, port: p1, roles: ["acceptor", "learner"] },
          { id: 2, host: LO, port: p2, roles: ["acceptor", "learner"] },
        ],
      }),
    );
    const [a, b] = [await node(config, 0, [0]), await node(config, 1, [0])];
    expect(a.net.ring(0)).toBe(a.net);
    expect(() => a.net.ring(1)).toThrow(RangeError);
    expect([a.net.multicastReceiving, a.net.multicastReceivingByRing(), a.net.socketBuffersByRing(), a.net.socketBuffers]).toEqual([null, {}, {}, null]);
    const raw = new FrameLink({ host: LO, port: p1 as number });
    links.push(raw);
    raw.send(encode(mark(1), { cluster: CLUSTER, sender: 0, ring: 1 }));
    a.net.send(1, mark(2));
    await waitFor(() => b.got[0]?.length === 1 && b.net.counters["dropped_unknown_ring"] === 1, "the ring-0 message and the drop");
    expect(b.got[0]).toEqual(["0:2"]);
  });
});

const KEY = randomBytes(32);

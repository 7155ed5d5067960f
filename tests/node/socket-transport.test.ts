import { afterEach, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { freePorts } from "../../src/bench/cluster.ts";
import { parseConfig } from "../../src/config/load.ts";
import type { ClusterConfig } from "../../src/config/schema.ts";
import type { NodeId } from "../../src/core/types.ts";
import type { FrameWrapper } from "../../src/net/tcp.ts";
import { probeMulticast, randomMulticastPort } from "../../src/net/udp.ts";
import { NetCounters } from "../../src/node/net-counters.ts";
import { SocketSetupError } from "../../src/node/socket-setup-error.ts";
import { SocketTransport } from "../../src/node/socket-transport.ts";
import { bundler, isBundle, splitBundle } from "../../src/wire/bundle.ts";
import { encode, WireAuth } from "../../src/wire/index.ts";
import { sameBytes, sleep, waitFor } from "../net/helpers.ts";
import { twoRingConfig } from "./rings-helpers.ts";

const LO = "127.0.0.1";
const probe = await probeMulticast({ interface: LO, timeoutMs: 1500 });
if (!probe.ok) console.warn(`SKIPPING socket-transport multicast tests: loopback multicast unavailable here (${probe.reason})`);
const mtest = test.skipIf(!probe.ok);

const open: SocketTransport[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

async function config(variant: "mring" | "uring", iface = LO): Promise<ClusterConfig> {
  const [p0, p1, p2] = await freePorts(3);
  const r = (): number => 1 + Math.floor(Math.random() * 254);
  const learner = variant === "uring" ? ["learner" as const] : [];
  return parseConfig(
    JSON.stringify({
      cluster: 9,
      variant,
      nodes: [
        { id: 0, host: LO, port: p0, roles: ["coordinator", "acceptor", ...learner] },
        { id: 1, host: LO, port: p1, roles: ["acceptor", ...learner] },
        { id: 2, host: LO, port: p2, roles: ["acceptor", "learner"] },
      ],
      ...(variant === "mring" ? { multicast: { group: `239.${r()}.${r()}.${r()}`, port: randomMulticastPort(), interface: iface, ttl: 0 } } : {}),
    }),
  );
}

/** Node `id`'s transport and every payload it received. */
async function transport(c: ClusterConfig, id: NodeId, wrap?: FrameWrapper): Promise<{ t: SocketTransport; got: Uint8Array[]; counters: NetCounters }> {
  const self = c.nodes.find((n) => n.id === id);
  if (!self) throw new Error(`no node ${id}`);
  const counters = new NetCounters();
  const got: Uint8Array[] = [];
  const t = await SocketTransport.open({ config: c, self, counters, onBytes: (b) => got.push(new Uint8Array(b)), wrap });
  open.push(t);
  return { t, got, counters };
}

describe("SocketTransport over TCP", () => {
  test("a frame to a peer arrives as the same bytes, counted out and in; U-Ring opens no group", async () => {
    const c = await config("uring");
    const [a, b] = [await transport(c, 0), await transport(c, 1)];
    const payload = randomBytes(300);
    a.t.sendFrame(1, payload);
    await waitFor(() => b.got.length === 1, "the frame at node 1");
    expect(sameBytes(b.got[0] as Uint8Array, payload)).toBe(true);
    expect(a.counters.values["tcp_frames_out"]).toBe(1);
    expect(b.counters.values["tcp_frames_in"]).toBe(1);
    expect([a.t.multicastReceiving, a.t.socketBuffers, a.t.warnings, a.t.canMulticast]).toEqual([null, null, [], false]);
  });

  test("a control frame goes on a connection of its own, not behind the bulk frames queued before it", async () => {
    const c = await config("uring");
    const [a, b] = [await transport(c, 0), await transport(c, 1)];
    const bulk = 96;
    for (let i = 0; i < bulk; i++) a.t.sendFrame(1, new Uint8Array(64 * 1024).fill(1));
    a.t.sendFrame(1, Uint8Array.of(7), true);
    await waitFor(() => b.got.length === bulk + 1, "every frame at the peer", 10_000);
    const at = b.got.findIndex((f) => f.byteLength === 1 && f[0] === 7);
    expect(at).toBeGreaterThanOrEqual(0);
    expect(at).toBeLessThan(bulk);
  });

  test("no such peer, no group: counted as drops, nothing sent", async () => {
    const c = await config("uring");
    const a = await transport(c, 0);
    expect([a.t.isPeer(1), a.t.isPeer(99)]).toEqual([true, false]);
    a.t.sendFrame(99, new Uint8Array(20));
    a.t.multicast(new Uint8Array(20));
    expect(a.counters.values["dropped_no_such_peer"]).toBe(1);
    expect(a.counters.values["dropped_multicast_unavailable"]).toBe(1);
    expect(a.counters.values["tcp_frames_out"]).toBe(0);
  });

  test("with a wrap, a link writes the frames of one turn as one wrapped frame", async () => {
    const c = await config("uring");
    const auth = new WireAuth([randomBytes(32)]);
    const a = await transport(c, 0, bundler({ cluster: 9, sender: 0 }, auth));
    const b = await transport(c, 1);
    const msg = (seq: number): Uint8Array => encode({ t: "heartbeat", rnd: 1, seq }, { cluster: 9, sender: 0 });
    a.t.sendFrame(1, msg(0));
    await waitFor(() => b.got.length === 1, "the first write");
    // The turn's first frame goes at once (TurnCork), the two after it together at the turn's end.
    for (let i = 1; i <= 3; i++) a.t.sendFrame(1, msg(i));
    await waitFor(() => b.got.length === 3, "the turn's writes");
    await sleep(20);
    expect(b.got.length).toBe(3);
    const opened = b.got.map((w) => auth.open(w));
    expect(opened.every(isBundle)).toBe(true);
    expect(opened.map((w) => splitBundle(w, 9).length)).toEqual([1, 1, 2]);
  });

  test("a TCP port in use fails the start with SocketSetupError(tcp), code EADDRINUSE", async () => {
    const c = await config("uring");
    await transport(c, 0);
    const self = c.nodes[0];
    if (!self) throw new Error("no node 0");
    const e = await SocketTransport.open({ config: c, self, counters: new NetCounters(), onBytes: () => {}, wrap: undefined }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SocketSetupError);
    expect([(e as SocketSetupError).socket, (e as SocketSetupError).code]).toEqual(["tcp", "EADDRINUSE"]);
  });
});

describe("SocketTransport and the M-Ring group", () => {
  mtest("members receive the group; a leading coordinator's datagrams still leave while it receives none", async () => {
    const c = await config("mring");
    const [co, a] = [await transport(c, 0), await transport(c, 1)];
    expect([co.t.canMulticast, co.t.multicastReceiving, a.t.multicastReceiving]).toEqual([true, true, true]);
    expect(co.t.socketBuffers).not.toBeNull();
    co.t.multicast(Uint8Array.of(1));
    await waitFor(() => a.got.length === 1 && co.got.length === 1, "the datagram at both members");
    co.t.setLeading(true);
    await waitFor(() => co.t.multicastReceiving === false, "the coordinator out of the group");
    co.t.multicast(Uint8Array.of(2));
    await waitFor(() => a.got.length === 2, "the leader's datagram at the acceptor");
    await sleep(50);
    expect(co.got.length).toBe(1);
    expect([co.counters.values["udp_datagrams_out"], co.counters.values["udp_receiver_closed"]]).toEqual([2, 1]);
    co.t.sampleSocketStats();
    expect(co.counters.values["udp_send_errors"]).toBe(0);
  });

  test("a group that cannot be joined fails the start with SocketSetupError(multicast) and frees the TCP port", async () => {
    const c = await config("mring", "10.255.255.1");
    const self = c.nodes[1];
    if (!self) throw new Error("no node 1");
    const e = await SocketTransport.open({ config: c, self, counters: new NetCounters(), onBytes: () => {}, wrap: undefined }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SocketSetupError);
    expect((e as SocketSetupError).socket).toBe("multicast");
    // Nothing stayed open: a U-Ring node can take the same TCP port.
    const again = await SocketTransport.open({ config: { ...c, variant: "uring" }, self, counters: new NetCounters(), onBytes: () => {}, wrap: undefined });
    open.push(again);
    expect(again.tcpPort).toBe(self.port);
  });
});

describe("SocketTransport with several rings", () => {
  mtest("one TCP server and one group per ring the node is in; leading one ring leaves that group only", async () => {
    const c = await twoRingConfig();
    const [n0, n2, n3] = [await transport(c, 0), await transport(c, 2), await transport(c, 3)];
    expect([n0.t.multicastRings, n2.t.multicastRings, n3.t.multicastRings]).toEqual([[1, 2], [1], [2]]);
    expect([n0.t.canMulticast, n0.t.canMulticastOn(1), n0.t.canMulticastOn(2), n2.t.canMulticastOn(2)]).toEqual([false, true, true, false]);
    expect(Object.keys(n0.t.socketBuffersByRing())).toEqual(["1", "2"]);
    // Warnings (e.g. Bun refusing TTL 0) name their ring.
    expect(n0.t.warnings.every((w) => /^ring [12]: /.test(w))).toBe(true);
    n0.t.multicast(Uint8Array.of(1), 1);
    n0.t.multicast(Uint8Array.of(2), 2);
    await waitFor(() => n2.got.length === 1 && n3.got.length === 1 && n0.got.length === 2, "each ring's datagram at its members");
    expect([n2.got[0]?.[0], n3.got[0]?.[0]]).toEqual([1, 2]);
    n0.t.setLeading(true, 1);
    await waitFor(() => n0.t.multicastReceivingOn(1) === false, "node 0 out of ring 1's group");
    expect(n0.t.multicastReceivingByRing()).toEqual({ 1: false, 2: true });
    n0.t.multicast(Uint8Array.of(3), 1);
    n0.t.multicast(Uint8Array.of(4), 2);
    await waitFor(() => n2.got.length === 2 && n3.got.length === 2 && n0.got.length === 3, "the datagrams after leading ring 1");
    await sleep(50);
    expect(n0.got.map((b) => b[0])).toEqual([1, 2, 4]);
    // Ring 0 is no ring here: nothing to send on or lead.
    n0.t.multicast(Uint8Array.of(5));
    n0.t.setLeading(true);
    expect([n0.counters.values["udp_datagrams_out"], n0.counters.values["dropped_multicast_unavailable"], n0.t.multicastReceiving]).toEqual([4, 1, null]);
  });

  test("a ring's group that cannot be joined fails the start with SocketSetupError(multicast) naming the ring, leaving nothing open", async () => {
    const c = await twoRingConfig({ ring2Interface: "10.255.255.1" });
    const self = c.nodes[0]; // in ring 1 (joined first) and ring 2
    if (!self) throw new Error("no node 0");
    const e = await SocketTransport.open({ config: c, self, counters: new NetCounters(), onBytes: () => {}, wrap: undefined }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SocketSetupError);
    expect([(e as SocketSetupError).socket, (e as SocketSetupError).ring]).toEqual(["multicast", 2]);
    const again = await SocketTransport.open({ config: { ...c, variant: "uring", rings: undefined }, self, counters: new NetCounters(), onBytes: () => {}, wrap: undefined });
    open.push(again);
    expect(again.tcpPort).toBe(self.port);
  });
});

import type { ClusterConfig, NodeEntry } from "../config/schema.ts";
import type { Msg, NodeId } from "../core/types.ts";
import { formatTrace } from "../obs/message-trace.ts";
import { WireAuth } from "../wire/index.ts";
import { CodecGate } from "./codec-gate.ts";
import { NetCounters } from "./net-counters.ts";
import type { Network } from "./runtime.ts";
import { SocketTransport, type SocketBuffers } from "./socket-transport.ts";

export interface SocketNetwork extends Network {
  /** Things an operator should know (e.g. a socket buffer smaller than asked). */
  readonly warnings: readonly string[];
  /** Packets and frames in, out and dropped, by reason. */
  readonly counters: Record<string, number>;
  readonly socketBuffers: SocketBuffers | null;
  readonly tcpPort: number;
  /** M-Ring: whether this process receives the group now (a leading coordinator does not); null: no multicast. */
  readonly multicastReceiving: boolean | null;
  /** Whether every message in and out carries a MAC (a cluster key is configured). */
  readonly authenticated: boolean;
}

/**
 * The real network of one node: its sockets (SocketTransport: TCP frames to and from peers, the
 * M-Ring group for its members, the group's receiver closed while this process leads) behind one
 * codec gate (CodecGate: MACs, decoding, the sender's membership of the configuration; whatever
 * fails is counted and dropped, never trusted). Rejects with a SocketSetupError when a socket
 * cannot open.
 */
export async function createSocketNetwork(
  config: ClusterConfig,
  self: NodeEntry,
  /** Debugging: called with one line per message in and out. */
  trace?: (line: string) => void,
  /** Seals what leaves and opens what arrives (no keys: plain messages). */
  auth: WireAuth = new WireAuth([]),
): Promise<SocketNetwork> {
  const counters = new NetCounters();
  let handler: (from: NodeId, msg: Msg) => void = () => {};
  // The gate comes first (the transport's links wrap with its bundler). Bytes that arrive while
  // the sockets are still opening find no link to wake and no handler yet, as before onMessage.
  let transport: SocketTransport | null = null;
  const gate = new CodecGate(config, self.id, auth, counters, (from, msg) => {
    transport?.peerAlive(from);
    trace?.(`<- n${from} ${formatTrace(msg)}`);
    handler(from, msg);
  });
  const t = await SocketTransport.open({ config, self, counters, onBytes: (bytes) => gate.accept(bytes), wrap: gate.linkWrap });
  transport = t;

  return {
    warnings: t.warnings,
    tcpPort: t.tcpPort,
    socketBuffers: t.socketBuffers,
    authenticated: gate.authenticated,
    send(to, msg) {
      trace?.(`-> n${to} ${formatTrace(msg)}`);
      if (!t.isPeer(to)) return counters.drop("no-such-peer");
      const frame = gate.encodeFrame(msg);
      if (frame) t.sendFrame(to, frame);
    },
    multicast(msg) {
      trace?.(`-> multicast ${formatTrace(msg)}`);
      if (!t.canMulticast) return counters.drop("multicast-unavailable");
      const datagram = gate.encodeDatagram(msg);
      if (datagram) t.multicast(datagram);
    },
    onMessage(h) {
      handler = h;
    },
    leading(active) {
      t.setLeading(active);
    },
    get multicastReceiving() {
      return t.multicastReceiving;
    },
    get counters() {
      t.sampleSocketStats();
      return counters.values;
    },
    close: () => t.close(),
  };
}

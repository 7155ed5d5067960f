import process from "node:process";
import type { ClusterConfig, NodeEntry } from "../config/schema.ts";
import type { Msg, NodeId } from "../core/types.ts";
import { FrameLink, FrameServer } from "../net/tcp.ts";
import { MulticastSocket } from "../net/udp.ts";
import { decode, DecodeError, encode, EncodeError } from "../wire/index.ts";
import type { Network } from "./runtime.ts";
import { formatTrace } from "../sim/trace.ts";

export interface SocketNetwork extends Network {
  /** Things an operator should know (e.g. a socket buffer smaller than asked). */
  readonly warnings: readonly string[];
  /** Packets and frames in, out and dropped, by reason. */
  readonly counters: Record<string, number>;
  readonly socketBuffers: { recvBytes: number; sendBytes: number; warning: string | null } | null;
  readonly tcpPort: number;
}

/**
 * The real network of one node: a TCP frame server on the node's address for ring, client and
 * retransmission traffic; one outgoing link per peer (lazy, reconnecting, bounded queue); and for
 * M-Ring acceptors and learners an ip-multicast socket. Bytes that do not decode, or that carry
 * another cluster's id, are counted and dropped, never trusted.
 */
export async function createSocketNetwork(
  config: ClusterConfig,
  self: NodeEntry,
  /** Debugging: called with one line per message in and out. */
  trace?: (line: string) => void,
): Promise<SocketNetwork> {
  const counters: Record<string, number> = {
    tcp_frames_in: 0,
    tcp_frames_out: 0,
    tcp_frames_dropped_queue_full: 0,
    udp_datagrams_in: 0,
    udp_datagrams_out: 0,
    udp_datagrams_refused: 0,
  };
  const count = (k: string) => {
    counters[k] = (counters[k] ?? 0) + 1;
  };
  const drop = (reason: string) => count(`dropped_${reason.replace(/[^a-z0-9]+/g, "_")}`);
  let handler: (from: NodeId, msg: Msg) => void = () => {};
  const receive = (bytes: Uint8Array) => {
    let decoded: { sender: number; msg: Msg };
    try {
      decoded = decode(bytes, config.cluster);
    } catch (e) {
      if (e instanceof DecodeError) return drop(e.reason);
      throw e;
    }
    if (!config.nodes.some((n) => n.id === decoded.sender)) return drop("unknown-sender");
    links.get(decoded.sender)?.peerAlive();
    trace?.(`<- n${decoded.sender} ${formatTrace(decoded.msg)}`);
    handler(decoded.sender, decoded.msg);
  };

  const server = new FrameServer({
    host: self.host,
    port: self.port,
    onFrame: (frame) => {
      count("tcp_frames_in");
      receive(frame);
    },
  });
  const bound = await server.listen();

  const links = new Map<NodeId, FrameLink>();
  const linkTo = (id: NodeId): FrameLink | null => {
    let l = links.get(id);
    if (l) return l;
    const peer = config.nodes.find((n) => n.id === id);
    if (!peer) return null;
    l = new FrameLink({ host: peer.host, port: peer.port });
    links.set(id, l);
    return l;
  };

  const inGroup = self.roles.some((r) => r === "acceptor" || r === "learner" || r === "client" || r === "coordinator");
  let mcast: MulticastSocket | null = null;
  const warnings: string[] = [];
  if (config.variant === "mring" && config.multicast && inGroup) {
    const m = config.multicast;
    mcast = await MulticastSocket.open({
      group: m.group,
      port: m.port,
      interface: self.multicastInterface ?? m.interface,
      ttl: m.ttl,
      loopback: true,
      recvBufferBytes: m.recvBufferBytes,
      sendBufferBytes: m.sendBufferBytes,
      maxDatagram: m.maxDatagram,
      // PAXOS_UDP_SEND=dgram: send through node:dgram even where the runtime has a native sender.
      nativeSend: process.env["PAXOS_UDP_SEND"] !== "dgram",
      onMessage: (payload) => {
        count("udp_datagrams_in");
        receive(payload);
      },
    });
    warnings.push(...mcast.warnings);
  }
  const header = { cluster: config.cluster, sender: self.id };
  /** A message the format cannot carry (e.g. larger than MAX_BODY) is counted and dropped. */
  const encodeOrDrop = (msg: Msg): Uint8Array | null => {
    try {
      return encode(msg, header);
    } catch (e) {
      if (e instanceof EncodeError) {
        drop("encode");
        return null;
      }
      throw e;
    }
  };

  return {
    warnings,
    tcpPort: bound.port,
    socketBuffers: mcast
      ? { recvBytes: mcast.bufferSizes.recvObtained, sendBytes: mcast.bufferSizes.sendObtained, warning: mcast.warnings[0] ?? null }
      : null,
    send(to, msg) {
      trace?.(`-> n${to} ${formatTrace(msg)}`);
      const l = linkTo(to);
      if (!l) return drop("no-such-peer");
      const frame = encodeOrDrop(msg);
      if (!frame) return;
      if (l.send(frame)) count("tcp_frames_out");
      else count("tcp_frames_dropped_queue_full");
    },
    multicast(msg) {
      trace?.(`-> multicast ${formatTrace(msg)}`);
      if (!mcast) return drop("multicast-unavailable");
      const datagram = encodeOrDrop(msg);
      if (!datagram) return;
      if (mcast.send(datagram)) count("udp_datagrams_out");
      else count("udp_datagrams_refused");
    },
    onMessage(h) {
      handler = h;
    },
    get counters() {
      if (mcast) {
        const s = mcast.stats;
        counters["udp_send_errors"] = s.sendErrors;
        counters["udp_send_dropped"] = s.sendDropped;
        counters["udp_oversize"] = s.oversize;
      }
      return counters;
    },
    async close() {
      for (const l of links.values()) l.close();
      await Promise.all([server.close(), mcast?.close()]);
    },
  };
}

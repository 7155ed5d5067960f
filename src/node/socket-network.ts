import process from "node:process";
import type { ClusterConfig, NodeEntry } from "../config/schema.ts";
import type { Msg, NodeId } from "../core/types.ts";
import { FrameLink, FrameServer } from "../net/tcp.ts";
import { MulticastSocket } from "../net/udp.ts";
import { decode, DecodeError, encode, EncodeError, WireAuth } from "../wire/index.ts";
import { bundler, isBundle, splitBundle } from "../wire/bundle.ts";
import type { Network } from "./runtime.ts";
import { formatTrace } from "../sim/trace.ts";
import { errorCode } from "../os/errno.ts";

export interface SocketNetwork extends Network {
  /** Things an operator should know (e.g. a socket buffer smaller than asked). */
  readonly warnings: readonly string[];
  /** Packets and frames in, out and dropped, by reason. */
  readonly counters: Record<string, number>;
  readonly socketBuffers: { recvBytes: number; sendBytes: number; warning: string | null } | null;
  readonly tcpPort: number;
  /** M-Ring: whether this process receives the group now (a leading coordinator does not); null: no multicast. */
  readonly multicastReceiving: boolean | null;
  /** Whether every message in and out carries a MAC (a cluster key is configured). */
  readonly authenticated: boolean;
}

/**
 * A socket of the node could not be opened at start-up: `socket` says which (the TCP server on the
 * node's port, or the multicast group's), `cause` is the system's error. Nothing stays open.
 */
export class SocketSetupError extends Error {
  override readonly name = "SocketSetupError";
  /** The system error code (EADDRINUSE, ENODEV, ...), when there is one. */
  readonly code: string | undefined;
  constructor(
    readonly socket: "tcp" | "multicast",
    override readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.code = errorCode(cause);
  }
}

/** A receiver that failed to reopen (after this process stood down as coordinator) is retried this often. */
export const RECEIVER_RETRY_MS = 1000;

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
  /** Seals what leaves and opens what arrives (no keys: plain messages). */
  auth: WireAuth = new WireAuth([]),
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
  const receive = (received: Uint8Array) => {
    // A plain view: the runtime hands Buffers, whose subarray (the codec's zero-copy payloads, the
    // MAC's fields, a bundle's messages) goes through a slow species path (profiled).
    const bytes = new Uint8Array(received.buffer, received.byteOffset, received.byteLength);
    let opened: Uint8Array;
    try {
      // The MAC is checked before a byte of the body is decoded.
      opened = auth.open(bytes);
    } catch (e) {
      if (e instanceof DecodeError) return drop(e.reason);
      throw e;
    }
    if (!auth.enabled || !isBundle(opened)) return deliver(opened);
    let inner: Uint8Array[];
    try {
      inner = splitBundle(opened, config.cluster);
    } catch (e) {
      if (e instanceof DecodeError) return drop(e.reason);
      throw e;
    }
    count("tcp_bundles_in");
    for (const m of inner) deliver(m);
  };
  /** One message whose MAC (its own, or its bundle's) was checked, or which needs none. */
  const deliver = (bytes: Uint8Array) => {
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
  let bound: Awaited<ReturnType<FrameServer["listen"]>>;
  try {
    bound = await server.listen();
  } catch (e) {
    throw new SocketSetupError("tcp", e);
  }

  const header = { cluster: config.cluster, sender: self.id };
  const bundles = bundler(header, auth);
  const links = new Map<NodeId, FrameLink>();
  const linkTo = (id: NodeId): FrameLink | null => {
    let l = links.get(id);
    if (l) return l;
    const peer = config.nodes.find((n) => n.id === id);
    if (!peer) return null;
    // With a key, one MAC per write of the link rather than per frame (see wire/bundle.ts).
    l = new FrameLink({ host: peer.host, port: peer.port, ...(auth.enabled ? { wrap: bundles } : {}) });
    links.set(id, l);
    return l;
  };

  const inGroup = self.roles.some((r) => r === "acceptor" || r === "learner" || r === "client" || r === "coordinator");
  /** The group's socket: receives; sends too, unless this process may coordinate (see `sender`). */
  let receiver: MulticastSocket | null = null;
  /**
   * A coordinator sends from a socket of its own that never joins the group, so that it can close
   * its receiver while it leads: only a coordinator multicasts, so a leader would receive nothing
   * but its own datagrams (the runtime hands itself those), one receiver in five on a loopback
   * cluster, and the host's own copy of every value on a real network. The receiver is closed,
   * not just taken out of the group: on Linux a socket bound to the group's address and port goes
   * on receiving while any other socket on the host is a member (IP_MULTICAST_ALL; checked).
   */
  let sender: MulticastSocket | null = null;
  let openReceiver: (() => Promise<MulticastSocket>) | null = null;
  const warnings: string[] = [];
  let socketBuffers: SocketNetwork["socketBuffers"] = null;
  if (config.variant === "mring" && config.multicast && inGroup) {
    const m = config.multicast;
    const separateSender = self.roles.includes("coordinator");
    const common = {
      group: m.group,
      port: m.port,
      interface: self.multicastInterface ?? m.interface,
      ttl: m.ttl,
      loopback: true,
      maxDatagram: m.maxDatagram,
    };
    // PAXOS_UDP_SEND=dgram: send through node:dgram even where the runtime has a native sender.
    const nativeSend = process.env["PAXOS_UDP_SEND"] !== "dgram";
    const onMessage = (payload: Uint8Array): void => {
      count("udp_datagrams_in");
      receive(payload);
    };
    openReceiver = () =>
      MulticastSocket.open({
        ...common,
        recvBufferBytes: m.recvBufferBytes,
        // A receiver that never sends asks for no send buffer (and warns of none).
        sendBufferBytes: separateSender ? 0 : m.sendBufferBytes,
        nativeSend: !separateSender && nativeSend,
        onMessage,
      });
    // A multicast socket that cannot open stops the start-up: the TCP server goes too, or the
    // process would stay up half-started (listening on TCP, never on the group).
    try {
      receiver = await openReceiver();
    } catch (e) {
      await server.close();
      throw new SocketSetupError("multicast", e);
    }
    warnings.push(...receiver.warnings);
    if (separateSender) {
      try {
        sender = await MulticastSocket.open({ ...common, join: false, recvBufferBytes: 0, sendBufferBytes: m.sendBufferBytes, nativeSend });
      } catch (e) {
        await Promise.all([receiver.close(), server.close()]);
        throw new SocketSetupError("multicast", e);
      }
      warnings.push(...sender.warnings);
    }
    const w = warnings.find((x) => x.startsWith("SO_RCVBUF") || x.startsWith("SO_SNDBUF"));
    socketBuffers = { recvBytes: receiver.bufferSizes.recvObtained, sendBytes: (sender ?? receiver).bufferSizes.sendObtained, warning: w ?? null };
  }
  /** The socket multicasts leave through. */
  const outbound = sender ?? receiver;

  // Closing and reopening the receiver as leadership comes and goes: one change at a time, each
  // doing what the latest wish asks; a reopening that fails is retried every RECEIVER_RETRY_MS.
  let wantReceiver = true;
  let closed = false;
  let switching: Promise<void> = Promise.resolve();
  const switchReceiver = async (): Promise<void> => {
    if (closed || openReceiver === null) return;
    if (!wantReceiver && receiver) {
      const r = receiver;
      receiver = null;
      count("udp_receiver_closed");
      await r.close();
    } else if (wantReceiver && !receiver) {
      try {
        receiver = await openReceiver();
        count("udp_receiver_reopened");
      } catch {
        count("udp_receiver_reopen_failed");
        setTimeout(() => setReceiver(wantReceiver), RECEIVER_RETRY_MS).unref?.();
      }
    }
  };
  const setReceiver = (on: boolean): void => {
    wantReceiver = on;
    switching = switching.then(switchReceiver);
  };
  /** A message the format cannot carry (e.g. larger than MAX_BODY) is counted and dropped; `sealed`: with its own MAC. */
  const encodeOrDrop = (msg: Msg, sealed: boolean): Uint8Array | null => {
    try {
      return sealed ? auth.seal(encode(msg, header, auth.trailerBytes)) : encode(msg, header);
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
    socketBuffers,
    send(to, msg) {
      trace?.(`-> n${to} ${formatTrace(msg)}`);
      const l = linkTo(to);
      if (!l) return drop("no-such-peer");
      // Over TCP the link's bundle carries the MAC (see linkTo).
      const frame = encodeOrDrop(msg, false);
      if (!frame) return;
      if (l.send(frame)) count("tcp_frames_out");
      else count("tcp_frames_dropped_queue_full");
    },
    multicast(msg) {
      trace?.(`-> multicast ${formatTrace(msg)}`);
      if (!outbound) return drop("multicast-unavailable");
      const datagram = encodeOrDrop(msg, true);
      if (!datagram) return;
      if (outbound.send(datagram)) count("udp_datagrams_out");
      else count("udp_datagrams_refused");
    },
    onMessage(h) {
      handler = h;
    },
    leading(active) {
      if (sender) setReceiver(!active);
    },
    authenticated: auth.enabled,
    get multicastReceiving() {
      return openReceiver === null ? null : receiver !== null;
    },
    get counters() {
      if (outbound) {
        const s = outbound.stats;
        counters["udp_send_errors"] = s.sendErrors;
        counters["udp_send_dropped"] = s.sendDropped;
        counters["udp_oversize"] = s.oversize;
      }
      return counters;
    },
    async close() {
      closed = true;
      for (const l of links.values()) l.close();
      await switching;
      await Promise.all([server.close(), receiver?.close(), sender?.close()]);
    },
  };
}

import process from "node:process";
import { multicastGroup, type MulticastGroup } from "../config/multicast-group.ts";
import type { ClusterConfig, NodeEntry } from "../config/schema.ts";
import type { NodeId } from "../core/types.ts";
import { FrameLink, FrameServer, type BoundAddress, type FrameWrapper } from "../net/tcp.ts";
import { MulticastSocket } from "../net/udp.ts";
import { MulticastMembership } from "./multicast-membership.ts";
import type { NetCounters } from "./net-counters.ts";
import { SocketSetupError } from "./socket-setup-error.ts";

export interface SocketTransportOptions {
  readonly config: Pick<ClusterConfig, "variant" | "nodes" | "multicast">;
  readonly self: NodeEntry;
  readonly counters: NetCounters;
  /** Every TCP frame and group datagram received, as the runtime hands it (bytes, not yet trusted). */
  readonly onBytes: (received: Uint8Array) => void;
  /** How a link wraps what it writes (one MAC per write: CodecGate.linkWrap); undefined: frames as they are. */
  readonly wrap: FrameWrapper | undefined;
}

/** UDP socket buffer sizes obtained, and the first warning about them. */
export interface SocketBuffers {
  readonly recvBytes: number;
  readonly sendBytes: number;
  readonly warning: string | null;
}

/** The group's sockets, once open. */
interface GroupSockets {
  readonly membership: MulticastMembership<MulticastSocket>;
  /** A socket of its own that never joins (MulticastGroup.separateSender), or null: the receiver sends. */
  readonly sender: MulticastSocket | null;
  /** The socket multicasts leave through (fixed: without a separate sender the receiver never closes). */
  readonly outbound: MulticastSocket;
  readonly warnings: readonly string[];
  readonly socketBuffers: SocketBuffers;
}

/**
 * The sockets of one node, carrying bytes it neither reads nor trusts (that is CodecGate's job): a
 * TCP frame server on the node's address for ring, client and retransmission traffic; one outgoing
 * link per peer (lazy, reconnecting, bounded queue: FrameLink's DEFAULT_LINK_QUEUE_BYTES); and for
 * members of the M-Ring group (multicastGroup) the ip-multicast sockets, whose receiver comes and
 * goes with leadership (MulticastMembership).
 */
export class SocketTransport {
  private readonly links = new Map<NodeId, FrameLink>();
  private readonly peers: ReadonlyMap<NodeId, NodeEntry>;

  private constructor(
    private readonly o: SocketTransportOptions,
    private readonly server: FrameServer,
    readonly tcpPort: number,
    private readonly group: GroupSockets | null,
  ) {
    this.peers = new Map(o.config.nodes.map((n) => [n.id, n]));
  }

  /** Listens on the node's TCP port and joins its group; rejects with a SocketSetupError, leaving nothing open. */
  static async open(o: SocketTransportOptions): Promise<SocketTransport> {
    const server = new FrameServer({
      host: o.self.host,
      port: o.self.port,
      onFrame: (frame) => {
        o.counters.count("tcp_frames_in");
        o.onBytes(frame);
      },
    });
    let bound: BoundAddress;
    try {
      bound = await server.listen();
    } catch (e) {
      throw new SocketSetupError("tcp", e);
    }
    const g = multicastGroup(o.config, o.self);
    let group: GroupSockets | null = null;
    // A multicast socket that cannot open stops the start-up: the TCP server goes too, or the
    // process would stay up half-started (listening on TCP, never on the group).
    if (g) {
      try {
        group = await openGroup(g, o);
      } catch (e) {
        await server.close();
        throw new SocketSetupError("multicast", e);
      }
    }
    return new SocketTransport(o, server, bound.port, group);
  }

  /** Things an operator should know (e.g. a socket buffer smaller than asked). */
  get warnings(): readonly string[] {
    return this.group?.warnings ?? [];
  }

  get socketBuffers(): SocketBuffers | null {
    return this.group?.socketBuffers ?? null;
  }

  /** Whether this process receives the group now; null: it uses none. */
  get multicastReceiving(): boolean | null {
    return this.group === null ? null : this.group.membership.receiving;
  }

  /** Whether `id` is a node of the configuration (a link to it can be made). */
  isPeer(id: NodeId): boolean {
    return this.peers.has(id);
  }

  /** Whether this process has a socket to multicast from. */
  get canMulticast(): boolean {
    return this.group !== null;
  }

  /** Queues one frame on the link to `to`; a full queue drops it (counted): the protocols retransmit. */
  sendFrame(to: NodeId, frame: Uint8Array): void {
    const l = this.linkTo(to);
    if (!l) return this.o.counters.drop("no-such-peer");
    if (l.send(frame)) this.o.counters.count("tcp_frames_out");
    else this.o.counters.count("tcp_frames_dropped_queue_full");
  }

  /** Sends one datagram to the group; one the socket refuses for now (too many pending) is counted. */
  multicast(datagram: Uint8Array): void {
    if (!this.group) return this.o.counters.drop("multicast-unavailable");
    if (this.group.outbound.send(datagram)) this.o.counters.count("udp_datagrams_out");
    else this.o.counters.count("udp_datagrams_refused");
  }

  /** `id` was heard from: a link to it waiting out its backoff reconnects now. */
  peerAlive(id: NodeId): void {
    this.links.get(id)?.peerAlive();
  }

  /** Whether this process' coordinator leads an established round (see MulticastMembership). */
  setLeading(leading: boolean): void {
    this.group?.membership.setLeading(leading);
  }

  /** Copies the multicast socket's own counts (sends failed, refused, oversize) into the counters. */
  sampleSocketStats(): void {
    if (!this.group) return;
    const s = this.group.outbound.stats;
    this.o.counters.set("udp_send_errors", s.sendErrors);
    this.o.counters.set("udp_send_dropped", s.sendDropped);
    this.o.counters.set("udp_oversize", s.oversize);
  }

  async close(): Promise<void> {
    for (const l of this.links.values()) l.close();
    await Promise.all([this.server.close(), this.group?.membership.close(), this.group?.sender?.close()]);
  }

  private linkTo(id: NodeId): FrameLink | null {
    let l = this.links.get(id);
    if (l) return l;
    const peer = this.peers.get(id);
    if (!peer) return null;
    l = new FrameLink({ host: peer.host, port: peer.port, ...(this.o.wrap ? { wrap: this.o.wrap } : {}) });
    this.links.set(id, l);
    return l;
  }
}

/** Opens the group's receiver, and for a process that may coordinate a sender of its own (see MulticastMembership). */
async function openGroup(g: MulticastGroup, o: SocketTransportOptions): Promise<GroupSockets> {
  const common = { group: g.group, port: g.port, interface: g.interface, ttl: g.ttl, loopback: true, maxDatagram: g.maxDatagram };
  // PAXOS_UDP_SEND=dgram: send through node:dgram even where the runtime has a native sender.
  const nativeSend = process.env["PAXOS_UDP_SEND"] !== "dgram";
  const openReceiver = (): Promise<MulticastSocket> =>
    MulticastSocket.open({
      ...common,
      recvBufferBytes: g.recvBufferBytes,
      // A receiver that never sends asks for no send buffer (and warns of none).
      sendBufferBytes: g.separateSender ? 0 : g.sendBufferBytes,
      nativeSend: !g.separateSender && nativeSend,
      onMessage: (payload) => {
        o.counters.count("udp_datagrams_in");
        o.onBytes(payload);
      },
    });
  const receiver = await openReceiver();
  const membership = new MulticastMembership(receiver, { open: openReceiver, separateSender: g.separateSender, count: (e) => o.counters.count(e) });
  const warnings = [...receiver.warnings];
  let sender: MulticastSocket | null = null;
  if (g.separateSender) {
    try {
      sender = await MulticastSocket.open({ ...common, join: false, recvBufferBytes: 0, sendBufferBytes: g.sendBufferBytes, nativeSend });
    } catch (e) {
      await membership.close();
      throw e;
    }
    warnings.push(...sender.warnings);
  }
  const outbound = sender ?? receiver;
  const w = warnings.find((x) => x.startsWith("SO_RCVBUF") || x.startsWith("SO_SNDBUF"));
  return { membership, sender, outbound, warnings, socketBuffers: { recvBytes: receiver.bufferSizes.recvObtained, sendBytes: outbound.bufferSizes.sendObtained, warning: w ?? null } };
}

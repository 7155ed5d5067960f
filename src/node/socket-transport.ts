import process from "node:process";
import { multicastGroup, type MulticastGroup } from "../config/multicast-group.ts";
import { ringDefinitions, type RingId } from "../config/ring-topology.ts";
import type { ClusterConfig, NodeEntry } from "../config/schema.ts";
import type { NodeId } from "../core/types.ts";
import { FrameLink, FrameServer, type BoundAddress, type FrameWrapper } from "../net/tcp.ts";
import { TcpBuffers } from "../net/tcp-buffers.ts";
import { MulticastSocket } from "../net/udp.ts";
import { MulticastMembership } from "./multicast-membership.ts";
import type { NetCounters } from "./net-counters.ts";
import { SocketSetupError } from "./socket-setup-error.ts";

export interface SocketTransportOptions {
  readonly config: Pick<ClusterConfig, "variant" | "nodes" | "multicast" | "tcp" | "rings" | "groups">;
  readonly self: NodeEntry;
  readonly counters: NetCounters;
  /** Every TCP frame and group datagram received (of any ring: the header says which), as the runtime hands it (bytes, not yet trusted); `datagram`: it came from a multicast group. */
  readonly onBytes: (received: Uint8Array, datagram: boolean) => void;
  /** How a link wraps what it writes (one MAC per write: CodecGate.linkWrap); undefined: frames as they are. */
  readonly wrap: FrameWrapper | undefined;
}

/** UDP socket buffer sizes obtained, and the first warning about them. */
export interface SocketBuffers {
  readonly recvBytes: number;
  readonly sendBytes: number;
  readonly warning: string | null;
}

/** TCP socket buffer sizes the last connection got (0 before the first), and the first warning about them. */
export type TcpBufferStatus = SocketBuffers;

/** One ring's group sockets, once open. */
interface GroupSockets {
  readonly ring: RingId;
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
 * each M-Ring ring the node is a member of (multicastGroup(config, node, ring)) the ip-multicast
 * sockets of that ring's group, whose receiver comes and goes with leadership of that ring
 * (one MulticastMembership per ring). With several rings (Multi-Ring Paxos) the TCP server and the
 * links are shared by every ring (a frame's header names its ring), the groups are not. A
 * configuration without `rings` is one ring, id 0: the methods' `ring` defaults to it.
 */
export class SocketTransport {
  private readonly links = new Map<NodeId, FrameLink>();
  /**
   * A second link per peer for the few small messages that must not wait behind bulk data
   * (heartbeats and their acks: leadership and leases), made when first needed. On a link slower
   * than the data offered, a connection queues seconds of it (its kernel buffer and the link's
   * queue); a heartbeat behind them arrived after the acceptors' suspicion timeout, and leaders
   * changed under load (capped-efficiency experiment, U-Ring at 100 Mbit/s).
   */
  private readonly controlLinks = new Map<NodeId, FrameLink>();
  private readonly peers: ReadonlyMap<NodeId, NodeEntry>;
  /** Whether the configuration has `rings` (warnings then name their ring). */
  private readonly multiRing: boolean;

  private constructor(
    private readonly o: SocketTransportOptions,
    private readonly server: FrameServer,
    readonly tcpPort: number,
    /** The node's groups by ring, in ascending ring id. */
    private readonly groups: ReadonlyMap<RingId, GroupSockets>,
    /** With a `tcp` section: what sizes every connection's buffers; null: the kernel does. */
    private readonly tcp: TcpBuffers | null,
    private readonly tcpWarnings: readonly string[],
  ) {
    this.peers = new Map(o.config.nodes.map((n) => [n.id, n]));
    this.multiRing = o.config.rings !== undefined;
  }

  /**
   * Listens on the node's TCP port and joins the group of every ring it is a member of; rejects
   * with a SocketSetupError (naming the ring whose group failed), leaving nothing open.
   */
  static async open(o: SocketTransportOptions): Promise<SocketTransport> {
    const tcpWarnings: string[] = [];
    const tcp = o.config.tcp && (o.config.tcp.sendBufferBytes > 0 || o.config.tcp.recvBufferBytes > 0) ? new TcpBuffers({ sendBytes: o.config.tcp.sendBufferBytes, recvBytes: o.config.tcp.recvBufferBytes }, (w) => tcpWarnings.push(w)) : null;
    const server = new FrameServer({
      ...(tcp ? { onSocket: tcp.apply } : {}),
      host: o.self.host,
      port: o.self.port,
      onFrame: (frame) => {
        o.counters.count("tcp_frames_in");
        o.onBytes(frame, false);
      },
    });
    let bound: BoundAddress;
    try {
      bound = await server.listen();
    } catch (e) {
      throw new SocketSetupError("tcp", e);
    }
    const groups = new Map<RingId, GroupSockets>();
    // A multicast socket that cannot open stops the start-up: the TCP server and the groups
    // already joined go too, or the process would stay up half-started.
    for (const r of ringDefinitions(o.config)) {
      const g = multicastGroup(o.config, o.self, r.id);
      if (!g) continue;
      try {
        groups.set(r.id, await openGroup(r.id, g, o));
      } catch (e) {
        await Promise.all([server.close(), ...[...groups.values()].map(closeGroup)]);
        throw new SocketSetupError("multicast", e, r.id);
      }
    }
    return new SocketTransport(o, server, bound.port, groups, tcp, tcpWarnings);
  }

  /** Things an operator should know (e.g. a socket buffer smaller than asked); with `rings`, each begins with its ring (`ring 2: …`). */
  get warnings(): readonly string[] {
    return [...this.tcpWarnings, ...[...this.groups.values()].flatMap((g) => (this.multiRing ? g.warnings.map((w) => `ring ${g.ring}: ${w}`) : g.warnings))];
  }

  /** The TCP socket buffers (see TcpBuffers.status); null: no `tcp` section, the kernel sizes them. */
  get tcpBuffers(): TcpBufferStatus | null {
    return this.tcp?.status ?? null;
  }

  /**
   * The socket buffers of the node's groups as one: the smallest sizes obtained and the first
   * warning (with one ring, exactly its group's); null: no group.
   */
  get socketBuffers(): SocketBuffers | null {
    const all = [...this.groups.values()].map((g) => g.socketBuffers);
    if (all.length <= 1) return all[0] ?? null;
    return {
      recvBytes: Math.min(...all.map((b) => b.recvBytes)),
      sendBytes: Math.min(...all.map((b) => b.sendBytes)),
      warning: all.find((b) => b.warning !== null)?.warning ?? null,
    };
  }

  /** The socket buffers of each ring's group, by ring id (rings without a group of this node absent). */
  socketBuffersByRing(): Record<RingId, SocketBuffers> {
    return Object.fromEntries([...this.groups.values()].map((g) => [g.ring, g.socketBuffers]));
  }

  /** Whether this process receives ring 0's group (a configuration without `rings`: its group) now; null: it uses none. */
  get multicastReceiving(): boolean | null {
    return this.multicastReceivingOn(0);
  }

  /** Whether this process receives ring `ring`'s group now; null: it uses none on that ring. */
  multicastReceivingOn(ring: RingId): boolean | null {
    return this.groups.get(ring)?.membership.receiving ?? null;
  }

  /** Per ring whose group this process uses: whether it receives it now. */
  multicastReceivingByRing(): Record<RingId, boolean> {
    return Object.fromEntries([...this.groups.values()].map((g) => [g.ring, g.membership.receiving]));
  }

  /** The rings whose group this process uses, ascending. */
  get multicastRings(): readonly RingId[] {
    return [...this.groups.keys()];
  }

  /** Whether `id` is a node of the configuration (a link to it can be made). */
  isPeer(id: NodeId): boolean {
    return this.peers.has(id);
  }

  /** Whether this process has a socket to multicast from on ring 0 (a configuration without `rings`: its group). */
  get canMulticast(): boolean {
    return this.groups.has(0);
  }

  /** Whether this process has a socket to multicast from on ring `ring`. */
  canMulticastOn(ring: RingId): boolean {
    return this.groups.has(ring);
  }

  /**
   * Queues one frame (of any ring) on the link to `to` (`control`: the peer's control link, see
   * controlLinks); a full queue drops it (counted): the protocols retransmit.
   */
  sendFrame(to: NodeId, frame: Uint8Array, control = false): void {
    const l = this.linkTo(to, control ? this.controlLinks : this.links);
    if (!l) return this.o.counters.drop("no-such-peer");
    if (l.send(frame)) this.o.counters.count("tcp_frames_out");
    else this.o.counters.count("tcp_frames_dropped_queue_full");
  }

  /** Sends one datagram to ring `ring`'s group; one the socket refuses for now (too many pending) is counted. */
  multicast(datagram: Uint8Array, ring: RingId = 0): void {
    const g = this.groups.get(ring);
    if (!g) return this.o.counters.drop("multicast-unavailable");
    if (g.outbound.send(datagram)) this.o.counters.count("udp_datagrams_out");
    else this.o.counters.count("udp_datagrams_refused");
  }

  /** `id` was heard from: a link to it waiting out its backoff reconnects now. */
  peerAlive(id: NodeId): void {
    this.links.get(id)?.peerAlive();
    this.controlLinks.get(id)?.peerAlive();
  }

  /** Whether this process' coordinator of ring `ring` leads an established round (see MulticastMembership): that ring's group only. */
  setLeading(leading: boolean, ring: RingId = 0): void {
    this.groups.get(ring)?.membership.setLeading(leading);
  }

  /** Copies the multicast sockets' own counts (sends failed, refused, oversize), summed over the rings, into the counters. */
  sampleSocketStats(): void {
    if (this.groups.size === 0) return;
    let sendErrors = 0;
    let sendDropped = 0;
    let oversize = 0;
    for (const g of this.groups.values()) {
      const s = g.outbound.stats;
      sendErrors += s.sendErrors;
      sendDropped += s.sendDropped;
      oversize += s.oversize;
    }
    this.o.counters.set("udp_send_errors", sendErrors);
    this.o.counters.set("udp_send_dropped", sendDropped);
    this.o.counters.set("udp_oversize", oversize);
  }

  async close(): Promise<void> {
    for (const l of [...this.links.values(), ...this.controlLinks.values()]) l.close();
    await Promise.all([this.server.close(), ...[...this.groups.values()].map(closeGroup)]);
  }

  private linkTo(id: NodeId, links: Map<NodeId, FrameLink>): FrameLink | null {
    let l = links.get(id);
    if (l) return l;
    const peer = this.peers.get(id);
    if (!peer) return null;
    l = new FrameLink({ host: peer.host, port: peer.port, ...(this.o.wrap ? { wrap: this.o.wrap } : {}), ...(this.tcp ? { onSocket: this.tcp.apply } : {}) });
    links.set(id, l);
    return l;
  }
}

/** Closes one ring's group sockets. */
async function closeGroup(g: GroupSockets): Promise<void> {
  await Promise.all([g.membership.close(), g.sender?.close()]);
}

/** Opens ring `ring`'s group receiver, and for a process that may coordinate that ring a sender of its own (see MulticastMembership). */
async function openGroup(ring: RingId, g: MulticastGroup, o: SocketTransportOptions): Promise<GroupSockets> {
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
        o.onBytes(payload, true);
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
  return { ring, membership, sender, outbound, warnings, socketBuffers: { recvBytes: receiver.bufferSizes.recvObtained, sendBytes: outbound.bufferSizes.sendObtained, warning: w ?? null } };
}

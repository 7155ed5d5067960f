import { ringDefinitions, ringRoles } from "../config/ring-topology.ts";
import type { ClusterConfig, NodeEntry } from "../config/schema.ts";
import type { Msg, NodeId } from "../core/types.ts";
import { formatTrace } from "../obs/message-trace.ts";
import { WireAuth } from "../wire/index.ts";
import { spare2a } from "../wire/peek.ts";
import { CodecGate } from "./codec-gate.ts";
import { NetCounters } from "./net-counters.ts";
import type { Network } from "./runtime.ts";
import { SocketTransport, type SocketBuffers, type TcpBufferStatus } from "./socket-transport.ts";

export interface SocketNetwork extends Network {
  /** Things an operator should know (e.g. a socket buffer smaller than asked; with `rings`, each names its ring: `ring 2: …`). */
  readonly warnings: readonly string[];
  /** Packets and frames in, out and dropped, by reason: one set for the node, every ring's traffic summed. */
  readonly counters: Record<string, number>;
  /** The node's multicast socket buffers (with several groups: the smallest obtained and the first warning); null: no group. */
  readonly socketBuffers: SocketBuffers | null;
  /** The TCP links' socket buffers (the last connection's, and the first warning); null: no `tcp` section. */
  readonly tcpBuffers: TcpBufferStatus | null;
  readonly tcpPort: number;
  /** M-Ring: whether this process receives ring 0's group now (a leading coordinator does not); null: no group on ring 0. */
  readonly multicastReceiving: boolean | null;
  /** Whether every message in and out carries a MAC (a cluster key is configured). */
  readonly authenticated: boolean;
  /** Per ring whose multicast group this process uses: whether it receives it now (a leading coordinator of that ring does not). */
  multicastReceivingByRing(): Record<number, boolean>;
  /** Per ring whose multicast group this process uses: the socket buffers obtained, and the first warning about them. */
  socketBuffersByRing(): Record<number, SocketBuffers>;
  /**
   * The Network of ring `id` (Multi-Ring Paxos): sends carry `id` in their header, multicasts go
   * to that ring's group, `onMessage` receives only messages whose header names `id`, `leading`
   * drives that ring's group membership only, and `close` does nothing (close this network once).
   * The same view for the same id; ring 0's view and this network share one handler. Without
   * `rings`, `ring(0)` is this network itself (it is the Network of ring 0). Throws a RangeError
   * for a ring that is not in the configuration (with `rings` and none of id 0: ring 0 too).
   */
  ring(id: number): Network;
}

type Handler = (from: NodeId, msg: Msg) => void;

/** Messages sent on a peer's control link, never behind bulk data (see SocketTransport.controlLinks). */
const CONTROL_MESSAGES: ReadonlySet<Msg["t"]> = new Set(["heartbeat", "heartbeat-ack"]);

/**
 * The real network of one node: its sockets (SocketTransport: TCP frames to and from peers, the
 * M-Ring group of each ring it is a member of, a ring's receiver closed while this process leads
 * that ring) behind one codec gate (CodecGate: MACs, decoding, the sender's membership of the
 * configuration; whatever fails is counted and dropped, never trusted). The network itself is
 * the Network of ring 0 (a configuration without `rings` has no other); `ring(id)` gives the
 * Network of any ring of the configuration. A message that passed the gate goes to the handler of
 * the ring its header names; one of a ring that is not in the configuration (with `rings` and no
 * ring 0, ring 0 too) is counted as dropped_unknown_ring, one of a ring this node has no handler
 * for (never, or not yet) as dropped_unhosted_ring, and dropped. Rejects with a SocketSetupError
 * when a socket cannot open.
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
  const rings: ReadonlySet<number> = new Set(ringDefinitions(config).map((r) => r.id));
  const multiRing = config.rings !== undefined;
  /** Each ring's handler (ring 0's: this network's own onMessage), set by onMessage. */
  const handlers = new Map<number, Handler>();
  /** In trace lines, the ring of a message (with `rings` only: single-ring lines stay as they were). */
  const tag = (ring: number): string => (multiRing ? ` r${ring}` : "");
  // The gate comes first (the transport's links wrap with its bundler). Bytes that arrive while
  // the sockets are still opening find no link to wake and no handler yet, as before onMessage.
  let transport: SocketTransport | null = null;
  const pass = (from: NodeId, msg: Msg, ring: number): void => {
    // An authenticated (or at least well-formed) message of a configured node: it is alive, whatever its ring.
    transport?.peerAlive(from);
    if (!rings.has(ring)) return counters.drop("unknown-ring");
    const h = handlers.get(ring);
    if (h === undefined) return counters.drop("unhosted-ring");
    trace?.(`<- n${from}${tag(ring)} ${formatTrace(msg)}`);
    h(from, msg);
  };
  const gate = new CodecGate(config, self.id, auth, counters, pass, sparesOf(config, self));
  const t = await SocketTransport.open({ config, self, counters, onBytes: (bytes, datagram) => gate.accept(bytes, datagram), wrap: gate.linkWrap });
  transport = t;

  const send = (ring: number, to: NodeId, msg: Msg): void => {
    trace?.(`-> n${to}${tag(ring)} ${formatTrace(msg)}`);
    if (!t.isPeer(to)) return counters.drop("no-such-peer");
    const frame = gate.encodeFrame(msg, ring);
    if (frame) t.sendFrame(to, frame, CONTROL_MESSAGES.has(msg.t));
  };
  const multicast = (ring: number, msg: Msg): void => {
    trace?.(`-> multicast${tag(ring)} ${formatTrace(msg)}`);
    if (!t.canMulticastOn(ring)) return counters.drop("multicast-unavailable");
    const datagram = gate.encodeDatagram(msg, ring);
    if (datagram) t.multicast(datagram, ring);
  };

  const views = new Map<number, Network>();
  const view = (ring: number): Network => ({
    send: (to, msg) => send(ring, to, msg),
    multicast: (msg) => multicast(ring, msg),
    onMessage: (h) => void handlers.set(ring, h),
    leading: (active) => t.setLeading(active, ring),
    // The node closes the whole network once; a ring's runtime closing its view closes nothing.
    close: async () => {},
  });

  const network: SocketNetwork = {
    warnings: t.warnings,
    tcpPort: t.tcpPort,
    socketBuffers: t.socketBuffers,
    get tcpBuffers() {
      return t.tcpBuffers;
    },
    authenticated: gate.authenticated,
    send: (to, msg) => send(0, to, msg),
    multicast: (msg) => multicast(0, msg),
    onMessage(h) {
      handlers.set(0, h);
    },
    leading(active) {
      t.setLeading(active, 0);
    },
    get multicastReceiving() {
      return t.multicastReceiving;
    },
    multicastReceivingByRing: () => t.multicastReceivingByRing(),
    socketBuffersByRing: () => t.socketBuffersByRing(),
    get counters() {
      t.sampleSocketStats();
      return counters.values;
    },
    ring(id) {
      if (!multiRing && id === 0) return network;
      let v = views.get(id);
      if (v) return v;
      if (!rings.has(id)) throw new RangeError(`ring ${id} is not a ring of the configuration (rings: ${[...rings].join(", ")})`);
      v = view(id);
      views.set(id, v);
      return v;
    },
    close: () => t.close(),
  };
  return network;
}

/**
 * What the gate drops unopened at `self`: 2As of the M-Ring rings where it is an acceptor without
 * a learner, whose ring does not hold it (a spare ignores those whole: core/mring.ts). Nothing when
 * there is no such ring.
 */
function sparesOf(config: ClusterConfig, self: NodeEntry): (bytes: Uint8Array) => boolean {
  const rings = new Set(
    ringDefinitions(config)
      .filter((r) => r.variant === "mring")
      .filter((r) => {
        const roles = ringRoles(config, r, self);
        return roles.acceptor && !roles.learner;
      })
      .map((r) => r.id),
  );
  return rings.size === 0 ? () => false : (bytes) => spare2a(bytes, rings, self.id);
}

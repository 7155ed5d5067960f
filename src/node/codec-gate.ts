import type { Msg, NodeId } from "../core/types.ts";
import type { FrameWrapper } from "../net/tcp.ts";
import { bundler, isBundle, splitBundle } from "../wire/bundle.ts";
import { decode, type Decoded, DecodeError, encode, EncodeError, type WireAuth, type WireHeaderFields } from "../wire/index.ts";
import type { NetCounters } from "./net-counters.ts";

/** What the gate needs of the configuration: whose messages it accepts. */
export interface GateConfig {
  readonly cluster: number;
  readonly nodes: readonly { readonly id: NodeId }[];
}

/**
 * The one place bytes become messages and messages bytes. Inbound, in this order: the MAC (the
 * message's own, or its TCP bundle's) is checked before a byte of the body is decoded; a bundle is
 * split into its messages; each message is decoded for this cluster; its sender must be a node of
 * the configuration. Network input is never an invariant: anything that fails a step is counted
 * under its reason (dropped_<reason>, see NetCounters) and dropped, and the node keeps running.
 * Outbound: datagrams carry their own MAC, TCP frames none (their link's bundle carries one, see
 * `linkWrap`); a message the format cannot carry is counted (dropped_encode) and not sent.
 */
export class CodecGate {
  private readonly members: ReadonlySet<NodeId>;
  private readonly header: WireHeaderFields;
  /** The header fields of each ring's messages (ring 0's is `header`), made once per ring. */
  private readonly ringHeaders = new Map<number, WireHeaderFields>();
  /** How a TCP link wraps what it writes: with a key, one sealed bundle per write (see wire/bundle.ts). */
  readonly linkWrap: FrameWrapper | undefined;

  constructor(
    private readonly config: GateConfig,
    self: NodeId,
    private readonly auth: WireAuth,
    private readonly counters: NetCounters,
    /** Every message that passed, with its (configured) sender and its header's ring id (0 without rings): which rings the node hosts is the caller's business. */
    private readonly pass: (from: NodeId, msg: Msg, ring: number) => void,
    /** Datagrams this node would ignore whole, told from their bytes before the MAC (wire/peek.ts): dropped unopened, counted as spare_2a_unopened. */
    private readonly ignored: (bytes: Uint8Array) => boolean = () => false,
  ) {
    this.members = new Set(config.nodes.map((n) => n.id));
    this.header = { cluster: config.cluster, sender: self };
    this.linkWrap = auth.enabled ? bundler(this.header, auth) : undefined;
  }

  /** Whether messages carry MACs (a cluster key is configured). */
  get authenticated(): boolean {
    return this.auth.enabled;
  }

  /**
   * One TCP frame or UDP datagram as received. Only datagrams may be dropped unopened: Phase 2's
   * multicast is what a spare skips, and anything else (a TCP frame: no M-Ring 2A travels so) is
   * checked and counted under its reason.
   */
  accept(received: Uint8Array, datagram = false): void {
    // A plain view: the runtime hands Buffers, whose subarray (the codec's zero-copy payloads, the
    // MAC's fields, a bundle's messages) goes through a slow species path (profiled).
    const bytes = new Uint8Array(received.buffer, received.byteOffset, received.byteLength);
    if (datagram && this.ignored(bytes)) return this.counters.count("spare_2a_unopened");
    let opened: Uint8Array;
    try {
      opened = this.auth.open(bytes);
    } catch (e) {
      return this.refuse(e);
    }
    // Without a key a bundle is no message: decode refuses its type code.
    if (!this.auth.enabled || !isBundle(opened)) return this.deliver(opened);
    let inner: Uint8Array[];
    try {
      inner = splitBundle(opened, this.config.cluster);
    } catch (e) {
      return this.refuse(e);
    }
    this.counters.count("tcp_bundles_in");
    for (const m of inner) this.deliver(m);
  }

  /** A TCP frame of ring `ring` (its header's ring id): no MAC of its own (the link's bundle carries it); null: dropped. */
  encodeFrame(msg: Msg, ring = 0): Uint8Array | null {
    return this.encodeOrDrop(msg, false, ring);
  }

  /** A datagram of ring `ring`, sealed with its own MAC; null: dropped. */
  encodeDatagram(msg: Msg, ring = 0): Uint8Array | null {
    return this.encodeOrDrop(msg, true, ring);
  }

  /** One message whose MAC (its own, or its bundle's) was checked, or which needs none. */
  private deliver(bytes: Uint8Array): void {
    let decoded: Decoded;
    try {
      decoded = decode(bytes, this.config.cluster);
    } catch (e) {
      return this.refuse(e);
    }
    if (!this.members.has(decoded.sender)) return this.counters.drop("unknown-sender");
    this.pass(decoded.sender, decoded.msg, decoded.ring);
  }

  /** Input the codec refused is counted by its reason; any other error is a bug and propagates. */
  private refuse(e: unknown): void {
    if (!(e instanceof DecodeError)) throw e;
    this.counters.drop(e.reason);
  }

  /** A message the format cannot carry (e.g. larger than MAX_BODY, a ring id above u16) is counted and dropped; `sealed`: with its own MAC. */
  private encodeOrDrop(msg: Msg, sealed: boolean, ring: number): Uint8Array | null {
    const h = this.headerOf(ring);
    try {
      return sealed ? this.auth.seal(encode(msg, h, this.auth.trailerBytes)) : encode(msg, h);
    } catch (e) {
      if (!(e instanceof EncodeError)) throw e;
      this.counters.drop("encode");
      return null;
    }
  }

  private headerOf(ring: number): WireHeaderFields {
    if (ring === 0) return this.header;
    let h = this.ringHeaders.get(ring);
    if (h === undefined) {
      h = { ...this.header, ring };
      // Bounded: one entry per ring id a caller names (the network's views: rings of the configuration).
      this.ringHeaders.set(ring, h);
    }
    return h;
  }
}

/**
 * The Bun-only fast path for sending datagrams: Bun's native UDP socket, corked by event-loop
 * turn (cork.ts): the first datagram of a turn is sent at once, the others of the turn in one
 * `sendMany` (one sendmmsg) at its end. Measured on loopback with three receivers, a node:dgram
 * send costs about 11 µs of the sender's CPU per 8 KB datagram and this one about 5 µs. Bun's
 * socket cannot share a bound port with other processes (no SO_REUSEADDR), so it only sends;
 * receiving stays on node:dgram. Elsewhere (Node, Deno) `NativeSender.open` returns null and the
 * caller sends through node:dgram.
 */
import { TurnCork } from "./cork.ts";

/** The part of Bun's UDP socket used here (typed locally: no dependency on Bun's types). */
interface BunUdpSocket {
  sendMany(packets: readonly (Uint8Array | string | number)[]): number;
  setMulticastInterface(address: string): boolean;
  setMulticastTTL(ttl: number): number;
  setMulticastLoopback(enabled: boolean): boolean;
  close(): void;
}

interface BunUdp {
  udpSocket(options: { hostname: string; port: number; socket?: { drain?(s: BunUdpSocket): void } }): Promise<BunUdpSocket>;
}

/** A sender the kernel refused (EAGAIN) tries again after this long if no drain came first. */
const RETRY_MS = 5;

export interface NativeSenderOptions {
  /** Local interface to bind and send through (IP_MULTICAST_IF); default 0.0.0.0 / the kernel's choice. */
  readonly interface?: string;
  readonly ttl: number;
  readonly loopback: boolean;
  /** Bound: datagrams queued and not yet taken by the kernel; past it `send` refuses. */
  readonly maxPending: number;
}

export class NativeSender {
  private queue: (Uint8Array | string | number)[] = [];
  private readonly cork = new TurnCork(() => this.flush());
  private closed = false;
  /** Datagrams the kernel refused for now (EAGAIN): kept until the socket drains. */
  private blocked = false;

  private constructor(
    private readonly socket: BunUdpSocket,
    private readonly maxPending: number,
    private readonly onError: () => void,
  ) {}

  /** Bun's sender, or null when the runtime has none; setters that fail are reported in `warnings`. */
  static async open(o: NativeSenderOptions, warnings: string[], onError: () => void): Promise<NativeSender | null> {
    const bun = (globalThis as { Bun?: BunUdp }).Bun;
    if (bun === undefined || typeof bun.udpSocket !== "function") return null;
    let sender: NativeSender | null = null;
    const socket = await bun.udpSocket({
      hostname: o.interface ?? "0.0.0.0",
      port: 0,
      socket: { drain: () => sender?.drained() },
    });
    const step = (what: string, run: () => unknown): void => {
      try {
        run();
      } catch (e) {
        warnings.push(`native sender: ${what} failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    };
    if (o.interface !== undefined) step(`setMulticastInterface(${o.interface})`, () => socket.setMulticastInterface(o.interface as string));
    step(`setMulticastTTL(${o.ttl})`, () => socket.setMulticastTTL(o.ttl));
    step(`setMulticastLoopback(${o.loopback})`, () => socket.setMulticastLoopback(o.loopback));
    sender = new NativeSender(socket, o.maxPending, onError);
    return sender;
  }

  /** Datagrams queued, not yet taken by the kernel. */
  get pending(): number {
    return this.queue.length / 3;
  }

  /** Sends one datagram (the turn's first at once, later ones at the turn's end); false when the queue is full or the sender closed. */
  send(payload: Uint8Array, port: number, address: string): boolean {
    if (this.closed || this.pending >= this.maxPending) return false;
    this.queue.push(payload, port, address);
    if (!this.blocked) this.cork.queued();
    return true;
  }

  private flush(): void {
    if (this.closed || this.queue.length === 0) return;
    let sent: number;
    try {
      sent = this.socket.sendMany(this.queue);
    } catch {
      // A datagram the kernel rejected outright (e.g. no route): it and its turn's others are lost, as UDP may lose them.
      for (let i = 0; i < this.queue.length; i += 3) this.onError();
      this.queue = [];
      return;
    }
    if (sent * 3 >= this.queue.length) this.queue = [];
    else {
      this.queue = this.queue.slice(sent * 3);
      // The rest goes when the socket drains, or at the latest after RETRY_MS (should a drain
      // not be reported, the queue must not stay stuck).
      this.blocked = true;
      setTimeout(this.retry, RETRY_MS);
    }
  }

  private readonly retry = (): void => {
    if (this.blocked) this.drained();
  };

  private drained(): void {
    this.blocked = false;
    this.flush();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }
}

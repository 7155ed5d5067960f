/**
 * TCP transports for opaque frames (length-prefixed, see frame.ts), over `node:net` so that the
 * same code runs under Bun, Node and Deno.
 *
 * - `FrameServer` listens, accepts any number of connections and hands every complete frame to
 *   one callback with the connection it came from. A connection that declares an oversized frame
 *   or fails is closed and counted; the others are unaffected.
 * - `FrameLink` is the sending side towards one peer (a ring successor, a learner...): it connects
 *   lazily, sets TCP_NODELAY, reconnects with exponential backoff, reports up/down transitions and
 *   keeps a byte-bounded queue of frames that is flushed whenever the connection is up.
 *
 * Delivery: TCP gives order and no loss *within* one connection. Frames handed to a connection
 * that then breaks may be lost (the protocols retransmit); frames still in the link's queue are
 * kept and sent on the next connection.
 *
 * Writes are corked (cork.ts): the first frame of an event-loop turn is written at once, and the
 * frames sent after it during the turn go out together at the turn's end, in as few `write`s as
 * their size allows (COALESCE_BYTES each). On loopback a
 * small write costs tens of microseconds (the receiver's side of the stack runs in the sender's
 * system call), so one write per frame was a ring member's busiest native frame.
 *
 * Ownership: a payload given to `send` is kept by reference until it is written, so the caller
 * must not modify it afterwards; a frame given to `onFrame` is a fresh buffer the receiver owns.
 *
 * Errors: every socket and server has an 'error' handler; socket errors are counted and reported,
 * never thrown. Exceptions thrown by the caller's callbacks are not caught: they are bugs of the
 * caller (e.g. a broken invariant in a core) and must surface.
 */
import * as net from "node:net";
import { TurnCork } from "./cork.ts";
import { DEFAULT_MAX_FRAME, FRAME_HEADER_BYTES, FrameParser, writeFrameAt } from "./frame.ts";
import { setU32 } from "../wire/bytes.ts";

/** Where a frame came from: `id` tells apart connections from one address and port over time. */
export interface RemoteAddress {
  readonly id: number;
  readonly address: string;
  readonly port: number;
}

/** An address and port a server is bound to. */
export interface BoundAddress {
  readonly address: string;
  readonly port: number;
}

function checkPort(port: number, allowZero: boolean): void {
  if (!Number.isInteger(port) || port < (allowZero ? 0 : 1) || port > 65535) {
    throw new RangeError(`port must be an integer in ${allowZero ? 0 : 1}..65535, got ${port}`);
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

// ---------------------------------------------------------------------------------------------
// FrameServer

export interface FrameServerOptions {
  /** Address to listen on (default "127.0.0.1"). */
  readonly host?: string;
  /** Port to listen on; 0 (the default) picks a free one, see `port` after `listen()`. */
  readonly port?: number;
  /** Largest accepted payload; a connection declaring more is closed (default DEFAULT_MAX_FRAME). */
  readonly maxFrame?: number;
  /** Every complete frame, in order per connection. */
  readonly onFrame: (frame: Uint8Array, from: RemoteAddress) => void;
  readonly onConnect?: (from: RemoteAddress) => void;
  /** A connection ended; `reason` is null for an orderly close by the peer. */
  readonly onDisconnect?: (from: RemoteAddress, reason: string | null) => void;
  /** An error of the listening socket after `listen()` succeeded (rare). */
  readonly onError?: (error: Error) => void;
  /** Every accepted connection, before its first byte is read (e.g. to size its buffers: tcp-buffers.ts). */
  readonly onSocket?: (socket: net.Socket) => void;
}

export interface FrameServerStats {
  /** Connections accepted so far. */
  accepted: number;
  /** Connections open now. */
  open: number;
  /** Connections closed for a protocol error (a declared length above maxFrame). */
  dropped: number;
  /** Connections that failed with a socket error (reset, ...). */
  errored: number;
  /** Frames delivered and their payload bytes. */
  frames: number;
  bytes: number;
}

export class FrameServer {
  private readonly options: FrameServerOptions;
  private readonly maxFrame: number;
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private bound: BoundAddress | null = null;
  private state: "new" | "listening" | "closed" = "new";
  private nextId = 1;
  private readonly counters: FrameServerStats = { accepted: 0, open: 0, dropped: 0, errored: 0, frames: 0, bytes: 0 };

  constructor(options: FrameServerOptions) {
    checkPort(options.port ?? 0, true);
    this.options = options;
    this.maxFrame = options.maxFrame ?? DEFAULT_MAX_FRAME;
    // Validates maxFrame now rather than at the first connection.
    new FrameParser(() => {}, { maxFrame: this.maxFrame });
    this.server = net.createServer((socket) => this.accept(socket));
  }

  /** Starts listening; resolves with the bound address (the real port when asked for port 0). */
  listen(): Promise<BoundAddress> {
    if (this.state !== "new") return Promise.reject(new Error(`FrameServer.listen: already ${this.state}`));
    this.state = "listening";
    return new Promise<BoundAddress>((resolve, reject) => {
      const onListenError = (e: Error): void => {
        this.state = "closed";
        reject(e);
      };
      this.server.once("error", onListenError);
      const onListening = (): void => {
        this.server.off("error", onListenError);
        this.server.on("error", (e: Error) => this.options.onError?.(e));
        const a = this.server.address();
        if (a === null || typeof a === "string") {
          reject(new Error(`FrameServer.listen: unexpected address ${String(a)}`));
          return;
        }
        this.bound = { address: a.address, port: a.port };
        resolve(this.bound);
      };
      try {
        this.server.listen(this.options.port ?? 0, this.options.host ?? "127.0.0.1", onListening);
      } catch (e) {
        this.server.off("error", onListenError);
        onListenError(e instanceof Error ? e : new Error(errorText(e)));
      }
    });
  }

  /** The bound port; throws if the server is not listening. */
  get port(): number {
    if (!this.bound) throw new Error("FrameServer.port: not listening");
    return this.bound.port;
  }

  /** The bound address, or null before `listen()` resolved. */
  get address(): BoundAddress | null {
    return this.bound;
  }

  get stats(): FrameServerStats {
    return { ...this.counters };
  }

  /** Stops listening and closes every connection; resolves once the listening socket is closed. */
  close(): Promise<void> {
    const wasListening = this.state === "listening";
    this.state = "closed";
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (!wasListening) return Promise.resolve();
    return new Promise<void>((resolve) => {
      try {
        this.server.close(() => resolve());
      } catch {
        resolve(); // not listening after all (a failed listen)
      }
    });
  }

  private accept(socket: net.Socket): void {
    // Every socket gets its error handler before anything else can fail.
    let reason: string | null = null;
    socket.on("error", (e: Error) => {
      if (reason === null) {
        reason = errorText(e);
        this.counters.errored++;
      }
    });
    if (this.state !== "listening") {
      socket.destroy();
      return;
    }
    const from: RemoteAddress = { id: this.nextId++, address: socket.remoteAddress ?? "", port: socket.remotePort ?? 0 };
    this.sockets.add(socket);
    this.counters.accepted++;
    this.counters.open++;
    try {
      socket.setNoDelay(true);
    } catch {
      // best effort: only matters if something is ever written back
    }
    this.options.onSocket?.(socket);
    const parser = new FrameParser(
      (frame) => {
        this.counters.frames++;
        this.counters.bytes += frame.byteLength;
        this.options.onFrame(frame, from);
      },
      { maxFrame: this.maxFrame },
    );
    socket.on("data", (chunk: Uint8Array) => {
      const err = parser.push(chunk);
      if (err && reason === null) {
        reason = err.message;
        this.counters.dropped++;
        socket.destroy();
      }
    });
    socket.on("close", () => {
      this.sockets.delete(socket);
      this.counters.open--;
      this.options.onDisconnect?.(from, reason);
    });
    this.options.onConnect?.(from);
  }
}

// ---------------------------------------------------------------------------------------------
// FrameLink

/** Default bound of a link's outgoing queue (frames not yet handed to the kernel). */
export const DEFAULT_LINK_QUEUE_BYTES = 8 * 1024 * 1024;
export const DEFAULT_BACKOFF_INITIAL_MS = 10;
export const DEFAULT_BACKOFF_MAX_MS = 1000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 2000;
/** Queued frames are coalesced into writes of at most this size (a larger frame goes alone). */
const COALESCE_BYTES = 64 * 1024;

export type LinkState = "idle" | "connecting" | "up" | "backoff" | "closed";

export interface FrameLinkOptions {
  readonly host: string;
  readonly port: number;
  /** Bound of the outgoing queue in bytes, frame headers included (default DEFAULT_LINK_QUEUE_BYTES). */
  readonly maxQueueBytes?: number;
  /** First reconnection delay, doubled after every failure up to `backoffMaxMs` (defaults 10 ms, 1 s). */
  readonly backoffInitialMs?: number;
  readonly backoffMaxMs?: number;
  /** A connection attempt that takes longer fails (default 2 s). */
  readonly connectTimeoutMs?: number;
  /** Largest payload `send` accepts, and largest frame accepted from the peer (default DEFAULT_MAX_FRAME). */
  readonly maxFrame?: number;
  /** The connection came up (queued frames are being flushed). */
  readonly onUp?: () => void;
  /** An up connection went down; the link reconnects by itself. Not called after `close()`. */
  readonly onDown?: (reason: string) => void;
  /** Frames the peer sends back on this connection, if it ever does (default: discarded). */
  readonly onFrame?: (frame: Uint8Array) => void;
  /** Every connection once made, before anything is written (e.g. to size its buffers: tcp-buffers.ts). */
  readonly onSocket?: (socket: net.Socket) => void;
  /**
   * Sends the frames of one write (u32 length + payload, repeated) as the payload of one frame
   * instead (e.g. one authenticated bundle, see wire/bundle.ts), built in place: the link leaves
   * `headBytes` before the frames and `tailBytes(frames)` after them, then `seal` fills both;
   * false: the frames cannot go (counted as dropped). Default: frames go as they are.
   */
  readonly wrap?: FrameWrapper;
}

/** See FrameLinkOptions.wrap. */
export interface FrameWrapper {
  readonly headBytes: number;
  tailBytes(framesBytes: number): number;
  /** `payload`: head, frames, tail; fills head and tail in place. */
  seal(payload: Uint8Array, framesBytes: number): boolean;
}

export interface FrameLinkStats {
  /** Frames handed to a connection. */
  sent: number;
  /** Frames refused because the queue was full (or the link closed). */
  dropped: number;
  /** Payloads refused for being larger than maxFrame. */
  oversize: number;
  /** Connections established. */
  connects: number;
  /** Connection attempts that failed before coming up. */
  connectFailures: number;
  /** Up connections that went down. */
  disconnects: number;
}

/** A FIFO of frame payloads with O(1) push and shift; `bytes` counts their length prefixes too. */
class FrameQueue {
  private items: (Uint8Array | undefined)[] = [];
  private head = 0;
  bytes = 0;

  get length(): number {
    return this.items.length - this.head;
  }
  push(f: Uint8Array): void {
    this.items.push(f);
    this.bytes += FRAME_HEADER_BYTES + f.byteLength;
  }
  /** The k-th payload from the front, if there are that many. */
  peekAt(k: number): Uint8Array | undefined {
    return this.items[this.head + k];
  }
  shift(): Uint8Array | undefined {
    const f = this.items[this.head];
    if (f === undefined) return undefined;
    this.items[this.head++] = undefined;
    this.bytes -= FRAME_HEADER_BYTES + f.byteLength;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return f;
  }
  clear(): void {
    this.items = [];
    this.head = 0;
    this.bytes = 0;
  }
}

export class FrameLink {
  readonly host: string;
  readonly port: number;
  readonly maxQueueBytes: number;
  private readonly options: FrameLinkOptions;
  private readonly maxFrame: number;
  private readonly backoffInitialMs: number;
  private readonly backoffMaxMs: number;
  private readonly connectTimeoutMs: number;
  private linkState: LinkState = "idle";
  private socket: net.Socket | null = null;
  /** Set when the socket's write buffer is above its high-water mark; cleared on 'drain'. */
  private blocked = false;
  /** The first frame of a turn goes at once, the turn's later ones at its end. */
  private readonly cork = new TurnCork(() => this.flush());
  private readonly queue = new FrameQueue();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private nextDelayMs: number;
  private upSince = 0;
  private lastError: string | null = null;
  private readonly counters: FrameLinkStats = { sent: 0, dropped: 0, oversize: 0, connects: 0, connectFailures: 0, disconnects: 0 };

  constructor(options: FrameLinkOptions) {
    checkPort(options.port, false);
    const positive = (name: string, v: number): number => {
      if (!Number.isFinite(v) || v <= 0) throw new RangeError(`FrameLink: ${name} must be > 0, got ${v}`);
      return v;
    };
    this.options = options;
    this.host = options.host;
    this.port = options.port;
    this.maxQueueBytes = positive("maxQueueBytes", options.maxQueueBytes ?? DEFAULT_LINK_QUEUE_BYTES);
    this.maxFrame = options.maxFrame ?? DEFAULT_MAX_FRAME;
    new FrameParser(() => {}, { maxFrame: this.maxFrame }); // validates maxFrame
    this.backoffInitialMs = positive("backoffInitialMs", options.backoffInitialMs ?? DEFAULT_BACKOFF_INITIAL_MS);
    this.backoffMaxMs = Math.max(this.backoffInitialMs, positive("backoffMaxMs", options.backoffMaxMs ?? DEFAULT_BACKOFF_MAX_MS));
    this.connectTimeoutMs = positive("connectTimeoutMs", options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
    this.nextDelayMs = this.backoffInitialMs;
  }

  get state(): LinkState {
    return this.linkState;
  }

  get isUp(): boolean {
    return this.linkState === "up";
  }

  /** Bytes waiting: the link's queue plus what the current connection has not yet written. */
  get queuedBytes(): number {
    return this.queue.bytes + (this.linkState === "up" && this.socket ? this.socket.writableLength : 0);
  }

  /** Frames in the link's queue (not yet handed to a connection). */
  get queuedFrames(): number {
    return this.queue.length;
  }

  get stats(): FrameLinkStats {
    return { ...this.counters };
  }

  /** The last socket error or close reason seen, for diagnostics. */
  get lastErrorText(): string | null {
    return this.lastError;
  }

  /** Starts connecting now, without waiting for a first frame. */
  connect(): void {
    if (this.linkState === "idle") this.startConnect();
  }

  /**
   * Queues one frame for the peer (connecting if idle). Returns false, and counts, when the
   * payload is above maxFrame, the queue would exceed its bound, or the link is closed.
   */
  send(payload: Uint8Array): boolean {
    if (this.linkState === "closed") {
      this.counters.dropped++;
      return false;
    }
    const size = FRAME_HEADER_BYTES + payload.byteLength;
    // Wrapped, the frame travels inside one whose head and tail count against the peer's limit too.
    const w = this.options.wrap;
    if (payload.byteLength > this.maxFrame || (w && w.headBytes + size + w.tailBytes(size) > this.maxFrame)) {
      this.counters.oversize++;
      return false;
    }
    if (this.queuedBytes + size > this.maxQueueBytes) {
      this.counters.dropped++;
      if (this.linkState === "idle") this.startConnect();
      return false;
    }
    this.queue.push(payload);
    if (this.linkState === "idle") this.startConnect();
    else if (this.linkState === "up" && !this.blocked) this.cork.queued();
    return true;
  }

  /** Stops everything: cancels reconnection, drops the queue, destroys the connection. Idempotent. */
  close(): void {
    if (this.linkState === "closed") return;
    this.linkState = "closed";
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.queue.clear();
    const s = this.socket;
    this.socket = null;
    s?.destroy();
  }

  private startConnect(): void {
    this.timer = null;
    this.linkState = "connecting";
    this.blocked = false;
    let socket: net.Socket;
    try {
      socket = net.connect({ host: this.host, port: this.port });
    } catch (e) {
      this.lastError = errorText(e);
      this.counters.connectFailures++;
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    let reason: string | null = null;
    socket.on("error", (e: Error) => {
      reason ??= errorText(e);
    });
    const connectTimer = setTimeout(() => {
      reason ??= `connect timeout after ${this.connectTimeoutMs} ms`;
      socket.destroy();
    }, this.connectTimeoutMs);
    const parser = new FrameParser((frame) => this.options.onFrame?.(frame), { maxFrame: this.maxFrame });
    socket.on("connect", () => {
      clearTimeout(connectTimer);
      if (this.socket !== socket || this.linkState !== "connecting") return;
      try {
        socket.setNoDelay(true);
        socket.setKeepAlive(true, 5000);
      } catch {
        // best effort
      }
      this.options.onSocket?.(socket);
      this.linkState = "up";
      this.upSince = Date.now();
      this.counters.connects++;
      this.options.onUp?.();
      this.flush();
    });
    socket.on("drain", () => {
      if (this.socket !== socket) return;
      this.blocked = false;
      this.flush();
    });
    socket.on("data", (chunk: Uint8Array) => {
      const err = parser.push(chunk);
      if (err) {
        reason ??= `peer sent a bad frame: ${err.message}`;
        socket.destroy();
      }
    });
    socket.on("close", () => {
      clearTimeout(connectTimer);
      if (this.socket !== socket) return; // closed by close(), or a stale socket
      this.socket = null;
      this.blocked = false;
      const wasUp = this.linkState === "up";
      this.lastError = reason ?? "closed by peer";
      if (wasUp) {
        this.counters.disconnects++;
        if (Date.now() - this.upSince >= this.backoffMaxMs) this.nextDelayMs = this.backoffInitialMs;
      } else {
        this.counters.connectFailures++;
      }
      this.scheduleReconnect();
      if (wasUp) this.options.onDown?.(this.lastError);
    });
  }

  /**
   * The peer was heard from (it is up): a link waiting out its backoff reconnects now, and the
   * backoff starts again from its initial delay.
   */
  peerAlive(): void {
    if (this.linkState !== "backoff") return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.nextDelayMs = this.backoffInitialMs;
    this.startConnect();
  }

  private scheduleReconnect(): void {
    if (this.linkState === "closed") return;
    this.linkState = "backoff";
    const delay = this.nextDelayMs;
    this.nextDelayMs = Math.min(this.nextDelayMs * 2, this.backoffMaxMs);
    this.timer = setTimeout(() => this.startConnect(), delay);
  }

  /**
   * Hands queued frames to the connection, COALESCE_BYTES per write, until its buffer is above
   * the high-water mark. Each byte is copied once, into the write's buffer, behind its prefix.
   */
  private flush(): void {
    const socket = this.socket;
    if (!socket || this.linkState !== "up") return;
    while (!this.blocked && this.queue.length > 0) {
      let total = 0;
      let count = 0;
      for (let f = this.queue.peekAt(0); f !== undefined; f = this.queue.peekAt(count)) {
        const size = FRAME_HEADER_BYTES + f.byteLength;
        if (count > 0 && total + size > COALESCE_BYTES) break;
        total += size;
        count++;
      }
      // Wrapped: one frame around them all, [prefix | head | frames | tail], still one copy of each byte.
      const w = this.options.wrap;
      const head = w ? FRAME_HEADER_BYTES + w.headBytes : 0;
      const out = new Uint8Array(head + total + (w ? w.tailBytes(total) : 0));
      let at = head;
      for (let k = 0; k < count; k++) at = writeFrameAt(out, at, this.queue.shift() as Uint8Array);
      if (w) {
        setU32(out, 0, out.byteLength - FRAME_HEADER_BYTES);
        if (!w.seal(out.subarray(FRAME_HEADER_BYTES), total)) {
          this.counters.dropped += count;
          continue;
        }
      }
      this.counters.sent += count;
      if (!socket.write(out)) this.blocked = true;
    }
  }
}

/**
 * UDP for M-Ring Paxos' ip-multicast (and plain unicast datagrams), over `node:dgram` so the
 * same code runs under Bun, Node and Deno. Datagrams are opaque payloads; a payload above
 * `maxDatagram` is refused (never fragmented by us).
 *
 * Opening a `MulticastSocket` (a send-only one, `join: false`, skips binding the group and joining):
 *  - binds the group's port with SO_REUSEADDR, so several processes on one host join the same
 *    group and port. On Linux/macOS it binds the group address itself, so that it receives only
 *    that group's datagrams (bound to 0.0.0.0, Linux delivers every group joined by any socket on
 *    that port: IP_MULTICAST_ALL); on Windows, where a multicast address cannot be bound, 0.0.0.0;
 *  - joins the group on `interface` and sends through it (IP_MULTICAST_IF). Multicast on
 *    loopback works with `interface: "127.0.0.1"`;
 *  - sets the multicast TTL and loopback, and asks for SO_RCVBUF/SO_SNDBUF, then reads back what
 *    the kernel granted. Linux caps the request at net.core.rmem_max / wmem_max and reports
 *    double the value (the other half is bookkeeping), so a granted size below twice the request
 *    there (below the request elsewhere) gives a warning.
 *
 * A setter the runtime lacks or rejects (e.g. Bun refuses a multicast TTL of 0 with EINVAL,
 * Node accepts it) degrades to a warning in `warnings`; joining the group or selecting the
 * interface failing is fatal (`open` rejects), since the socket would then be useless.
 *
 * Note: on the loopback interface IP_MULTICAST_LOOP has no effect: a datagram sent out of `lo`
 * comes back in through `lo`, so every member on the host (the sender too, if it joined)
 * receives it whatever `loopback` says.
 *
 * Ownership: a payload given to `send`/`sendTo` must not be modified afterwards (the runtime may
 * still be reading it); a payload given to `onMessage` belongs to the receiver.
 */
import * as dgram from "node:dgram";
import { NativeSender } from "./udp-native.ts";
import { isIPv4 } from "node:net";
import process from "node:process";

/** Default largest datagram: an 8 KB batch plus room for headers. */
export const DEFAULT_MAX_DATAGRAM = 8192 + 512;
/** Largest UDP payload over IPv4 (65535 - 20 IP - 8 UDP). */
export const MAX_UDP_PAYLOAD = 65507;
/** Default SO_RCVBUF asked for: multicast receivers must absorb bursts. */
export const DEFAULT_RECV_BUFFER_BYTES = 4 * 1024 * 1024;
/** Default SO_SNDBUF asked for. */
export const DEFAULT_SEND_BUFFER_BYTES = 1024 * 1024;
/** Default bound of datagrams handed to the runtime and not yet reported sent. */
export const DEFAULT_MAX_PENDING_SENDS = 4096;
/** Default multicast TTL: stay on the local network. */
export const DEFAULT_MULTICAST_TTL = 1;

/** A configuration the socket cannot be opened with (bad group, port, interface...). */
export class UdpConfigError extends Error {
  override name = "UdpConfigError";
}

export interface UdpAddress {
  readonly address: string;
  readonly port: number;
}

/** True if `address` is dotted IPv4 within 224.0.0.0/4. */
export function isMulticastGroup(address: string): boolean {
  if (!isIPv4(address)) return false;
  const first = Number(address.split(".")[0]);
  return first >= 224 && first <= 239;
}

export interface MulticastSocketOptions {
  /** The IPv4 multicast group, within 224.0.0.0/4 (e.g. "239.1.2.3"). */
  readonly group: string;
  /** The group's UDP port, 1..65535. */
  readonly port: number;
  /** IPv4 address of the local interface to join on and send through; default: the kernel's choice. */
  readonly interface?: string;
  /** Multicast TTL, 0..255 (default 1). */
  readonly ttl?: number;
  /** IP_MULTICAST_LOOP: deliver our own datagrams to members on this host (default true). */
  readonly loopback?: boolean;
  /** SO_RCVBUF / SO_SNDBUF to ask for; 0 leaves the OS default (defaults 4 MiB / 1 MiB). */
  readonly recvBufferBytes?: number;
  readonly sendBufferBytes?: number;
  /** Largest payload sent or accepted, 1..65507 (default DEFAULT_MAX_DATAGRAM). */
  readonly maxDatagram?: number;
  /** Datagrams in flight in the runtime before `send` refuses (default DEFAULT_MAX_PENDING_SENDS). */
  readonly maxPendingSends?: number;
  /**
   * Join the group and receive on its port (default true). False makes a send-only socket: bound
   * to an ephemeral port, no membership, so it never receives the group's traffic.
   */
  readonly join?: boolean;
  /**
   * Send through the runtime's native UDP socket where there is one (Bun: a turn's datagrams in
   * one `sendMany`, see udp-native.ts), else node:dgram (default true). The native socket's send
   * buffer is the OS default: `sendBufferBytes` applies to the node:dgram socket only.
   */
  readonly nativeSend?: boolean;
  /** Address to bind (default: the group on Linux/macOS, 0.0.0.0 on Windows; 0.0.0.0 when not joining). */
  readonly bindAddress?: string;
  /** Every datagram received (at most maxDatagram bytes) with its source. */
  readonly onMessage?: (payload: Uint8Array, from: UdpAddress) => void;
  /** A socket error after opening (send failures are counted, not reported here). */
  readonly onError?: (error: Error) => void;
}

export interface MulticastStats {
  /** Datagrams (and payload bytes) handed to the runtime for sending. */
  sent: number;
  sentBytes: number;
  /** Datagrams (and payload bytes) delivered to onMessage. */
  received: number;
  receivedBytes: number;
  /** Payloads refused by send/sendTo for being above maxDatagram. */
  oversize: number;
  /** Datagrams received above maxDatagram, dropped. */
  oversizeReceived: number;
  /** Sends that failed (synchronously or in their completion callback). */
  sendErrors: number;
  /** Sends refused because maxPendingSends datagrams were still in flight. */
  sendDropped: number;
}

/** Socket buffer sizes asked for (0: not asked) and obtained (as the kernel reports them). */
export interface BufferSizes {
  readonly recvRequested: number;
  readonly recvObtained: number;
  readonly sendRequested: number;
  readonly sendObtained: number;
}

function checkInt(name: string, v: number, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) throw new UdpConfigError(`${name} must be an integer in ${min}..${max}, got ${v}`);
  return v;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class MulticastSocket {
  readonly group: string;
  readonly port: number;
  readonly maxDatagram: number;
  /** Non-fatal problems met while opening (a setter missing or refused, buffers capped). */
  readonly warnings: readonly string[];
  readonly bufferSizes: BufferSizes;
  private readonly socket: dgram.Socket;
  /** Bun's native sender, when the runtime has one: sends go through it instead of `socket`. */
  private native: NativeSender | null = null;
  private readonly maxPendingSends: number;
  private pending = 0;
  private closed = false;
  private readonly counters: MulticastStats = {
    sent: 0,
    sentBytes: 0,
    received: 0,
    receivedBytes: 0,
    oversize: 0,
    oversizeReceived: 0,
    sendErrors: 0,
    sendDropped: 0,
  };

  private constructor(
    socket: dgram.Socket,
    options: MulticastSocketOptions,
    maxDatagram: number,
    maxPendingSends: number,
    warnings: string[],
    bufferSizes: BufferSizes,
  ) {
    this.socket = socket;
    this.group = options.group;
    this.port = options.port;
    this.maxDatagram = maxDatagram;
    this.maxPendingSends = maxPendingSends;
    this.warnings = warnings;
    this.bufferSizes = bufferSizes;
    socket.on("message", (msg: Uint8Array, rinfo: dgram.RemoteInfo) => {
      if (msg.byteLength > this.maxDatagram) {
        this.counters.oversizeReceived++;
        return;
      }
      this.counters.received++;
      this.counters.receivedBytes += msg.byteLength;
      options.onMessage?.(msg, { address: rinfo.address, port: rinfo.port });
    });
    const onError = options.onError;
    socket.on("error", (e: Error) => onError?.(e));
  }

  /**
   * Validates the options, binds, joins the group and configures the socket. Rejects with a
   * UdpConfigError for invalid options, or with the OS error if binding or joining fails.
   */
  static async open(options: MulticastSocketOptions): Promise<MulticastSocket> {
    const { group } = options;
    if (!isMulticastGroup(group)) {
      throw new UdpConfigError(`multicast group must be an IPv4 address within 224.0.0.0/4 (224.0.0.0 - 239.255.255.255), got "${group}"`);
    }
    const port = checkInt("port", options.port, 1, 65535);
    const iface = options.interface;
    if (iface !== undefined && !isIPv4(iface)) throw new UdpConfigError(`interface must be a local IPv4 address, got "${iface}"`);
    const ttl = checkInt("ttl", options.ttl ?? DEFAULT_MULTICAST_TTL, 0, 255);
    const maxDatagram = checkInt("maxDatagram", options.maxDatagram ?? DEFAULT_MAX_DATAGRAM, 1, MAX_UDP_PAYLOAD);
    const maxPendingSends = checkInt("maxPendingSends", options.maxPendingSends ?? DEFAULT_MAX_PENDING_SENDS, 1, 1 << 30);
    const recvAsk = checkInt("recvBufferBytes", options.recvBufferBytes ?? DEFAULT_RECV_BUFFER_BYTES, 0, 2 ** 31 - 1);
    const sendAsk = checkInt("sendBufferBytes", options.sendBufferBytes ?? DEFAULT_SEND_BUFFER_BYTES, 0, 2 ** 31 - 1);
    const join = options.join ?? true;
    const bindAddress = options.bindAddress ?? (!join || process.platform === "win32" ? "0.0.0.0" : group);
    if (!isIPv4(bindAddress)) throw new UdpConfigError(`bindAddress must be an IPv4 address, got "${bindAddress}"`);

    const socket = dgram.createSocket({ type: "udp4", reuseAddr: true });
    // Until the instance takes over, errors reject the opening (and are never unhandled).
    let bindError: Error | null = null;
    const onEarlyError = (e: Error): void => {
      bindError ??= e;
    };
    socket.on("error", onEarlyError);
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once("error", reject);
        socket.once("listening", () => {
          socket.off("error", reject);
          resolve();
        });
        socket.bind({ port: join ? port : 0, address: bindAddress });
      });
    } catch (e) {
      closeQuietly(socket);
      throw e instanceof Error ? e : new Error(errorText(e));
    }

    const warnings: string[] = [];
    const step = (what: string, fatal: boolean, run: (s: dgram.Socket) => void): void => {
      try {
        run(socket);
      } catch (e) {
        const text = `${what} failed: ${errorText(e)}`;
        if (fatal) throw new Error(text, { cause: e });
        warnings.push(text);
      }
    };
    const lacks = (name: string): boolean => {
      if (typeof (socket as unknown as Record<string, unknown>)[name] === "function") return false;
      warnings.push(`node:dgram in this runtime lacks ${name}(); skipped`);
      return true;
    };
    let sizes: BufferSizes;
    try {
      if (join) {
        step(`addMembership(${group}, ${iface ?? "default"})`, true, (s) =>
          iface === undefined ? s.addMembership(group) : s.addMembership(group, iface),
        );
      }
      if (iface !== undefined) step(`setMulticastInterface(${iface})`, true, (s) => s.setMulticastInterface(iface));
      if (!lacks("setMulticastTTL")) step(`setMulticastTTL(${ttl})`, false, (s) => s.setMulticastTTL(ttl));
      const loop = options.loopback ?? true;
      if (!lacks("setMulticastLoopback")) step(`setMulticastLoopback(${loop})`, false, (s) => s.setMulticastLoopback(loop));
      sizes = {
        recvRequested: recvAsk,
        recvObtained: setBufferSize(socket, "recv", recvAsk, warnings),
        sendRequested: sendAsk,
        sendObtained: setBufferSize(socket, "send", sendAsk, warnings),
      };
    } catch (e) {
      closeQuietly(socket);
      throw e;
    }
    if (bindError !== null) {
      closeQuietly(socket);
      throw bindError;
    }
    socket.off("error", onEarlyError);
    const m = new MulticastSocket(socket, options, maxDatagram, maxPendingSends, warnings, sizes);
    if (options.nativeSend ?? true) {
      try {
        m.native = await NativeSender.open(
          { ...(iface !== undefined ? { interface: iface } : {}), ttl, loopback: options.loopback ?? true, maxPending: maxPendingSends },
          warnings,
          () => m.counters.sendErrors++,
        );
      } catch (e) {
        warnings.push(`native sender unavailable (${errorText(e)}); sending through node:dgram`);
      }
    }
    return m;
  }

  get stats(): MulticastStats {
    return { ...this.counters };
  }

  /** Datagrams handed to the runtime whose completion has not been reported yet. */
  get pendingSends(): number {
    return this.pending + (this.native?.pending ?? 0);
  }

  /** Whether sends go through the runtime's native sender (Bun) rather than node:dgram. */
  get sendsNatively(): boolean {
    return this.native !== null;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Sends one datagram to the group. False (and counted) if too large, too many in flight, or closed. */
  send(payload: Uint8Array): boolean {
    return this.sendTo(payload, this.group, this.port);
  }

  /** Sends one unicast (or multicast) datagram to `address:port` from this socket. */
  sendTo(payload: Uint8Array, address: string, port: number): boolean {
    if (this.closed) {
      this.counters.sendErrors++;
      return false;
    }
    if (payload.byteLength > this.maxDatagram) {
      this.counters.oversize++;
      return false;
    }
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      this.counters.sendErrors++;
      return false;
    }
    if (this.native !== null) {
      if (!this.native.send(payload, port, address)) {
        this.counters.sendDropped++;
        return false;
      }
      this.counters.sent++;
      this.counters.sentBytes += payload.byteLength;
      return true;
    }
    if (this.pending >= this.maxPendingSends) {
      this.counters.sendDropped++;
      return false;
    }
    try {
      this.pending++;
      this.socket.send(payload, port, address, (err) => {
        this.pending--;
        if (err) this.counters.sendErrors++;
      });
    } catch {
      this.pending--;
      this.counters.sendErrors++;
      return false;
    }
    this.counters.sent++;
    this.counters.sentBytes += payload.byteLength;
    return true;
  }

  /** Leaves the group and closes the socket; resolves once closed. Idempotent. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.native?.close();
    return new Promise<void>((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}

/** Asks for a buffer size and returns what the kernel granted (0 if it cannot be read). */
function setBufferSize(socket: dgram.Socket, which: "recv" | "send", ask: number, warnings: string[]): number {
  const setter = which === "recv" ? "setRecvBufferSize" : "setSendBufferSize";
  const getter = which === "recv" ? "getRecvBufferSize" : "getSendBufferSize";
  const methods = socket as unknown as Record<string, unknown>;
  if (ask > 0) {
    if (typeof methods[setter] !== "function") warnings.push(`node:dgram in this runtime lacks ${setter}(); ${which} buffer left at the OS default`);
    else {
      try {
        if (which === "recv") socket.setRecvBufferSize(ask);
        else socket.setSendBufferSize(ask);
      } catch (e) {
        warnings.push(`${setter}(${ask}) failed: ${errorText(e)}`);
      }
    }
  }
  if (typeof methods[getter] !== "function") {
    warnings.push(`node:dgram in this runtime lacks ${getter}(); obtained ${which} buffer size unknown`);
    return 0;
  }
  let obtained: number;
  try {
    obtained = which === "recv" ? socket.getRecvBufferSize() : socket.getSendBufferSize();
  } catch (e) {
    warnings.push(`${getter}() failed: ${errorText(e)}`);
    return 0;
  }
  // Linux doubles what it grants (half is bookkeeping) and caps the request at the sysctl.
  const expected = process.platform === "linux" ? 2 * ask : ask;
  if (ask > 0 && obtained < expected) {
    const sysctl = which === "recv" ? "net.core.rmem_max" : "net.core.wmem_max";
    warnings.push(
      `${which === "recv" ? "SO_RCVBUF" : "SO_SNDBUF"}: asked for ${ask} bytes, the kernel granted ${obtained}` +
        (process.platform === "linux" ? ` (reported doubled; raise ${sysctl}, e.g. sysctl -w ${sysctl}=${ask})` : ""),
    );
  }
  return obtained;
}

function closeQuietly(socket: dgram.Socket): void {
  try {
    socket.close();
  } catch {
    // already closed
  }
}

/** A port for a throwaway multicast probe/test: random, below Linux's ephemeral range (32768+). */
export function randomMulticastPort(): number {
  return 20000 + Math.floor(Math.random() * 12000);
}

export interface MulticastProbeOptions {
  /** Local interface address to test, e.g. "127.0.0.1". */
  readonly interface: string;
  readonly group?: string;
  readonly port?: number;
  readonly timeoutMs?: number;
}

/**
 * Checks that a datagram multicast through `interface` comes back to a member on this host:
 * resolves { ok: true } or { ok: false, reason }. Never rejects.
 */
export async function probeMulticast(options: MulticastProbeOptions): Promise<{ ok: true } | { ok: false; reason: string }> {
  const marker = new Uint8Array([0x70, 0x72, 0x6f, 0x62, 0x65, Math.floor(Math.random() * 256)]);
  let sock: MulticastSocket | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  try {
    let resolveGot: () => void = () => {};
    const got = new Promise<void>((r) => {
      resolveGot = r;
    });
    sock = await MulticastSocket.open({
      group: options.group ?? "239.255.77.77",
      port: options.port ?? randomMulticastPort(),
      interface: options.interface,
      loopback: true,
      recvBufferBytes: 0,
      sendBufferBytes: 0,
      onMessage: (p) => {
        if (p.byteLength === marker.byteLength && p.every((b, i) => b === marker[i])) resolveGot();
      },
    });
    const s = sock;
    const resend = setInterval(() => s.send(marker), 50);
    s.send(marker);
    const timeoutMs = options.timeoutMs ?? 1000;
    const timedOut = new Promise<"timeout">((r) => {
      timer = setTimeout(() => r("timeout"), timeoutMs);
    });
    const outcome = await Promise.race([got.then(() => "ok" as const), timedOut]);
    clearInterval(resend);
    return outcome === "ok" ? { ok: true } : { ok: false, reason: `no multicast datagram came back through ${options.interface} within ${timeoutMs} ms` };
  } catch (e) {
    return { ok: false, reason: errorText(e) };
  } finally {
    if (timer !== null) clearTimeout(timer);
    await sock?.close();
  }
}

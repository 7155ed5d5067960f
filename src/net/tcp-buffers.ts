/**
 * TCP socket buffer sizes (SO_SNDBUF, SO_RCVBUF) for the links of a ring, as the thesis sizes them
 * (§3.5, Figs. 3.12–3.13). `node:net` has no option for them, so they are set on the socket's
 * descriptor:
 *
 * - Bun on Linux: the socket's descriptor (`_handle.fd`) and libc's setsockopt/getsockopt through
 *   bun:ffi. The kernel doubles what it is asked for (its own bookkeeping) and caps it at
 *   net.core.wmem_max / rmem_max; the size read back is reported.
 * - Elsewhere (Node, Deno, another OS): not set; `sizeTcpBuffers` returns null and the caller
 *   warns once that the kernel's own sizing is in use.
 *
 * Set after the connection is made (the runtime makes the socket and connects in one step): a
 * receive buffer set then still works, but the window scale was agreed at the handshake, which
 * Linux sizes for net.core.rmem_max, so a larger buffer is never limited by it. Setting a size
 * turns the kernel's autotuning off for that socket: 0 leaves a direction to the kernel.
 */
import process from "node:process";
import { openNativeLibrary } from "../os/native-library.ts";

/** Sizes asked for; 0: the kernel's default and autotuning. */
export interface TcpBufferRequest {
  readonly sendBytes: number;
  readonly recvBytes: number;
}

/** Sizes the kernel reports for a socket after they were set (as getsockopt gives them: doubled). */
export interface TcpBufferSizes {
  readonly sendBytes: number;
  readonly recvBytes: number;
}

/** Sets the buffers of a connected socket's descriptor; returns what the kernel then reports, or throws. */
export type TcpBufferSizer = (fd: number, request: TcpBufferRequest) => TcpBufferSizes;

const SOL_SOCKET = 1;
const SO_SNDBUF = 7;
const SO_RCVBUF = 8;

interface LibcSymbols {
  setsockopt(fd: number, level: number, name: number, value: Int32Array, length: number): number;
  getsockopt(fd: number, level: number, name: number, value: Int32Array, length: Uint32Array): number;
}

let cached: TcpBufferSizer | null | undefined;

/** The sizer of this runtime and OS, or null where none exists (see the file comment). */
export function tcpBufferSizer(): TcpBufferSizer | null {
  if (cached === undefined) cached = process.platform === "linux" ? linuxSizer(loadLibc()) : null;
  return cached;
}

/** The descriptor of a `node:net` socket where the runtime exposes it, else null. */
export function socketFd(socket: unknown): number | null {
  const fd = (socket as { _handle?: { fd?: unknown } } | null)?._handle?.fd;
  return typeof fd === "number" && Number.isInteger(fd) && fd >= 0 ? fd : null;
}

/** libc's socket options, or null (no bun:ffi, or no glibc: musl names it otherwise): the kernel sizes the buffers. */
function loadLibc(): LibcSymbols | null {
  return openNativeLibrary<LibcSymbols>(["libc.so.6"], {
    setsockopt: { args: ["i32", "i32", "i32", "ptr", "u32"], returns: "i32" },
    getsockopt: { args: ["i32", "i32", "i32", "ptr", "ptr"], returns: "i32" },
  });
}

function linuxSizer(libc: LibcSymbols | null): TcpBufferSizer | null {
  if (libc === null) return null;
  const value = new Int32Array(1);
  const length = new Uint32Array(1);
  const set = (fd: number, name: number, bytes: number): void => {
    value[0] = bytes;
    if (libc.setsockopt(fd, SOL_SOCKET, name, value, 4) !== 0) throw new Error(`setsockopt(${name === SO_SNDBUF ? "SO_SNDBUF" : "SO_RCVBUF"}, ${bytes}) failed on descriptor ${fd}`);
  };
  const get = (fd: number, name: number): number => {
    length[0] = 4;
    if (libc.getsockopt(fd, SOL_SOCKET, name, value, length) !== 0) throw new Error(`getsockopt failed on descriptor ${fd}`);
    return value[0] as number;
  };
  return (fd, r) => {
    if (r.sendBytes > 0) set(fd, SO_SNDBUF, r.sendBytes);
    if (r.recvBytes > 0) set(fd, SO_RCVBUF, r.recvBytes);
    return { sendBytes: get(fd, SO_SNDBUF), recvBytes: get(fd, SO_RCVBUF) };
  };
}

/**
 * Applies one request to every socket a node's links and server make, and keeps what the last one
 * got and the first problem (one warning, not one per connection).
 */
export class TcpBuffers {
  private obtained: TcpBufferSizes = { sendBytes: 0, recvBytes: 0 };
  private problem: string | null = null;

  /** `onWarning`: the first problem, once, when it is met (the one of an unable runtime at once). */
  constructor(
    readonly request: TcpBufferRequest,
    private readonly onWarning: (warning: string) => void = () => {},
    private readonly sizer: TcpBufferSizer | null = tcpBufferSizer(),
  ) {
    if (sizer === null) this.warn("tcp.sendBufferBytes/recvBufferBytes: this runtime cannot set TCP socket buffers (Bun on Linux can): the kernel sizes them");
  }

  private warn(problem: string): void {
    if (this.problem !== null) return;
    this.problem = problem;
    this.onWarning(problem);
  }

  /** Sizes one connected socket (a `node:net` socket); never throws: a failure becomes the warning. */
  readonly apply = (socket: unknown): void => {
    if (this.sizer === null) return;
    const fd = socketFd(socket);
    if (fd === null) {
      this.warn("tcp.sendBufferBytes/recvBufferBytes: this runtime does not expose a socket's descriptor: the kernel sizes the buffers");
      return;
    }
    try {
      this.obtained = this.sizer(fd, this.request);
    } catch (e) {
      this.warn(`tcp.sendBufferBytes/recvBufferBytes: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    const short = (asked: number, got: number): boolean => asked > 0 && got < asked;
    if (short(this.request.sendBytes, this.obtained.sendBytes) || short(this.request.recvBytes, this.obtained.recvBytes))
      this.warn(`tcp: socket buffers of ${this.obtained.sendBytes} (send) and ${this.obtained.recvBytes} (receive) bytes, asked for ${this.request.sendBytes} and ${this.request.recvBytes} (raise net.core.wmem_max / rmem_max)`);
  };

  /** What the last socket sized got (0 before the first), and the first problem met. */
  get status(): { readonly sendBytes: number; readonly recvBytes: number; readonly warning: string | null } {
    return { ...this.obtained, warning: this.problem };
  }
}

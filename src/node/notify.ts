/**
 * systemd's readiness protocol (sd_notify, for `Type=notify` services): a datagram such as
 * "READY=1" sent to the unix datagram socket named by $NOTIFY_SOCKET ("@name": the abstract
 * namespace).
 *
 * Neither node:dgram nor node:net can send a unix *datagram* (dgram is UDP only, net is streams),
 * and Bun's native sockets are TCP/UDP/unix-stream only. So, in order:
 *  1. Under Bun on Linux, bun:ffi calls libc's socket(AF_UNIX, SOCK_DGRAM) and sendto() directly:
 *     no child process, and the datagram comes from the service's main process, which is what
 *     systemd accepts by default (NotifyAccess=main). A few microseconds, twice per run.
 *  2. Elsewhere (Deno, Node, a libc bun:ffi cannot open), `systemd-notify STATE` when it is on
 *     PATH. It sends from a child process, which systemd accepts only with NotifyAccess=all (the
 *     unit in deploy/ sets it, so both paths work).
 *  3. Otherwise a warning: systemd will then time the start-up out, which says what is wrong.
 * Without $NOTIFY_SOCKET nothing is sent (not started by systemd as Type=notify).
 */
import { spawn } from "node:child_process";
import { Buffer } from "node:buffer";
import { endianness } from "node:os";
import process from "node:process";

export type NotifyOutcome = "sent" | "spawned" | "unavailable" | "not-requested";

/** The part of bun:ffi used here (typed locally: the module exists only under Bun). */
interface BunFfi {
  dlopen(
    name: string,
    symbols: Record<string, { args: string[]; returns: string }>,
  ): { symbols: Record<string, (...args: (number | bigint | Uint8Array)[]) => number | bigint>; close(): void };
}

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const MSG_NOSIGNAL = 0x4000;
/** sizeof(struct sockaddr_un): sun_family (2 bytes) + sun_path (108). */
const SOCKADDR_UN_BYTES = 110;

/** struct sockaddr_un for a NOTIFY_SOCKET value, and its length; null when the path does not fit. */
export function sockaddrUn(path: string): { addr: Uint8Array; len: number } | null {
  const abstract = path.startsWith("@");
  const name = Buffer.from(abstract ? `\0${path.slice(1)}` : path, "utf8");
  // A filesystem path needs its terminating NUL within sun_path; an abstract name does not.
  if (name.length + (abstract ? 0 : 1) > SOCKADDR_UN_BYTES - 2) return null;
  const addr = Buffer.alloc(SOCKADDR_UN_BYTES);
  if (endianness() === "LE") addr.writeUInt16LE(AF_UNIX, 0);
  else addr.writeUInt16BE(AF_UNIX, 0);
  name.copy(addr, 2);
  return { addr, len: 2 + name.length + (abstract ? 0 : 1) };
}

/** Sends through libc via bun:ffi; false when that is not possible here. */
async function sendNative(path: string, state: string): Promise<boolean> {
  if (process.platform !== "linux" || typeof (globalThis as { Bun?: unknown }).Bun === "undefined") return false;
  const target = sockaddrUn(path);
  if (target === null) return false;
  let ffi: BunFfi;
  try {
    ffi = (await import("bun:ffi" as string)) as BunFfi;
  } catch {
    return false;
  }
  for (const name of ["libc.so.6", "libc.so"]) {
    let lib: ReturnType<BunFfi["dlopen"]>;
    try {
      lib = ffi.dlopen(name, {
        socket: { args: ["i32", "i32", "i32"], returns: "i32" },
        sendto: { args: ["i32", "ptr", "u64", "i32", "ptr", "u32"], returns: "i64" },
        close: { args: ["i32"], returns: "i32" },
      });
    } catch {
      continue;
    }
    try {
      const s = lib.symbols;
      const fd = Number(s["socket"]?.(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0) ?? -1);
      if (fd < 0) return false;
      const msg = Buffer.from(state, "utf8");
      const sent = Number(s["sendto"]?.(fd, msg, msg.length, MSG_NOSIGNAL, target.addr, target.len) ?? -1);
      s["close"]?.(fd);
      return sent === msg.length;
    } finally {
      lib.close();
    }
  }
  return false;
}

/** Runs `systemd-notify STATE…`; false when it is not on PATH or fails. */
function sendSpawned(state: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  return new Promise((resolve) => {
    const p = spawn("systemd-notify", state.split("\n").filter(Boolean), { env, stdio: "ignore" });
    p.once("error", () => resolve(false));
    p.once("exit", (code) => resolve(code === 0));
  });
}

/**
 * Sends `state` (e.g. "READY=1", "STOPPING=1") to $NOTIFY_SOCKET, by the first way that works
 * here (see above); never throws. `prefer: "spawn"` skips the native path (tests).
 */
export async function sdNotify(state: string, env: NodeJS.ProcessEnv = process.env, prefer: "native" | "spawn" = "native"): Promise<NotifyOutcome> {
  const path = env["NOTIFY_SOCKET"];
  if (path === undefined || path === "") return "not-requested";
  if (prefer === "native" && (await sendNative(path, state).catch(() => false))) return "sent";
  if (await sendSpawned(state, env)) return "spawned";
  return "unavailable";
}

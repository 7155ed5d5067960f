import { describeErrno, errnoCode, errnoText } from "../os/errno.ts";

/** A problem with what the user asked for: printed as one line, exit code 2, never a stack trace. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

export function parseIntArg(name: string, lo: number, hi: number): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < lo || n > hi)
      throw new UsageError(`${name}: expected an integer in ${lo}..${hi}, got "${v}"`);
    return n;
  };
}

export function parseFraction(name: string, hi: number): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (v.trim() === "" || !Number.isFinite(n) || n < 0 || n > hi)
      throw new UsageError(`${name}: expected a number in 0..${hi}, got "${v}"`);
    return n;
  };
}

export function parseChoice<T extends string>(name: string, choices: readonly T[]): (v: string) => T {
  return (v: string) => {
    if (!(choices as readonly string[]).includes(v)) throw new UsageError(`${name}: expected one of ${choices.join("|")}, got "${v}"`);
    return v as T;
  };
}

/**
 * A system error as one line without repeating its code: Node and Bun put the code in the message
 * too ("EACCES: permission denied, open 'x'"), so printing code and message doubled it.
 * Gives e.g. `EACCES (permission denied): open 'x'` or `EADDRINUSE (address already in use): listen 127.0.0.1:7000`.
 */
export function formatSystemError(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  const code = errnoCode(e);
  if (code === undefined) {
    // Other codes (ERR_SOCKET_BAD_PORT, …) are not in Node's messages: keep them in front.
    const other = (e as { code?: unknown } | null)?.code;
    return typeof other === "string" && !message.includes(other) ? `${other}: ${message}` : message;
  }
  const text = errnoText(code);
  // Node and Bun begin the message with the code (after the syscall, for sockets) and the OS's text:
  // "EACCES: permission denied, open 'x'", "listen EADDRINUSE: address already in use 127.0.0.1:7000", "EACCES".
  const words = text === undefined ? "" : `(?::\\s*${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")})?`;
  const m = new RegExp(`^(?:([a-z_]+) )?${code}\\b${words}[,:]?\\s*`, "i").exec(message);
  // A message of our own that already names the code (a StartupError) is complete as it is.
  if (m === null && message.includes(code)) return message;
  const rest = (m === null ? message : `${m[1] === undefined ? "" : `${m[1]} `}${message.slice(m[0].length)}`).replace(/\s+/g, " ").trim();
  return `${describeErrno(e)}${rest === "" ? "" : `: ${rest}`}`;
}

/**
 * System errors in one line: the errno code once, with what it means. Node and Bun put the code in
 * an error's message too ("EACCES: permission denied, open 'x'"), so printing code and message
 * doubled it. Shared by the command line, the configuration loader and the write-ahead log.
 */
import { getSystemErrorMap } from "node:util";

/** The errno name of an error (EACCES, ENOENT, …), when it has one. */
export function errnoCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^E[A-Z0-9]+$/.test(code) ? code : undefined;
}

/** The system error code of an error or of the error it wraps (a socket's setup error wraps the system's). */
export function errorCode(e: unknown): string | undefined {
  const x = e as { code?: unknown; cause?: { code?: unknown } } | null;
  if (typeof x?.code === "string") return x.code;
  return typeof x?.cause?.code === "string" ? x.cause.code : undefined;
}

/**
 * The OS's words for an errno name ("permission denied" for EACCES): the runtime's table, else
 * the words the error's own message gives after the code (a runtime without the table).
 */
export function errnoText(code: string, e?: unknown): string | undefined {
  try {
    for (const [name, text] of getSystemErrorMap().values()) if (name === code) return text;
  } catch {
    // no table here: see the message
  }
  const message = e instanceof Error ? e.message : "";
  const text = new RegExp(`^${code}: ([^,]+)`).exec(message)?.[1];
  return text !== undefined && text !== code ? text : undefined;
}

/** `EACCES (permission denied)`: the code once, with what it means; the message when there is no errno code. */
export function describeErrno(e: unknown): string {
  const code = errnoCode(e);
  if (code === undefined) return e instanceof Error ? e.message : String(e);
  const text = errnoText(code, e);
  return text === undefined ? code : `${code} (${text})`;
}

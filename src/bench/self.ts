import { existsSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";

/**
 * The command that runs this same program: the compiled executable itself, `bun main.ts`, or
 * `deno run -A main.ts`, so that `paxos bench` starts its cluster from whatever it runs as
 * (under `bun test` too, where argv[1] is a test file).
 */
export function selfCommand(): { cmd: string; args: string[] } {
  const main = new URL("../../main.ts", import.meta.url);
  const mainPath = main.protocol === "file:" ? fileURLToPath(main) : "";
  if (mainPath === "" || mainPath.startsWith("/$bunfs/") || !existsSync(mainPath)) return { cmd: process.execPath, args: [] };
  const isDeno = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";
  return { cmd: process.execPath, args: isDeno ? ["run", "-A", mainPath] : [mainPath] };
}

/**
 * The environment for a child node: ours, plus the allocator tuning a Bun node should run with.
 * Bun's allocator (mimalloc) hands freed memory back to the OS after 10 ms by default, and a node
 * that receives tens of thousands of datagrams a second then spends about a fifth of its CPU
 * faulting fresh pages back in (measured with perf: exc_page_fault under memmove). A one-second
 * purge delay keeps that memory for reuse. It must be set before the process starts, so it is
 * set here for the processes we start; an operator sets it in the node's service (README).
 */
export function childEnv(): NodeJS.ProcessEnv {
  return { ...process.env, MIMALLOC_PURGE_DELAY: process.env["MIMALLOC_PURGE_DELAY"] ?? NODE_PURGE_DELAY_MS };
}

/** The purge delay (ms) recommended for nodes; see childEnv. */
export const NODE_PURGE_DELAY_MS = "1000";

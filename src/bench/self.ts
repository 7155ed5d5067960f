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
 * The environment for a child node: ours, plus the memory tuning a Bun node should run with (an
 * operator's own setting wins). Both are read when the process starts, so they are set here for
 * the processes we start; an operator sets them in the node's service (README).
 *
 * - MIMALLOC_PURGE_DELAY: Bun's allocator (mimalloc) hands freed memory back to the OS after
 *   10 ms by default, and a node that receives tens of thousands of datagrams a second then
 *   spends about a fifth of its CPU faulting fresh pages back in (measured with perf:
 *   exc_page_fault under memmove). A one-second delay keeps that memory for reuse.
 * - BUN_JSC_heapGrowthMaxIncrease: how far JavaScriptCore lets its heap grow, as a factor of
 *   what the last full collection left, before it collects it again (default 2 on hosts with more
 *   than 16 GB of RAM). Received datagrams are retained for a while (votes, catch-up), die old,
 *   and only a full collection frees them, so the heap's garbage grows with this factor: 1.25
 *   lowered every process' peak RSS by 30-60 MB in paired runs; throughput stayed within the noise.
 *   Bun refuses to start on a BUN_JSC_ option it does not know: a Bun upgrade that dropped this
 *   one would fail every process-level test at once, not silently.
 */
export function childEnv(): NodeJS.ProcessEnv {
  // PAXOS_<FLAG> variables set this command's flags (see cli/env.ts), not the children's: a node
  // would take PAXOS_LOG_LEVEL=error (hiding the line the cluster waits for), PAXOS_ROLE or
  // PAXOS_OUTPUT. Only the runtime knobs that are no flag pass on.
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("PAXOS_") || CHILD_KNOBS.has(k)) env[k] = v;
  return {
    ...env,
    MIMALLOC_PURGE_DELAY: process.env["MIMALLOC_PURGE_DELAY"] ?? NODE_PURGE_DELAY_MS,
    BUN_JSC_heapGrowthMaxIncrease: process.env["BUN_JSC_heapGrowthMaxIncrease"] ?? NODE_HEAP_GROWTH,
  };
}

/** Environment variables of the runtime (no flag's) that the children of a bench or test cluster inherit. */
const CHILD_KNOBS = new Set(["PAXOS_TRACE", "PAXOS_UDP_SEND", "PAXOS_HMAC", "PAXOS_GMAC", "PAXOS_KV_PLANTED_BUG"]);

/** The heap growth factor recommended for nodes; see childEnv. */
export const NODE_HEAP_GROWTH = "1.25";

/** The purge delay (ms) recommended for nodes; see childEnv. */
export const NODE_PURGE_DELAY_MS = "1000";

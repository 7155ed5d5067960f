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

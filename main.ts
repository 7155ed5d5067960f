#!/usr/bin/env -S deno run -A
import process from "node:process";
import { runCli } from "./src/cli/program.ts";

// Standard output read by a reader that went away (`| head`, `| true`): the output is no longer
// wanted, which is no failure: end quietly, as Unix tools do.
const readerGone = (e: unknown): boolean => (e as { code?: unknown } | null)?.code === "EPIPE";

// Fail-stop: a broken invariant or any error nobody handled ends the process (Bun would carry on).
const crash = (e: unknown) => {
  if (readerGone(e)) process.exit(0);
  process.stderr.write(`${JSON.stringify({ level: "fatal", msg: e instanceof Error ? `${e.name}: ${e.message}` : String(e), stack: e instanceof Error ? e.stack : undefined })}\n`);
  process.exit(70);
};
process.on("uncaughtException", crash);
process.on("unhandledRejection", crash);

const code = await runCli(process.argv.slice(2), {
  out: (s) => {
    try {
      process.stdout.write(s);
    } catch (e) {
      if (readerGone(e)) process.exit(0);
      throw e;
    }
  },
  err: (s) => void process.stderr.write(s),
});
process.exitCode = code;

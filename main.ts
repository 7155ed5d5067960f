#!/usr/bin/env -S deno run -A
import process from "node:process";
import { runCli } from "./src/cli/program.ts";

// Fail-stop: a broken invariant or any error nobody handled ends the process (Bun would carry on).
const crash = (e: unknown) => {
  process.stderr.write(`${JSON.stringify({ level: "fatal", msg: e instanceof Error ? `${e.name}: ${e.message}` : String(e), stack: e instanceof Error ? e.stack : undefined })}\n`);
  process.exit(70);
};
process.on("uncaughtException", crash);
process.on("unhandledRejection", crash);

const code = await runCli(process.argv.slice(2), {
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
});
process.exitCode = code;

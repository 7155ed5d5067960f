#!/usr/bin/env -S deno run -A
import process from "node:process";
import { runCli } from "./src/cli/program.ts";

const code = await runCli(process.argv.slice(2), {
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
});
process.exitCode = code;

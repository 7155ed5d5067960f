/**
 * Every flag of every command can also be set in the environment, as operators of etcd-like
 * daemons expect (service files, containers): PAXOS_ + the flag's name in upper snake case
 * (`--log-level` → PAXOS_LOG_LEVEL, `--no-faults` → PAXOS_NO_FAULTS). A flag on the command line
 * wins over the environment. One rule for all options, applied once the program is built, so an
 * option added to any command later gets its variable too.
 *
 * Commander parses environment values itself only for options that had .env() before they were
 * added, and then wraps a bad value in its own wording; here the variable is named in our usual
 * one-line error, and booleans read 1/true/yes/on and 0/false/no/off (commander takes any value,
 * "0" too, as true). An empty variable counts as unset (a cleared line of an env file).
 */
import process from "node:process";
import type { Command, Option } from "commander";
import { UsageError } from "./errors.ts";

export const ENV_PREFIX = "PAXOS_";

/** Options that are not settings of a command. */
const NO_ENV = new Set(["--help", "--version"]);

/** PAXOS_ + the long flag in upper snake case. */
export function envName(option: Option): string | null {
  const long = option.long;
  if (long === undefined || NO_ENV.has(long)) return null;
  return ENV_PREFIX + long.replace(/^--/, "").replace(/-/g, "_").toUpperCase();
}

const TRUE = new Set(["1", "true", "yes", "on"]);
const FALSE = new Set(["0", "false", "no", "off"]);

/** The value an environment variable gives an option; a bad one is a UsageError naming the variable. */
function envValue(option: Option, name: string, raw: string, previous: unknown): unknown {
  if (!option.required && !option.optional) {
    const word = raw.trim().toLowerCase();
    if (TRUE.has(word)) return !option.negate;
    if (FALSE.has(word)) return option.negate ? true : option.defaultValue;
    throw new UsageError(`${name}: expected 1, true, yes or on (or 0, false, no, off), got "${raw}"`);
  }
  if (option.parseArg === undefined) return raw;
  try {
    return option.parseArg(raw, previous);
  } catch (e) {
    if (!(e instanceof Error)) throw e;
    // Our parsers name the flag ("--id: expected …"); the variable is what the operator must fix.
    const flag = `${option.long ?? ""}: `;
    throw new UsageError(`${name}: ${e.message.startsWith(flag) ? e.message.slice(flag.length) : e.message}`);
  }
}

function bindOption(cmd: Command, option: Option): void {
  // An option that already had .env() when it was added is parsed by commander itself.
  if (option.envVar !== undefined) return;
  const name = envName(option);
  if (name === null) return;
  option.env(name); // shown in --help as "(env: NAME)"; commander emits optionEnv when it is set and no flag was given
  const key = option.attributeName();
  cmd.on(`optionEnv:${option.name()}`, () => {
    const raw = process.env[name] ?? "";
    if (raw === "") return;
    cmd.setOptionValueWithSource(key, envValue(option, name, raw, cmd.getOptionValue(key)), "env");
  });
}

/** Binds every option of `cmd` and of all its subcommands to its environment variable. */
export function bindEnvironment(cmd: Command): void {
  for (const option of cmd.options) bindOption(cmd, option);
  for (const sub of cmd.commands) bindEnvironment(sub);
}

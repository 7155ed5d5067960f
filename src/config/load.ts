import { existsSync, readFileSync } from "node:fs";
import type { z } from "zod";
import type { ProtocolConfig } from "../core/config.ts";
import { describeErrno } from "../os/errno.ts";
import { crossCheck, viewOf } from "./checks.ts";
import { JsonSyntaxError, parseJsonWithPosition } from "./json.ts";
import { buildProtocolConfig } from "./protocol.ts";
import { hostProblems, type ResolveOptions } from "./resolve.ts";
import { ringPlanProblems } from "./rings.ts";
import { ConfigSchema, type ClusterConfig, type NodeEntry } from "./schema.ts";

/** A configuration that cannot work: every problem, one line each, naming the key path. */
export class ConfigError extends Error {
  override readonly name: string = "ConfigError";
  constructor(
    readonly problems: readonly string[],
    readonly source: string,
  ) {
    super(`${source}: invalid configuration\n${problems.map((p) => `  ${p}`).join("\n")}`);
  }
}

/** The configuration file read when neither --config nor PAXOS_CONFIG names one. */
export const DEFAULT_CONFIG_FILE = "paxos.json";

/** No configuration was given and there is none in the working directory. */
export class NoConfigError extends ConfigError {
  override readonly name = "NoConfigError";
  constructor() {
    super([`pass --config FILE or set PAXOS_CONFIG (looked for ./${DEFAULT_CONFIG_FILE})`], DEFAULT_CONFIG_FILE);
    this.message = `no configuration: ${this.problems[0] ?? ""}`;
  }
}

/**
 * The configuration file to read: the one given (--config, or PAXOS_CONFIG through the command
 * line's environment binding), else ./paxos.json if it exists.
 */
export function findConfigFile(given: string | undefined): string {
  if (given !== undefined && given !== "") return given;
  if (existsSync(DEFAULT_CONFIG_FILE)) return DEFAULT_CONFIG_FILE;
  throw new NoConfigError();
}

function pathOf(path: readonly PropertyKey[]): string {
  let s = "";
  for (const p of path) s += typeof p === "number" ? `[${p}]` : s === "" ? String(p) : `.${String(p)}`;
  return s === "" ? "(root)" : s;
}

function describeIssue(i: z.core.$ZodIssue): string {
  return `${pathOf(i.path)}: ${i.message}`;
}

/** The outcome of validating a configuration: the config when there is no problem. */
interface Validation {
  readonly config: ClusterConfig | null;
  readonly problems: string[];
  /** The parsed JSON (undefined when the text is not JSON), for checks that need I/O (host names). */
  readonly raw: unknown;
}

/**
 * Every problem of a configuration in one pass: JSON syntax (with line and column), the schema,
 * the rules across keys, and what the protocol cores would refuse.
 */
function validate(text: string): Validation {
  let raw: unknown;
  try {
    raw = parseJsonWithPosition(text);
  } catch (e) {
    if (e instanceof JsonSyntaxError) return { config: null, problems: [`not valid JSON: ${e.message}`], raw: undefined };
    throw e;
  }
  const r = ConfigSchema.safeParse(raw);
  const problems = [...(r.success ? [] : r.error.issues.map(describeIssue)), ...crossCheck(viewOf(raw))];
  if (!r.success || problems.length > 0) return { config: null, problems, raw };
  // The cores' own invariants (e.g. ticks that round to equal values), per ring: a problem, not a crash.
  const refused = ringPlanProblems(r.data);
  if (refused.length > 0) return { config: null, problems: refused, raw };
  return { config: r.data, problems: [], raw };
}

/** Parses and validates a configuration given as text (JSON). Host names are not resolved (see checkConfigFile). */
export function parseConfig(text: string, source = "config"): ClusterConfig {
  const v = validate(text);
  if (v.config === null) throw new ConfigError(v.problems, source);
  return v.config;
}

function readConfigText(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError([code === "ENOENT" ? "no such file" : `cannot read: ${describeErrno(e)}`], file);
  }
}

export function loadConfig(file: string): ClusterConfig {
  return parseConfig(readConfigText(file), file);
}

/**
 * Reads and validates a configuration file and resolves its host names (bounded in time), with
 * every problem in one ConfigError.
 */
export async function checkConfigFile(file: string, opts: ResolveOptions = {}): Promise<ClusterConfig> {
  const v = validate(readConfigText(file));
  const problems = [...v.problems, ...(v.raw === undefined ? [] : await hostProblems(viewOf(v.raw).nodes, opts))];
  if (v.config === null || problems.length > 0) throw new ConfigError(problems, file);
  return v.config;
}

/**
 * The pure cores' configuration of a cluster without `rings` (one ring): members from the nodes'
 * roles, through the builder every ring's configuration shares (see ringPlans for several rings).
 */
export function protocolConfig(c: ClusterConfig): ProtocolConfig {
  if (c.rings !== undefined) throw new Error("a configuration with rings has one ProtocolConfig per ring: see ringPlans");
  const ids = (f: (n: NodeEntry) => boolean) => c.nodes.filter(f).map((n) => n.id);
  const coordinator = c.nodes.find((n) => n.roles.includes("coordinator"));
  if (!coordinator) throw new ConfigError(["nodes: exactly one node must have the role coordinator (found 0)"], "config");
  return buildProtocolConfig(c.variant, c.protocol, {
    processes: c.nodes.map((n) => n.id),
    acceptors: ids((n) => n.roles.includes("acceptor")),
    learners: ids((n) => n.roles.includes("learner") || n.roles.includes("client")),
    proposers: ids((n) => n.roles.includes("proposer") || n.roles.includes("client")),
    replicas: ids((n) => n.roles.includes("learner")),
    coordinator: coordinator.id,
  });
}

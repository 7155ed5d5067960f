import { networkInterfaces, hostname } from "node:os";
import process from "node:process";
import { chooseNode } from "../config/identity.ts";
import { loadConfig, protocolConfig } from "../config/load.ts";
import type { ClusterConfig, NodeEntry, Role } from "../config/schema.ts";
import type { ProtocolConfig } from "../core/config.ts";
import { DeliveryWriter } from "../node/output.ts";
import { NodeRuntime, type RuntimeEvents } from "../node/runtime.ts";
import { createSocketNetwork, type SocketNetwork } from "../node/socket-network.ts";

export interface NodeCliOptions {
  readonly config?: string;
  readonly id?: number;
  readonly roles?: readonly Role[];
  readonly output?: string;
  /** Print a JSON stats line to stderr this often. */
  readonly statsMs?: number;
}

/** The configuration file: --config, else $PAXOS_CONFIG, else ./paxos.json. */
export function configPath(flag: string | undefined): string {
  return flag ?? process.env["PAXOS_CONFIG"] ?? "paxos.json";
}

/** This host's addresses, as written in configurations (IPs, "localhost", the host name). */
export function localAddresses(): Set<string> {
  const s = new Set<string>(["127.0.0.1", "::1", "localhost", hostname()]);
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) s.add(a.address);
  return s;
}

export interface StartedNode {
  readonly entry: NodeEntry;
  readonly config: ClusterConfig;
  readonly runtime: NodeRuntime;
  readonly network: SocketNetwork;
  close(): Promise<void>;
}

/** Loads the configuration, picks the node, opens its sockets and starts its roles. */
export async function startNode(
  o: NodeCliOptions,
  events: RuntimeEvents = {},
  /** Local overrides of this process' own roles (e.g. a load generator's proposer window). */
  local: Partial<Pick<ProtocolConfig, "proposerWindow" | "proposerQueue">> = {},
): Promise<StartedNode> {
  const file = configPath(o.config);
  const config = loadConfig(file);
  const entry = chooseNode(config, file, { ...(o.id !== undefined ? { id: o.id } : {}), ...(o.roles ? { roles: o.roles } : {}) }, localAddresses());
  const cfg: ProtocolConfig = { ...protocolConfig(config), ...local };
  const trace = process.env["PAXOS_TRACE"]
    ? (line: string) => void process.stderr.write(`${JSON.stringify({ level: "trace", t: Math.round(performance.now()), id: entry.id, msg: line })}\n`)
    : undefined;
  const network = await createSocketNetwork(config, entry, trace);
  // A node that learns only as a client needs to see its own values decided, not the history.
  const clientOnly = entry.roles.includes("client") && !entry.roles.includes("learner");
  const runtime = new NodeRuntime({
    id: entry.id,
    cfg,
    tickMs: config.protocol.tickMs,
    network,
    events,
    clientId: freshClientId(),
    learnFrom: clientOnly ? "first-seen" : "beginning",
  });
  if (cfg.coordinator === entry.id) runtime.input({ k: "lead" });
  runtime.startTicking();
  return {
    entry,
    config,
    runtime,
    network,
    close: () => runtime.close(),
  };
}

/**
 * A client id for this process incarnation: learners drop a (client, seq) they delivered before,
 * so a restarted client must not reuse its predecessor's id (its seqs start at 0 again).
 * Random 32 bits: two incarnations collide with probability 2^-32.
 */
export function freshClientId(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0] as number;
}

/** `paxos node`: runs until SIGINT/SIGTERM, then flushes and closes everything; exit code 0. */
export async function runNodeCommand(o: NodeCliOptions, err: (s: string) => void): Promise<number> {
  const writer = o.output ? new DeliveryWriter(o.output) : null;
  const node = await startNode(o, writer ? { deliver: (d) => writer.write(d) } : {});
  err(
    `${JSON.stringify({ level: "info", msg: "node started", id: node.entry.id, roles: node.entry.roles, variant: node.config.variant, port: node.entry.port })}\n`,
  );
  for (const w of node.network.warnings) err(`${JSON.stringify({ level: "warn", msg: w })}\n`);
  const stats = o.statsMs ? setInterval(() => err(`${JSON.stringify(statsLine(node))}\n`), o.statsMs) : undefined;
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  clearInterval(stats);
  await node.close();
  await writer?.close();
  err(`${JSON.stringify({ level: "info", msg: "node stopped", id: node.entry.id })}\n`);
  return 0;
}

/** One stats line: what was delivered so far, and what it cost this process. */
export function statsLine(node: StartedNode): Record<string, unknown> {
  const cpu = process.cpuUsage();
  const mem = process.memoryUsage();
  return {
    level: "stats",
    id: node.entry.id,
    t: Math.round(performance.now()),
    delivered: node.runtime.counters.delivered,
    deliveredBytes: node.runtime.counters.deliveredBytes,
    cpuUserUs: cpu.user,
    cpuSystemUs: cpu.system,
    rss: mem.rss,
    net: node.network.counters,
  };
}

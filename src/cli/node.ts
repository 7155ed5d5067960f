import { hostGmac } from "../wire/gmac.ts";
import { existsSync, statSync } from "node:fs";
import { mergedWriter, multiRingStatsLine, startMultiRing } from "./multi-ring.ts";
import { processUsage } from "../obs/process-usage.ts";
import { networkInterfaces, hostname } from "node:os";
import process from "node:process";
import { chooseNode, type NodeKind } from "../config/identity.ts";
import { multicastGroup } from "../config/multicast-group.ts";
import { ConfigError, loadConfig, protocolConfig } from "../config/load.ts";
import { KeyFileError, loadClusterKeys } from "../security/keys.ts";
import { WireAuth } from "../wire/auth.ts";
import type { ClusterConfig, NodeEntry, Role } from "../config/schema.ts";
import { maxValueBytes, type ProtocolConfig } from "../core/config.ts";
import { UsageError } from "./errors.ts";
import { DeliveryWriter } from "../node/output.ts";
import type { LearnFrom } from "../core/learner.ts";
import { sdNotify } from "../node/notify.ts";
import { readiness } from "../node/readiness.ts";
import { stage, StartupError } from "../node/startup-error.ts";
import { planLearnerStart, type LearnerStart } from "./learner-start.ts";
import { NodeRuntime, type RuntimeEvents } from "../node/runtime.ts";
import { PartitionedKvHost } from "../app/kv/partitioned-host.ts";
import { httpBase, KvHost, KvHostError, PLANTED_BUG_ENV, plantedLocalReads } from "../app/kv/host.ts";
import { createSocketNetwork, type SocketNetwork } from "../node/socket-network.ts";
import { nodeIdentity, type NodeStatus, type StatusSource } from "../node/status.ts";
import { ringShortBy, roleStatus } from "../node/role-status.ts";
import { createLogger, type Logger, type NodeLogger } from "../obs/log.ts";
import { OncePer } from "../obs/once-per.ts";
import { openLedger, type OpenedLedger } from "../ledger/open.ts";
import { type AppRoutes, startStatusServer, type StatusServer } from "../obs/http.ts";

export interface NodeCliOptions {
  readonly config?: string;
  readonly id?: number;
  readonly roles?: readonly Role[];
  /** The node must be of this kind (e.g. a client). */
  readonly kind?: NodeKind;
  readonly output?: string;
  /** Print a JSON stats line to stderr this often. */
  readonly statsMs?: number;
  readonly log?: NodeLogger;
  /** Do not serve HTTP even if the config gives this node a port (short-lived clients). */
  readonly noHttp?: boolean;
  /** Learners: start delivering at this instance (a fresh consumer; see planLearnerStart). */
  readonly fromInstance?: number;
  /** Learners: where to start and why (from --output's file or --from-instance); default: the beginning. */
  readonly learnerStart?: { readonly learnFrom: LearnFrom; readonly report: NonNullable<NodeStatus["learnerStart"]> };
  /** An application above the learner (the key-value replica): its HTTP routes and its /status section. */
  readonly app?: { routes(runtime: NodeRuntime, log: Logger): AppRoutes; status(): NonNullable<NodeStatus["kv"]> };
}

/** Multi-Ring Paxos runs under `paxos node` and `paxos propose --group`; the other commands run one ring. */
export const RINGS_NOT_RUN = "this command does not run configurations with `rings` (paxos node, and propose and client with --group, do)";

/** The configuration a command would run a node of (refused when it has `rings`, unless the command runs them). */
function runnableConfig(file: string, rings: boolean): ClusterConfig {
  const config = loadConfig(file);
  if (config.rings !== undefined && !rings) throw new UsageError(RINGS_NOT_RUN);
  return config;
}

/** The configuration and the entry of the node the options name. */
export function resolveNode(o: NodeCliOptions, rings = false): { file: string; config: ClusterConfig; entry: NodeEntry } {
  const file = configPath(o.config);
  const config = runnableConfig(file, rings);
  const entry = chooseNode(
    config,
    file,
    { ...(o.id !== undefined ? { id: o.id } : {}), ...(o.roles ? { roles: o.roles } : {}), ...(o.kind ? { kind: o.kind } : {}) },
    localAddresses(),
  );
  return { file, config, entry };
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

/** Conflicting input is logged at most once per peer per this period (it is always counted). */
export const CONFLICT_LOG_PERIOD_MS = 60_000;

export interface StartedNode extends StatusSource {
  readonly entry: NodeEntry;
  readonly config: ClusterConfig;
  readonly runtime: NodeRuntime;
  readonly network: SocketNetwork;
  readonly log: NodeLogger;
  /** The HTTP endpoint (/metrics, /status, /), when the node's config entry has an `http` port. */
  readonly http: StatusServer | null;
  close(): Promise<void>;
}

/** Loads the configuration, picks the node, opens its sockets and starts its roles. */
export async function startNode(
  o: NodeCliOptions,
  events: RuntimeEvents = {},
  /** Local overrides of this process' own roles (e.g. a load generator's proposer window). */
  local: Partial<Pick<ProtocolConfig, "proposerWindow" | "proposerQueue">> = {},
  /** The configuration and entry `o` names, when the caller resolved them already. */
  resolved: ReturnType<typeof resolveNode> = resolveNode(o),
): Promise<StartedNode> {
  const { file, config, entry } = resolved;
  const cfg: ProtocolConfig = { ...protocolConfig(config), ...local };
  const trace = process.env["PAXOS_TRACE"]
    ? (line: string) => void process.stderr.write(`${JSON.stringify({ level: "trace", t: performance.timeOrigin + performance.now(), id: entry.id, msg: line })}\n`)
    : undefined;
  const keys = clusterKeys(config, file);
  // The ledger first: a log that cannot be opened (corrupt, locked) stops the node before any socket.
  // A write or sync that fails later (a full disk) leaves nothing this acceptor may promise: stop, one line, exit 1.
  const ledger = openLedger(config.ledger, entry, (e) => {
    process.stderr.write(`paxos: ${e.message}\n`);
    process.exit(1);
  });
  let network: SocketNetwork;
  try {
    // A socket that cannot open names its configuration key (nodes[i].port, multicast.port, …).
    network = await stage("tcp", entry, config, () => createSocketNetwork(config, entry, trace, new WireAuth(keys.secrets)));
  } catch (e) {
    await ledger.close();
    throw e;
  }
  const log = o.log ?? createLogger({ level: "info", bindings: { node: entry.id } });
  // A node that learns only as a client needs to see its own values decided, not the history.
  const clientOnly = entry.roles.includes("client") && !entry.roles.includes("learner");
  let highestDecided = -1;
  const conflictLog = new OncePer(CONFLICT_LOG_PERIOD_MS);
  const runtime = new NodeRuntime({
    id: entry.id,
    cfg,
    tickMs: config.protocol.tickMs,
    network,
    ledger: ledger.ledger,
    events: {
      ...events,
      leadership: (active, round) => events.leadership?.(active, round),
      leaderChange: (c) => {
        log.info(c.message, { leader: c.leader, round: c.round, reason: c.reason });
        events.leaderChange?.(c);
      },
      decided: (d) => {
        if (d.instance > highestDecided) highestDecided = d.instance;
        events.decided?.(d);
      },
      conflict: (c) => {
        const r = conflictLog.take(String(c.from));
        if (r) log.warn("dropped conflicting input (forged, or a broken peer)", { from: c.from, what: c.what, suppressed: r.suppressed });
        events.conflict?.(c);
      },
      lost: (r) => {
        // Never a silent skip: the application behind this learner misses these instances.
        const how = r.stateFrom === null ? "no other learner answered: a value re-sent across the gap may be delivered again" : `took learner ${r.stateFrom}'s state: delivering as it does from here on`;
        log.error(`instances ${r.from}..${r.to - 1} are lost to this learner (every process trimmed them); ${how}`, { from: r.from, to: r.to, count: r.to - r.from, stateFrom: r.stateFrom });
        events.lost?.(r);
      },
    },
    clientId: freshClientId(),
    learnFrom: clientOnly ? "first-seen" : (o.learnerStart?.learnFrom ?? "beginning"),
  });
  // The configured coordinator leads a fresh cluster. Restarted from its log it has been part of a
  // running cluster: it follows the election like any acceptor (leading at once would only be
  // refused by the leases granted to its successor, and stand down).
  if (cfg.coordinator === entry.id && ledger.ledger.recover().length === 0) runtime.input({ k: "lead" });
  runtime.startTicking();
  const startedAt = performance.now();
  const status = (): NodeStatus => ({
    ...statusOf(entry, config, cfg, runtime, network, ledger, performance.now() - startedAt, highestDecided),
    learnerStart: runtime.proc.learner ? (o.learnerStart?.report ?? { instance: 0, source: "beginning", file: null, cutBytes: null }) : null,
    ...(o.app ? { kv: o.app.status() } : {}),
  });
  const app = o.app?.routes(runtime, log);
  const source: StatusSource = {
    status,
    events: () => log.events(),
    ready: () =>
      readiness(status(), {
        leaderSilenceMs: Math.max(config.protocol.suspectMs, 4 * config.protocol.heartbeatMs),
        backlogInstances: config.protocol.flowBacklogInstances,
      }),
  };
  let http: StatusServer | null = null;
  if (entry.http !== undefined && !o.noHttp) {
    const port = entry.http;
    try {
      http = await stage("http", entry, config, () => startStatusServer({ host: entry.host, port, source, ...(app ? { app } : {}) }));
    } catch (e) {
      await runtime.close();
      await ledger.close();
      throw e;
    }
  }
  log.info("node started", {
    id: entry.id,
    roles: entry.roles,
    variant: config.variant,
    port: entry.port,
    ledger: ledger.describe,
    ...(http ? { http: http.url } : {}),
    ...(network.authenticated ? { gmac: hostGmac().name } : {}),
  });
  for (const w of network.warnings) log.warn(w);
  for (const w of ledger.warnings) log.warn(w);
  for (const w of keys.warnings) log.warn(w);
  if (!network.authenticated)
    log.warn("cluster traffic is not authenticated: anyone who can reach this node's ports or the multicast group can make it deliver values (set security.keyFile; see paxos keygen)");
  return {
    entry,
    config,
    runtime,
    network,
    log,
    http,
    ...source,
    close: async () => {
      await http?.close();
      await runtime.close();
      await ledger.close();
    },
  };
}

/** The cluster keys the configuration names, read once; a key that cannot serve is a configuration error. */
export function clusterKeys(config: ClusterConfig, file: string): { secrets: Uint8Array[]; warnings: string[] } {
  try {
    return loadClusterKeys(config.security);
  } catch (e) {
    if (e instanceof KeyFileError) throw new ConfigError([e.message], file);
    throw e;
  }
}

function statusOf(
  entry: NodeEntry,
  config: ClusterConfig,
  cfg: ProtocolConfig,
  runtime: NodeRuntime,
  network: SocketNetwork,
  ledger: OpenedLedger,
  uptimeMs: number,
  highestDecided: number,
): NodeStatus {
  const s = runtime.proc.status(runtime.now());
  return {
    ...nodeIdentity(entry, config, network, uptimeMs),
    ...roleStatus(s, config.protocol.tickMs, ringShortBy(cfg)),
    highestDecided,
    counters: { ...network.counters, ...runtime.counters, ...ledger.counters() },
    ledger: ledger.status(),
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
  if (loadConfig(configPath(o.config)).rings !== undefined) return runMultiRingNode(o, err);
  // --output and --from-instance are checked, and the output file opened, before any socket.
  const resolved = resolveNode(o);
  const kv = openKvHost(resolved, o);
  const start = kv ? kvLearnerStart(kv) : planLearnerStart(resolved.entry, o);
  // Listen before starting: a signal that arrives while the node starts stops it cleanly once up.
  let signalled: () => void = () => {};
  const stopped = new Promise<void>((resolve) => (signalled = resolve));
  process.once("SIGINT", signalled);
  process.once("SIGTERM", signalled);
  let code = 0;
  const output = o.output === undefined ? null : outputWriter(o.output, start, (c, line) => {
    code = c;
    if (line !== null) err(`paxos: ${line}\n`);
    signalled();
  });
  if (kv)
    kv.onStranded = (line) => {
      code = 1;
      err(`paxos: ${line}\n`);
      signalled();
    };
  let node: StartedNode;
  try {
    const events: RuntimeEvents = kv ? kv.events : output ? { deliver: (d) => output.write(d) } : {};
    const app = kv ? { routes: (rt: NodeRuntime, log: Logger) => kv.routes(rt, log), status: () => kv.status() } : undefined;
    node = await startNode({ ...o, ...(start ? { learnerStart: start } : {}), ...(app ? { app } : {}) }, events, {}, resolved);
  } catch (e) {
    process.removeListener("SIGINT", signalled);
    process.removeListener("SIGTERM", signalled);
    await output?.close();
    kv?.close();
    throw e;
  }
  if (kv && plantedLocalReads()) node.log.warn(`${PLANTED_BUG_ENV}=local-reads: this replica answers reads from its own state without the log (a planted bug for tests; reads are not linearizable)`);
  if (start !== null) node.log.info("learner starts", { instance: start.report.instance, from: start.report.source, file: start.report.file, cutBytes: start.report.cutBytes, remembered: start.remembered });
  await notifySystemd("READY=1", node.log);
  const stats = o.statsMs ? setInterval(() => err(`${JSON.stringify(statsLine(node))}\n`), o.statsMs) : undefined;
  const campaign = () => standForLeadership(node);
  process.on("SIGUSR2", campaign);
  await stopped;
  process.removeListener("SIGUSR2", campaign);
  await notifySystemd("STOPPING=1", node.log);
  clearInterval(stats);
  await node.close();
  await output?.close();
  kv?.close();
  node.log.info("node stopped", { id: node.entry.id });
  return code;
}

/**
 * SIGUSR2: this node stands for leadership now, in a round above every one it has seen (the seed
 * 002 experiment of competing leaders; an operator moving the leader off a node). Safe whenever it
 * comes: Paxos lets any round start. With leases (the default) acceptors refuse it while a live
 * leader renews its lease, so it takes over only from a leader that is gone or silent; with
 * `protocol.leaseMs` 0 it supersedes the leader at once.
 */
function standForLeadership(node: StartedNode): void {
  if (!node.status().coordinator) return node.log.warn("SIGUSR2 ignored: this node cannot coordinate (no acceptor role)");
  node.log.info("SIGUSR2: standing for leadership");
  node.runtime.input({ k: "lead" });
}

/** The key-value replica of a node with a `kv` section (null: none); --output and --from-instance do not go with it. */
function openKvHost(resolved: ReturnType<typeof resolveNode>, o: NodeCliOptions): KvHost | null {
  const { config, entry } = resolved;
  return openReplica(entry, o, () => new KvHost(entry, config.nodes.indexOf(entry), kvPeers(config, entry)));
}

/** The partitioned key-value replica of a `kv` node of a rings configuration (null: none). */
function openPartitionedKvHost(config: ClusterConfig, entry: NodeEntry, o: NodeCliOptions): PartitionedKvHost | null {
  return openReplica(entry, o, () => new PartitionedKvHost(config, entry, config.nodes.indexOf(entry)));
}

/** `open()`s the replica of a node with a `kv` section (null: none): refuses the flags a replica does not take, and a store it cannot open is a start-up error. */
function openReplica<T>(entry: NodeEntry, o: NodeCliOptions, open: () => T): T | null {
  if (entry.kv === undefined) return null;
  if (o.output !== undefined || o.fromInstance !== undefined) {
    throw new UsageError(`${o.output !== undefined ? "--output" : "--from-instance"}: node ${entry.id} hosts a key-value replica, which applies the log itself and starts where its store ends`);
  }
  try {
    return open();
  } catch (e) {
    if (e instanceof KvHostError) throw new StartupError(e.message, undefined);
    throw e;
  }
}

/** The other key-value replicas' HTTP base URLs: where this one fetches snapshots. */
function kvPeers(config: ReturnType<typeof resolveNode>["config"], self: NodeEntry): string[] {
  return config.nodes.filter((n) => n !== self && n.kv !== undefined && n.http !== undefined).map(httpBase);
}

function kvLearnerStart(kv: KvHost): LearnerStart {
  const instance = kv.resumeFrom;
  return { learnFrom: { instance }, report: { instance, source: "kv", file: kv.storePath, cutBytes: null }, remembered: 0, fd: null };
}

/**
 * The learner's --output writer. Its reader going away (`--output - | head`: EPIPE) stops the node
 * quietly, exit 0, as any filter whose consumer is done; a file that cannot be written (a full
 * disk) stops it with one line, exit 1: deliveries missing from the file would be skipped for good
 * on the next resume.
 */
function outputWriter(target: string, start: LearnerStart | null, stop: (code: number, line: string | null) => void): DeliveryWriter {
  return new DeliveryWriter(target === "-" ? "-" : (start?.fd ?? target), (e) => {
    if (target === "-") stop(0, null);
    else stop(1, `--output ${target}: write failed: ${e.code ?? e.message}`);
  });
}

/**
 * `paxos node` for a configuration with `rings`: every ring this node takes part in; a learner's
 * --output gets the merge of the rings it subscribes to, one line per value naming its ring.
 * /status shows each ring (NodeStatus.rings). Not yet: resuming an output file, --from-instance.
 */
async function runMultiRingNode(o: NodeCliOptions, err: (s: string) => void): Promise<number> {
  if (o.fromInstance !== undefined) throw new UsageError("--from-instance: not with a `rings` configuration yet");
  const { file, config, entry } = resolveNode(o, true);
  if (o.output !== undefined && o.output !== "-" && existsSync(o.output) && statSync(o.output).size > 0)
    throw new UsageError(`--output ${o.output}: a multi-ring learner cannot resume an output file yet (its merge cursor is not kept): give a new file`);
  const kv = openPartitionedKvHost(config, entry, o);
  let signalled: () => void = () => {};
  const stopped = new Promise<void>((resolve) => (signalled = resolve));
  process.once("SIGINT", signalled);
  process.once("SIGTERM", signalled);
  let code = 0;
  const output = o.output === undefined ? null : outputWriter(o.output, null, (c, line) => {
    code = c;
    if (line !== null) err(`paxos: ${line}\n`);
    signalled();
  });
  if (kv)
    kv.onStranded = (line) => {
      code = 1;
      err(`paxos: ${line}\n`);
      signalled();
    };
  const log = o.log ?? createLogger({ level: "info", bindings: { node: entry.id } });
  const app = kv ? { merged: kv.merged, resume: kv.resume, ring: (r: number) => kv.ringEvents(r) } : output ? { merged: mergedWriter(output) } : {};
  const started = await startMultiRing(config, entry, clusterKeys(config, file).secrets, log, { ...app, clientId: freshClientId() }).catch(async (e: unknown) => {
    process.removeListener("SIGINT", signalled);
    process.removeListener("SIGTERM", signalled);
    await output?.close();
    kv?.close();
    throw e;
  });
  kv?.bind(started.node);
  let http: StatusServer | null = null;
  if (entry.http !== undefined && !o.noHttp) {
    const port = entry.http;
    const source = kv ? { ...started.source, status: () => ({ ...started.source.status(), kvPartitions: kv.status() }) } : started.source;
    try {
      http = await stage("http", entry, config, () => startStatusServer({ host: entry.host, port, source, ...(kv ? { app: kv.routes(log) } : {}) }));
    } catch (e) {
      await started.close();
      await output?.close();
      kv?.close();
      throw e;
    }
    log.info("status served", { http: http.url });
  }
  await notifySystemd("READY=1", log);
  const stats = o.statsMs ? setInterval(() => err(`${JSON.stringify(multiRingStatsLine(started))}\n`), o.statsMs) : undefined;
  // SIGUSR2 would end the process by default: with rings it names no ring to lead, so it is refused, not fatal.
  const noCampaign = () => log.warn("SIGUSR2 ignored: a node with rings does not take it (it would not say which ring to lead)");
  process.on("SIGUSR2", noCampaign);
  await stopped;
  process.removeListener("SIGUSR2", noCampaign);
  await notifySystemd("STOPPING=1", log);
  clearInterval(stats);
  await http?.close();
  await started.close();
  await output?.close();
  kv?.close();
  log.info("node stopped", { id: entry.id });
  return code;
}

/** sd_notify (Type=notify services); a $NOTIFY_SOCKET this runtime cannot reach is a warning. */
async function notifySystemd(state: string, log: NodeLogger): Promise<void> {
  const outcome = await sdNotify(state);
  if (outcome === "unavailable")
    log.warn(`NOTIFY_SOCKET is set but ${state} could not be sent (no native unix datagram socket here, and no systemd-notify on PATH)`);
}

/** One stats line: what was delivered so far, and what it cost this process. */
export function statsLine(node: StartedNode): Record<string, unknown> {
  const status = node.status();
  return {
    level: "stats",
    id: node.entry.id,
    ...processUsage(),
    delivered: node.runtime.counters.delivered,
    deliveredBytes: node.runtime.counters.deliveredBytes,
    net: node.network.counters,
    ledger: status.ledger,
    ...(status.coordinator
      ? { window: status.coordinator.window, lowestWindow: status.coordinator.lowestWindow, windowCuts: status.coordinator.windowCuts, ring: status.coordinator.ring, slowRelayouts: status.coordinator.slowRelayouts }
      : {}),
    ...(status.acceptor ? { trimmedBelow: status.acceptor.trimmedBelow, heldInstances: status.acceptor.heldInstances } : {}),
    ...(status.learner ? { backlog: status.learner.backlog, slowDowns: status.learner.slowDowns } : {}),
    ledgerCounters: Object.fromEntries(Object.entries(status.counters).filter(([k]) => k.startsWith("ledger"))),
  };
}

/**
 * M-Ring ip-multicasts every value inside a 2A datagram (a value larger than batchBytes travels
 * in a batch of its own): values that cannot fit multicast.maxDatagram are refused before any is
 * proposed.
 */
export function checkValueSizes(o: NodeCliOptions, sizes: readonly number[], ring?: number): void {
  const file = configPath(o.config);
  const config = loadConfig(file);
  // A `rings` configuration without a ring named: whoever runs it names the ring (or refuses it).
  if (config.rings !== undefined && ring === undefined) return;
  const group = multicastGroup(config, undefined, ring);
  if (!group) return;
  const max = maxValueBytes(group.maxDatagram);
  const bytes = Math.max(...sizes);
  if (bytes > max) throw new UsageError(`a ${bytes}-byte value does not fit an M-Ring datagram of ${file} (at most ${max} bytes; raise multicast.maxDatagram)`);
}

/**
 * `paxos node` and `paxos propose --group` for a configuration with `rings` (Multi-Ring Paxos,
 * thesis ch. 5): one process takes part in every ring its configuration names it in, over one
 * socket network, and a process that learns several rings delivers their merge.
 */
import path from "node:path";
import { ringPlans, subscriptions, type RingPlan } from "../config/rings.ts";
import { multiRingParams } from "../config/ring-topology.ts";
import type { ClusterConfig, NodeEntry } from "../config/schema.ts";
import type { ProtocolConfig } from "../core/config.ts";
import type { ClientValue } from "../core/types.ts";
import { openLedger, type OpenedLedger } from "../ledger/open.ts";
import type { Merged, MergeCursor, RingId } from "../multiring/merge.ts";
import { MultiRingNode } from "../node/multi-ring-node.ts";
import type { DeliveryWriter } from "../node/output.ts";
import { createSocketNetwork, type SocketNetwork } from "../node/socket-network.ts";
import type { RuntimeEvents } from "../node/runtime.ts";
import type { NodeLogger } from "../obs/log.ts";
import { WireAuth } from "../wire/index.ts";
import { readiness } from "../node/readiness.ts";
import { nodeIdentity, type NodeStatus, type RingStatus, type StatusSource } from "../node/status.ts";
import { UsageError } from "./errors.ts";
import { ringShortBy, roleStatus } from "../node/role-status.ts";
import { processUsage } from "../obs/process-usage.ts";

export interface StartedMultiRing {
  readonly id: number;
  readonly node: MultiRingNode;
  readonly network: SocketNetwork;
  readonly rings: readonly RingId[];
  /** /status, /ready and /metrics of this node (see NodeStatus.rings). */
  readonly source: StatusSource;
  close(): Promise<void>;
}

/** A ring's core configuration with its skip pacing (λ·Δ per Δ ticks; none when λ is 0). */
export function ringProtocol(plan: RingPlan, local: Partial<ProtocolConfig> = {}): ProtocolConfig {
  const { perSecond, intervalTicks } = plan.skip;
  const skip = perSecond > 0 ? { multiRing: { skipPerInterval: (perSecond * intervalTicks * plan.tickMs) / 1000, skipIntervalTicks: intervalTicks } } : {};
  return { ...plan.protocol, ...skip, ...local };
}

/** The WAL of ring r lives in `<dir>/ring-<r>/node-<id>`; RAM ledgers need nothing. */
function ringLedger(config: ClusterConfig, entry: NodeEntry, plan: RingPlan, onFatal: (e: Error) => void): OpenedLedger {
  const l = config.ledger;
  const acceptor = plan.protocol.acceptors.includes(entry.id);
  const roles = acceptor ? entry.roles : entry.roles.filter((r) => r !== "acceptor");
  return openLedger(l.kind === "wal" ? { ...l, dir: path.join(l.dir, `ring-${plan.id}`) } : l, { ...entry, roles }, onFatal);
}

/** Opens the sockets and ledgers of every ring `entry` takes part in, and starts their cores. */
export async function startMultiRing(
  config: ClusterConfig,
  entry: NodeEntry,
  secrets: readonly Uint8Array[],
  log: NodeLogger,
  o: {
    readonly merged?: (d: Merged<ClientValue>) => void;
    readonly acked?: (ring: RingId, a: { client: number; seq: number; instance: number | null }) => void;
    readonly clientId?: number;
    readonly local?: Partial<ProtocolConfig>;
    /** A replica resuming from its saved merge cursor (see MultiRingNodeOptions.resume), and its rings' events. */
    readonly resume?: { readonly cursor: MergeCursor | null };
    readonly ring?: (ring: RingId) => RuntimeEvents;
  } = {},
): Promise<StartedMultiRing> {
  const plans = ringPlans(config).filter((p) => p.protocol.processes.includes(entry.id));
  if (plans.length === 0) throw new UsageError(`node ${entry.id} takes part in no ring of this configuration`);
  // Learners merge the rings of their groups; a client only needs its own values' acks, from
  // wherever it starts following (first-seen), which no merge could line up with the learners'.
  const subs = entry.roles.includes("learner") ? subscriptions(config, entry.id) : [];
  const learned = new Set(subs.map((s) => s.ring));
  const groupsOn = (ring: RingId) => new Set(subs.filter((s) => s.ring === ring).map((s) => s.group));
  const ledgers = new Map<RingId, OpenedLedger>();
  const fatal = (e: Error) => {
    process.stderr.write(`paxos: ${e.message}\n`);
    process.exit(1);
  };
  for (const p of plans) ledgers.set(p.id, ringLedger(config, entry, p, fatal));
  let network: SocketNetwork;
  try {
    network = await createSocketNetwork(config, entry, undefined, new WireAuth(secrets));
  } catch (e) {
    for (const l of ledgers.values()) await l.close();
    throw e;
  }
  const ringEvents = (ring: RingId): RuntimeEvents => {
    const app = o.ring?.(ring) ?? {};
    return {
      ...app,
      leaderChange: (c) => log.info(c.message, { ring, leader: c.leader, round: c.round, reason: c.reason }),
      conflict: (c) => log.warn("dropped conflicting input (forged, or a broken peer)", { ring, from: c.from, what: c.what }),
      lost: (r) => {
        log.error(`ring ${ring}: instances ${r.from}..${r.to - 1} are lost to this learner; its merge cannot go on`, { ring, from: r.from, to: r.to });
        app.lost?.(r);
      },
    };
  };
  const node = new MultiRingNode({
    id: entry.id,
    m: multiRingParams(config).m,
    tickMs: config.protocol.tickMs,
    ...(o.clientId !== undefined ? { clientId: o.clientId } : {}),
    learnFrom: entry.roles.includes("learner") ? "beginning" : "first-seen",
    ...(o.resume ? { resume: o.resume } : {}),
    rings: plans.map((p) => ({ id: p.id, cfg: ringProtocol(p, o.local), network: network.ring(p.id), ledger: (ledgers.get(p.id) as OpenedLedger).ledger, merged: learned.has(p.id), groups: groupsOn(p.id) })),
    events: { ring: ringEvents, ...(o.merged ? { merged: o.merged } : {}), ...(o.acked ? { acked: o.acked } : {}) },
  });
  // Each ring's configured coordinator leads a fresh ring (as a single ring's does).
  for (const p of plans)
    if (p.protocol.coordinator === entry.id && (ledgers.get(p.id) as OpenedLedger).ledger.recover().length === 0) node.runtimes.get(p.id)?.input({ k: "lead" });
  node.startTicking();
  log.info("node started", { id: entry.id, roles: entry.roles, rings: plans.map((p) => p.id), merges: [...learned].sort((a, b) => a - b), port: entry.port });
  for (const w of network.warnings) log.warn(w);
  const startedAt = performance.now();
  const status = (): NodeStatus => multiRingStatus(config, entry, plans, node, network, performance.now() - startedAt);
  const source: StatusSource = { status, events: () => log.events(), ready: () => multiRingReadiness(config, status()) };
  return {
    id: entry.id,
    node,
    network,
    rings: plans.map((p) => p.id),
    source,
    close: async () => {
      await node.close();
      await network.close();
      for (const l of ledgers.values()) await l.close();
    },
  };
}

/** The merged deliveries of a multi-ring learner, as --output lines (each naming its ring). */
export function mergedWriter(out: DeliveryWriter): (d: Merged<ClientValue>) => void {
  return (d) => out.write({ instance: d.instance, values: d.values }, d.ring);
}

/**
 * One stats line of a multi-ring node (`--stats-ms`), the single-ring line's fields where they
 * apply: `delivered`/`deliveredBytes` count what the merge released (this node's groups only),
 * `mergeWait` how long those instances waited for the other rings' turns in the period since the
 * last line, and `rings` per ring what its learner delivered, the merge's backlog of it, the empty
 * instances its skips stood for, and (its coordinator) the flow window.
 */
export function multiRingStatsLine(started: StartedMultiRing): Record<string, unknown> {
  const rings: Record<string, unknown> = {};
  for (const [id, rt] of started.node.runtimes) {
    const s = rt.proc.status(rt.now());
    rings[String(id)] = {
      delivered: rt.counters.delivered,
      deliveredBytes: rt.counters.deliveredBytes,
      backlog: started.node.merges ? started.node.backlog(id) : null,
      skippedSlots: started.node.skippedSlots(id),
      ...(s.coordinator?.active ? { window: s.coordinator.flowWindow, lowestWindow: s.coordinator.lowestFlowWindow, windowCuts: s.coordinator.windowCuts } : {}),
    };
  }
  return {
    level: "stats",
    id: started.id,
    ...processUsage(),
    delivered: started.node.mergedCounters.values,
    deliveredBytes: started.node.mergedCounters.bytes,
    net: started.network.counters,
    mergeWait: started.node.takeMergeWait(),
    rings,
  };
}

/** The node's status: per ring its roles (NodeStatus.rings), the top-level role fields null. */
function multiRingStatus(config: ClusterConfig, entry: NodeEntry, plans: readonly RingPlan[], node: MultiRingNode, network: SocketNetwork, uptimeMs: number): NodeStatus {
  const rings: Record<string, RingStatus> = {};
  const counters: Record<string, number> = { ...network.counters };
  for (const p of plans) {
    const rt = node.runtimes.get(p.id);
    if (!rt) continue;
    rings[String(p.id)] = { ...roleStatus(rt.proc.status(rt.now()), config.protocol.tickMs, ringShortBy(p.protocol)), mergeBacklog: node.merges ? node.backlog(p.id) : null };
    for (const [k, v] of Object.entries(rt.counters)) counters[k] = (counters[k] ?? 0) + v;
  }
  return {
    ...nodeIdentity(entry, config, network, uptimeMs),
    coordinator: null,
    acceptor: null,
    learner: null,
    highestDecided: -1,
    counters,
    ledger: null,
    rings,
  };
}

/** Ready when every ring is (a leader known and heard of; a learner caught up), the reasons naming their ring. */
function multiRingReadiness(config: ClusterConfig, s: NodeStatus): { readonly ready: boolean; readonly reasons: readonly string[] } {
  const limits = { leaderSilenceMs: Math.max(config.protocol.suspectMs, 4 * config.protocol.heartbeatMs), backlogInstances: config.protocol.flowBacklogInstances };
  const reasons = Object.entries(s.rings ?? {}).flatMap(([ring, r]) => readiness({ ...s, ...r }, limits).reasons.map((x) => `ring ${ring}: ${x}`));
  return { ready: reasons.length === 0, reasons };
}

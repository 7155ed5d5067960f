/**
 * Prometheus metrics of one node, derived from its NodeStatus at scrape time.
 *
 * Every node gets its own registry (never prom-client's global one), so several nodes can live in
 * one process. A scrape takes one status snapshot and every metric reads from it. A metric of a
 * role the node does not have (e.g. the coordinator's round on a learner-only node) has no sample.
 *
 * | metric | type | from NodeStatus |
 * |---|---|---|
 * | paxos_node_info{id,cluster,variant,roles} | gauge (1) | identity |
 * | paxos_uptime_seconds | gauge | uptimeMs / 1000 |
 * | paxos_coordinator_active | gauge (0/1) | coordinator.active |
 * | paxos_round | gauge | coordinator.round |
 * | paxos_in_flight_instances | gauge | coordinator.inFlight |
 * | paxos_ring_size | gauge | coordinator.ring.length |
 * | paxos_window | gauge | coordinator.window (flow control) |
 * | paxos_window_cuts_total | counter | coordinator.windowCuts |
 * | paxos_ring_short | gauge (alert when > 0) | coordinator.ringShortBy |
 * | paxos_slow_acceptors | gauge | coordinator.slowAcceptors.length |
 * | paxos_slow_relayouts_total | counter | coordinator.slowRelayouts |
 * | paxos_catch_up_skips_total | counter | coordinator.catchUpSkips |
 * | paxos_gc_applied_instance | gauge | acceptor.applied |
 * | paxos_gc_trimmed_below | gauge | acceptor.trimmedBelow |
 * | paxos_gc_excluded_replicas | gauge | acceptor.gcExcludedReplicas.length |
 * | paxos_acceptor_held_instances | gauge | acceptor.heldInstances |
 * | paxos_learner_backlog_instances | gauge | learner.backlog |
 * | paxos_learner_slow_downs_total | counter | learner.slowDowns |
 * | paxos_learner_behind_gc | gauge (0/1) | learner.behindGc |
 * | paxos_acceptor_promised_round | gauge | acceptor.promised |
 * | paxos_learner_next_instance | gauge | learner.nextInstance |
 * | paxos_learner_delivered_values_total | counter | learner.delivered |
 * | paxos_highest_decided_instance | gauge (-1: none) | highestDecided |
 * | paxos_socket_recv_buffer_bytes | gauge | socketBuffers.recvBytes |
 * | paxos_socket_send_buffer_bytes | gauge | socketBuffers.sendBytes |
 * | paxos_socket_buffer_warning | gauge (0/1) | socketBuffers.warning !== null |
 * | paxos_tcp_recv_buffer_bytes | gauge | tcpBuffers.recvBytes |
 * | paxos_tcp_send_buffer_bytes | gauge | tcpBuffers.sendBytes |
 * | paxos_leader | gauge | election.leader (the coordinator this acceptor follows) |
 * | paxos_leader_silence_seconds | gauge | election.silenceMs / 1000 |
 * | paxos_leader_suspect_after_seconds | gauge | election.suspectAfterMs / 1000 |
 * | paxos_leader_suspected | gauge (0/1) | election.suspecting |
 * | paxos_coordinator_lease | gauge (0/1) | election.lease |
 * | paxos_ledger_disk_bytes | gauge | ledger.diskBytes (write-ahead log only) |
 * | paxos_ledger_segments | gauge | ledger.segments |
 * | paxos_ledger_trimmed_below | gauge | ledger.trimmedBelow |
 * | paxos_ledger_last_sync_seconds | gauge | ledger.lastSyncUs / 1e6 |
 * | paxos_ledger_last_group_records | gauge | ledger.lastGroupRecords |
 * | paxos_<name>_total | counter | counters[name], see counterMetricName |
 *
 * plus prom-client's default process metrics (process_*, nodejs_*) unless disabled.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from "prom-client";
import type { NodeStatus, StatusSource } from "../node/status.ts";

export interface MetricDoc {
  readonly name: string;
  readonly type: "gauge" | "counter";
  readonly help: string;
}

type Read = (s: NodeStatus) => number | null;

interface FixedMetric extends MetricDoc {
  readonly read: Read;
}

const coordinator = (f: (c: NonNullable<NodeStatus["coordinator"]>) => number | null): Read => (s) => (s.coordinator === null ? null : f(s.coordinator));
const wal = (f: (l: Extract<NonNullable<NodeStatus["ledger"]>, { kind: "wal" }>) => number): Read => (s) => (s.ledger?.kind === "wal" ? f(s.ledger) : null);
const tcpSockets = (f: (b: NonNullable<NodeStatus["tcpBuffers"]>) => number): Read => (s) => (s.tcpBuffers === null ? null : f(s.tcpBuffers));
const sockets = (f: (b: NonNullable<NodeStatus["socketBuffers"]>) => number): Read => (s) => (s.socketBuffers === null ? null : f(s.socketBuffers));

const FIXED: readonly FixedMetric[] = [
  { name: "paxos_uptime_seconds", type: "gauge", help: "Seconds since the node started.", read: (s) => s.uptimeMs / 1000 },
  { name: "paxos_coordinator_active", type: "gauge", help: "1 if this node's coordinator currently leads, 0 if it does not (no sample: the node has no coordinator role).", read: coordinator((c) => (c.active ? 1 : 0)) },
  { name: "paxos_round", type: "gauge", help: "The coordinator's current round (c-rnd).", read: coordinator((c) => c.round) },
  { name: "paxos_in_flight_instances", type: "gauge", help: "Consensus instances the coordinator has proposed and not yet seen decided.", read: coordinator((c) => c.inFlight) },
  { name: "paxos_ring_size", type: "gauge", help: "Processes on the ring of the coordinator's current round (no sample: no ring laid out).", read: coordinator((c) => (c.ring === null ? null : c.ring.length)) },
  { name: "paxos_window", type: "gauge", help: "The coordinator's window of instances in flight in use now (flow control halves it, then grows it back).", read: coordinator((c) => c.window) },
  { name: "paxos_window_cuts_total", type: "counter", help: "Times flow control halved the coordinator's window (a learner fell behind).", read: coordinator((c) => c.windowCuts) },
  { name: "paxos_ring_short", type: "gauge", help: "Alert: members the ring of the coordinator's round lacks against the configuration (0: a full ring; no sample: no ring).", read: coordinator((c) => (c.ring === null ? null : c.ringShortBy)) },
  { name: "paxos_slow_acceptors", type: "gauge", help: "Acceptors whose heartbeat acks are persistently slow (slow-acceptor avoidance lays them off the ring's path).", read: coordinator((c) => c.slowAcceptors.length) },
  { name: "paxos_catch_up_skips_total", type: "counter", help: "Multi-Ring: merging learners' lagging notices this coordinator honoured with a catch-up skip.", read: coordinator((c) => c.catchUpSkips) },
  { name: "paxos_slow_relayouts_total", type: "counter", help: "New rounds the coordinator started to lay slow acceptors off the path of Phase 2.", read: coordinator((c) => c.slowRelayouts) },
  { name: "paxos_gc_applied_instance", type: "gauge", help: "Every instance below this was applied by min(f+1, replicas) replicas (garbage collection).", read: (s) => (s.acceptor === null ? null : s.acceptor.applied) },
  { name: "paxos_gc_trimmed_below", type: "gauge", help: "This acceptor freed (RAM) or trimmed (WAL) every instance below this.", read: (s) => (s.acceptor === null ? null : s.acceptor.trimmedBelow) },
  { name: "paxos_gc_excluded_replicas", type: "gauge", help: "Replicas left out of the garbage-collection quorum (silent past gcSuspectMs, or behind): a replica is down or cannot keep up.", read: (s) => (s.acceptor === null ? null : s.acceptor.gcExcludedReplicas.length) },
  { name: "paxos_acceptor_held_instances", type: "gauge", help: "Instances whose vote this acceptor holds in memory (bounded by garbage collection).", read: (s) => (s.acceptor === null ? null : s.acceptor.heldInstances) },
  { name: "paxos_learner_backlog_instances", type: "gauge", help: "Instances this learner knows of but cannot deliver yet (flow control past flowBacklogInstances).", read: (s) => (s.learner === null ? null : s.learner.backlog) },
  { name: "paxos_learner_slow_downs_total", type: "counter", help: "Flow-control notices this learner sent.", read: (s) => (s.learner === null ? null : s.learner.slowDowns) },
  { name: "paxos_learner_behind_gc", type: "gauge", help: "1 if this learner is behind what every acceptor garbage-collected (catching up from other learners), else 0.", read: (s) => (s.learner === null ? null : s.learner.behindGc ? 1 : 0) },
  { name: "paxos_acceptor_promised_round", type: "gauge", help: "The highest round this acceptor promised (rnd).", read: (s) => (s.acceptor === null ? null : s.acceptor.promised) },
  { name: "paxos_learner_next_instance", type: "gauge", help: "The next instance this learner will deliver; every lower one is delivered.", read: (s) => (s.learner === null ? null : s.learner.nextInstance) },
  { name: "paxos_learner_delivered_values_total", type: "counter", help: "Client values this learner delivered.", read: (s) => (s.learner === null ? null : s.learner.delivered) },
  { name: "paxos_highest_decided_instance", type: "gauge", help: "The highest instance this process knows decided (-1: none).", read: (s) => s.highestDecided },
  { name: "paxos_socket_recv_buffer_bytes", type: "gauge", help: "UDP receive buffer size actually obtained from the OS, in bytes.", read: sockets((b) => b.recvBytes) },
  { name: "paxos_socket_send_buffer_bytes", type: "gauge", help: "UDP send buffer size actually obtained from the OS, in bytes.", read: sockets((b) => b.sendBytes) },
  { name: "paxos_tcp_recv_buffer_bytes", type: "gauge", help: "TCP receive buffer size the last connection obtained from the OS (tcp.recvBufferBytes; no sample: no tcp section), in bytes.", read: tcpSockets((b) => b.recvBytes) },
  { name: "paxos_tcp_send_buffer_bytes", type: "gauge", help: "TCP send buffer size the last connection obtained from the OS (tcp.sendBufferBytes; no sample: no tcp section), in bytes.", read: tcpSockets((b) => b.sendBytes) },
  { name: "paxos_leader", type: "gauge", help: "The coordinator this acceptor follows (owner of the highest established round).", read: (s) => s.election?.leader ?? null },
  { name: "paxos_leader_silence_seconds", type: "gauge", help: "Time since this acceptor last heard from its coordinator's round.", read: (s) => (s.election ? s.election.silenceMs / 1000 : null) },
  { name: "paxos_leader_suspect_after_seconds", type: "gauge", help: "This acceptor's suspicion timeout now (adapts to observed heartbeat jitter within suspectMs..suspectMaxMs).", read: (s) => (s.election?.suspectAfterMs === undefined ? null : s.election.suspectAfterMs / 1000) },
  { name: "paxos_leader_suspected", type: "gauge", help: "1 if this acceptor suspects its coordinator (silent past its suspicion timeout: suspectMs, raised with the heartbeat jitter it observed up to suspectMaxMs), else 0.", read: (s) => (s.election ? (s.election.suspecting ? 1 : 0) : null) },
  { name: "paxos_coordinator_lease", type: "gauge", help: "1 if this node's coordinator holds a lease acked by a majority of acceptors, else 0.", read: (s) => (s.election ? (s.election.lease ? 1 : 0) : null) },
  { name: "paxos_ledger_disk_bytes", type: "gauge", help: "Bytes of write-ahead-log segments on disk (no sample: RAM ledger or no acceptor).", read: wal((l) => l.diskBytes) },
  { name: "paxos_ledger_segments", type: "gauge", help: "Write-ahead-log segment files on disk.", read: wal((l) => l.segments) },
  { name: "paxos_ledger_trimmed_below", type: "gauge", help: "Instances below this are trimmed from the write-ahead log.", read: wal((l) => l.trimmedBelow) },
  { name: "paxos_ledger_last_sync_seconds", type: "gauge", help: "Duration of the last write-ahead-log write+sync (one group commit).", read: wal((l) => l.lastSyncUs / 1e6) },
  { name: "paxos_ledger_last_group_records", type: "gauge", help: "Records written by the last group commit.", read: wal((l) => l.lastGroupRecords) },
  { name: "paxos_socket_buffer_warning", type: "gauge", help: "1 if the socket buffers obtained are smaller than requested (see /status for the warning), else 0.", read: sockets((b) => (b.warning === null ? 0 : 1)) },
];

const INFO: MetricDoc = { name: "paxos_node_info", type: "gauge", help: "Always 1; labels identify the node: id, cluster, variant (mring|uring), roles (comma-separated)." };

/** The metrics every node registry has (besides per-counter and default process metrics). */
export const PAXOS_METRICS: readonly MetricDoc[] = [INFO, ...FIXED.map(({ name, type, help }) => ({ name, type, help }))];

const RESERVED_NAMES = new Set(PAXOS_METRICS.map((m) => m.name));

/**
 * The metric name of a NodeStatus counter: camelCase split into words, lowercased, every run of
 * characters outside [a-z0-9] turned into one "_", prefixed "paxos_", suffixed "_total" (not
 * doubled). "messagesIn" → paxos_messages_in_total, "drop.bad-frame" → paxos_drop_bad_frame_total.
 * Null when nothing is left of the name, or when it would be one of PAXOS_METRICS (those win).
 * Counters whose names map to the same metric are summed.
 */
export function counterMetricName(name: string): string | null {
  const base = name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .replace(/_total$/, "");
  if (base === "" || base === "total") return null;
  const full = `paxos_${base}_total`;
  return RESERVED_NAMES.has(full) ? null : full;
}

export interface NodeMetricsOptions {
  /**
   * Also register prom-client's default process metrics (CPU, memory, fds, event-loop lag, GC,
   * heap) in this registry. Default true. Each call starts an event-loop-delay monitor and a GC
   * observer that prom-client offers no way to stop, so processes hosting many short-lived nodes
   * (tests) should pass false.
   */
  defaultMetrics?: boolean;
}

/**
 * A registry that reads the node's status once per scrape and registers one counter for every
 * name in `counters` it has not seen before, so a new counter shows up in the scrape it appears in.
 */
class NodeRegistry extends Registry {
  private cached: NodeStatus | null = null;
  private readonly counterMetrics = new Map<string, Counter>();

  constructor(private readonly source: Pick<StatusSource, "status">) {
    super();
  }

  /** The snapshot of the current scrape: taken once, forgotten at the end of the current job. */
  snapshot(): NodeStatus {
    if (this.cached === null) {
      this.cached = this.source.status();
      queueMicrotask(() => {
        this.cached = null;
      });
    }
    return this.cached;
  }

  override metrics(): Promise<string> {
    try {
      this.registerCounters(this.snapshot());
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    return super.metrics();
  }

  override getMetricsAsJSON(): ReturnType<Registry["getMetricsAsJSON"]> {
    try {
      this.registerCounters(this.snapshot());
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    return super.getMetricsAsJSON();
  }

  private registerCounters(s: NodeStatus): void {
    for (const key of Object.keys(s.counters)) {
      const name = counterMetricName(key);
      if (name === null || this.counterMetrics.has(name)) continue;
      const c: Counter = new Counter({
        name,
        help: `Node counter "${key}" (NodeStatus.counters).`,
        registers: [this],
        collect: () => {
          // The sum of every counter mapping to this name; a counter absent from a snapshot keeps its value.
          let sum = 0;
          let seen = false;
          for (const [k, v] of Object.entries(this.snapshot().counters)) {
            if (counterMetricName(k) !== name) continue;
            seen = true;
            if (Number.isFinite(v) && v > 0) sum += v;
          }
          if (!seen) return;
          setCounter(c, sum);
        },
      });
      this.counterMetrics.set(name, c);
    }
  }
}

function setCounter(c: Counter, v: number): void {
  c.reset();
  if (Number.isFinite(v) && v > 0) c.inc(v);
}

/**
 * A fresh registry holding the node's metrics, each computed from `source.status()` when scraped.
 * `await registry.metrics()` is the Prometheus text exposition (content type `registry.contentType`).
 */
export function createNodeMetrics(source: Pick<StatusSource, "status">, options: NodeMetricsOptions = {}): Registry {
  const registry = new NodeRegistry(source);

  const info: Gauge = new Gauge({
    name: INFO.name,
    help: INFO.help,
    labelNames: ["id", "cluster", "variant", "roles"],
    registers: [registry],
    collect: () => {
      const s = registry.snapshot();
      info.reset();
      info.set({ id: String(s.id), cluster: String(s.cluster), variant: s.variant, roles: s.roles.join(",") }, 1);
    },
  });

  for (const m of FIXED) {
    if (m.type === "gauge") {
      const g: Gauge = new Gauge({
        name: m.name,
        help: m.help,
        registers: [registry],
        collect: () => {
          const v = m.read(registry.snapshot());
          if (v === null || !Number.isFinite(v)) g.remove();
          else g.set(v);
        },
      });
    } else {
      const c: Counter = new Counter({
        name: m.name,
        help: m.help,
        registers: [registry],
        collect: () => {
          const v = m.read(registry.snapshot());
          if (v === null) c.remove();
          else setCounter(c, v);
        },
      });
    }
  }

  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  return registry;
}

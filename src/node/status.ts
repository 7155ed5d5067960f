import type { ClusterConfig, NodeEntry } from "../config/schema.ts";
import type { SocketNetwork } from "./socket-network.ts";
/** What a running node reports about itself (served by the HTTP endpoint as /status and /metrics). */
export interface NodeStatus {
  readonly id: number;
  readonly cluster: number;
  readonly variant: "mring" | "uring";
  readonly roles: readonly string[];
  readonly uptimeMs: number;
  /**
   * Coordinator: whether it leads, its round, the ring of that round, instances in flight, the
   * window in use (flow control halves it), how often flow control cut it, and how many members
   * the ring lacks against the configuration (an alert: a suspected process was left out).
   */
  readonly coordinator: {
    readonly active: boolean;
    readonly round: number;
    readonly ring: readonly number[] | null;
    readonly inFlight: number;
    readonly window: number;
    /** The smallest the window has been since the node started. */
    readonly lowestWindow: number;
    readonly windowCuts: number;
    readonly ringShortBy: number;
    /** Slow-acceptor avoidance: acceptors whose heartbeat acks are slow now, and new rounds started to lay them out. */
    readonly slowAcceptors: readonly number[];
    readonly slowRelayouts: number;
    /** Multi-Ring: merging learners' "lagging" notices honoured with a catch-up skip. */
    readonly catchUpSkips: number;
  } | null;
  /**
   * Acceptor: the round promised; garbage collection: what replicas applied, what is trimmed,
   * instances held, and the replicas left out of the GC quorum now (silent past gcSuspectMs, or
   * behind the watermark: an alert, a replica is down or cannot keep up).
   */
  readonly acceptor: {
    readonly promised: number;
    readonly applied: number;
    readonly trimmedBelow: number;
    readonly heldInstances: number;
    readonly gcExcludedReplicas: readonly number[];
  } | null;
  /**
   * Acceptors: the coordinator followed, how long it has been silent, whether it is suspected
   * (silent past suspectAfterMs), and whether this node's own coordinator holds a lease.
   */
  readonly election?: {
    readonly leader: number;
    readonly silenceMs: number;
    readonly suspecting: boolean;
    readonly lease: boolean;
    /** The suspicion timeout now: suspectMs, raised with the heartbeat jitter observed, at most suspectMaxMs (see Election). */
    readonly suspectAfterMs?: number;
  } | null;
  /**
   * Learner: next instance to deliver (every lower one is delivered), values delivered, instances
   * known but not deliverable yet (backlog), flow-control notices sent, and whether it is behind
   * what every acceptor garbage-collected (it then catches up from other learners).
   */
  readonly learner: { readonly nextInstance: number; readonly delivered: number; readonly backlog: number; readonly slowDowns: number; readonly behindGc: boolean } | null;
  /** Highest instance known decided anywhere by this process (-1: none). */
  readonly highestDecided: number;
  /**
   * The cluster's leadership as this node sees it: the owner of the highest established round
   * heard of (heartbeats, Phase 2 traffic; this node itself while its coordinator leads), the ring
   * of that round once seen, and ms since that round was last heard of (null: never).
   */
  readonly leadership?: { readonly leader: number | null; readonly ring: readonly number[] | null; readonly silenceMs: number | null } | null;
  /**
   * Learner: where it started delivering and why: resumed after the last instance of its --output
   * file ("output"; `cutBytes`: a torn last write cut off, null: none), --from-instance ("flag"),
   * the key-value replica's store ("kv": the instance after what it holds), or the first instance
   * ("beginning").
   */
  readonly learnerStart?: { readonly instance: number; readonly source: "output" | "flag" | "kv" | "beginning"; readonly file: string | null; readonly cutBytes: number | null } | null;
  /** A key-value replica on this node (its `kv` section): its store and how far it applied. */
  readonly kv?: {
    readonly store: string;
    readonly sqlite: string;
    readonly keys: number;
    readonly appliedUpTo: number;
    readonly commandsApplied: number;
    readonly badCommands: number;
    /** Whether it is fetching another replica's snapshot now (state transfer). */
    readonly transferring: boolean;
    /** Snapshots it installed since it started, and the last one: where from, how large, how long after the loss. */
    readonly transfers: number;
    readonly lastTransfer: { readonly instance: number; readonly from: string; readonly bytes: number; readonly rows: number; readonly ms: number; readonly downloadMs: number } | null;
    /** Snapshots it wrote for other replicas. */
    readonly snapshotsTaken: number;
  };
  /** A partitioned key-value replica (a `kv` node of a rings configuration; see src/app/kv/partitioned-host.ts). */
  readonly kvPartitions?: {
    readonly store: string;
    readonly keys: number;
    readonly partitions: number;
    /** The partitions this replica holds. */
    readonly held: readonly number[];
    /** Per ring, the next instance of it this replica's saved state has not applied. */
    readonly appliedUpTo: Readonly<Record<string, number>>;
    readonly commandsApplied: number;
    readonly badCommands: number;
    /** Values of instances with more values than a merged revision has room for, left unapplied (the same at every replica). */
    readonly valuesBeyondRevisions: number;
    /** State transfer, as for one ring (`kv`); `lastTransfer.instance` is the global ring's next instance at the installed state. */
    readonly transferring: boolean;
    readonly transfers: number;
    readonly lastTransfer: NonNullable<NodeStatus["kv"]>["lastTransfer"];
    readonly snapshotsTaken: number;
  };
  /** Monotonic counters, by name (messages in/out, dropped packets by reason, ...). */
  readonly counters: Readonly<Record<string, number>>;
  /** UDP socket buffer sizes actually obtained, when the node uses multicast. */
  readonly socketBuffers: { readonly recvBytes: number; readonly sendBytes: number; readonly warning: string | null } | null;
  /** TCP socket buffer sizes the last connection got (as the kernel reports them: twice what was asked), with a `tcp` section; null: the kernel sizes them. */
  readonly tcpBuffers: { readonly recvBytes: number; readonly sendBytes: number; readonly warning: string | null } | null;
  /** M-Ring: whether the node receives the multicast group now (a leading coordinator does not); null: no multicast. */
  readonly multicastReceiving: boolean | null;
  /** Whether cluster traffic carries MACs (a cluster key is configured; see security.keyFile). */
  readonly authenticated: boolean;
  /** The acceptor's ledger: RAM, or the write-ahead log and its disk use (null: no acceptor role). */
  readonly ledger: LedgerStatus | null;
  /**
   * Multi-Ring (a configuration with `rings`): each ring this node takes part in, by ring id, with
   * its roles as the fields above describe them for one ring, and the instances of it that the
   * node's merge holds (null: the node merges no ring). The top-level role fields are then null.
   */
  readonly rings?: Readonly<Record<string, RingStatus>>;
}

/** One ring's part of a Multi-Ring node's status. */
export type RingStatus = Pick<NodeStatus, "coordinator" | "acceptor" | "election" | "learner"> & {
  readonly leadership: NonNullable<NodeStatus["leadership"]>;
  readonly mergeBacklog: number | null;
};

export type LedgerStatus =
  | { readonly kind: "ram" }
  | {
      readonly kind: "wal";
      readonly dir: string;
      readonly sync: "fsync" | "none";
      readonly segments: number;
      readonly diskBytes: number;
      readonly trimmedBelow: number;
      readonly lastGroupRecords: number;
      readonly lastSyncUs: number;
      readonly recoveredRecords: number;
      readonly truncatedBytes: number;
    };

/** One line of the node's recent-event log (the seed's per-node event page). */
export interface NodeEvent {
  readonly at: string;
  readonly level: "debug" | "info" | "warn" | "error";
  readonly msg: string;
}

export interface StatusSource {
  status(): NodeStatus;
  events(): readonly NodeEvent[];
  /** /ready's answer (see readiness.ts); a source without it is always ready. */
  ready?(): { readonly ready: boolean; readonly reasons: readonly string[] };
}

/**
 * The fields of /status that say which node this is and how its sockets stand: the same for a
 * node of one ring and a node of several.
 */
export function nodeIdentity(
  entry: Pick<NodeEntry, "id" | "roles">,
  config: Pick<ClusterConfig, "cluster" | "variant">,
  network: Pick<SocketNetwork, "socketBuffers" | "tcpBuffers" | "multicastReceiving" | "authenticated">,
  uptimeMs: number,
): Pick<NodeStatus, "id" | "cluster" | "variant" | "roles" | "uptimeMs" | "socketBuffers" | "tcpBuffers" | "multicastReceiving" | "authenticated"> {
  return {
    id: entry.id,
    cluster: config.cluster,
    variant: config.variant,
    roles: entry.roles,
    uptimeMs: Math.round(uptimeMs),
    socketBuffers: network.socketBuffers,
    tcpBuffers: network.tcpBuffers,
    multicastReceiving: network.multicastReceiving,
    authenticated: network.authenticated,
  };
}

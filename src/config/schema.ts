import { z } from "zod";

/** The roles a node of the configuration can take. "client" is a proposer that also learns. */
export const ROLES = ["coordinator", "acceptor", "learner", "proposer", "client"] as const;
export type Role = (typeof ROLES)[number];

const port = z.number().int().min(1).max(65535);
const ms = z.number().int().min(0).max(3_600_000);
const nodeId = z.number().int().min(0).max(255);
/** Multi-Ring Paxos: a ring's id (rings are merged in ascending id order) and a group's. */
const ringId = z.number().int().min(0).max(65535);
const groupId = z.number().int().min(0).max(65535);

/** A key-value replica on a node (learner and proposer, with an `http` port for its API). */
export const KvNodeSchema = z.strictObject({
  /** The replica's directory: its SQLite store (state, client table, cursor) lives there. */
  dir: z.string().min(1),
});

/** One process of the cluster. */
export const NodeSchema = z.strictObject({
  id: nodeId,
  host: z.string().min(1),
  /** TCP port of the node's ring / client / retransmission traffic. */
  port,
  /** HTTP port for /metrics, /status and the event page (none when absent). */
  http: port.optional(),
  /** This node's multicast interface address, overriding multicast.interface (hosts differ). */
  multicastInterface: z.string().optional(),
  roles: z.array(z.enum(ROLES)).min(1),
  /** Multi-Ring Paxos (with `rings` only): the groups a learner or client learns (a client without it: every group). */
  subscribe: z.array(groupId).optional(),
  /** This node hosts a key-value replica (paxos kv): see KvNodeSchema. */
  kv: KvNodeSchema.optional(),
});

/** multicast.maxDatagram: largest accepted (UDP allows ~64 KB) and default. */
export const MAX_DATAGRAM = 65_000;
export const DEFAULT_DATAGRAM = 12 * 1024;

export const MulticastSchema = z.strictObject({
  group: z.string(),
  port,
  /** Local interface address multicast is sent and received on (127.0.0.1 on one host). */
  interface: z.string().default("0.0.0.0"),
  ttl: z.number().int().min(0).max(255).default(1),
  /** Socket buffers asked for (the thesis used 16 MB; Linux caps at net.core.rmem_max). */
  recvBufferBytes: z.number().int().min(0).max(1 << 30).default(16 * 1024 * 1024),
  sendBufferBytes: z.number().int().min(0).max(1 << 30).default(16 * 1024 * 1024),
  maxDatagram: z.number().int().min(512).max(MAX_DATAGRAM).default(DEFAULT_DATAGRAM),
});

/**
 * TCP links' socket buffers (SO_SNDBUF, SO_RCVBUF: net/tcp-buffers.ts), for every connection a
 * node makes or accepts; 0: the kernel's default and autotuning. U-Ring's ring runs over them
 * (thesis §3.5).
 */
export const TcpSchema = z.strictObject({
  sendBufferBytes: z.number().int().min(0).max(1 << 30).default(0),
  recvBufferBytes: z.number().int().min(0).max(1 << 30).default(0),
});

/** The settings of a multicast section when none is given (every key but group and port has a default). */
export const MULTICAST_DEFAULTS = MulticastSchema.omit({ group: true, port: true }).parse({});

/** Protocol knobs; defaults follow the thesis (8 KB M-Ring batches, 32 KB U-Ring). */
export const ProtocolSchema = z.strictObject({
  window: z.number().int().min(1).max(1_000_000).default(32),
  batchBytes: z.number().int().min(1).max(60 * 1024 * 1024).optional(),
  batchDelayMs: ms.default(0),
  tickMs: z.number().int().min(1).max(1000).default(1),
  retransmitMs: ms.default(20),
  retriesBeforeNewRound: z.number().int().min(1).max(1000).default(3),
  phase1GraceMs: ms.default(5),
  catchupMs: ms.default(15),
  catchupBatch: z.number().int().min(1).max(100_000).default(64),
  learnerBufferInstances: z.number().int().min(1).max(10_000_000).default(1024),
  maxPendingValues: z.number().int().min(1).max(10_000_000).default(4096),
  proposerTimeoutMs: ms.default(80),
  proposerWindow: z.number().int().min(1).max(4096).default(8),
  proposerQueue: z.number().int().min(1).max(10_000_000).default(1024),
  helloMs: ms.default(30),
  /** Coordinator heartbeats; the lease acceptors grant; how long until they suspect it; stagger between candidates. */
  heartbeatMs: ms.default(20),
  leaseMs: ms.default(150),
  suspectMs: ms.default(250),
  /** Bound on the suspicion timeout, which rises above suspectMs with the heartbeat jitter acceptors observe. */
  suspectMaxMs: ms.default(2000),
  staggerMs: ms.default(100),
  /** Garbage collection: replicas (role learner) report what they applied this often; 0: no garbage collection. */
  appliedMs: ms.default(50),
  /** A replica silent this long leaves the garbage-collection quorum (a dead replica must not stop the cluster). */
  gcSuspectMs: z.number().int().min(1).max(3_600_000).default(2000),
  /** A learner behind what acceptors trimmed that no other learner brought up to date this long gives the missing instances up as lost (reported). */
  catchupGiveUpMs: z.number().int().min(1).max(3_600_000).default(5000),
  /** Acceptors keep this many applied instances below the garbage-collection point, for learners' catch-up. */
  retainInstances: z.number().int().min(0).max(10_000_000).default(512),
  /** Bound: the coordinator proposes nothing this far beyond what f+1 replicas applied (0: no bound; default: 2048 or 4 windows). */
  maxUnappliedInstances: z.number().int().min(0).max(100_000_000).optional(),
  /** Bound: delivered instances a replica keeps to bring other learners up to date. */
  learnerRetainInstances: z.number().int().min(0).max(10_000_000).default(512),
  /** Flow control: a learner this many instances behind tells the coordinator, at most every flowNoticeMs. */
  flowBacklogInstances: z.number().int().min(1).max(10_000_000).default(256),
  flowNoticeMs: z.number().int().min(1).max(3_600_000).default(20),
  /** Slow-acceptor avoidance: heartbeat acks this slow on average (and 4x the median) take an acceptor off the ring's path; 0: off. */
  slowAcceptorMs: ms.default(50),
  /**
   * Flexible quorums (seed 003 ch. 4): acceptors a Phase 1 (a new leader) and a Phase 2 (every
   * decision; M-Ring's ring) need, with phase1Quorum + phase2Quorum above the acceptors. Absent: a
   * majority each. A smaller Phase 2 quorum decides over fewer acceptors; the larger Phase 1
   * quorum it takes leaves fewer failures a new leader survives.
   */
  phase1Quorum: z.number().int().min(1).max(255).optional(),
  phase2Quorum: z.number().int().min(1).max(255).optional(),
});

/** The same keys without their defaults, every one optional: a ring's overrides of a top-level section. */
function overrides<S extends Record<string, z.ZodType>>(shape: S): { [K in keyof S]: z.ZodOptional<S[K] extends z.ZodDefault<infer I> ? I : S[K]> } {
  const out: Record<string, z.ZodType> = {};
  for (const [k, v] of Object.entries(shape)) out[k] = (v instanceof z.ZodDefault ? (v.unwrap() as z.ZodType) : v).optional();
  return out as { [K in keyof S]: z.ZodOptional<S[K] extends z.ZodDefault<infer I> ? I : S[K]> };
}

/**
 * A ring's own ip-multicast group and port (Multi-Ring Paxos); its other keys, when absent, are
 * the top-level `multicast` section's (or that section's defaults).
 */
export const RingMulticastSchema = z.strictObject({
  ...overrides(MulticastSchema.omit({ group: true, port: true }).shape),
  group: z.string(),
  port,
});

/** A ring's protocol keys: each one given overrides the top-level `protocol` for this ring. */
export const RingProtocolSchema = z.strictObject(overrides(ProtocolSchema.shape));

/**
 * One ring of Multi-Ring Paxos (thesis ch. 5): its acceptors and initial coordinator by node id
 * (nodes keep their roles), its own multicast group (M-Ring) and protocol overrides. Election,
 * garbage collection, flow control and catch-up are per ring.
 */
export const RingSchema = z.strictObject({
  id: ringId,
  /** Default: the top-level `variant`. */
  variant: z.enum(["mring", "uring"]).optional(),
  /** In preference order, as the single-ring acceptors are in `nodes` order. */
  acceptors: z.array(nodeId).min(1).max(255),
  coordinator: nodeId,
  /** Default (M-Ring): the top-level `multicast` section. */
  multicast: RingMulticastSchema.optional(),
  protocol: RingProtocolSchema.optional(),
});

/** Bounds: rings and groups of one configuration. */
export const MAX_RINGS = 256;
export const MAX_GROUPS = 4096;

/** A group clients propose to and learners subscribe to; several groups may share a ring. */
export const GroupSchema = z.strictObject({
  id: groupId,
  ring: ringId,
});

/**
 * Multi-Ring Paxos parameters (thesis §5.2.2): λ, the instances per second any ring is expected
 * to reach (a ring's coordinator makes up a shortfall with skip instances; 0: no skips); Δ, how
 * often (ms) the coordinator samples its rate; M, the instances a learner takes from each ring per
 * turn of the merge. The defaults come from bench/multiring-sweeps.ts (README, Results): Δ 1 ms
 * waited no less than 5 ms and cost more CPU, larger M only waited longer, λ 1,000 and 5,000 both
 * kept merges in step.
 */
export const MultiRingSchema = z.strictObject({
  lambdaPerSecond: z.number().min(0).max(10_000_000).default(2000),
  deltaMs: z.number().int().min(1).max(60_000).default(5),
  m: z.number().int().min(1).max(1_000_000).default(1),
});

/**
 * The key-value service over Multi-Ring Paxos (with `rings` only): keys hash to the partitions
 * (one group each, in order: partition i is `partitions[i]`); a command on several partitions goes
 * through `global`, a group every replica subscribes to (thesis §4.2.2: one order for them all).
 */
export const KvPartitionsSchema = z.strictObject({
  partitions: z.array(groupId).min(1).max(1024),
  global: groupId,
});

export const LedgerSchema = z.discriminatedUnion("kind", [
  /** RAM "ink": safe only while a majority of acceptors stays up. */
  z.strictObject({ kind: z.literal("ram") }),
  /** Disk "ink": a write-ahead log per acceptor in `<dir>/node-<id>` (relative to the working directory). */
  z.strictObject({
    kind: z.literal("wal"),
    dir: z.string().min(1),
    /** fsync: fdatasync before any reply that depends on a record; none: written to the OS only. */
    sync: z.enum(["fsync", "none"]).default("fsync"),
    segmentBytes: z
      .number()
      .int()
      .min(64 * 1024)
      .max(4 * 1024 * 1024 * 1024)
      .default(64 * 1024 * 1024),
  }),
]);

/**
 * Authentication of cluster traffic (src/wire/auth.ts): a key file (`paxos keygen > FILE`), or
 * during a rotation two, the new one first (messages are sealed with it; either opens them).
 */
export const SecuritySchema = z
  .strictObject({
    keyFile: z.string().min(1).optional(),
    keyFiles: z.array(z.string().min(1)).min(1).max(2).optional(),
  })
  .refine((s) => !(s.keyFile !== undefined && s.keyFiles !== undefined), { message: "give keyFile or keyFiles, not both" });

export const ConfigSchema = z.strictObject({
  /** Packets carrying another cluster id are dropped. */
  cluster: z.number().int().min(0).max(0xffffffff).default(1),
  variant: z.enum(["mring", "uring"]),
  nodes: z.array(NodeSchema).min(1).max(256),
  multicast: MulticastSchema.optional(),
  tcp: TcpSchema.optional(),
  protocol: ProtocolSchema.default(ProtocolSchema.parse({})),
  ledger: LedgerSchema.default({ kind: "ram" }),
  security: SecuritySchema.optional(),
  /** Multi-Ring Paxos (configuration only so far): absent, the configuration is one ring, id 0. */
  rings: z.array(RingSchema).min(1).max(MAX_RINGS).optional(),
  groups: z.array(GroupSchema).min(1).max(MAX_GROUPS).optional(),
  multiRing: MultiRingSchema.optional(),
  /** The key-value service's partitions (with `rings` only; see KvPartitionsSchema). */
  kv: KvPartitionsSchema.optional(),
});

export type NodeEntry = z.infer<typeof NodeSchema>;
export type RingEntry = z.infer<typeof RingSchema>;
export type GroupEntry = z.infer<typeof GroupSchema>;
export type ClusterConfig = z.infer<typeof ConfigSchema>;

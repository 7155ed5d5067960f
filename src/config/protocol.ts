import { DEFAULT_TIMING, defaultBatchBytes, validateProtocolConfig, type ProtocolConfig, type Variant } from "../core/config.ts";
import type { NodeId } from "../core/types.ts";
import type { ClusterConfig } from "./schema.ts";

/** A `protocol` section with its defaults applied (the top-level one, or a ring's over it). */
export type ProtocolSettings = ClusterConfig["protocol"];

/** Who takes part in one ring, by node id: what the configuration's roles (or a ring's lists) say. */
export interface RingMembers {
  /** Every process of the ring, in `nodes` order (U-Ring lays its ring out in this order). */
  readonly processes: readonly NodeId[];
  /** In preference order. */
  readonly acceptors: readonly NodeId[];
  readonly learners: readonly NodeId[];
  readonly proposers: readonly NodeId[];
  /** Learners that are application replicas (role learner; a client's learner is not one). */
  readonly replicas: readonly NodeId[];
  readonly coordinator: NodeId;
}

/** Default bound on instances proposed beyond what replicas applied: room for several windows. */
function defaultMaxUnapplied(window: number): number {
  return Math.max(DEFAULT_TIMING.maxUnappliedInstances, 4 * window);
}

/** Milliseconds to ticks, at least 1 when the duration is not 0. */
export function ticks(ms: number, tickMs: number): number {
  return ms === 0 ? 0 : Math.max(1, Math.round(ms / tickMs));
}

/**
 * The one builder of the pure cores' configuration, for the single ring of a configuration
 * without `rings` and for each ring of one with them: durations to ticks, variant defaults, then
 * the cores' own validation (which throws on what they cannot run with).
 */
export function buildProtocolConfig(variant: Variant, p: ProtocolSettings, m: RingMembers): ProtocolConfig {
  const cfg: ProtocolConfig = {
    variant,
    maxNodes: 256,
    processes: m.processes,
    acceptors: m.acceptors,
    ...(p.phase1Quorum !== undefined ? { phase1Quorum: p.phase1Quorum } : {}),
    ...(p.phase2Quorum !== undefined ? { phase2Quorum: p.phase2Quorum } : {}),
    learners: m.learners,
    proposers: m.proposers,
    coordinator: m.coordinator,
    window: p.window,
    batchBytes: p.batchBytes ?? defaultBatchBytes(variant),
    batchDelayTicks: ticks(p.batchDelayMs, p.tickMs),
    maxPendingValues: p.maxPendingValues,
    retransmitTicks: ticks(p.retransmitMs, p.tickMs),
    retriesBeforeNewRound: p.retriesBeforeNewRound,
    phase1GraceTicks: ticks(p.phase1GraceMs, p.tickMs),
    catchupTicks: ticks(p.catchupMs, p.tickMs),
    catchupBatch: p.catchupBatch,
    learnerBufferInstances: p.learnerBufferInstances,
    proposerTimeoutTicks: ticks(p.proposerTimeoutMs, p.tickMs),
    proposerWindow: p.proposerWindow,
    proposerQueue: p.proposerQueue,
    helloTicks: ticks(p.helloMs, p.tickMs),
    heartbeatTicks: ticks(p.heartbeatMs, p.tickMs),
    leaseTicks: ticks(p.leaseMs, p.tickMs),
    suspectTicks: ticks(p.suspectMs, p.tickMs),
    suspectMaxTicks: ticks(p.suspectMaxMs, p.tickMs),
    staggerTicks: ticks(p.staggerMs, p.tickMs),
    replicas: m.replicas,
    appliedTicks: ticks(p.appliedMs, p.tickMs),
    gcSuspectTicks: ticks(p.gcSuspectMs, p.tickMs),
    catchupGiveUpTicks: ticks(p.catchupGiveUpMs, p.tickMs),
    retainInstances: p.retainInstances,
    maxUnappliedInstances: p.maxUnappliedInstances ?? defaultMaxUnapplied(p.window),
    learnerRetainInstances: p.learnerRetainInstances,
    flowBacklogInstances: p.flowBacklogInstances,
    flowNoticeTicks: ticks(p.flowNoticeMs, p.tickMs),
    slowAcceptorTicks: ticks(p.slowAcceptorMs, p.tickMs),
  };
  validateProtocolConfig(cfg);
  return cfg;
}

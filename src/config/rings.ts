/**
 * Multi-Ring Paxos' rings as the runtime will run them (configuration only so far: the runtime
 * comes next). One RingPlan per ring: the pure cores' ProtocolConfig for it, built by the same
 * builder as the single-ring configuration's, and what a ring needs beyond ProtocolConfig (its
 * multicast group, its groups, the skip pacing). A configuration without `rings` has exactly one
 * plan, ring 0, whose ProtocolConfig is protocolConfig(config)'s.
 */
import type { ProtocolConfig } from "../core/config.ts";
import { multicastGroup, type MulticastGroup } from "./multicast-group.ts";
import { buildProtocolConfig, ticks } from "./protocol.ts";
import { groupsOfRing, mergedRings, multiRingParams, ringDefinitions, ringMembers, ringProtocol, type GroupId, type RingDefinition, type RingId } from "./ring-topology.ts";
import type { ClusterConfig } from "./schema.ts";
import { MAX_RING } from "../wire/limits.ts";

export { ringOfGroup, subscriptions, SINGLE_GROUP, SINGLE_RING, type GroupId, type RingId, type Subscription } from "./ring-topology.ts";

/**
 * Skip instances (thesis §5.2.2, Algorithm 1, Task 2), as the coordinator's skip pacer takes them:
 * every `intervalTicks` (Δ) the ring's coordinator makes up the shortfall of the instances it
 * proposed against `perSecond` (λ) with one skip instance. perSecond 0: no skips (a configuration
 * without `rings`, whose single ring is merged with nothing, or a ring no learner merges with
 * another: see mergedRings).
 */
export interface SkipPlan {
  readonly perSecond: number;
  readonly intervalTicks: number;
}

/** Everything one ring runs with. */
export interface RingPlan {
  readonly id: RingId;
  readonly protocol: ProtocolConfig;
  /** The ring's M-Ring multicast group (null: U-Ring). */
  readonly multicast: MulticastGroup | null;
  readonly skip: SkipPlan;
  /** The groups on this ring, in `groups` order. */
  readonly groups: readonly GroupId[];
  /** Milliseconds per tick of `protocol` and `skip` (one clock for every ring of a process: `protocol.tickMs`). */
  readonly tickMs: number;
}

function ringPlan(c: ClusterConfig, r: RingDefinition, merged: ReadonlySet<RingId>): RingPlan {
  const { lambdaPerSecond, deltaMs } = multiRingParams(c);
  const tickMs = c.protocol.tickMs;
  return {
    id: r.id,
    protocol: buildProtocolConfig(r.variant, ringProtocol(c, r), ringMembers(c, r)),
    multicast: multicastGroup(c, undefined, r.id),
    skip: { perSecond: c.rings === undefined || !merged.has(r.id) ? 0 : lambdaPerSecond, intervalTicks: ticks(deltaMs, tickMs) },
    groups: groupsOfRing(c, r.id),
    tickMs,
  };
}

/** One plan per ring, in ascending ring id (the merge's order). Throws what the cores refuse. */
export function ringPlans(c: ClusterConfig): RingPlan[] {
  const merged = mergedRings(c);
  return ringDefinitions(c).map((r) => ringPlan(c, r, merged));
}

/** What the cores refuse of each ring, one line each naming the ring (`rings[i].protocol: …`); none for a valid configuration. */
export function ringPlanProblems(c: ClusterConfig): string[] {
  return ringDefinitions(c).flatMap((r) => {
    // A U-Ring ring holds every process of the ring; its member list travels on the wire (MAX_RING).
    const onRing = r.variant === "uring" && r.index !== null && r.coordinator !== null ? ringMembers(c, r).processes.length : 0;
    if (onRing > MAX_RING) return [`rings[${r.index}]: ${onRing} processes on this U-Ring ring (its acceptors, and the learners and proposers of its groups): at most ${MAX_RING} (the ring's member list on the wire)`];
    try {
      ringPlan(c, r, new Set());
      return [];
    } catch (e) {
      return [`${r.index === null ? "protocol" : `rings[${r.index}].protocol`}: ${(e as Error).message}`];
    }
  });
}

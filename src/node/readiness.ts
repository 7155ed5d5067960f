import type { NodeStatus } from "./status.ts";

/** What /ready answers: ready, or why not (one reason per unmet condition). */
export interface Readiness {
  readonly ready: boolean;
  readonly reasons: readonly string[];
}

export interface ReadinessLimits {
  /** A leader not heard of (heartbeats, Phase 2 traffic) for longer than this is not counted on. */
  readonly leaderSilenceMs: number;
  /** A learner with more undelivered instances known than this is not caught up. */
  readonly backlogInstances: number;
}

/**
 * A node is ready to serve when the cluster has a leader with a ring (its own coordinator leads an
 * established round, or the leader's heartbeats or Phase 2 traffic arrive: an active coordinator
 * has laid out its ring), and, for a learner, when it is caught up (no instances given up to
 * garbage collection, and a backlog within the limit).
 */
export function readiness(s: NodeStatus, limits: ReadinessLimits): Readiness {
  const reasons: string[] = [];
  const c = s.coordinator;
  const leadingItself = c !== null && c.active && c.ring !== null;
  if (!leadingItself) {
    const v = s.leadership;
    if (v === undefined || v === null || v.leader === null) reasons.push("no leader known yet");
    else if (v.silenceMs === null || v.silenceMs > limits.leaderSilenceMs)
      reasons.push(`leader ${v.leader} not heard of for ${v.silenceMs === null ? "ever" : `${Math.round(v.silenceMs)} ms`}`);
  }
  const l = s.learner;
  if (l !== null) {
    if (l.behindGc) reasons.push(`learner behind what acceptors retain (next instance ${l.nextInstance}): catching up from other learners`);
    else if (l.backlog > limits.backlogInstances) reasons.push(`learner catching up: ${l.backlog} instances behind (next instance ${l.nextInstance})`);
  }
  return { ready: reasons.length === 0, reasons };
}

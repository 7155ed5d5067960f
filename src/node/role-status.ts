import type { ProtocolConfig } from "../core/config.ts";
import type { ProcessStatus } from "../core/process-status.ts";
import { phase2Quorum } from "../core/quorum.ts";
import type { RingStatus } from "./status.ts";

/**
 * Members the ring of a coordinator's round lacks against its ring's configuration (an alert: a
 * suspected process was left out): M-Ring rings hold a Phase 2 quorum of the acceptors, U-Ring
 * rings every process. 0 when no ring is laid out.
 */
export function ringShortBy(cfg: Pick<ProtocolConfig, "variant" | "acceptors" | "processes" | "phase2Quorum">): (ring: readonly number[] | null) => number {
  const full = cfg.variant === "mring" ? phase2Quorum(cfg) : cfg.processes.length;
  return (ring) => (ring === null ? 0 : Math.max(0, full - ring.length));
}

/** A process' roles as /status shows them (durations in ms); `shortBy`: members the coordinator's ring lacks. */
export function roleStatus(s: ProcessStatus, tickMs: number, shortBy: (ring: readonly number[] | null) => number): Omit<RingStatus, "mergeBacklog"> {
  const ms = (ticks: number): number => ticks * tickMs;
  return {
    coordinator: s.coordinator
      ? {
          active: s.coordinator.active,
          round: s.coordinator.round,
          ring: s.coordinator.ring,
          inFlight: s.coordinator.inFlight,
          window: s.coordinator.flowWindow,
          lowestWindow: s.coordinator.lowestFlowWindow,
          windowCuts: s.coordinator.windowCuts,
          ringShortBy: shortBy(s.coordinator.ring),
          slowAcceptors: s.coordinator.slowAcceptors,
          slowRelayouts: s.coordinator.slowRelayouts,
          catchUpSkips: s.coordinator.catchUpSkips,
        }
      : null,
    acceptor: s.acceptor,
    election: s.election
      ? { leader: s.election.leader, silenceMs: ms(s.election.silence), suspecting: s.election.suspecting, suspectAfterMs: ms(s.election.suspectAfter), lease: s.coordinator?.lease ?? false }
      : null,
    learner: s.learner,
    leadership: { leader: s.leadership.leader, ring: s.leadership.ring, silenceMs: s.leadership.silence === null ? null : ms(s.leadership.silence) },
  };
}

import type { ProcessStatus } from "../core/process-status.ts";
import type { RingStatus } from "./status.ts";

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

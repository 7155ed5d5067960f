import type { Instance, NodeId, Ring, Round, Tick } from "./types.ts";

/**
 * One snapshot of a process' roles, in the core's units (ticks): what /status, the metrics and
 * the simulator read, so that none of them reaches into a role's internals.
 */
export interface ProcessStatus {
  /** Its coordinator: whether active, its round and ring, instances in flight, the flow window and its cuts, slow-acceptor avoidance, the lease. */
  readonly coordinator: {
    readonly active: boolean;
    readonly round: Round;
    readonly ring: Ring | null;
    readonly inFlight: number;
    readonly flowWindow: number;
    readonly windowCuts: number;
    /** The smallest the flow window has been (flowWindow now). */
    readonly lowestFlowWindow: number;
    readonly slowAcceptors: readonly NodeId[];
    readonly slowRelayouts: number;
    /** Multi-Ring: learners' "lagging" notices honoured with a catch-up skip. */
    readonly catchUpSkips: number;
    readonly lease: boolean;
  } | null;
  /** Its acceptor: the round promised, what the GC quorum applied, what is trimmed, instances held, replicas left out of the GC quorum. */
  readonly acceptor: {
    readonly promised: Round;
    readonly applied: Instance;
    readonly trimmedBelow: Instance;
    readonly heldInstances: number;
    readonly gcExcludedReplicas: readonly NodeId[];
  } | null;
  /** Its acceptor's election: the leader followed, its silence, whether suspected, the suspicion timeout now. */
  readonly election: { readonly leader: NodeId; readonly silence: Tick; readonly suspecting: boolean; readonly suspectAfter: Tick } | null;
  /** Its learner: the next instance to deliver, values delivered, instances waiting, flow-control notices sent, whether behind what acceptors retain. */
  readonly learner: { readonly nextInstance: Instance; readonly delivered: number; readonly backlog: number; readonly slowDowns: number; readonly behindGc: boolean; readonly malformedPacks: number } | null;
  /** Its proposer: its client id, values not yet known delivered, values refused (queue full), re-sends, its send window now and the cuts made to it. */
  readonly proposer: { readonly clientId: number; readonly inFlight: number; readonly refused: number; readonly resent: number; readonly sendWindow: number; readonly sendWindowCuts: number } | null;
  /**
   * The cluster's leadership as this process sees it: itself while its coordinator leads an
   * established round; else the owner of the highest round heard of (null: none yet), that
   * round's ring once a message carried it, and the ticks since it was last heard of.
   */
  readonly leadership: { readonly leader: NodeId | null; readonly ring: Ring | null; readonly silence: Tick | null };
}

import { invariant } from "./assert.ts";
import { quorumProblem, quorumSize } from "./quorum.ts";
import { MAX_OUT_OF_ORDER_SEQS } from "./duplicate-filter.ts";
import type { NodeId } from "./types.ts";

export type Variant = "mring" | "uring";

/**
 * Planted bugs for the simulator's self-tests. Only tests set these (never a CLI flag): they prove
 * the checkers can fail.
 */
export interface PlantedBugs {
  /** Acceptor votes in Phase 2 even below the round it promised. */
  readonly acceptorIgnoresPromise?: boolean;
  /** Learner delivers a batch as soon as it sees it proposed, before any decision. */
  readonly learnerDeliversEarly?: boolean;
  /** Coordinator ignores the votes reported in Phase 1B and proposes its own values. */
  readonly coordinatorIgnoresVotes?: boolean;
  /** Acceptor answers a 1A of the round it already promised (c-rnd >= rnd instead of >). */
  readonly acceptorRepromisesRound?: boolean;
  /** Acceptor acks heartbeats (grants leases) but promises any candidate's 1A anyway. */
  readonly acceptorIgnoresLease?: boolean;
  /** Multi-Ring: the coordinator proposes its skip instance into the instance it proposed values into last. */
  readonly coordinatorSkipsProposedInstance?: boolean;
  /** Flexible quorums that need not intersect (phase1Quorum + phase2Quorum <= acceptors) pass validation. */
  readonly quorumsMissEachOther?: boolean;
}

/** Static protocol configuration shared by every process of one ring. Durations are in ticks. */
export interface ProtocolConfig {
  readonly variant: Variant;
  /** Round numbers are counter * maxNodes + nodeId; every node id is < maxNodes. */
  readonly maxNodes: number;
  /** Every process, in ring order (U-Ring lays its ring out in this order). */
  readonly processes: readonly NodeId[];
  /** Acceptors in preference order (M-Ring fills its ring from these; the rest are spares). */
  readonly acceptors: readonly NodeId[];
  /** Flexible quorums (quorum.ts): acceptors a Phase 1 and a Phase 2 need, q1 + q2 > acceptors. Absent: a majority each. */
  readonly phase1Quorum?: number;
  readonly phase2Quorum?: number;
  readonly learners: readonly NodeId[];
  readonly proposers: readonly NodeId[];
  /** The acceptor that coordinates at start. */
  readonly coordinator: NodeId;
  /** Bound: instances proposed and not yet known decided. */
  readonly window: number;
  /** A batch is closed at this many payload bytes... */
  readonly batchBytes: number;
  /** ...or once its oldest value waited this long (0: propose as soon as the window allows). */
  readonly batchDelayTicks: number;
  /** Bound: client values queued at the coordinator; beyond it values are dropped (their proposer retries). */
  readonly maxPendingValues: number;
  /** Coordinator re-sends 1A/2A after this long without an answer. */
  readonly retransmitTicks: number;
  /** After this many fruitless re-sends the coordinator starts a higher round with a new ring. */
  readonly retriesBeforeNewRound: number;
  /** Once Phase 1 has a quorum, wait this long for the remaining processes before laying out the ring. */
  readonly phase1GraceTicks: number;
  /** Learner asks an acceptor for missing instances after this long without progress. */
  readonly catchupTicks: number;
  /** Bound: instances asked for, and returned, per catch-up request. */
  readonly catchupBatch: number;
  /** Bound: a learner keeps values and decisions at most this many instances ahead of delivery. */
  readonly learnerBufferInstances: number;
  /** Proposer re-sends a value not delivered within this long. */
  readonly proposerTimeoutTicks: number;
  /** Bound: a proposer's values in flight; more are queued (up to proposerQueue) or refused. */
  readonly proposerWindow: number;
  readonly proposerQueue: number;
  /** U-Ring: a process left out of the ring asks to rejoin this often. */
  readonly helloTicks: number;
  /** The coordinator tells every acceptor it is alive this often (heartbeat). */
  readonly heartbeatTicks: number;
  /**
   * An acceptor that acked a heartbeat refuses other candidates' 1A for this long (by its own
   * clock): the coordinator's lease. The coordinator counts its lease shorter (clock drift).
   */
  readonly leaseTicks: number;
  /**
   * An acceptor that has not heard from the coordinator for this long becomes a candidate: the
   * floor of its suspicion timeout, which follows the silences it saw the leader survive (see
   * Election) up to suspectMaxTicks...
   */
  readonly suspectTicks: number;
  /** ...the bound: a dead leader is suspected within this long, however jittery its heartbeats were. */
  readonly suspectMaxTicks: number;
  /** ...after this much more per acceptor ranked before it (the next acceptor after the coordinator goes first). */
  readonly staggerTicks: number;
  /**
   * Learners that apply every instance from the beginning (application replicas; a client's
   * learner is not one). Their reports of what they applied drive garbage collection. Default:
   * every learner.
   */
  readonly replicas?: readonly NodeId[];
  /** A replica reports the instance it applied up to this often (0: never; no garbage collection). */
  readonly appliedTicks: number;
  /**
   * Garbage collection: once min(f+1, replicas) replicas applied an instance, acceptors free (RAM)
   * or trim (WAL) everything below it except the last retainInstances, kept for learners' catch-up.
   */
  readonly retainInstances: number;
  /**
   * A replica that reported nothing for this long leaves the GC quorum (see GcQuorum), so that a
   * dead replica does not stop the cluster while another keeps applying.
   */
  readonly gcSuspectTicks: number;
  /**
   * A learner behind what every acceptor garbage-collected, which no other learner brought up to
   * date for this long, gives the missing instances up as lost to it (reported, never silent) and
   * goes on from the first instance an acceptor still holds.
   */
  readonly catchupGiveUpTicks: number;
  /** Bound: the coordinator proposes no instance this far beyond what f+1 replicas applied (0: no bound). */
  readonly maxUnappliedInstances: number;
  /** Bound: delivered instances a learner keeps to bring other learners up to date (0: none). */
  readonly learnerRetainInstances: number;
  /** Flow control: a learner this many instances behind what it knows of tells the coordinator to slow down... */
  readonly flowBacklogInstances: number;
  /** ...at most this often; the coordinator halves its window at most once per such period and grows it back by one per decided instance after four quiet periods. */
  readonly flowNoticeTicks: number;
  /**
   * Slow-acceptor avoidance (the thesis' chapter 7): an acceptor whose heartbeat acks take this
   * long on average, and SLOW_FACTOR times the median, is laid out of the path of Phase 2 in a new
   * round (M-Ring: a spare; U-Ring: past the deciding acceptor) while enough others answer. 0: off.
   */
  readonly slowAcceptorTicks: number;
  /**
   * Multi-Ring Paxos (thesis §5.2.2): this ring's coordinator proposes skip instances up to
   * `skipPerInterval` (λ·Δ, fractional allowed) every `skipIntervalTicks` (Δ). Absent: no skips
   * (a single ring needs none).
   */
  readonly multiRing?: { readonly skipPerInterval: number; readonly skipIntervalTicks: number };
  readonly bugs?: PlantedBugs;
}

/**
 * What a batch costs beyond its payload: every value carries (client, seq, group, length) on the wire.
 * Batches close at batchBytes counting payload plus this per value, so they fit a datagram.
 */
export const VALUE_OVERHEAD_BYTES = 24;
/** Room a 2A needs besides its batch (header, round, instance, vid, ring, piggy-backed decisions). */
export const PHASE2A_HEADROOM_BYTES = 2048;

/** M-Ring: the largest client value a 2A datagram of `maxDatagram` bytes carries (a batch of one). */
export function maxValueBytes(maxDatagram: number): number {
  return maxDatagram - PHASE2A_HEADROOM_BYTES - VALUE_OVERHEAD_BYTES;
}

/** Default batch size per variant, as in the thesis: 8 KB datagrams for M-Ring, 32 KB for U-Ring. */
export function defaultBatchBytes(v: Variant): number {
  return v === "mring" ? 8 * 1024 : 32 * 1024;
}

/** A proposer's window may not exceed the learners' duplicate-filter bound (see learner.ts). */
export const MAX_PROPOSER_WINDOW = MAX_OUT_OF_ORDER_SEQS;

export const DEFAULT_TIMING = {
  window: 32,
  batchBytes: 8 * 1024,
  batchDelayTicks: 0,
  maxPendingValues: 4096,
  retransmitTicks: 20,
  retriesBeforeNewRound: 3,
  phase1GraceTicks: 5,
  catchupTicks: 15,
  catchupBatch: 64,
  learnerBufferInstances: 1024,
  proposerTimeoutTicks: 80,
  proposerWindow: 8,
  proposerQueue: 1024,
  helloTicks: 30,
  heartbeatTicks: 20,
  leaseTicks: 150,
  suspectTicks: 250,
  suspectMaxTicks: 2000,
  staggerTicks: 100,
  appliedTicks: 50,
  retainInstances: 512,
  maxUnappliedInstances: 2048,
  gcSuspectTicks: 2000,
  catchupGiveUpTicks: 5000,
  learnerRetainInstances: 512,
  flowBacklogInstances: 256,
  flowNoticeTicks: 20,
  slowAcceptorTicks: 50,
} as const;

/**
 * How far beyond what it knows (its highest vote, the start of its latest promise, its trim point)
 * an acceptor accepts a 2A, a decision or a replica's applied report. A correct coordinator
 * proposes within its window of the instances in flight, which acceptors on its ring voted up to;
 * a 2A at instance 10^12 is forged or broken, and voting for it would make every later coordinator
 * fill the gap with no-ops. Generous: far above any lead a correct process reaches.
 */
export function instanceReach(c: ProtocolConfig): number {
  return 2 * (c.window + c.learnerBufferInstances + c.maxUnappliedInstances) + c.retainInstances;
}

/** Bound assumed on clock-rate drift between processes (1 %): leases are counted with it. */
export const CLOCK_DRIFT_BOUND = 0.01;

/**
 * How long a coordinator counts on a lease whose heartbeat it sent at t: shorter than what the
 * acceptors grant by their own clocks (they start counting later, when the heartbeat arrives),
 * shortened again for clocks running up to CLOCK_DRIFT_BOUND apart.
 */
export function coordinatorLeaseTicks(leaseTicks: number): number {
  return Math.floor((leaseTicks * (1 - CLOCK_DRIFT_BOUND)) / (1 + CLOCK_DRIFT_BOUND)) - 1;
}

/** Refuses a configuration the protocol cannot run with. */
export function validateProtocolConfig(c: ProtocolConfig): void {
  const all = new Set(c.processes);
  invariant(all.size === c.processes.length, "process ids are distinct");
  for (const id of c.processes) invariant(Number.isInteger(id) && id >= 0 && id < c.maxNodes, `node id ${id} in [0, maxNodes)`);
  for (const group of [c.acceptors, c.learners, c.proposers])
    for (const id of group) invariant(all.has(id), `node ${id} is a configured process`);
  invariant(c.acceptors.length >= 1, "at least one acceptor");
  invariant(new Set(c.acceptors).size === c.acceptors.length, "acceptor ids are distinct");
  invariant(c.acceptors.includes(c.coordinator), "the coordinator is an acceptor");
  invariant(c.learners.length >= 1, "at least one learner");
  const n = c.acceptors.length;
  const quorums = quorumProblem(n, c.phase1Quorum ?? quorumSize(n), c.phase2Quorum ?? quorumSize(n));
  invariant(quorums === null || (c.bugs?.quorumsMissEachOther === true && quorums.includes("must exceed")), quorums ?? "");
  for (const [k, v] of Object.entries(c))
    if (typeof v === "number") invariant(Number.isInteger(v) && v >= 0, `${k} is a non-negative integer`);
  invariant(c.window >= 1 && c.proposerWindow >= 1 && c.catchupBatch >= 1, "windows are at least 1");
  invariant(c.heartbeatTicks >= 1 && (c.leaseTicks === 0 || c.heartbeatTicks < c.leaseTicks), "heartbeats come more often than a lease lasts (leaseTicks 0: no leases)");
  invariant(c.leaseTicks < c.suspectTicks, "a candidate waits out the lease (suspectTicks > leaseTicks)");
  invariant(c.suspectTicks <= c.suspectMaxTicks, "the suspicion timeout's bound is at least its floor (suspectMaxTicks >= suspectTicks)");
  for (const id of c.replicas ?? []) invariant(c.learners.includes(id), `replica ${id} is a learner`);
  invariant(c.maxUnappliedInstances === 0 || c.maxUnappliedInstances >= c.window, "maxUnappliedInstances is 0 or at least the window");
  invariant(c.flowNoticeTicks >= 1, "flowNoticeTicks is at least 1");
  if (c.multiRing)
    invariant(
      Number.isFinite(c.multiRing.skipPerInterval) && c.multiRing.skipPerInterval >= 0 && Number.isInteger(c.multiRing.skipIntervalTicks) && c.multiRing.skipIntervalTicks >= 1,
      "multiRing: skipPerInterval ≥ 0 and skipIntervalTicks ≥ 1",
    );
  invariant(c.proposerWindow <= MAX_PROPOSER_WINDOW, `proposerWindow is at most ${MAX_PROPOSER_WINDOW} (learners' duplicate filter)`);
}

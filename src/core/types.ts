import type { LeadershipChange } from "./election.ts";
/**
 * The vocabulary shared by every protocol core: identifiers, values, messages,
 * ledger records, and the inputs/outputs of a process step.
 *
 * Cores are pure: they never read clocks, sockets, files or randomness. Time
 * reaches them as a logical tick count (`now`) passed with every input.
 */

export type NodeId = number;
/** Round number, unique per coordinator: counter * maxNodes + nodeId (see round.ts). 0 = none. */
export type Round = number;
/** Consensus instance number, starting at 0. */
export type Instance = number;
/** Unique identifier of a batch (the value consensus runs on): "round.n". */
export type Vid = string;
/** Logical time in ticks. */
export type Tick = number;

/** One client value, identified by (client, seq) so a retransmission is delivered at most once. */
export interface ClientValue {
  readonly client: number;
  readonly seq: number;
  readonly payload: Uint8Array;
  /** Multi-Ring: the group the value was multicast to (absent: group 0, the only group of a configuration without rings). */
  readonly group?: number;
  /** A pack of this many values (2..MAX_PACK_VALUES, seqs seq..seq+packed-1; see pack.ts); absent: one value. */
  readonly packed?: number;
}

/** The value consensus decides on: a batch of client values under a unique id. An empty batch is a no-op. */
export interface Batch {
  readonly vid: Vid;
  readonly values: readonly ClientValue[];
  /**
   * Multi-Ring Paxos: a skip batch (no values) stands for this many empty instances of its ring in
   * the deterministic merge (thesis §5.2.4: one instance carries every skip of an interval).
   * Absent: an ordinary batch, one instance.
   */
  readonly skip?: number;
}

/** An acceptor's vote as reported in Phase 1B. */
export interface VoteReport {
  readonly instance: Instance;
  readonly vrnd: Round;
  readonly batch: Batch;
  /** The acceptor also knows this instance is decided with this batch. */
  readonly decided: boolean;
}

export interface DecisionId {
  readonly instance: Instance;
  readonly vid: Vid;
}

export interface CatchupEntry {
  readonly instance: Instance;
  readonly batch: Batch;
}

/** The ring of a round, as laid out by its coordinator after Phase 1. */
export type Ring = readonly NodeId[];

export type Msg =
  /**
   * A client value on its way to the coordinator (U-Ring: along the ring); hops bounds forwarding;
   * origin is the proposer's node, told directly when it re-sends a value already decided.
   */
  | { readonly t: "value"; readonly v: ClientValue; readonly hops: number; readonly origin?: NodeId }
  /** To a proposer: its (client, seq) was decided at `instance` (its re-send found it decided). */
  | { readonly t: "decided-value"; readonly client: number; readonly seq: number; readonly instance: Instance }
  /** Phase 1A for all instances >= from. */
  | { readonly t: "1a"; readonly rnd: Round; readonly from: Instance }
  /** Phase 1B: promise for rnd plus every vote at instances >= from. acceptor=false: a U-Ring ring member that is no acceptor. */
  | {
      readonly t: "1b";
      readonly rnd: Round;
      readonly from: Instance;
      readonly acceptor: boolean;
      readonly votes: readonly VoteReport[];
      /** The acceptor garbage-collected every instance below this one (they are decided and applied). */
      readonly trimmed?: Instance;
    }
  /** Refusal: the sender has promised `promised`, which is at least the round asked for (1A needs strictly more). */
  | { readonly t: "nack"; readonly rnd: Round; readonly promised: Round }
  /** M-Ring Phase 2A, ip-multicast to acceptors and learners; earlier decisions may ride along. */
  | {
      readonly t: "2a";
      readonly rnd: Round;
      readonly instance: Instance;
      readonly batch: Batch;
      readonly ring: Ring;
      readonly decisions: readonly DecisionId[];
    }
  /** M-Ring Phase 2B, passed along the ring; voters are the acceptors that voted so far. */
  | {
      readonly t: "2b";
      readonly rnd: Round;
      readonly instance: Instance;
      readonly vid: Vid;
      readonly ring: Ring;
      readonly voters: readonly NodeId[];
    }
  /** M-Ring decision, ip-multicast by the coordinator (ids only). */
  | { readonly t: "decision"; readonly decisions: readonly DecisionId[] }
  /** U-Ring Phase 2A/2B, travelling together along the acceptors of the ring. */
  | {
      readonly t: "2ab";
      readonly rnd: Round;
      readonly instance: Instance;
      readonly batch: Batch;
      readonly ring: Ring;
      readonly voters: readonly NodeId[];
    }
  /** U-Ring decision circulating the ring; the batch rides until the coordinator's predecessor. */
  | {
      readonly t: "udecision";
      readonly instance: Instance;
      readonly vid: Vid;
      readonly batch: Batch | null;
      readonly ring: Ring;
      readonly rnd: Round;
    }
  /** A learner asks an acceptor for decided instances from `from` on. */
  | { readonly t: "catchup"; readonly from: Instance; readonly count: number }
  /** rnd: the acceptor's promised round, so that a process that missed a new round learns of it. */
  /**
   * entries: decided instances with their batch. decisions: instances the acceptor knows decided
   * but holds no value for; votes: batches it voted for without knowing the decision. A learner
   * delivers only when a decision meets its batch, possibly from two different acceptors.
   */
  | {
      readonly t: "catchup-reply";
      readonly rnd: Round;
      readonly entries: readonly CatchupEntry[];
      readonly decisions?: readonly DecisionId[];
      readonly votes?: readonly CatchupEntry[];
      /** The sender holds nothing below this instance (garbage-collected): ask someone else for it. */
      readonly floor?: Instance;
    }
  /**
   * A learner behind what every process retains asks another learner for its state (a state
   * transfer): for the raw log, the next instance it delivers and its duplicate filter.
   */
  | { readonly t: "state-ask" }
  /**
   * A learner's state at `next` (it delivered every instance below): its duplicate filter per
   * client. `exact`: the filter saw every value from instance 0 (or came from one that did) and
   * holds every client, so a learner that installs it filters exactly as the sender does.
   */
  | { readonly t: "state"; readonly next: Instance; readonly exact: boolean; readonly clients: readonly ClientFilter[] }
  /** A replica applied every instance below upTo (garbage collection; sent to every acceptor). */
  | { readonly t: "applied"; readonly upTo: Instance }
  /** Flow control: a learner `backlog` instances behind; travels to the coordinator (hops bounds forwarding). */
  | { readonly t: "slow-down"; readonly backlog: number; readonly hops: number }
  /**
   * Multi-Ring: a learner's merge waits for this ring at instance `at` while its other rings are
   * `slots` instances ahead (rings that started, or were taken over, at other times); travels to
   * the ring's coordinator (hops bounds forwarding), which skips them at once (see SkipPacer).
   */
  | { readonly t: "lagging"; readonly at: Instance; readonly slots: number; readonly hops: number }
  /** Read index (a replica's linearizable read without the log): asks the leader for the instance after the highest it proposed. */
  | { readonly t: "read-index"; readonly id: number }
  /** The leader's answer while it holds its lease (no other coordinator can decide anything it does not know): `index`; null: no answer (no lease, not leading). */
  | { readonly t: "read-index-reply"; readonly id: number; readonly index: Instance | null }
  /** U-Ring: a process left out of the current ring asks the coordinator to be laid back in. */
  | { readonly t: "hello" }
  /** U-Ring: the coordinator's answer to a ring member whose view of the ring is out of date. */
  | { readonly t: "ring"; readonly rnd: Round; readonly ring: Ring }
  /**
   * The coordinator of round `rnd` is alive (sent every heartbeatTicks to every process). An
   * acceptor that promised `rnd` answers with an ack: it then refuses other candidates' 1A for
   * leaseTicks (the coordinator's lease).
   */
  | { readonly t: "heartbeat"; readonly rnd: Round; readonly seq: number }
  | { readonly t: "heartbeat-ack"; readonly rnd: Round; readonly seq: number }
  /**
   * A proposer without a learner of its own asks a learner to tell it where the values of `client`
   * are delivered (see notifier.ts), renewed every subscribeTicks; `seqs`: values a coordinator
   * said are decided that no notice covered yet (the learner answers those it delivered).
   */
  | { readonly t: "subscribe"; readonly client: number; readonly seqs: readonly number[] }
  /**
   * A learner to a subscribed proposer: seqs[k] of `client` was delivered at instances[k];
   * `unplaced`: asked-for seqs delivered here whose instance this learner no longer knows.
   */
  | {
      readonly t: "delivered";
      readonly client: number;
      readonly seqs: readonly number[];
      readonly instances: readonly Instance[];
      readonly unplaced: readonly number[];
    };

/** One client's part of a duplicate filter: every seq up to `low` seen (-1: none), plus the seen seqs above it. */
export interface ClientFilter {
  readonly client: number;
  readonly low: number;
  readonly above: readonly number[];
}

export type MsgType = Msg["t"];

/** What a core asks its driver to make durable before the sends of the same step leave. */
export type LedgerRecord =
  | { readonly k: "promise"; readonly rnd: Round }
  | { readonly k: "vote"; readonly instance: Instance; readonly vrnd: Round; readonly batch: Batch }
  | { readonly k: "decision"; readonly instance: Instance; readonly vid: Vid }
  /** Garbage collection: votes and decisions below `below` are no longer needed. */
  | { readonly k: "trim"; readonly below: Instance };

export type Destination =
  /** Unicast to one node (TCP in the real binary). */
  | { readonly to: NodeId }
  /** ip-multicast to every acceptor and learner (M-Ring). */
  | { readonly multicast: true };

export interface Envelope {
  readonly dest: Destination;
  readonly msg: Msg;
}

/** Values a learner hands to the application, in instance order, with duplicates removed. */
export interface Delivery {
  readonly instance: Instance;
  readonly vid: Vid;
  readonly values: readonly ClientValue[];
  /**
   * Where the learner left values out (duplicates): each delivered value's place among the
   * instance's values (packs split), the same at every replica whatever its filter left out, so
   * that what a replica numbers by place (kv revisions) agrees. Absent: values[i] is at place i.
   */
  readonly positions?: readonly number[];
  /** The instance was a skip(n) batch (see Batch.skip): it counts as n instances in a merge. */
  readonly skip?: number;
}

/**
 * Network input that contradicts what this process knows (a second decision for an instance, a
 * second value in one round, votes above a promise): an attack or a bug elsewhere. It is dropped
 * and reported, never asserted: invariants are for a process' own state.
 */
export interface Conflict {
  /** The sender of the input that carried it (null: not a message). */
  readonly from: NodeId | null;
  readonly what: string;
}

/** The result of one step of a core. */
export interface Output {
  /** Records for the ledger, in order. */
  readonly persist: LedgerRecord[];
  /**
   * Whether this step's sends, deliveries and acks must wait until its records are durable (it
   * recorded a promise or a vote); otherwise the records are written in order and nothing waits.
   */
  readonly sendsAfterPersist: boolean;
  readonly send: Envelope[];
  readonly deliver: Delivery[];
  /** Decisions this process took or learned (for observers such as the simulator's checkers). */
  readonly decided: DecisionId[];
  /** Client values this process' proposer saw delivered (the caller is told its value is decided). */
  /**
   * Values of this process' proposer, decided, with the instance where learners deliver them;
   * null: decided, but where is lost to this process (its learner gave up the instances holding
   * the first copy, see LostRange, and a coordinator only knows of a later copy).
   */
  readonly acked: Ack[];
  /** Conflicting input dropped in this step (see Conflict). */
  readonly conflicts: Conflict[];
  /** Instances [from, to) this learner gave up as lost: no process holds them any more (see Learner). */
  readonly lost: LostRange[];
  /** Read indexes the host asked for (Input "read-index") that came back in this step. */
  readonly readIndex: ReadIndex[];
  /** This process' coordinator as the step left it, when the step changed it (null: unchanged, or no coordinator). */
  readonly leading: LeadingState | null;
  /** A change of leadership this step made as this process sees it, with its cause (for the log; null: none). */
  readonly leaderChange: LeadershipChange | null;
  /** A value proposed in this step took (client, seq); null: none proposed, or refused. */
  readonly proposed: { readonly client: number; readonly seq: number } | null;
  /** Whether a value proposed in this step was refused (the proposer's queue is full). */
  readonly refused: boolean;
}

/**
 * A coordinator's leadership: whether it is active (a candidate in Phase 1, or leading), whether
 * its round is established (Phase 1 completed: it has a ring), its round and that ring.
 */
export interface LeadingState {
  readonly active: boolean;
  readonly established: boolean;
  readonly round: Round;
  readonly ring: Ring | null;
}

/** A read index for the host (Input "read-index"): every write that completed before it was asked is below `index` (a read may answer once the host applied up to it); null: no leader answered with one. */
export interface ReadIndex {
  readonly id: number;
  readonly index: Instance | null;
}

/**
 * Instances [from, to) a learner gave up as lost: no process holds them any more. `stateFrom`: the
 * learner whose state (duplicate filter) it took, so that it filters as the others from `to` on;
 * null: none answered, and a value re-sent across the gap may be delivered again by this learner.
 */
export interface LostRange {
  readonly from: Instance;
  readonly to: Instance;
  readonly stateFrom: NodeId | null;
  /** Whether the learner's duplicate filter is exact from `to` on (see DuplicateFilter.exact). */
  readonly exact: boolean;
}

/** A proposer's value, decided (see Output.acked). */
export interface Ack {
  readonly client: number;
  readonly seq: number;
  readonly instance: Instance | null;
}

export type Input =
  | { readonly k: "msg"; readonly from: NodeId; readonly msg: Msg }
  | { readonly k: "tick" }
  /** hold: queued, not sent before a "flush" input (or the next tick), so that a turn's values go packed (proposer.ts). */
  | { readonly k: "propose"; readonly payload: Uint8Array; readonly group?: number; readonly hold?: boolean }
  | { readonly k: "flush" }
  /**
   * Leadership forced from outside: the configured coordinator of a fresh cluster starts Phase 1
   * at once (paxos node), the simulator plants duelling leaders. The election (election.ts)
   * decides candidacy by itself, on ticks.
   */
  | { readonly k: "lead" }
  | { readonly k: "step-down" }
  /**
   * The host applied this learner's deliveries below `upTo` (a Multi-Ring merge released them; an
   * application made them durable). From the first such input on, a replica reports that, not
   * what it delivered, as applied: acceptors keep what the host may still need.
   */
  | { readonly k: "applied"; readonly upTo: Instance }
  /** The host wants a read index (see the read-index message): the answer comes in Output.readIndex with this id. */
  | { readonly k: "read-index"; readonly id: number };

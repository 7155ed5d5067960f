import type { Acceptor } from "./acceptor.ts";
import type { ProtocolConfig } from "./config.ts";
import type { Coordinator, CoordinatorVariant } from "./coordinator.ts";
import type { Learner } from "./learner.ts";
import type { OutputBuilder } from "./output.ts";
import type { Batch, Instance, Msg, NodeId, Ring, Round, Tick, Vid } from "./types.ts";

/** A handler of one message type. */
export type Handler<T extends Msg["t"]> = (from: NodeId, msg: Extract<Msg, { t: T }>, now: Tick, out: OutputBuilder) => void;
/** Handlers by message type: a process dispatches each message through one table. */
export type Handlers = { readonly [T in Msg["t"]]?: Handler<T> };

/**
 * What a dissemination strategy may use of the process hosting it: its roles, the acceptor's
 * vote and a decision's fan-out to every local role, and the three strengths of evidence about
 * rounds (see RingProcess).
 */
export interface ProcessContext {
  readonly id: NodeId;
  readonly cfg: ProtocolConfig;
  readonly acceptor: Acceptor | null;
  readonly coordinator: Coordinator | null;
  readonly learner: Learner | null;
  /** The highest round seen established. */
  readonly highestRound: Round;
  /** Where client values should go now. */
  leaderHint(): NodeId;
  /** Evidence that round `rnd` is established and its coordinator alive (its Phase 2 traffic, its heartbeat); `ring`: the round's ring, when the message carried it. */
  ownerAlive(rnd: Round, now: Tick, ring?: Ring | null): void;
  /** Another process says round `rnd` is established: route values to its owner, no proof of life. */
  roundEstablished(rnd: Round, now: Tick, ring?: Ring | null): void;
  /** Casts this process' vote; false if refused (a nack then went to the round's coordinator). */
  vote(rnd: Round, instance: Instance, batch: Batch, out: OutputBuilder): boolean;
  /** A decision taken here or learned: every local role hears of it. */
  decide(instance: Instance, vid: Vid, now: Tick, out: OutputBuilder, batch?: Batch | null): void;
  /** The acceptor's answer to Phase 1A (a promise with its votes, or a nack). */
  answerPhase1A(from: NodeId, rnd: Round, first: Instance, out: OutputBuilder): void;
}

/**
 * How Phase 2, decisions and client values travel: M-Ring (ip-multicast, a ring of f+1 acceptors)
 * or U-Ring (one TCP ring of every process). The process owns the roles and the common messages;
 * a strategy owns its own messages and state and returns sends through the step's output.
 */
export interface Dissemination {
  /** What the coordinator does differently in this variant. */
  readonly coordinatorVariant: CoordinatorVariant;
  /** Handlers of this variant's messages (none of them a common one). */
  readonly handlers: Handlers;
  /** The ring this process knows (U-Ring: the newest ring seen; M-Ring: null, the coordinator's ring is in its status). */
  readonly knownRing: Ring | null;
  /** Where the proposer sends a value on its n-th try. */
  route(tries: number): NodeId;
  /** Phase 1A at this process; false to let the acceptor answer as usual. */
  answersPhase1A(from: NodeId, rnd: Round, first: Instance, out: OutputBuilder): boolean;
  tick(now: Tick, out: OutputBuilder): void;
  /** The last part of every step: what waited to ride on another message goes out on its own (piggybacking). */
  flush(out: OutputBuilder): void;
}

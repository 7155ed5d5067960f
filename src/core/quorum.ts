import { invariant } from "./assert.ts";

/** Number of acceptor failures tolerated by n acceptors: f = floor((n - 1) / 2). */
export function faults(acceptors: number): number {
  invariant(Number.isInteger(acceptors) && acceptors >= 1, `acceptor count ${acceptors} is a positive integer`);
  return Math.floor((acceptors - 1) / 2);
}

/** Size of an m-quorum (majority) of n acceptors: ceil((n + 1) / 2) = f + 1 for odd n. */
export function quorumSize(acceptors: number): number {
  invariant(Number.isInteger(acceptors) && acceptors >= 1, `acceptor count ${acceptors} is a positive integer`);
  return Math.floor(acceptors / 2) + 1;
}

/** True when `members` holds at least `size` distinct acceptors from `acceptors`. */
export function isQuorum(members: Iterable<number>, acceptors: readonly number[], size = quorumSize(acceptors.length)): boolean {
  const set = new Set(acceptors);
  const seen = new Set<number>();
  for (const m of members) if (set.has(m)) seen.add(m);
  return seen.size >= size;
}

/** What the quorum sizes of a configuration depend on (a ProtocolConfig has it all). */
export interface QuorumConfig {
  readonly acceptors: readonly number[];
  readonly phase1Quorum?: number;
  readonly phase2Quorum?: number;
}

/**
 * Flexible quorums (seed 003 ch. 4; Howard et al.'s FPaxos): Phase 1 needs `phase1Quorum`
 * acceptors and Phase 2 `phase2Quorum`, any two such quorums intersecting (q1 + q2 > n). Absent:
 * a majority each, the classic case.
 */
export function phase1Quorum(c: QuorumConfig): number {
  return c.phase1Quorum ?? quorumSize(c.acceptors.length);
}

/** Acceptors whose votes decide: M-Ring's ring holds this many, U-Ring decides at the one that makes it this many. */
export function phase2Quorum(c: QuorumConfig): number {
  return c.phase2Quorum ?? quorumSize(c.acceptors.length);
}

/**
 * Acceptors whose heartbeat acks make a lease (and whose refusals, for a lease, make a Phase 1
 * hopeless): n − q1 + 1, so that every Phase 1 quorum holds one of them, which refuses any other
 * candidate while the lease runs. A majority when q1 is one.
 */
export function leaseQuorum(c: QuorumConfig): number {
  return c.acceptors.length - phase1Quorum(c) + 1;
}

/** Acceptor failures a configuration survives: Phase 1 and Phase 2 must each still find a quorum. */
export function quorumFaults(c: QuorumConfig): number {
  return c.acceptors.length - Math.max(phase1Quorum(c), phase2Quorum(c));
}

/** What is wrong with these quorum sizes for n acceptors (null: nothing). */
export function quorumProblem(n: number, q1: number, q2: number): string | null {
  if (!(Number.isInteger(q1) && q1 >= 1 && q1 <= n)) return `phase1Quorum ${q1} is not within 1..${n} (the acceptors)`;
  if (!(Number.isInteger(q2) && q2 >= 1 && q2 <= n)) return `phase2Quorum ${q2} is not within 1..${n} (the acceptors)`;
  if (q1 + q2 <= n) return `phase1Quorum ${q1} + phase2Quorum ${q2} must exceed the ${n} acceptors: a Phase 1 quorum that misses a Phase 2 quorum could choose a second value`;
  return null;
}

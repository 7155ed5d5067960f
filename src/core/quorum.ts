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

/** True when `members` holds a majority of distinct acceptors from `acceptors`. */
export function isQuorum(members: Iterable<number>, acceptors: readonly number[]): boolean {
  const set = new Set(acceptors);
  const seen = new Set<number>();
  for (const m of members) if (set.has(m)) seen.add(m);
  return seen.size >= quorumSize(acceptors.length);
}

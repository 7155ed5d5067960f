import { invariant } from "./assert.ts";
import type { NodeId, Round } from "./types.ts";

/**
 * Bounds on the numbers that arrive in messages: rounds and instances beyond them cannot come from
 * a correct process (2^50 instances is 35 years at a million per second) and are dropped at entry,
 * so that arithmetic on them stays within safe integers.
 */
export const MAX_ROUND = 2 ** 50;
export const MAX_INSTANCE = 2 ** 50;

/**
 * Round numbers are unique per coordinator: round = counter * maxNodes + nodeId, counter >= 1.
 * Two coordinators never pick the same round, and each picks rounds above any it has seen.
 */
export function makeRound(counter: number, node: NodeId, maxNodes: number): Round {
  invariant(node >= 0 && node < maxNodes, `node id ${node} < maxNodes ${maxNodes}`);
  invariant(counter >= 1, "round counter starts at 1");
  return counter * maxNodes + node;
}

/** The smallest round owned by `node` that is strictly greater than `above`. */
export function nextRound(above: Round, node: NodeId, maxNodes: number): Round {
  let counter = Math.max(1, Math.floor(above / maxNodes));
  if (makeRound(counter, node, maxNodes) <= above) counter++;
  const r = makeRound(counter, node, maxNodes);
  invariant(r > above && r - maxNodes <= Math.max(above, maxNodes - 1), "next round is the smallest above");
  invariant(r <= MAX_ROUND, `round ${r} stays within MAX_ROUND`);
  return r;
}

export function roundOwner(r: Round, maxNodes: number): NodeId {
  return r % maxNodes;
}

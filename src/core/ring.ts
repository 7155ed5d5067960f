import { invariant } from "./assert.ts";
import type { NodeId, Ring } from "./types.ts";

/** Position helpers on a directed ring. */
export function successor(ring: Ring, p: NodeId): NodeId {
  const i = ring.indexOf(p);
  invariant(i >= 0, `node ${p} is on ring [${ring.join(",")}]`);
  return ring[(i + 1) % ring.length] as NodeId;
}

export function predecessor(ring: Ring, p: NodeId): NodeId {
  const i = ring.indexOf(p);
  invariant(i >= 0, `node ${p} is on ring [${ring.join(",")}]`);
  return ring[(i - 1 + ring.length) % ring.length] as NodeId;
}

/** Rotate `order` so that it starts after `start` (exclusive) and wraps around; `start` itself is left out. */
function after(order: readonly NodeId[], start: NodeId): NodeId[] {
  const i = order.indexOf(start);
  invariant(i >= 0, `node ${start} is in [${order.join(",")}]`);
  return [...order.slice(i + 1), ...order.slice(0, i)];
}

/**
 * M-Ring (thesis Algorithm 2): the ring holds an m-quorum of acceptors with the coordinator last.
 * The coordinator takes the acceptors that answered its Phase 1A, preferring the configured order
 * starting after itself; the acceptors not on the ring are spares.
 * Returns null when fewer than `quorum` acceptors (coordinator included) answered.
 */
export function layoutMRing(
  acceptors: readonly NodeId[],
  coordinator: NodeId,
  responders: ReadonlySet<NodeId>,
  quorum: number,
  avoid: ReadonlySet<NodeId> = new Set(),
): Ring | null {
  invariant(acceptors.includes(coordinator), "the M-Ring coordinator is an acceptor");
  if (!responders.has(coordinator)) return null;
  const answered = after(acceptors, coordinator).filter((a) => responders.has(a));
  if (answered.length < quorum - 1) return null;
  // Slow acceptors last: they become spares while enough others answered (a spare needs no
  // catching up to join a later ring: that round's Phase 1 learns the votes from the others).
  const others = [...answered.filter((a) => !avoid.has(a)), ...answered.filter((a) => avoid.has(a))];
  return [...others.slice(0, quorum - 1), coordinator];
}

/** M-Ring: first(ring) is the acceptor after the coordinator; last(ring) is the coordinator. */
export function firstOf(ring: Ring): NodeId {
  invariant(ring.length >= 1, "ring is not empty");
  return ring[0] as NodeId;
}

export function lastOf(ring: Ring): NodeId {
  invariant(ring.length >= 1, "ring is not empty");
  return ring[ring.length - 1] as NodeId;
}

/** M-Ring: the acceptors that are not on the ring. */
export function spares(acceptors: readonly NodeId[], ring: Ring): NodeId[] {
  return acceptors.filter((a) => !ring.includes(a));
}

/**
 * U-Ring (thesis Algorithm 3): every process is on the ring, the coordinator first.
 * The ring keeps the configured order of the processes that answered Phase 1A, rotated so
 * that the coordinator leads. Returns null when it would hold fewer than `quorum` acceptors.
 */
export function layoutURing(
  processes: readonly NodeId[],
  acceptors: readonly NodeId[],
  coordinator: NodeId,
  responders: ReadonlySet<NodeId>,
  quorum: number,
  avoid: ReadonlySet<NodeId> = new Set(),
): Ring | null {
  invariant(acceptors.includes(coordinator), "the U-Ring coordinator is an acceptor");
  if (!responders.has(coordinator)) return null;
  const answered = after(processes, coordinator).filter((p) => responders.has(p));
  // Slow acceptors go to the end of the ring, past the acceptor that decides, while enough others
  // answered: they are off the path of Phase 2 and still receive the circulating decisions.
  const slow = answered.filter((p) => avoid.has(p) && acceptors.includes(p));
  const fast = answered.filter((p) => !slow.includes(p));
  const ring = [coordinator, ...(fast.filter((p) => acceptors.includes(p)).length + 1 >= quorum ? [...fast, ...slow] : answered)];
  if (ring.filter((p) => acceptors.includes(p)).length < quorum) return null;
  return ring;
}

/**
 * U-Ring: the acceptor that decides, i.e. the (quorum-1)-th acceptor after the coordinator
 * (the f-th for 2f+1 acceptors), so that coordinator..lastAcceptor holds an m-quorum.
 */
export function lastAcceptor(ring: Ring, acceptors: readonly NodeId[], quorum: number): NodeId {
  const onRing = ring.filter((p) => acceptors.includes(p));
  invariant(onRing[0] === ring[0], "the U-Ring coordinator leads the ring and is an acceptor");
  const last = onRing[quorum - 1];
  invariant(last !== undefined, `ring [${ring.join(",")}] holds ${quorum} acceptors`);
  return last;
}

/**
 * Rings arrive in messages: before a core relies on one (and on the invariants above), it checks
 * that the ring is one a correct coordinator of round `owner` could have laid out. A message with
 * a ring that fails is dropped, never trusted.
 */
export function wellFormedMRing(ring: Ring, acceptors: readonly NodeId[], quorum: number, owner: NodeId): boolean {
  return (
    ring.length >= quorum &&
    new Set(ring).size === ring.length &&
    ring.every((p) => acceptors.includes(p)) &&
    ring[ring.length - 1] === owner
  );
}

export function wellFormedURing(ring: Ring, processes: readonly NodeId[], acceptors: readonly NodeId[], quorum: number, owner: NodeId): boolean {
  return (
    ring[0] === owner &&
    acceptors.includes(owner) &&
    new Set(ring).size === ring.length &&
    ring.every((p) => processes.includes(p)) &&
    ring.filter((p) => acceptors.includes(p)).length >= quorum
  );
}

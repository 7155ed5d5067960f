import type { NodeId } from "../../core/types.ts";

/**
 * Acyclic order (thesis ch. 2, atomic multicast): for every two learners, their delivery
 * sequences restricted to the values both delivered are equal; and, across all learners, the
 * relation "delivered before" has no cycle (three learners can each agree pairwise and still
 * order three values in a circle). Returns one line per violation (empty: the order holds).
 * Sequences are of value ids, each learner's in delivery order.
 */
export function acyclicOrderViolations(seqs: ReadonlyMap<NodeId, readonly number[]>): string[] {
  const out: string[] = [];
  const cycle = findCycle(seqs);
  if (cycle !== null) out.push(`the learners' delivery orders form a cycle: ${cycle.join(" before ")}`);
  const ids = [...seqs.keys()].sort((a, b) => a - b);
  for (let i = 0; i < ids.length; i++)
    for (let j = i + 1; j < ids.length; j++) {
      const [a, b] = [ids[i] as NodeId, ids[j] as NodeId];
      const v = firstDifference(seqs.get(a) ?? [], seqs.get(b) ?? []);
      if (v !== null) out.push(`learners ${a} and ${b} deliver their common values in different orders: #${v.at} is ${v.left} at ${a}, ${v.right} at ${b}`);
    }
  return out;
}

function firstDifference(a: readonly number[], b: readonly number[]): { at: number; left: number; right: number } | null {
  const inB = new Set(b);
  const inA = new Set(a);
  const ca = a.filter((x) => inB.has(x));
  const cb = b.filter((x) => inA.has(x));
  for (let k = 0; k < ca.length; k++) if (ca[k] !== cb[k]) return { at: k, left: ca[k] as number, right: cb[k] as number };
  return null;
}

/** A cycle in the union of the learners' orders (each sequence's consecutive pairs as edges), or null. */
function findCycle(seqs: ReadonlyMap<NodeId, readonly number[]>): number[] | null {
  const next = new Map<number, Set<number>>();
  for (const seq of seqs.values())
    for (let k = 0; k + 1 < seq.length; k++) {
      const [u, v] = [seq[k] as number, seq[k + 1] as number];
      let s = next.get(u);
      if (!s) next.set(u, (s = new Set()));
      s.add(v);
    }
  // Iterative depth-first search: 0 unseen, 1 on the current path, 2 done.
  const state = new Map<number, number>();
  for (const root of next.keys()) {
    if (state.get(root)) continue;
    const path: number[] = [];
    const stack: { node: number; it: Iterator<number> }[] = [{ node: root, it: (next.get(root) ?? new Set<number>()).values() }];
    state.set(root, 1);
    path.push(root);
    while (stack.length > 0) {
      const top = stack[stack.length - 1] as { node: number; it: Iterator<number> };
      const step = top.it.next();
      if (step.done) {
        state.set(top.node, 2);
        stack.pop();
        path.pop();
        continue;
      }
      const v = step.value;
      const sv = state.get(v) ?? 0;
      if (sv === 1) return [...path.slice(path.indexOf(v)), v];
      if (sv === 0) {
        state.set(v, 1);
        path.push(v);
        stack.push({ node: v, it: (next.get(v) ?? new Set<number>()).values() });
      }
    }
  }
  return null;
}

import type { ProtocolConfig } from "./config.ts";
import type { NodeId } from "./types.ts";

/** The replicas (see ProtocolConfig.replicas) and how many must have applied an instance before it is garbage-collected: min(f+1, replicas). */
export function gcQuorum(c: ProtocolConfig): { readonly replicas: readonly NodeId[]; readonly k: number } {
  const replicas = c.replicas ?? c.learners;
  const f = Math.floor((c.acceptors.length - 1) / 2);
  // Without reports (appliedTicks 0) there is no garbage collection, and no bound tied to it.
  return { replicas, k: c.appliedTicks === 0 ? 0 : Math.min(f + 1, replicas.length) };
}

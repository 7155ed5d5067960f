import type { ClusterConfig, NodeEntry, Role } from "./schema.ts";

/** Why no single node could be chosen: the message says which flag to add. */
export class IdentityError extends Error {
  override readonly name = "IdentityError";
}

/**
 * Picks this process' node: the one with `id` when given; otherwise the only node whose host is
 * one of this machine's addresses (and that has every role asked for).
 */
export function chooseNode(
  c: ClusterConfig,
  source: string,
  want: { id?: number; roles?: readonly Role[] },
  localAddresses: ReadonlySet<string>,
): NodeEntry {
  const roles = want.roles ?? [];
  if (want.id !== undefined) {
    const n = c.nodes.find((x) => x.id === want.id);
    if (!n) throw new IdentityError(`${source} has no node with id ${want.id} (ids: ${c.nodes.map((x) => x.id).join(", ")})`);
    const missing = roles.filter((r) => !n.roles.includes(r));
    if (missing.length > 0)
      throw new IdentityError(`node ${n.id} of ${source} does not have the role ${missing.join(", ")} (it has: ${n.roles.join(", ")})`);
    return n;
  }
  const local = c.nodes.filter((n) => localAddresses.has(n.host) && roles.every((r) => n.roles.includes(r)));
  const what = roles.length > 0 ? ` with the role ${roles.join(", ")}` : "";
  if (local.length === 1) return local[0] as NodeEntry;
  if (local.length === 0)
    throw new IdentityError(`no node of ${source}${what} has an address of this host; add --id N`);
  throw new IdentityError(
    `${local.length} nodes of ${source}${what} have an address of this host (ids ${local.map((n) => n.id).join(", ")}); add --id N`,
  );
}

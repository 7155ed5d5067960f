import type { ClusterConfig, NodeEntry, Role } from "./schema.ts";

/** A kind of node a command runs as, beyond its roles (e.g. a client). */
export interface NodeKind {
  readonly what: string;
  readonly test: (roles: readonly Role[]) => boolean;
}

/**
 * The node a client command (propose, client) runs as: role "client", a proposer that learns every
 * value itself, or a proposer and nothing else, which follows a learner's delivery notices instead
 * (it receives no multicast).
 */
export const CLIENT_NODE: NodeKind = {
  what: "a client (role client, or proposer alone)",
  test: (roles) => roles.includes("client") || (roles.length > 0 && roles.every((r) => r === "proposer")),
};

/** Why no single node could be chosen: the message says which flag to add. */
export class IdentityError extends Error {
  override readonly name = "IdentityError";
}

/**
 * Picks this process' node: the one with `id` when given; otherwise the only node whose host is
 * one of this machine's addresses (and that has every role asked for, and is of the `kind` asked for).
 */
export function chooseNode(
  c: ClusterConfig,
  source: string,
  want: { id?: number; roles?: readonly Role[]; kind?: NodeKind },
  localAddresses: ReadonlySet<string>,
): NodeEntry {
  const roles = want.roles ?? [];
  const fits = (n: NodeEntry): boolean => want.kind === undefined || want.kind.test(n.roles);
  if (want.id !== undefined) {
    const n = c.nodes.find((x) => x.id === want.id);
    if (!n) throw new IdentityError(`${source} has no node with id ${want.id} (ids: ${c.nodes.map((x) => x.id).join(", ")})`);
    const missing = roles.filter((r) => !n.roles.includes(r));
    if (missing.length > 0)
      throw new IdentityError(`node ${n.id} of ${source} does not have the role ${missing.join(", ")} (it has: ${n.roles.join(", ")})`);
    if (!fits(n)) throw new IdentityError(`node ${n.id} of ${source} is not ${want.kind?.what} (it has: ${n.roles.join(", ")})`);
    return n;
  }
  const local = c.nodes.filter((n) => localAddresses.has(n.host) && roles.every((r) => n.roles.includes(r)) && fits(n));
  const what = (roles.length > 0 ? ` with the role ${roles.join(", ")}` : "") + (want.kind ? ` that is ${want.kind.what}` : "");
  if (local.length === 1) return local[0] as NodeEntry;
  if (local.length === 0)
    throw new IdentityError(`no node of ${source}${what} has an address of this host; add --id N`);
  throw new IdentityError(
    `${local.length} nodes of ${source}${what} have an address of this host (ids ${local.map((n) => n.id).join(", ")}); add --id N`,
  );
}

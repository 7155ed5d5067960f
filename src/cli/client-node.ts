import { chooseNode, CLIENT_NODE } from "../config/identity.ts";
import { loadConfig } from "../config/load.ts";
import type { ProtocolConfig } from "../core/config.ts";
import type { RuntimeEvents } from "../node/runtime.ts";
import { configPath, localAddresses, startNode, type NodeCliOptions, type StartedNode } from "./node.ts";

/**
 * Starts the client node of `paxos propose` / `paxos client`: the node the options name, which
 * must be a client (role client, or proposer alone) unless roles were asked for explicitly.
 *
 * A client listens on the port of its configuration entry, not on an ephemeral one: learners
 * (delivery notices), the coordinator (decided-value answers) and acceptors (catch-up replies)
 * answer a node by opening a connection to the host and port the configuration gives its id.
 * So two processes cannot run as one client entry at once; the second one is told so in one line
 * instead of a bare EADDRINUSE.
 */
export async function startClientNode(
  o: NodeCliOptions,
  events: RuntimeEvents,
  local: Partial<Pick<ProtocolConfig, "proposerWindow" | "proposerQueue">> = {},
): Promise<StartedNode> {
  const opts: NodeCliOptions = { ...o, ...(o.roles ? { roles: o.roles } : { kind: CLIENT_NODE }) };
  try {
    return await startNode(opts, events, local);
  } catch (e) {
    if ((e as NodeJS.ErrnoException | null)?.code === "EADDRINUSE") throw portInUse(opts, e as Error);
    throw e;
  }
}

/** The one-line explanation of a client entry whose TCP port is taken (`e` itself when another address is). */
function portInUse(o: NodeCliOptions, e: Error): Error {
  const file = configPath(o.config);
  const n = chooseNode(
    loadConfig(file),
    file,
    { ...(o.id !== undefined ? { id: o.id } : {}), ...(o.roles ? { roles: o.roles } : {}), ...(o.kind ? { kind: o.kind } : {}) },
    localAddresses(),
  );
  // The multicast group's port may be the one in use: that is not the client's own port.
  if (e.message.startsWith("multicast") || !e.message.includes(String(n.port))) return e;
  return new Error(
    `node ${n.id}'s port ${n.host}:${n.port} is in use: is another paxos propose, client or node running as node ${n.id}? ` +
      `The cluster answers a client at the host and port of its entry in ${file}, so clients that run at the same time need an entry (--id) each`,
  );
}

import { multicastGroup } from "../config/multicast-group.ts";
import type { ClusterConfig, NodeEntry } from "../config/schema.ts";
import { SocketSetupError } from "./socket-setup-error.ts";
import { errorCode } from "../os/errno.ts";

/**
 * A node could not start: one line naming the configuration key to look at, e.g.
 * `multicast.port: 239.1.2.3:5000 is in use (EADDRINUSE)`. `code` keeps the system's error code
 * for callers that explain a case better (a client's port taken by another client).
 */
export class StartupError extends Error {
  override readonly name = "StartupError";
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

/** What failed to open at start-up. */
export type StartupStage = "tcp" | "multicast" | "http";

/** What went wrong with an address, in words, for the usual codes. */
function problem(code: string | undefined, what: string, e: unknown): string {
  switch (code) {
    case "EADDRINUSE":
      return `${what} is in use (EADDRINUSE)`;
    case "EADDRNOTAVAIL":
    case "ENODEV":
      return `${what} is not an address of this host (${code})`;
    case "EACCES":
    case "EPERM":
      return `${what}: permission denied (${code}; ports below 1024 need privileges)`;
    default:
      return `${what}: ${e instanceof Error ? e.message : String(e)}`;
  }
}

/**
 * The StartupError for an error of one start-up stage, naming the configuration key of node
 * `entry` (its index in `nodes`) that set the failing address.
 */
export function startupError(stage: StartupStage, e: unknown, entry: NodeEntry, config: ClusterConfig): StartupError {
  const cause = e instanceof SocketSetupError ? e.cause : e;
  const code = errorCode(cause);
  const node = `nodes[${config.nodes.findIndex((n) => n.id === entry.id)}]`;
  const hostKey = `${node}.host: ${entry.host}`;
  if (stage === "tcp" || stage === "http") {
    const port = stage === "tcp" ? entry.port : (entry.http ?? 0);
    if (code === "EADDRNOTAVAIL") return new StartupError(problem(code, hostKey, cause), code);
    return new StartupError(problem(code, `${node}.${stage === "tcp" ? "port" : "http"}: ${entry.host}:${port}`, cause), code);
  }
  // The ring whose group failed (a configuration without `rings`: its one ring).
  const ring = e instanceof SocketSetupError ? e.ring : undefined;
  const g = ring !== undefined || config.rings === undefined ? multicastGroup(config, entry, ring) : null;
  const syscall = (cause as { syscall?: unknown } | null)?.syscall;
  if (g && syscall === "bind" && code === "EADDRINUSE") return new StartupError(problem(code, `${g.key}.port: ${g.group}:${g.port}`, cause), code);
  // Joining the group or choosing the interface failed: the interface address is to blame.
  const iface = g?.interface ?? "0.0.0.0";
  const ifaceKey = g?.interfaceKey ?? "multicast.interface";
  if (code === "EADDRNOTAVAIL" || code === "ENODEV" || code === "EINVAL") return new StartupError(`${ifaceKey}: ${iface} is not an address of this host (${code})`, code);
  return new StartupError(problem(code, `multicast (${g ? `${g.group}:${g.port}` : "?"} on ${ifaceKey} ${iface})`, cause), code);
}

/** Runs one start-up stage; its failure becomes a StartupError naming the key. */
export async function stage<T>(which: StartupStage, entry: NodeEntry, config: ClusterConfig, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if (which === "http" || e instanceof SocketSetupError) throw startupError(e instanceof SocketSetupError ? e.socket : which, e, entry, config);
    throw e;
  }
}

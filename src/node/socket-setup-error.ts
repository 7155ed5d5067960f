import { errorCode } from "../os/errno.ts";

/**
 * A socket of the node could not be opened at start-up: `socket` says which (the TCP server on the
 * node's port, or the multicast group's, and then `ring` whose group: 0 without `rings`), `cause`
 * is the system's error. Nothing stays open.
 */
export class SocketSetupError extends Error {
  override readonly name = "SocketSetupError";
  /** The system error code (EADDRINUSE, ENODEV, ...), when there is one. */
  readonly code: string | undefined;
  constructor(
    readonly socket: "tcp" | "multicast",
    override readonly cause: unknown,
    /** The ring whose multicast group failed (undefined for the TCP server). */
    readonly ring?: number,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.code = errorCode(cause);
  }
}

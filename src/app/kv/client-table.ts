/**
 * Exactly-once commands: per end client, the replies to its recent commands, kept in the replica's
 * store with the state they produced (so they survive a restart together). A command seen before
 * is answered with the kept reply and not applied again; one older than the kept window is
 * answered STALE (it may or may not have been applied: the client kept more than
 * CLIENT_SEQ_WINDOW commands outstanding, or retried very late).
 *
 * Bounds, both deterministic so every replica keeps the same table: CLIENT_SEQ_WINDOW replies per
 * client, MAX_CLIENTS clients (beyond it the client whose last command is oldest is dropped; a
 * late retry of a dropped client would be applied again, so client ids are drawn at random per
 * client session and MAX_CLIENTS is far above the clients a cluster serves at once).
 */
import type { KvStore } from "../store/kv-store.ts";

export const CLIENT_SEQ_WINDOW = 256;
export const MAX_CLIENTS = 100_000;

export type Seen = { readonly kind: "new" } | { readonly kind: "done"; readonly reply: Uint8Array } | { readonly kind: "stale" };

export class ClientTable {
  constructor(
    private readonly store: KvStore,
    private readonly maxClients = MAX_CLIENTS,
  ) {}

  lookup(client: number, seq: number): Seen {
    if (seq <= this.store.forgottenUpTo(client)) return { kind: "stale" };
    const reply = this.store.reply(client, seq);
    return reply === null ? { kind: "new" } : { kind: "done", reply };
  }

  /** Keeps the reply to (client, seq), applied at `revision`, within the bounds. */
  record(client: number, seq: number, reply: Uint8Array, revision: number): void {
    this.store.keepReply(client, seq, reply, revision);
    if (seq > CLIENT_SEQ_WINDOW) this.store.forgetUpTo(client, seq - CLIENT_SEQ_WINDOW);
    while (this.store.clients() > this.maxClients) this.store.dropOldestClient();
  }
}

import type { LedgerRecord } from "../core/types.ts";

/**
 * Where an acceptor keeps what it must never forget. `append` reports durability through a
 * callback so that one driver serves synchronous (RAM), simulated (virtual fsync delay) and
 * asynchronous (write-ahead log with group commit) ledgers alike.
 */
export interface Ledger {
  append(records: readonly LedgerRecord[], durable: () => void): void;
  /** Every record made durable so far, oldest first (what a restarted process recovers from). */
  recover(): readonly LedgerRecord[];
}

/**
 * RAM "ink": durable at once, lost with the process, so it keeps nothing itself (the acceptor's
 * own state is all there is). Safe only while a majority of acceptors stays up: an acceptor that
 * restarts from a RAM ledger has forgotten its promises and votes and must not rejoin as the same
 * acceptor before reconfiguration exists.
 */
export class RamLedger implements Ledger {
  append(_records: readonly LedgerRecord[], durable: () => void): void {
    durable();
  }

  recover(): readonly LedgerRecord[] {
    return [];
  }
}

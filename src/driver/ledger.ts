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

/** Bound: records a RAM ledger keeps; older ones are dropped (the RAM ledger survives no crash anyway). */
export const RAM_LEDGER_MAX_RECORDS = 1 << 20;

/** RAM "ink": durable at once, lost with the process. Safe only while a majority of acceptors stays up. */
export class RamLedger implements Ledger {
  private records: LedgerRecord[] = [];

  append(records: readonly LedgerRecord[], durable: () => void): void {
    for (const r of records) this.records.push(r);
    if (this.records.length > RAM_LEDGER_MAX_RECORDS) this.records = this.records.slice(-RAM_LEDGER_MAX_RECORDS / 2);
    durable();
  }

  recover(): readonly LedgerRecord[] {
    return this.records;
  }
}

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LedgerRecord } from "../../src/core/types.ts";
import { WalLedger, type WalOptions } from "../../src/ledger/wal.ts";

const dirs: string[] = [];
/** Warnings of the logs opened with `open` (recovery's cuts and repairs), oldest first. */
export const warnings: string[] = [];

export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "paxos-wal-"));
  dirs.push(d);
  return d;
}

export function cleanup(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  warnings.splice(0);
}

export function vote(instance: number, vrnd: number, bytes = 16): LedgerRecord {
  const payload = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) payload[i] = (instance * 31 + i) & 0xff;
  return { k: "vote", instance, vrnd, batch: { vid: `${vrnd}.${instance}`, values: [{ client: 7, seq: instance, payload }] } };
}

/** Appends each record as its own step and waits until all are durable. */
export async function appendAll(w: WalLedger, records: readonly LedgerRecord[]): Promise<number> {
  let durable = 0;
  for (const r of records) w.append([r], () => durable++);
  await w.drained();
  return durable;
}

export function open(dir: string, o: Partial<WalOptions> = {}): WalLedger {
  return WalLedger.open({ dir, sync: "fsync", segmentBytes: 1 << 20, onWarning: (m) => warnings.push(m), ...o });
}

/** Appends the records one group at a time (each waits for the previous sync), as a slow stream of votes would. */
export async function appendEach(w: WalLedger, records: readonly LedgerRecord[]): Promise<void> {
  for (const r of records) {
    w.append([r], () => {});
    await w.drained();
  }
}

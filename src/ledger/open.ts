import * as path from "node:path";
import type { ClusterConfig, NodeEntry } from "../config/schema.ts";
import type { LedgerStatus } from "../node/status.ts";
import { RamLedger, type Ledger } from "./ledger.ts";
import { CorruptionError } from "./segment.ts";
import { WalLedger } from "./wal.ts";

/** A node's ledger as the node runtime sees it: the ledger, what /status and /metrics show, and its close. */
export interface OpenedLedger {
  readonly ledger: Ledger;
  readonly describe: string;
  status(): LedgerStatus | null;
  counters(): Record<string, number>;
  close(): Promise<void>;
}

/** Where node `id` keeps its write-ahead log. */
export function walDir(base: string, id: number): string {
  return path.join(base, `node-${id}`);
}

/**
 * Opens the ledger the configuration asks for. Only acceptors persist anything; other roles get
 * a RAM ledger whatever the configuration says. A corrupt log stops the node here with a message
 * naming the file and offset and what to do.
 */
export function openLedger(cfg: ClusterConfig["ledger"], entry: NodeEntry): OpenedLedger {
  const acceptor = entry.roles.includes("acceptor");
  if (cfg.kind === "ram" || !acceptor) {
    return {
      ledger: new RamLedger(),
      describe: "ram",
      status: () => (acceptor ? { kind: "ram" } : null),
      counters: () => ({}),
      close: async () => {},
    };
  }
  const dir = walDir(cfg.dir, entry.id);
  let wal: WalLedger;
  try {
    wal = WalLedger.open({ dir, sync: cfg.sync, segmentBytes: cfg.segmentBytes });
  } catch (e) {
    if (e instanceof CorruptionError)
      throw new CorruptionError(e.file, e.offset, `${e.reason} (check it with: paxos ledger inspect --verify ${dir}; README: "When a write-ahead log is corrupt")`);
    throw e;
  }
  return {
    ledger: wal,
    describe: `wal ${dir} (sync ${cfg.sync}, ${wal.stats().recoveredRecords} records recovered)`,
    status: () => {
      const s = wal.stats();
      return {
        kind: "wal",
        dir: s.dir,
        sync: s.sync,
        segments: s.segments,
        diskBytes: s.diskBytes,
        trimmedBelow: s.trimmedBelow,
        lastGroupRecords: s.lastGroupRecords,
        lastSyncUs: s.lastSyncUs,
        recoveredRecords: s.recoveredRecords,
        truncatedBytes: s.truncatedBytes,
      };
    },
    counters: () => {
      const s = wal.stats();
      return { ledgerRecords: s.recordsAppended, ledgerBytes: s.bytesAppended, ledgerGroups: s.groups, ledgerSegmentsDeleted: s.segmentsDeleted };
    },
    close: () => wal.close(),
  };
}

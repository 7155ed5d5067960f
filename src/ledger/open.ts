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
  /** What opening it cut off or repaired (a torn tail, with its size): one line each, for the node's log. */
  readonly warnings: readonly string[];
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
 * naming the file and offset and what to do; every error names the `ledger.dir` key. `onFatal`:
 * a write or sync that fails while the node runs (a full disk): nothing more can be made durable.
 */
export function openLedger(cfg: ClusterConfig["ledger"], entry: NodeEntry, onFatal?: (e: Error) => void): OpenedLedger {
  const acceptor = entry.roles.includes("acceptor");
  if (cfg.kind === "ram" || !acceptor) {
    return {
      ledger: new RamLedger(),
      describe: "ram",
      warnings: [],
      status: () => (acceptor ? { kind: "ram" } : null),
      counters: () => ({}),
      close: async () => {},
    };
  }
  const dir = walDir(cfg.dir, entry.id);
  const warnings: string[] = [];
  let wal: WalLedger;
  try {
    wal = WalLedger.open({ dir, sync: cfg.sync, segmentBytes: cfg.segmentBytes, configKey: "ledger.dir", onWarning: (w) => warnings.push(w), ...(onFatal ? { onFatal } : {}) });
  } catch (e) {
    if (e instanceof CorruptionError)
      throw new CorruptionError(e.file, e.offset, `${e.reason} (check it with: paxos ledger inspect --verify ${dir}; README: "When a write-ahead log is corrupt")`, e.context);
    throw e;
  }
  const opened = wal.stats();
  const cut = opened.truncatedBytes > 0 ? `, torn tail of ${opened.truncatedBytes} bytes cut off` : "";
  return {
    ledger: wal,
    describe: `wal ${dir} (sync ${cfg.sync}, ${opened.recoveredRecords} records recovered${cut})`,
    warnings,
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

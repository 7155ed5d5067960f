/**
 * State transfer: a replica whose learner gave instances up as lost (every acceptor trimmed them
 * while it was away) cannot rebuild its state from the log. It fetches another replica's snapshot
 * (snapshot-fetch.ts) standing at or beyond the lost range, installs it in one atomic step, and
 * follows the log from the snapshot's cursor. Meanwhile its learner goes on delivering from the
 * end of the lost range: those deliveries are held (DeliveryBuffer, bounded) and the ones from the
 * snapshot's cursor on are applied after it, so nothing between the snapshot and the live log is
 * missed.
 */
import { rmSync } from "node:fs";
import { invariant } from "../../core/assert.ts";
import type { Delivery, Instance } from "../../core/types.ts";
import type { Logger } from "../../obs/log.ts";
import { cursorInstance, type KvReplica } from "./replica.ts";
import { readSnapshot, SnapshotError } from "./snapshot.ts";
import { SnapshotFetcher } from "./snapshot-fetch.ts";
import type { SnapshotMeta } from "./snapshot-server.ts";
import type { StoreRow } from "../store/kv-store.ts";

/** Bound: payload bytes of deliveries held while a snapshot is fetched (beyond it the oldest go, and the snapshot must be newer). */
export const MAX_BUFFERED_BYTES = 64 << 20;

/** A contiguous run of deliveries [from, end), bounded by MAX_BUFFERED_BYTES. */
export class DeliveryBuffer {
  private items: Delivery[] = [];
  private bytes = 0;

  constructor(private start: Instance) {}

  /** The first instance held (or the next expected, when none is). */
  get from(): Instance {
    return this.start;
  }

  get end(): Instance {
    return this.start + this.items.length;
  }

  /** Holds `d`; a delivery after a gap (another lost range) starts the run again at it. */
  push(d: Delivery): void {
    if (d.instance !== this.end) this.restartAt(d.instance);
    this.items.push(d);
    this.bytes += sizeOf(d);
    while (this.bytes > MAX_BUFFERED_BYTES && this.items.length > 0) {
      this.bytes -= sizeOf(this.items.shift() as Delivery);
      this.start++;
    }
  }

  /** Drops everything held; the run starts at `at`. */
  restartAt(at: Instance): void {
    this.items = [];
    this.bytes = 0;
    this.start = at;
  }

  /** The held deliveries from `at` on (at must not be below `from`). */
  heldFrom(at: Instance): Delivery[] {
    invariant(at >= this.start, "a snapshot is installed only if the held deliveries reach it");
    return this.items.slice(Math.min(at - this.start, this.items.length));
  }
}

function sizeOf(d: Delivery): number {
  let n = 64;
  for (const v of d.values) n += v.payload.byteLength;
  return n;
}

/** What one transfer did (for the log and /status). */
export interface TransferReport {
  readonly instance: Instance;
  readonly from: string;
  readonly bytes: number;
  readonly rows: number;
  /** From the lost range to the installed state. */
  readonly ms: number;
  readonly downloadMs: number;
}

/** The instance a snapshot's cursor names (hex, from a peer: checked); null for a cursor that is not one ring's 8 bytes. */
export function instanceOfCursor(hex: string): Instance | null {
  if (!/^[0-9a-f]{16}$/.test(hex)) return null;
  const n = cursorInstance(Buffer.from(hex, "hex"));
  return Number.isSafeInteger(n) ? n : null;
}

/** Where a transfer installs a snapshot: whether one can be installed now, and how. */
export interface TransferTarget {
  /** Whether a snapshot at `cursorHex` (a peer's word: checked here) can be installed now: what the replica holds of the log since reaches it. */
  reaches(cursorHex: string): boolean;
  /** Installs the rows at `cursor` (the snapshot's own, equal to the one its server named) in one atomic step, and goes on from it. */
  install(rows: Iterable<StoreRow>, cursor: Uint8Array): void;
  /** Where the installed state stands, for the report (one ring: the next instance; partitioned: the global ring's). */
  installedAt(): Instance;
}

/** One ring's replica: the learner's deliveries held meanwhile (DeliveryBuffer) and installed after the snapshot by the host. */
export class RingTransferTarget implements TransferTarget {
  readonly buffer: DeliveryBuffer;

  constructor(
    private readonly replica: KvReplica,
    lostTo: Instance,
  ) {
    this.buffer = new DeliveryBuffer(lostTo);
  }

  reaches(cursorHex: string): boolean {
    return (instanceOfCursor(cursorHex) ?? -1) >= this.buffer.from;
  }

  install(rows: Iterable<StoreRow>, cursor: Uint8Array): void {
    this.replica.replaceState(rows, cursor);
  }

  installedAt(): Instance {
    return this.replica.resumeFrom;
  }
}

export class StateTransfer {
  private readonly startedAt = performance.now();

  constructor(
    private readonly fetcher: SnapshotFetcher,
    private readonly log: Logger,
    private readonly target: TransferTarget,
  ) {}

  /** Fetches and installs a snapshot the target can take; null once closed. */
  async run(): Promise<TransferReport | null> {
    for (;;) {
      const enough = (m: SnapshotMeta) => this.target.reaches(m.cursor);
      const got = await this.fetcher.fetch(enough);
      if (got === null) return null;
      try {
        if (!enough(got.meta)) {
          this.log.warn("the fetched snapshot is older than the log held since (it moved on while the snapshot downloaded): fetching a newer one", { cursor: got.meta.cursor });
          continue;
        }
        const rows = this.install(got.path, got.meta.cursor);
        if (rows === null) continue;
        return { instance: this.target.installedAt(), from: got.from, bytes: got.meta.bytes, rows, ms: Math.round(performance.now() - this.startedAt), downloadMs: Math.round(got.ms) };
      } finally {
        rmSync(got.path, { force: true });
      }
    }
  }

  close(): void {
    this.fetcher.close();
  }

  /** Installs the checked file; the rows installed, or null when the file is malformed (logged). */
  private install(path: string, cursorHex: string): number | null {
    let rows = 0;
    try {
      const snap = readSnapshot(path);
      try {
        if (Buffer.from(snap.cursor).toString("hex") !== cursorHex) throw new SnapshotError(`${path}: its cursor is not the one its server named`);
        this.target.install(countRows(snap.rows, () => rows++), snap.cursor);
      } finally {
        snap.close();
      }
      return rows;
    } catch (e) {
      if (!(e instanceof SnapshotError)) throw e;
      this.log.warn(`a fetched snapshot is malformed: ${e.message}`);
      return null;
    }
  }
}

/**
 * The transfers of one replica, one at a time: starts one on a target, logs and counts what it
 * installed, and tells the host (`installed`) or, when it cannot go on, why (`failed`).
 */
export class TransferRunner<T extends TransferTarget> {
  private current: { readonly run: StateTransfer; readonly target: T } | null = null;
  /** Snapshots installed since the replica started, and the last one. */
  count = 0;
  last: TransferReport | null = null;

  constructor(
    private readonly o: {
      readonly peers: readonly string[];
      readonly dir: string;
      readonly log: () => Logger;
      readonly installed: (target: T, report: TransferReport) => void;
      readonly failed: (why: string) => void;
    },
  ) {}

  /** The /status fields: whether a transfer is under way, how many installed, the last. */
  status(): { readonly transferring: boolean; readonly transfers: number; readonly lastTransfer: TransferReport | null } {
    return { transferring: this.current !== null, transfers: this.count, lastTransfer: this.last };
  }

  /** The target of the transfer under way (null: none). */
  get target(): T | null {
    return this.current?.target ?? null;
  }

  start(target: T): void {
    invariant(this.current === null, "one transfer at a time");
    const log = this.o.log();
    const t = (this.current = { run: new StateTransfer(new SnapshotFetcher(this.o.peers, this.o.dir, log), log, target), target });
    t.run.run().then(
      (report) => this.finished(t, report),
      (e: unknown) => this.o.failed(e instanceof Error ? `${(e as NodeJS.ErrnoException).code ?? ""} ${e.message}`.trim() : String(e)),
    );
  }

  close(): void {
    this.current?.run.close();
    this.current = null;
  }

  private finished(t: { readonly target: T }, report: TransferReport | null): void {
    if (this.current !== t) return;
    this.current = null;
    if (report === null) return;
    this.count++;
    this.last = report;
    this.o.log().info(`state transfer: installed a snapshot at instance ${report.instance} from ${report.from} (${report.rows} rows, ${report.bytes} bytes) ${Math.round(report.ms)} ms after the loss`, { ...report });
    this.o.installed(t.target, report);
  }
}

function* countRows<T>(rows: Iterable<T>, each: () => void): Iterable<T> {
  for (const r of rows) {
    each();
    yield r;
  }
}

/**
 * The write-ahead-log ledger: disk "ink". Records are appended to segment files; every append
 * reports durability through its callback only once its bytes are written and (sync "fsync")
 * fdatasync'ed, so the driver never lets a reply leave before the record it depends on is safe.
 *
 * Group commit: appends that arrive while a write+sync is in progress wait together and go out in
 * the next single write and single sync; their callbacks are called together, in append order.
 * Throughput is then bounded by disk bandwidth, not by syncs per second.
 *
 * Every write ends with a sync marker (one small record in the same write; see segment.ts): it
 * tells recovery which bytes were acknowledged, so bit rot before it is reported as corruption
 * rather than cut off as a torn tail.
 *
 * Segments rotate past `segmentBytes`; each new segment starts with a checkpoint (the promise and
 * trim point so far), so a segment whose votes and decisions are all below the trim point holds
 * nothing needed and is deleted. A LOCK file keeps two processes off one log.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { invariant } from "../core/assert.ts";
import { describeErrno } from "../os/errno.ts";
import type { LedgerRecord } from "../core/types.ts";
import type { Ledger } from "./ledger.ts";
import { checkpointAfter, encodeRecord, instanceOf, type Checkpoint, type WalRecord } from "./record.ts";
import { CorruptionError, scanSegment, segmentHeader, segmentName, SEGMENT_HEADER_BYTES, sortedSegments, WAL_FORMAT_VERSION, type SegmentScan } from "./segment.ts";

export type WalSync = "fsync" | "none";

export interface WalOptions {
  readonly dir: string;
  /** "fsync": fdatasync before a record counts as durable; "none": written to the OS only (survives a process crash, not a power loss). */
  readonly sync: WalSync;
  /** A segment is closed and a new one started once it is larger than this. */
  readonly segmentBytes: number;
  /** Called when a write or sync fails: the ledger can no longer promise durability (default: throw, i.e. fail-stop). */
  readonly onFatal?: (e: Error) => void;
  /** Told of what recovery cut off or repaired, one line each (default: process.emitWarning: never silent). */
  readonly onWarning?: (message: string) => void;
  /** Leads every error message: where the directory came from (e.g. the configuration key "ledger.dir"). */
  readonly configKey?: string;
}

/** Bound: buffers handed to one writev (Linux IOV_MAX is 1024). */
const MAX_WRITEV_PARTS = 512;
export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
/** Bound: bytes waiting for the next write; past it `append` refuses (the driver bounds steps before that). */
export const MAX_PENDING_BYTES = 1024 * 1024 * 1024;

export interface WalStats {
  readonly dir: string;
  readonly sync: WalSync;
  readonly segments: number;
  readonly diskBytes: number;
  readonly recordsAppended: number;
  readonly bytesAppended: number;
  /** Write+sync rounds (group commits). */
  readonly groups: number;
  readonly lastGroupRecords: number;
  readonly lastSyncUs: number;
  readonly trimmedBelow: number;
  readonly recoveredRecords: number;
  /** Bytes of a torn tail cut off at start-up (0 when the log ended cleanly); each cut is also a warning (onWarning). */
  readonly truncatedBytes: number;
  readonly segmentsDeleted: number;
}

/** Another live process holds the log. */
export class WalLockedError extends Error {
  override readonly name = "WalLockedError";
}

/** A file operation of the log failed: one line naming what, the file and the errno (no `code` property, so it is not repeated). */
export class WalIoError extends Error {
  override readonly name = "WalIoError";
}

/** One group commit: records written together and synced together. */
interface Group {
  readonly callbacks: (() => void)[];
  readonly bytes: number;
  readonly maxInstance: number;
  readonly trim: number;
  readonly t0: number;
  synced: boolean;
}

/**
 * Bound: group commits in flight. The next group's write starts while the previous one syncs, so
 * an append that arrives during a sync waits for one sync, not for the rest of the current one
 * and then its own.
 */
const MAX_GROUPS_IN_FLIGHT = 2;

interface Segment {
  readonly index: number;
  readonly file: string;
  bytes: number;
  /** Highest instance a vote or decision of this segment is about; -1 when none. */
  maxInstance: number;
}

/** Logs this process has open: a second open of the same directory is refused like another process'. */
const openHere = new Set<string>();

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function syncDir(dir: string): void {
  let fd: number | null = null;
  try {
    fd = fs.openSync(dir, "r");
    fs.fsyncSync(fd);
  } catch {
    // Not every platform can sync a directory; the segment's own sync still holds its records.
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}

export class WalLedger implements Ledger {
  private readonly segments: Segment[] = [];
  private fd = -1;
  private readonly recovered: LedgerRecord[] = [];
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private pendingCallbacks: (() => void)[] = [];
  /** Records pending (what the group's sync marker counts). */
  private pendingRecords = 0;
  private pendingMaxInstance = -1;
  private pendingTrim = -1;
  /** A group's write is in progress (writes go out one at a time, in order). */
  private writing = false;
  /** Groups written or being written and not yet released, oldest first. */
  private inFlight: Group[] = [];
  private scheduled = false;
  private closed = false;
  private failed: Error | null = null;
  private idle: (() => void)[] = [];
  /** Highest promise (or vote round) and trim point appended so far: each new segment's checkpoint. */
  private checkpoint: Checkpoint = { rnd: 0, trimmedBelow: 0 };
  private s = { recordsAppended: 0, bytesAppended: 0, groups: 0, lastGroupRecords: 0, lastSyncUs: 0, recoveredRecords: 0, truncatedBytes: 0, segmentsDeleted: 0 };

  private constructor(private readonly o: WalOptions) {}

  /** Opens (or creates) the log in `o.dir`, recovers its records, and cuts off a torn tail. Throws CorruptionError, WalLockedError or WalIoError. */
  static open(o: WalOptions): WalLedger {
    invariant(o.segmentBytes >= 4096, "a segment holds at least 4096 bytes");
    const w = new WalLedger(o);
    w.io(`cannot create ${o.dir}`, () => fs.mkdirSync(o.dir, { recursive: true }));
    w.lock();
    try {
      w.recover_();
    } catch (e) {
      w.unlock();
      if (e instanceof CorruptionError && o.configKey !== undefined) throw new CorruptionError(e.file, e.offset, e.reason, o.configKey);
      throw e;
    }
    return w;
  }

  /** Runs a file operation; its failure becomes one WalIoError line ("ledger.dir: cannot open …: EACCES (permission denied)"). */
  private io<T>(what: string, f: () => T): T {
    try {
      return f();
    } catch (e) {
      throw this.ioError(what, e);
    }
  }

  private ioError(what: string, e: unknown): WalIoError {
    return new WalIoError(`${this.o.configKey ?? "write-ahead log"}: ${what}: ${describeErrno(e)}`);
  }

  private warn(message: string): void {
    const m = `${this.o.configKey ? `${this.o.configKey}: ` : ""}${message}`;
    if (this.o.onWarning) this.o.onWarning(m);
    else process.emitWarning(m, "WalWarning");
  }

  private lockFile(): string {
    return path.join(this.o.dir, "LOCK");
  }

  private lock(): void {
    const abs = path.resolve(this.o.dir);
    const key = this.o.configKey ? `${this.o.configKey}: ` : "";
    if (openHere.has(abs)) throw new WalLockedError(`${key}write-ahead log ${this.o.dir} is already open in this process`);
    const f = this.lockFile();
    try {
      fs.writeFileSync(f, `${process.pid}\n`, { flag: "wx" });
      openHere.add(abs);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw this.ioError(`cannot create ${f}`, e);
    }
    const pid = Number(this.io(`cannot read ${f}`, () => fs.readFileSync(f, "utf8")).trim());
    if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && pidAlive(pid))
      throw new WalLockedError(`${key}write-ahead log ${this.o.dir} is in use by process ${pid} (its LOCK file)`);
    // A stale lock: its process is gone (killed, crashed).
    this.io(`cannot write ${f}`, () => fs.writeFileSync(f, `${process.pid}\n`));
    openHere.add(abs);
  }

  private unlock(): void {
    openHere.delete(path.resolve(this.o.dir));
    try {
      if (fs.readFileSync(this.lockFile(), "utf8").trim() === String(process.pid)) fs.unlinkSync(this.lockFile());
    } catch {
      // Already gone.
    }
  }

  private recover_(): void {
    const names = this.io(`cannot read ${this.o.dir}`, () => sortedSegments(fs.readdirSync(this.o.dir)));
    let current = WAL_FORMAT_VERSION;
    for (let k = 0; k < names.length; k++) {
      const { name, index } = names[k] as { name: string; index: number };
      const v = this.recoverSegment(path.join(this.o.dir, name), index, k === names.length - 1);
      if (v !== null) current = v;
    }
    this.s.recoveredRecords = this.recovered.length;
    const cur = this.segments.at(-1);
    // A log of an older format goes on in a new segment: a segment is of one format throughout.
    if (cur && cur.bytes < this.o.segmentBytes && current === WAL_FORMAT_VERSION) this.fd = this.io(`cannot open ${cur.file}`, () => fs.openSync(cur.file, "a"));
    else this.rotate();
  }

  /** Replays one segment; the newest one's torn tail is cut off (with a warning). Returns its format version, or null when it was dropped. */
  private recoverSegment(file: string, index: number, last: boolean): number | null {
    const buf = this.io(`cannot read ${file}`, () => fs.readFileSync(file));
    const scan = scanSegment(buf, file, last);
    const cut = buf.length - scan.end;
    if (cut > 0) {
      this.s.truncatedBytes += cut;
      const why = scan.torn ? ` (${scan.torn.reason})` : "";
      this.warn(`write-ahead log: cut off a torn tail of ${cut} bytes at ${file} offset ${scan.end}${why}; written after the last acknowledged write, so never acknowledged`);
      if (scan.records.length === 0) {
        // Not even the segment's checkpoint made it: nothing in it was ever acknowledged.
        this.io(`cannot remove ${file}`, () => fs.unlinkSync(file));
        syncDir(this.o.dir);
        return null;
      }
      this.io(`cannot truncate ${file}`, () => fs.truncateSync(file, scan.end));
    }
    const seg: Segment = { index, file, bytes: scan.end, maxInstance: -1 };
    for (const { record } of scan.records) {
      seg.maxInstance = Math.max(seg.maxInstance, instanceOf(record));
      this.note(record);
      if (record.k === "checkpoint") {
        if (record.rnd > 0) this.recovered.push({ k: "promise", rnd: record.rnd });
        if (record.trimmedBelow > 0) this.recovered.push({ k: "trim", below: record.trimmedBelow });
      } else this.recovered.push(record);
    }
    if (scan.unmarked > 0) seg.bytes += this.markRecovered(file, scan);
    this.segments.push(seg);
    return scan.version;
  }

  /**
   * Records after the last sync marker were written but never acknowledged. The node resumes with
   * them (it may answer from them), so they are made durable and covered by a marker now: the log
   * again ends with one. Returns the marker's size.
   */
  private markRecovered(file: string, scan: SegmentScan): number {
    const marker = encodeRecord({ k: "sync", from: scan.acknowledged, records: scan.unmarked });
    const fd = this.io(`cannot open ${file}`, () => fs.openSync(file, "a"));
    try {
      this.io(`cannot write to ${file}`, () => fs.writeSync(fd, marker));
      if (this.o.sync === "fsync") this.io(`cannot sync ${file}`, () => fs.fdatasyncSync(fd));
    } finally {
      fs.closeSync(fd);
    }
    this.warn(`write-ahead log: ${scan.unmarked} record(s) at ${file} offset ${scan.acknowledged} were written after the last sync marker (a crash mid-write, never acknowledged); kept, and marked durable now`);
    return marker.length;
  }

  /** Keeps the checkpoint state current. */
  private note(r: WalRecord): void {
    this.checkpoint = checkpointAfter(this.checkpoint, r);
  }

  /** Closes the current segment (already synced) and starts the next with a checkpoint, synchronously (once per segmentBytes). */
  private rotate(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
    const index = (this.segments.at(-1)?.index ?? -1) + 1;
    const file = path.join(this.o.dir, segmentName(index));
    const cp = encodeRecord({ k: "checkpoint", ...this.checkpoint });
    const first = Buffer.concat([segmentHeader(), cp, encodeRecord({ k: "sync", from: SEGMENT_HEADER_BYTES, records: 1 })]);
    const fd = this.io(`cannot create ${file}`, () => fs.openSync(file, "wx"));
    try {
      this.io(`cannot write to ${file}`, () => fs.writeSync(fd, first));
      if (this.o.sync === "fsync") this.io(`cannot sync ${file}`, () => fs.fdatasyncSync(fd));
    } finally {
      fs.closeSync(fd);
    }
    syncDir(this.o.dir);
    this.segments.push({ index, file, bytes: first.length, maxInstance: -1 });
    this.fd = this.io(`cannot open ${file}`, () => fs.openSync(file, "a"));
  }

  recover(): readonly LedgerRecord[] {
    return this.recovered;
  }

  append(records: readonly LedgerRecord[], durable: () => void): void {
    if (this.failed) throw this.failed;
    invariant(!this.closed, "no append after close");
    for (const r of records) {
      const b = encodeRecord(r);
      this.pending.push(b);
      this.pendingBytes += b.length;
      this.pendingMaxInstance = Math.max(this.pendingMaxInstance, instanceOf(r));
      if (r.k === "trim") this.pendingTrim = Math.max(this.pendingTrim, r.below);
      this.note(r);
      this.s.recordsAppended++;
    }
    this.pendingRecords += records.length;
    invariant(this.pendingBytes <= MAX_PENDING_BYTES, `at most ${MAX_PENDING_BYTES} bytes wait for the log`);
    if (this.o.sync === "none") {
      // Nothing to wait for but the kernel: written at once, durable against a process crash.
      this.writeNow();
      durable();
      return;
    }
    this.pendingCallbacks.push(durable);
    if (!this.writing && !this.scheduled) {
      this.scheduled = true;
      // Whatever else arrives in this turn of the event loop joins the same group.
      setImmediate(() => {
        this.scheduled = false;
        this.flush();
      });
    }
  }

  private fail(e: Error): void {
    this.failed = e;
    if (this.o.onFatal) this.o.onFatal(e);
    else throw e;
  }

  /**
   * Takes what is pending as one group, ended by its sync marker. Called only with every earlier
   * write accounted for, so the current segment's size is where the group will begin.
   */
  private takeGroup(): { parts: Uint8Array[]; group: Group } {
    const marker = encodeRecord({ k: "sync", from: (this.segments.at(-1) as Segment).bytes, records: this.pendingRecords });
    const parts = this.pending;
    parts.push(marker);
    const group: Group = {
      callbacks: this.pendingCallbacks,
      bytes: this.pendingBytes + marker.length,
      maxInstance: this.pendingMaxInstance,
      trim: this.pendingTrim,
      t0: performance.now(),
      synced: false,
    };
    this.pending = [];
    this.pendingBytes = 0;
    this.pendingCallbacks = [];
    this.pendingRecords = 0;
    this.pendingMaxInstance = -1;
    this.pendingTrim = -1;
    return { parts, group };
  }

  /** Bound: buffers handed to one writev (beyond, copied into one buffer). */
  private iov(parts: Uint8Array[]): Uint8Array[] {
    return parts.length > MAX_WRITEV_PARTS ? [Buffer.concat(parts)] : parts;
  }

  /** sync "none": a synchronous write of what is pending (the kernel has it once this returns). */
  private writeNow(): void {
    const { parts, group } = this.takeGroup();
    try {
      let iov = this.iov(parts);
      let n = fs.writevSync(this.fd, iov);
      while (n < group.bytes) {
        const rest = Buffer.concat(iov).subarray(n);
        iov = [rest];
        n += fs.writeSync(this.fd, rest);
      }
    } catch (e) {
      return this.fail(this.ioError(`cannot write to ${(this.segments.at(-1) as Segment).file}`, e));
    }
    group.synced = true;
    this.account(group);
    this.s.lastSyncUs = Math.round((performance.now() - group.t0) * 1000);
    this.housekeep(group.trim);
  }

  /** A group's bytes are in the current segment. */
  private account(g: Group): void {
    const seg = this.segments.at(-1) as Segment;
    this.s.groups++;
    this.s.lastGroupRecords = g.callbacks.length;
    this.s.bytesAppended += g.bytes;
    seg.bytes += g.bytes;
    seg.maxInstance = Math.max(seg.maxInstance, g.maxInstance);
  }

  /** Rotation (only with nothing in flight on the current file) and segment deletion after a trim. */
  private housekeep(trim: number): void {
    try {
      if (!this.writing && this.inFlight.length === 0 && (this.segments.at(-1) as Segment).bytes >= this.o.segmentBytes) this.rotate();
      if (trim >= 0) this.collect();
    } catch (e) {
      this.fail(e instanceof WalIoError ? e : this.ioError("housekeeping failed", e));
    }
  }

  private flush(): void {
    if (this.failed) return;
    if (this.pendingCallbacks.length === 0) {
      if (!this.writing && this.inFlight.length === 0) this.wakeIdle();
      return;
    }
    if (this.writing || this.inFlight.length >= MAX_GROUPS_IN_FLIGHT) return;
    // A full segment is rotated before anything more goes into it: wait for what is in flight on it.
    if ((this.segments.at(-1) as Segment).bytes >= this.o.segmentBytes) {
      if (this.inFlight.length > 0) return;
      this.housekeep(-1);
      if (this.failed) return;
    }
    const { parts, group } = this.takeGroup();
    this.inFlight.push(group);
    this.writing = true;
    const file = (this.segments.at(-1) as Segment).file;
    const fd = this.fd;
    const failed = (err: NodeJS.ErrnoException, what: string) => this.fail(this.ioError(`${what} ${file}`, err));
    // Only sync "fsync" gets here: with "none", append writes at once (writeNow).
    const written = () => {
      this.writing = false;
      this.account(group);
      fs.fdatasync(fd, (err) => {
        if (err) return failed(err, "cannot sync");
        // A sync covers every byte written before it began: this group and all older ones.
        for (const g of this.inFlight) {
          g.synced = true;
          if (g === group) break;
        }
        this.release();
      });
      // The next group's write goes out while this one syncs.
      this.flush();
    };
    // A short write (a full disk, a signal) goes on with what is left.
    const writeRest = (rest: Uint8Array) =>
      fs.write(fd, rest, 0, rest.length, null, (err, n) => (err ? failed(err, "cannot write to") : n < rest.length ? writeRest(rest.subarray(n)) : written()));
    const iov = this.iov(parts);
    fs.writev(fd, iov, null, (err, n) => (err ? failed(err, "cannot write to") : n < group.bytes ? writeRest(Buffer.concat(iov).subarray(n)) : written()));
  }

  /** Releases synced groups in order: their callbacks (the held replies) run. */
  private release(): void {
    if (this.failed) return;
    let trim = -1;
    while (this.inFlight[0]?.synced) {
      const g = this.inFlight.shift() as Group;
      this.s.lastSyncUs = Math.round((performance.now() - g.t0) * 1000);
      trim = Math.max(trim, g.trim);
      for (const cb of g.callbacks) cb();
    }
    this.housekeep(trim);
    this.flush();
  }

  /** Deletes the oldest segments whose votes and decisions are all below the trim point (never the current one). */
  private collect(): void {
    while (this.segments.length > 1) {
      const oldest = this.segments[0] as Segment;
      if (oldest.maxInstance >= this.checkpoint.trimmedBelow) break;
      this.io(`cannot remove ${oldest.file}`, () => fs.unlinkSync(oldest.file));
      this.segments.shift();
      this.s.segmentsDeleted++;
    }
  }

  private wakeIdle(): void {
    const w = this.idle;
    this.idle = [];
    for (const f of w) f();
  }

  /** Resolves once every record appended so far is durable. */
  drained(): Promise<void> {
    if (!this.writing && this.inFlight.length === 0 && !this.scheduled && this.pendingCallbacks.length === 0) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  /** Waits for pending records, then closes the segment and releases the lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (!this.failed) await this.drained();
    this.closed = true;
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
    this.unlock();
  }

  stats(): WalStats {
    return {
      dir: this.o.dir,
      sync: this.o.sync,
      segments: this.segments.length,
      diskBytes: this.segments.reduce((a, s) => a + s.bytes, 0),
      trimmedBelow: this.checkpoint.trimmedBelow,
      ...this.s,
    };
  }
}


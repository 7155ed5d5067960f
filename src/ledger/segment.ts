/**
 * Segment files of the write-ahead log: naming, the 16-byte file header, and the scan that
 * recovers a segment's records, tells a torn tail (a crash mid-write: cut off, it was never
 * acknowledged) from corruption (refused, naming the file and offset).
 *
 * File header: "PAXOSWAL" (8 bytes), u16 format version, u16 zero, u32 CRC-32 of bytes 0..11.
 *
 * Format 2: every write (a group commit, a new segment's header and checkpoint) ends with a sync
 * marker (record.ts), and no callback of the group runs before that write is done (and, sync
 * "fsync", fdatasync'ed). A marker on disk therefore says the bytes before it were acknowledged,
 * and a torn write and bit rot become distinguishable:
 * - a bad spot (a header or body failing its checksum, a record running past the end of the
 *   file) with an intact sync marker anywhere after it, or in any segment but the newest (closed
 *   segments are synced whole before the next begins), is corruption;
 * - a bad spot after the newest segment's last marker is a torn tail: cut off from the bad spot
 *   on. Intact records between the last marker and the bad spot are kept (never acknowledged,
 *   but harmless to remember; recovery covers them with a marker of their own).
 * One spot stays ambiguous: bit rot in the very last marker reads as a torn tail, but only the
 * marker is cut (it holds no state) and the records before it are kept. The conservative side:
 * a power loss during a sync that persisted a later page of the write in flight (or of the next,
 * which may start while a sync runs) but not an earlier one reads as corruption.
 *
 * Format 1 (no markers, written by older builds) is still read, by the old rule: a bad spot is a
 * torn tail only in the newest segment and only when no intact record follows it.
 */
import { checksum, decodeBody, readHeader, RECORD_HEADER_BYTES, RecordError, RecordType, type DiskRecord, type WalRecord } from "./record.ts";

export const SEGMENT_HEADER_BYTES = 16;
/** The format this build writes: sync markers after every write. */
export const WAL_FORMAT_VERSION = 2;
/** The format before sync markers: read by the old torn-tail rule, never written. */
export const LEGACY_FORMAT_VERSION = 1;
const MAGIC = new TextEncoder().encode("PAXOSWAL");
const NAME = /^seg-(\d{16})\.wal$/;

export function segmentName(index: number): string {
  return `seg-${String(index).padStart(16, "0")}.wal`;
}

/** The segment index of a file name, or null when the name is not a segment's. */
export function segmentIndex(name: string): number | null {
  const m = NAME.exec(name);
  return m ? Number(m[1]) : null;
}

/** The segment files among `names` (a directory listing), oldest first. */
export function sortedSegments(names: readonly string[]): { readonly name: string; readonly index: number }[] {
  return names
    .map((name) => ({ name, index: segmentIndex(name) }))
    .filter((x): x is { name: string; index: number } => x.index !== null)
    .sort((a, b) => a.index - b.index);
}

export function segmentHeader(): Uint8Array {
  const h = new Uint8Array(SEGMENT_HEADER_BYTES);
  h.set(MAGIC, 0);
  const dv = new DataView(h.buffer);
  dv.setUint16(8, WAL_FORMAT_VERSION, true);
  dv.setUint32(12, checksum(h.subarray(0, 12)), true);
  return h;
}

/** Damage before the tail of the log: never skipped silently. */
export class CorruptionError extends Error {
  override readonly name = "CorruptionError";
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly reason: string,
    /** Where the log came from, leading the message (e.g. the configuration key "ledger.dir"). */
    readonly context?: string,
  ) {
    super(`${context ? `${context}: ` : ""}write-ahead log is corrupt: ${file} at offset ${offset}: ${reason}`);
  }
}

export interface ScannedRecord {
  readonly record: WalRecord;
  readonly offset: number;
  readonly bytes: number;
}

export interface SegmentScan {
  readonly version: number;
  /** The stored records (sync markers left out), oldest first. */
  readonly records: ScannedRecord[];
  readonly markers: number;
  /** Where valid data ends: the file is truncated here when the tail is torn. */
  readonly end: number;
  /** A torn tail that was cut off: where and why. */
  readonly torn: { readonly offset: number; readonly reason: string } | null;
  /** Format 2: where the last sync marker ends (the segment's header when it has none); format 1: `end`. */
  readonly acknowledged: number;
  /** Intact records kept after the last sync marker (format 2): written, never acknowledged. */
  readonly unmarked: number;
}

function headerProblem(buf: Uint8Array): string | null {
  if (buf.length < SEGMENT_HEADER_BYTES) return `file header cut short (${buf.length} of ${SEGMENT_HEADER_BYTES} bytes)`;
  for (let i = 0; i < MAGIC.length; i++) if (buf[i] !== MAGIC[i]) return "not a paxos write-ahead-log segment (bad magic)";
  const dv = new DataView(buf.buffer, buf.byteOffset, SEGMENT_HEADER_BYTES);
  if (dv.getUint32(12, true) !== checksum(buf.subarray(0, 12))) return "file header checksum mismatch";
  const v = dv.getUint16(8, true);
  if (v !== WAL_FORMAT_VERSION && v !== LEGACY_FORMAT_VERSION)
    return `format version ${v}, this build reads versions ${LEGACY_FORMAT_VERSION} and ${WAL_FORMAT_VERSION}`;
  return null;
}

/** The body of an intact record (header and body checksums match) at `p`, or null. */
function intactAt(buf: Uint8Array, p: number): { readonly type: number; readonly body: Uint8Array } | null {
  const h = readHeader(buf, p);
  if (!h) return null;
  const end = p + RECORD_HEADER_BYTES + h.length;
  if (end > buf.length) return null;
  const body = buf.subarray(p + RECORD_HEADER_BYTES, end);
  return checksum(body) === h.bodyCrc ? { type: h.type, body } : null;
}

/** Whether an intact record starts anywhere at or after `from` (format 1's test for a torn tail). */
function intactRecordAfter(buf: Uint8Array, from: number): boolean {
  for (let p = from; p + RECORD_HEADER_BYTES <= buf.length; p++) if (intactAt(buf, p)) return true;
  return false;
}

/** The offset of the first intact sync marker at or after `from`, or -1: the bytes before one were acknowledged. */
function markerAfter(buf: Uint8Array, from: number): number {
  for (let p = from; p + RECORD_HEADER_BYTES <= buf.length; p++) {
    const r = intactAt(buf, p);
    if (!r || r.type !== RecordType.Sync) continue;
    try {
      const m = decodeBody(r.type, r.body);
      // A marker covers bytes before itself: anything else is a look-alike (say, inside a payload).
      if (m.k === "sync" && m.from < p) return p;
    } catch {
      // Checksums match but the shape does not: not a marker.
    }
  }
  return -1;
}

type Parsed = { readonly record: DiskRecord; readonly end: number } | { readonly bad: string };

/** The record at `off`, or why it is a bad spot. A body whose checksum matches but which this build cannot read is corruption (thrown). */
function readRecord(buf: Uint8Array, off: number, file: string, verifyBodies: boolean): Parsed {
  const h = readHeader(buf, off);
  if (!h) return { bad: off + RECORD_HEADER_BYTES > buf.length ? "record header cut short" : "record header checksum mismatch" };
  const end = off + RECORD_HEADER_BYTES + h.length;
  if (end > buf.length) return { bad: `record of ${h.length} bytes runs past the end of the file` };
  const body = buf.subarray(off + RECORD_HEADER_BYTES, end);
  if (verifyBodies && checksum(body) !== h.bodyCrc) return { bad: "record checksum mismatch" };
  try {
    return { record: decodeBody(h.type, body), end };
  } catch (e) {
    // The checksum matched: this is not a torn write but a record this build cannot read.
    if (e instanceof RecordError) throw new CorruptionError(file, off, e.message);
    throw e;
  }
}

/**
 * Reads every record of one segment. `last`: whether it is the newest segment (the only one that
 * can be torn). `verifyBodies: false` skips the body checksums (headers are always checked: they
 * chain the records), for a quick summary; a bad spot is still judged with every checksum.
 */
export function scanSegment(buf: Uint8Array, file: string, last: boolean, verifyBodies = true): SegmentScan {
  const hp = headerProblem(buf);
  if (hp !== null) {
    // A version or magic problem is never a torn write: the header is written whole before any record.
    const torn = buf.length < SEGMENT_HEADER_BYTES || hp.includes("checksum");
    if (torn && last && !intactRecordAfter(buf, 1)) return { version: 0, records: [], markers: 0, end: 0, torn: { offset: 0, reason: hp }, acknowledged: 0, unmarked: 0 };
    throw new CorruptionError(file, 0, hp);
  }
  const version = new DataView(buf.buffer, buf.byteOffset, SEGMENT_HEADER_BYTES).getUint16(8, true);
  const marked = version >= WAL_FORMAT_VERSION;
  const records: ScannedRecord[] = [];
  let markers = 0;
  let acknowledged = SEGMENT_HEADER_BYTES;
  let unmarked = 0;
  const result = (end: number, torn: SegmentScan["torn"]): SegmentScan => ({ version, records, markers, end, torn, acknowledged: marked ? acknowledged : end, unmarked: marked ? unmarked : 0 });
  const bad = (off: number, reason: string): SegmentScan => {
    if (!marked) {
      if (last && !intactRecordAfter(buf, off + 1)) return result(off, { offset: off, reason });
      throw new CorruptionError(file, off, reason);
    }
    if (!last) throw new CorruptionError(file, off, `${reason}; a closed segment, all of it acknowledged durable`);
    const m = markerAfter(buf, off + 1);
    if (m >= 0) throw new CorruptionError(file, off, `${reason}; the sync marker at offset ${m} says it was acknowledged durable`);
    return result(off, { offset: off, reason });
  };
  let off = SEGMENT_HEADER_BYTES;
  while (off < buf.length) {
    const r = readRecord(buf, off, file, verifyBodies);
    if ("bad" in r) return bad(off, r.bad);
    if (r.record.k !== "sync") {
      records.push({ record: r.record, offset: off, bytes: r.end - off });
      unmarked++;
    } else if (!marked) {
      throw new CorruptionError(file, off, `a sync marker in a format-${version} segment`);
    } else if (r.record.from !== acknowledged || r.record.records !== unmarked) {
      throw new CorruptionError(file, off, `sync marker covers ${r.record.records} record(s) from offset ${r.record.from}, but ${unmarked} follow offset ${acknowledged}`);
    } else {
      acknowledged = r.end;
      unmarked = 0;
      markers++;
    }
    off = r.end;
  }
  if (marked && !last && unmarked > 0) throw new CorruptionError(file, acknowledged, `${unmarked} record(s) after the last sync marker of a closed segment`);
  return result(off, null);
}

/**
 * Segment files of the write-ahead log: naming, the 16-byte file header, and the scan that
 * recovers a segment's records, tells a torn tail (a crash mid-write: truncated, it was never
 * acknowledged) from corruption (refused, naming the file and offset).
 *
 * File header: "PAXOSWAL" (8 bytes), u16 format version, u16 zero, u32 CRC-32 of bytes 0..11.
 *
 * Torn or corrupt? A bad spot (a header or body failing its checksum, or a record running past
 * the end of the file) is a torn tail only in the last segment and only when no valid record
 * follows it; anything else is corruption. A crash that persisted a later record of an
 * unacknowledged write but not an earlier one is therefore reported as corruption too: the
 * conservative answer (the node refuses to start) rather than a silent loss.
 */
import { checksum, decodeBody, readHeader, RECORD_HEADER_BYTES, RecordError, type WalRecord } from "./record.ts";

export const SEGMENT_HEADER_BYTES = 16;
export const WAL_FORMAT_VERSION = 1;
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
  ) {
    super(`write-ahead log is corrupt: ${file} at offset ${offset}: ${reason}`);
  }
}

export interface ScannedRecord {
  readonly record: WalRecord;
  readonly offset: number;
  readonly bytes: number;
}

export interface SegmentScan {
  readonly records: ScannedRecord[];
  /** Where valid data ends: the file is truncated here when the tail is torn. */
  readonly end: number;
  /** A torn tail that was cut off: where and why. */
  readonly torn: { readonly offset: number; readonly reason: string } | null;
}

function headerProblem(buf: Uint8Array): string | null {
  if (buf.length < SEGMENT_HEADER_BYTES) return `file header cut short (${buf.length} of ${SEGMENT_HEADER_BYTES} bytes)`;
  for (let i = 0; i < MAGIC.length; i++) if (buf[i] !== MAGIC[i]) return "not a paxos write-ahead-log segment (bad magic)";
  const dv = new DataView(buf.buffer, buf.byteOffset, SEGMENT_HEADER_BYTES);
  if (dv.getUint32(12, true) !== checksum(buf.subarray(0, 12))) return "file header checksum mismatch";
  const v = dv.getUint16(8, true);
  if (v !== WAL_FORMAT_VERSION) return `format version ${v}, this build reads version ${WAL_FORMAT_VERSION}`;
  return null;
}

/** Whether an intact record (header and body checksums match) starts anywhere at or after `from`. */
function intactRecordAfter(buf: Uint8Array, from: number): boolean {
  for (let p = from; p + RECORD_HEADER_BYTES <= buf.length; p++) {
    const h = readHeader(buf, p);
    if (!h) continue;
    const end = p + RECORD_HEADER_BYTES + h.length;
    if (end <= buf.length && checksum(buf.subarray(p + RECORD_HEADER_BYTES, end)) === h.bodyCrc) return true;
  }
  return false;
}

/**
 * Reads every record of one segment. `last`: whether it is the newest segment (the only one that
 * can be torn). `verifyBodies: false` skips the body checksums (headers are always checked: they
 * chain the records), for a quick summary.
 */
export function scanSegment(buf: Uint8Array, file: string, last: boolean, verifyBodies = true): SegmentScan {
  const records: ScannedRecord[] = [];
  const bad = (offset: number, reason: string): SegmentScan => {
    if (last && !intactRecordAfter(buf, offset + 1)) return { records, end: offset, torn: { offset, reason } };
    throw new CorruptionError(file, offset, reason);
  };
  const hp = headerProblem(buf);
  if (hp !== null) {
    // A version or magic problem is never a torn write: the header is written whole before any record.
    if (buf.length >= SEGMENT_HEADER_BYTES && !hp.includes("checksum")) throw new CorruptionError(file, 0, hp);
    return bad(0, hp);
  }
  let off = SEGMENT_HEADER_BYTES;
  while (off < buf.length) {
    const h = readHeader(buf, off);
    if (!h) return bad(off, off + RECORD_HEADER_BYTES > buf.length ? "record header cut short" : "record header checksum mismatch");
    const end = off + RECORD_HEADER_BYTES + h.length;
    if (end > buf.length) return bad(off, `record of ${h.length} bytes runs past the end of the file`);
    const body = buf.subarray(off + RECORD_HEADER_BYTES, end);
    if (verifyBodies && checksum(body) !== h.bodyCrc) return bad(off, "record checksum mismatch");
    let record: WalRecord;
    try {
      record = decodeBody(h.type, body);
    } catch (e) {
      // The checksum matched: this is not a torn write but a record this build cannot read.
      if (e instanceof RecordError) throw new CorruptionError(file, off, e.message);
      throw e;
    }
    records.push({ record, offset: off, bytes: end - off });
    off = end;
  }
  return { records, end: off, torn: null };
}

/**
 * `paxos ledger inspect DIR`: what a write-ahead log holds, read-only (it can run beside a live
 * node; a torn tail is reported, not cut off). With verify, every record's checksum is checked.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { checkpointAfter, instanceOf, type Checkpoint } from "./record.ts";
import { scanSegment, sortedSegments } from "./segment.ts";

export interface SegmentSummary {
  readonly file: string;
  readonly bytes: number;
  readonly records: number;
  /** Lowest and highest instance of a vote or decision in it (null: none). */
  readonly instances: readonly [number, number] | null;
}

export interface WalSummary {
  readonly dir: string;
  readonly segments: readonly SegmentSummary[];
  readonly records: { readonly promise: number; readonly vote: number; readonly decision: number; readonly trim: number; readonly checkpoint: number };
  /** Sync markers: one per write (group commit, new segment) in format-2 segments. */
  readonly syncMarkers: number;
  readonly instances: readonly [number, number] | null;
  /** The highest round promised (or voted in): what the acceptor resumes with. */
  readonly lastPromise: number;
  readonly trimmedBelow: number;
  readonly diskBytes: number;
  /** A torn tail (after the newest segment's last sync marker) the next start will cut off. */
  readonly tornTail: { readonly file: string; readonly offset: number; readonly bytes: number; readonly reason: string } | null;
  /** Intact records after the newest segment's last sync marker (a crash mid-write): the next start keeps them and marks them durable. */
  readonly unmarkedRecords: number;
  readonly verified: boolean;
}

export class NotALogError extends Error {
  override readonly name = "NotALogError";
}

/** Reads the log in `dir`. Throws CorruptionError (file and offset) on damage before the tail, NotALogError when there is no log. */
export function inspectWal(dir: string, verify: boolean): WalSummary {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    throw new NotALogError(`${dir}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such directory" : (e as Error).message}`);
  }
  const segs = sortedSegments(names);
  if (segs.length === 0) throw new NotALogError(`${dir}: no write-ahead-log segments (seg-*.wal) here`);
  const records = { promise: 0, vote: 0, decision: 0, trim: 0, checkpoint: 0 };
  const segments: SegmentSummary[] = [];
  let lo = Infinity;
  let hi = -Infinity;
  let cp: Checkpoint = { rnd: 0, trimmedBelow: 0 };
  let diskBytes = 0;
  let tornTail: WalSummary["tornTail"] = null;
  let syncMarkers = 0;
  let unmarkedRecords = 0;
  segs.forEach(({ name: n }, k) => {
    const file = path.join(dir, n);
    const buf = fs.readFileSync(file);
    diskBytes += buf.length;
    const scan = scanSegment(buf, file, k === segs.length - 1, verify);
    if (scan.torn) tornTail = { file, offset: scan.torn.offset, bytes: buf.length - scan.end, reason: scan.torn.reason };
    syncMarkers += scan.markers;
    unmarkedRecords += scan.unmarked;
    let slo = Infinity;
    let shi = -Infinity;
    for (const { record: r } of scan.records) {
      records[r.k]++;
      const i = instanceOf(r);
      if (i >= 0) {
        slo = Math.min(slo, i);
        shi = Math.max(shi, i);
      }
      cp = checkpointAfter(cp, r);
    }
    segments.push({ file: n, bytes: buf.length, records: scan.records.length, instances: slo <= shi ? [slo, shi] : null });
    lo = Math.min(lo, slo);
    hi = Math.max(hi, shi);
  });
  return { dir, segments, records, instances: lo <= hi ? [lo, hi] : null, lastPromise: cp.rnd, trimmedBelow: cp.trimmedBelow, diskBytes, tornTail, unmarkedRecords, syncMarkers, verified: verify };
}

export function formatWalSummary(s: WalSummary): string {
  const r = s.records;
  const total = r.promise + r.vote + r.decision + r.trim + r.checkpoint;
  const lines = [
    `write-ahead log ${s.dir}: ${s.segments.length} segment(s), ${s.diskBytes.toLocaleString("en-US")} bytes`,
    `records: ${total} (${r.vote} votes, ${r.promise} promises, ${r.decision} decisions, ${r.trim} trims, ${r.checkpoint} checkpoints); ${s.syncMarkers} sync markers`,
    `instances: ${s.instances ? `${s.instances[0]}..${s.instances[1]}` : "none"}${s.trimmedBelow > 0 ? `, trimmed below ${s.trimmedBelow}` : ""}`,
    `last promise: round ${s.lastPromise}`,
    "",
    "segment                          bytes   records  instances",
    ...s.segments.map((g) => `${g.file.padEnd(26)} ${String(g.bytes).padStart(11)} ${String(g.records).padStart(9)}  ${g.instances ? `${g.instances[0]}..${g.instances[1]}` : "-"}`),
    "",
    s.tornTail
      ? `torn tail: ${s.tornTail.file} at offset ${s.tornTail.offset} (${s.tornTail.bytes} bytes, ${s.tornTail.reason}); the node cuts it off at its next start (it was never acknowledged)`
      : "tail: clean",
    ...(s.unmarkedRecords > 0 ? [`${s.unmarkedRecords} record(s) after the last sync marker (written, never acknowledged): the node keeps them and marks them durable at its next start`] : []),
    s.verified ? `verify: every record checksum matches${s.tornTail ? " (up to the torn tail)" : ""}` : "checksums of record bodies not checked (add --verify)",
  ];
  return `${lines.join("\n")}\n`;
}

import { Buffer } from "node:buffer";
import { closeSync, createWriteStream, fstatSync, ftruncateSync, openSync, readSync, type WriteStream } from "node:fs";
import { dirname } from "node:path";
import process from "node:process";
import type { Delivery } from "../core/types.ts";

/**
 * Values of the last this-many lines of an --output file seed a resuming learner's duplicate
 * filter: a re-sent copy of one of them decided again later is still filtered out. A proposer has
 * at most proposerWindow (≤ 4096) values in flight, so re-sent copies stay within this reach.
 */
export const RESUME_TAIL_LINES = 4096;

/** A (client, seq) delivered before the restart. */
export interface DeliveredValue {
  readonly client: number;
  readonly seq: number;
}

/** Where a learner writing to an existing --output file resumes. */
export interface ResumePoint {
  /** The first instance to deliver; null: the file holds no complete line (start as asked). */
  readonly next: number | null;
  /** (client, seq) of the last complete lines kept (at most RESUME_TAIL_LINES). */
  readonly delivered: readonly DeliveredValue[];
  /** File length to cut back to (a torn last write), or null when the file is whole. */
  readonly cutTo: number | null;
  /** Bytes cut off (0: none). */
  readonly cutBytes: number;
}

/** An --output file that cannot be used: one line, exit 2 (bad usage, found before the node starts). */
export class OutputFileError extends Error {
  override readonly name = "OutputFileError";
}

interface Line {
  readonly start: number;
  readonly instance: number;
  readonly client: number;
  readonly seq: number;
}

/** Parses one complete line, or throws naming its file offset. */
function parseLine(bytes: Buffer, start: number, end: number, offset: number): Line {
  let o: unknown;
  try {
    o = JSON.parse(bytes.toString("utf8", start, end));
  } catch {
    o = null;
  }
  const r = o as { instance?: unknown; client?: unknown; seq?: unknown } | null;
  if (r === null || typeof r !== "object" || !isCount(r.instance) || !isCount(r.client) || !isCount(r.seq))
    throw new OutputFileError(`line at byte ${offset + start} is not a delivery line ({"instance":…,"client":…,"seq":…,"value":…}): not appending to a file this program did not write`);
  return { start: offset + start, instance: r.instance, client: r.client, seq: r.seq };
}

function isCount(x: unknown): x is number {
  return typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
}

/**
 * Where to resume, from the last bytes of an --output file. `tail` holds the file from byte
 * `offset` to its end (offset 0: the whole file); when offset > 0 its first, possibly partial,
 * line is skipped. Returns null when the tail is too short to decide (read further back).
 *
 * The writer hands each instance's lines to the OS in one write, so only the last write can be
 * torn, and a tear can fall anywhere in it, even on a line boundary. A file that does not end
 * with a newline was torn: the torn line goes, and so do the complete lines of the last instance
 * before it (they may belong to the torn write, whose other values are lost), and that instance is
 * delivered again. A whole file resumes after its last line's instance.
 */
export function planResume(tail: Buffer, offset: number, maxLines = RESUME_TAIL_LINES): ResumePoint | null {
  const lastNl = tail.lastIndexOf(0x0a);
  const firstStart = offset === 0 ? 0 : tail.indexOf(0x0a) + 1;
  if (offset > 0 && (firstStart === 0 || firstStart > lastNl)) return null;
  const lines: Line[] = [];
  for (let s = firstStart; s <= lastNl; ) {
    const e = tail.indexOf(0x0a, s);
    if (e > s) lines.push(parseLine(tail, s, e, offset));
    s = e + 1;
  }
  const torn = lastNl + 1 < tail.length;
  let kept = lines.length;
  if (torn && kept > 0) {
    const last = (lines[kept - 1] as Line).instance;
    while (kept > 0 && (lines[kept - 1] as Line).instance === last) kept--;
  }
  // Reach further back unless the kept lines fill the filter's window and the cut is within the tail.
  if (offset > 0 && (kept < maxLines || (torn && kept === 0))) return null;
  const cutTo = !torn ? null : kept < lines.length ? (lines[kept] as Line).start : offset + lastNl + 1;
  const keptLines = lines.slice(0, kept);
  const lastKept = keptLines[keptLines.length - 1];
  const next = torn && kept < lines.length ? (lines[kept] as Line).instance : lastKept !== undefined ? lastKept.instance + 1 : null;
  return { next, delivered: keptLines.slice(-maxLines).map((l) => ({ client: l.client, seq: l.seq })), cutTo, cutBytes: cutTo === null ? 0 : offset + tail.length - cutTo };
}

/** Reads the file's tail backwards, a chunk more each time, until planResume can decide. */
export function resumePointOf(fd: number, maxLines = RESUME_TAIL_LINES, chunkBytes = 1 << 20): ResumePoint {
  const size = fstatSync(fd).size;
  let offset = size;
  let tail = Buffer.alloc(0);
  for (;;) {
    const start = Math.max(0, offset - chunkBytes);
    const chunk = Buffer.alloc(offset - start);
    let got = 0;
    while (got < chunk.length) {
      const n = readSync(fd, chunk, got, chunk.length - got, start + got);
      if (n === 0) break;
      got += n;
    }
    tail = Buffer.concat([chunk.subarray(0, got), tail]);
    offset = start;
    const plan = planResume(tail, offset, maxLines);
    if (plan !== null) return plan;
  }
}

/**
 * Opens (creating) an --output file for appending and works out where to resume; a torn last
 * write is cut off. Errors are OutputFileErrors naming the path: a missing directory, no
 * permission, a directory, a file of other content.
 */
export function openOutputFile(path: string, maxLines = RESUME_TAIL_LINES): { fd: number; resume: ResumePoint } {
  let fd: number;
  try {
    fd = openSync(path, "a+", 0o644);
  } catch (e) {
    throw new OutputFileError(`--output ${path}: ${openProblem(path, e)}`);
  }
  try {
    const resume = resumePointOf(fd, maxLines);
    if (resume.cutTo !== null) ftruncateSync(fd, resume.cutTo);
    return { fd, resume };
  } catch (e) {
    closeSync(fd);
    if (e instanceof OutputFileError) throw new OutputFileError(`--output ${path}: ${e.message}`);
    throw new OutputFileError(`--output ${path}: ${openProblem(path, e)}`);
  }
}

function openProblem(path: string, e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code ?? "";
  switch (code) {
    case "ENOENT":
      return `directory ${dirname(path)} does not exist (ENOENT)`;
    case "EACCES":
    case "EPERM":
    case "EROFS":
      return `not writable (${code})`;
    case "EISDIR":
      return "is a directory (EISDIR)";
    case "ENOTDIR":
      return `a part of ${dirname(path)} is not a directory (ENOTDIR)`;
    default:
      return code !== "" ? `${(e as Error).message}` : String(e);
  }
}

/**
 * Streams what a learner delivers: one JSON line per value,
 * {"instance":…,"client":…,"seq":…,"value":"<base64>"}, in delivery order, so shell scripts and
 * applications can consume the ordered log. Each instance's lines leave in one write (see
 * planResume). A write that fails (a reader that went away: EPIPE; a full disk) stops the writer
 * and is reported once to `onBroken`, never thrown.
 */
export class DeliveryWriter {
  private readonly stream: NodeJS.WritableStream;
  private readonly ownsStream: boolean;
  private broken: Error | null = null;
  lines = 0;

  /** `target`: a file path (appended to), a file descriptor opened for appending (owned from now on), or "-" for standard output. */
  constructor(
    target: string | number,
    private readonly onBroken: (e: NodeJS.ErrnoException) => void = () => {},
    stdout: NodeJS.WritableStream = process.stdout,
  ) {
    if (target === "-") {
      this.stream = stdout;
      this.ownsStream = false;
    } else {
      this.stream = typeof target === "number" ? createWriteStream("", { fd: target, flags: "a" }) : createWriteStream(target, { flags: "a" });
      this.ownsStream = true;
    }
    this.stream.on("error", (e: NodeJS.ErrnoException) => {
      if (this.broken !== null) return;
      this.broken = e;
      this.onBroken(e);
    });
  }

  /** The error that stopped the writer, if any. */
  get failure(): Error | null {
    return this.broken;
  }

  /** One line per value; `ring` (Multi-Ring): the ring the instance belongs to and the value's group, written first. */
  write(d: Delivery | { readonly instance: number; readonly values: Delivery["values"] }, ring?: number): void {
    if (d.values.length === 0 || this.broken !== null) return;
    let chunk = "";
    for (const v of d.values) {
      const value = Buffer.from(v.payload.buffer, v.payload.byteOffset, v.payload.byteLength).toString("base64");
      const line = ring === undefined ? { instance: d.instance, client: v.client, seq: v.seq, value } : { ring, group: v.group ?? 0, instance: d.instance, client: v.client, seq: v.seq, value };
      chunk += `${JSON.stringify(line)}\n`;
    }
    this.lines += d.values.length;
    this.stream.write(chunk);
  }

  /** Flushes and, for a file, closes it; a broken writer resolves at once. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.broken !== null) return resolve();
      if (!this.ownsStream) {
        // Standard output: wait until what was written so far is handed to the OS (or fails).
        if (this.stream.write("")) resolve();
        else {
          this.stream.once("drain", () => resolve());
          this.stream.once("error", () => resolve());
        }
        return;
      }
      // Errors reach onBroken through the 'error' listener.
      (this.stream as WriteStream).end(() => resolve());
      this.stream.once("error", () => resolve());
    });
  }
}

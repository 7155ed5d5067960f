/**
 * A replica's snapshot: its whole state (keys, client table) at one cursor, as a file another
 * replica fetches and installs (state transfer, snapshot-transfer.ts). The format is the store's
 * rows, not a database file, so any KvStore writes and installs it (SQLite, memory).
 *
 * Layout: "PXKVSNAP", a version byte, then frames (u32 big-endian length + one CBOR array):
 * ["cursor", bytes] first, one frame per row (["kv", key, value, revision], ["reply", client, seq,
 * reply], ["client", client, forgotten, lastRevision]), and ["end", rows] last (a file cut short
 * has no end frame and is refused). The file's SHA-256 travels beside it and is checked before
 * anything is installed; the state digest (SHA-256 of the row frames alone, without the cursor) is
 * the same on replicas whose states are the same, whatever instance they stand at.
 */
import { closeSync, openSync, readSync, writeSync } from "node:fs";
import { createHash, type Hash } from "node:crypto";
import { Decoder, Encoder } from "cbor-x";
import type { StoreReader, StoreRow } from "../store/kv-store.ts";
import { MAX_KEY_BYTES, MAX_VALUE_BYTES } from "./command.ts";

export const SNAPSHOT_MAGIC = "PXKVSNAP";
export const SNAPSHOT_VERSION = 1;
const HEAD_BYTES = SNAPSHOT_MAGIC.length + 1;
/** Bound on one frame: a row is a key, a value (or a reply) and a few numbers. */
const MAX_FRAME_BYTES = MAX_KEY_BYTES + MAX_VALUE_BYTES + 1024;
/** Bytes gathered before one write (and read at once when installing). */
const IO_CHUNK_BYTES = 1 << 20;
/** Rows written between two yields to the event loop (the replica goes on applying meanwhile). */
export const ROWS_PER_TURN = 2000;

const encoder = new Encoder({ useRecords: false, tagUint8Array: false });
const decoder = new Decoder({ useRecords: false });

export class SnapshotError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SnapshotError";
  }
}

export interface SnapshotInfo {
  /** The store's cursor the state stands at (the host's bytes: a single ring's next instance). */
  readonly cursor: Uint8Array;
  readonly rows: number;
  readonly bytes: number;
  /** SHA-256 of the whole file, hex. */
  readonly sha256: string;
  /** SHA-256 of the rows alone, hex: equal states have equal digests. */
  readonly stateSha256: string;
}

/**
 * Writes the state `source` holds (a StoreReader: it does not change while this runs) to a new
 * file at `path`, ROWS_PER_TURN rows per event-loop turn, so that the replica serving it goes on
 * applying and answering meanwhile.
 */
export async function writeSnapshot(source: Pick<StoreReader, "cursor" | "rows">, path: string): Promise<SnapshotInfo> {
  const cursor = source.cursor();
  if (cursor === null) throw new SnapshotError("the store has applied nothing yet: no snapshot to take");
  const fd = openSync(path, "wx");
  try {
    const out = new ChunkedWriter(fd);
    const state = createHash("sha256");
    out.write(Buffer.concat([Buffer.from(SNAPSHOT_MAGIC, "latin1"), Buffer.from([SNAPSHOT_VERSION])]));
    out.write(frame(["cursor", cursor]));
    let rows = 0;
    for (const r of source.rows()) {
      const f = frame(rowArray(r));
      state.update(f);
      out.write(f);
      if (++rows % ROWS_PER_TURN === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    out.write(frame(["end", rows]));
    const bytes = out.close();
    return { cursor: cursor.slice(), rows, bytes, sha256: out.hash.digest("hex"), stateSha256: state.digest("hex") };
  } finally {
    closeSync(fd);
  }
}

/** A snapshot of `store` as it is now, read in a transaction of its own while the store goes on being written (see SqliteKvStore.reader). */
export async function snapshotNow(store: { reader(): StoreReader }, path: string): Promise<SnapshotInfo> {
  const reader = store.reader();
  try {
    return await writeSnapshot(reader, path);
  } finally {
    reader.close();
  }
}

/** SHA-256 of a file, hex (read in chunks). */
export function fileSha256(path: string): string {
  const h = createHash("sha256");
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.allocUnsafe(IO_CHUNK_BYTES);
    for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest("hex");
}

/**
 * Opens a snapshot file: its cursor, and its rows as they are read (a malformed or cut file throws
 * SnapshotError while they are: install them in one transaction, which the throw rolls back).
 */
export function readSnapshot(path: string): { readonly cursor: Uint8Array; readonly rows: Iterable<StoreRow>; close(): void } {
  const r = new FrameReader(path);
  try {
    const head = r.take(HEAD_BYTES);
    if (head === null || Buffer.from(head.subarray(0, SNAPSHOT_MAGIC.length)).toString("latin1") !== SNAPSHOT_MAGIC) throw new SnapshotError(`${path} is not a key-value snapshot`);
    if (head[SNAPSHOT_MAGIC.length] !== SNAPSHOT_VERSION) throw new SnapshotError(`${path} is snapshot version ${String(head[SNAPSHOT_MAGIC.length])}, this build reads ${SNAPSHOT_VERSION}`);
    const first = r.frame();
    if (first?.[0] !== "cursor" || !(first[1] instanceof Uint8Array)) throw new SnapshotError(`${path}: the first frame is not the cursor`);
    return { cursor: first[1], rows: rowsOf(r, path), close: () => r.close() };
  } catch (e) {
    r.close();
    throw e;
  }
}

function* rowsOf(r: FrameReader, path: string): Iterable<StoreRow> {
  let rows = 0;
  for (;;) {
    const f = r.frame();
    if (f === null) throw new SnapshotError(`${path} ends without its end frame (cut short)`);
    if (f[0] === "end") {
      if (f[1] !== rows) throw new SnapshotError(`${path}: the end frame counts ${String(f[1])} rows, the file holds ${rows}`);
      if (r.take(1) !== null) throw new SnapshotError(`${path}: bytes after the end frame`);
      return;
    }
    yield rowOf(f, path);
    rows++;
  }
}

function rowArray(r: StoreRow): unknown[] {
  if (r.t === "kv") return ["kv", r.key, r.value, r.revision];
  if (r.t === "reply") return ["reply", r.client, r.seq, r.reply];
  return ["client", r.client, r.forgotten, r.lastRevision];
}

function rowOf(f: unknown[], path: string): StoreRow {
  const [t, a, b, c] = f;
  const bad = () => new SnapshotError(`${path}: a malformed ${String(t)} row`);
  const uint = (x: unknown): number => {
    if (typeof x !== "number" || !Number.isSafeInteger(x) || x < 0) throw bad();
    return x;
  };
  const blob = (x: unknown): Uint8Array => {
    if (!(x instanceof Uint8Array)) throw bad();
    return x;
  };
  if (t === "kv") return { t, key: blob(a), value: blob(b), revision: uint(c) };
  if (t === "reply") return { t, client: uint(a), seq: uint(b), reply: blob(c) };
  if (t === "client") return { t, client: uint(a), forgotten: uint(b), lastRevision: uint(c) };
  throw new SnapshotError(`${path}: an unknown row kind ${String(t)}`);
}

function frame(a: unknown[]): Buffer {
  const body = encoder.encode(a);
  const f = Buffer.allocUnsafe(4 + body.byteLength);
  f.writeUInt32BE(body.byteLength, 0);
  f.set(body, 4);
  return f;
}

/** Gathers writes into IO_CHUNK_BYTES pieces, hashing what it writes. */
class ChunkedWriter {
  readonly hash: Hash = createHash("sha256");
  private parts: Buffer[] = [];
  private held = 0;
  private written = 0;

  constructor(private readonly fd: number) {}

  write(b: Buffer): void {
    this.parts.push(b);
    this.held += b.byteLength;
    if (this.held >= IO_CHUNK_BYTES) this.flush();
  }

  /** Flushes; returns the bytes written in all. */
  close(): number {
    this.flush();
    return this.written;
  }

  private flush(): void {
    if (this.held === 0) return;
    const chunk = Buffer.concat(this.parts, this.held);
    this.hash.update(chunk);
    for (let at = 0; at < chunk.byteLength; ) at += writeSync(this.fd, chunk, at);
    this.written += chunk.byteLength;
    this.parts = [];
    this.held = 0;
  }
}

/** Reads frames from a file through a IO_CHUNK_BYTES buffer. */
class FrameReader {
  private readonly fd: number;
  private buf = Buffer.alloc(0);
  private at = 0;
  private eof = false;

  constructor(private readonly path: string) {
    this.fd = openSync(path, "r");
  }

  /** The next frame's array; null at the end of the file. */
  frame(): unknown[] | null {
    const len = this.take(4);
    if (len === null) return null;
    const n = Buffer.from(len).readUInt32BE(0);
    if (n > MAX_FRAME_BYTES) throw new SnapshotError(`${this.path}: a frame of ${n} bytes (at most ${MAX_FRAME_BYTES})`);
    const body = this.take(n);
    if (body === null) throw new SnapshotError(`${this.path} is cut inside a frame`);
    let v: unknown;
    try {
      v = decoder.decode(body);
    } catch {
      throw new SnapshotError(`${this.path}: a frame that is not CBOR`);
    }
    if (!Array.isArray(v)) throw new SnapshotError(`${this.path}: a frame that is not an array`);
    return v;
  }

  /** The next `n` bytes (a copy); null when the file ends before them. */
  take(n: number): Uint8Array | null {
    while (this.buf.byteLength - this.at < n && !this.eof) this.fill(n);
    if (this.buf.byteLength - this.at < n) return null;
    const out = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return new Uint8Array(out);
  }

  close(): void {
    closeSync(this.fd);
  }

  private fill(atLeast: number): void {
    const rest = this.buf.subarray(this.at);
    const next = Buffer.allocUnsafe(Math.max(IO_CHUNK_BYTES, atLeast));
    const got = readSync(this.fd, next, 0, next.byteLength, null);
    if (got === 0) this.eof = true;
    this.buf = Buffer.concat([rest, next.subarray(0, got)]);
    this.at = 0;
  }
}

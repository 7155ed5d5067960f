/**
 * Serves this replica's snapshots to replicas that need a state transfer (snapshot-transfer.ts),
 * over the node's HTTP port:
 *
 *   GET /v1/snapshot                a snapshot of the state now: {id, cursor (hex), bytes, rows, sha256, stateSha256}
 *   GET /v1/snapshot/{id}?offset=N  its bytes from offset N (a fetcher resumes an interrupted download there)
 *
 * A snapshot is written to `kv.dir/snapshots/` once and served from the file; one younger than
 * REUSE_MS is served again instead of a new one, and only the newest KEEP_SNAPSHOTS files are
 * kept (a fetcher whose snapshot was dropped starts over: 404). A replica with no state to give
 * (in a transfer itself) answers 503.
 */
import { createReadStream, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import type { AppRoutes } from "../../obs/http.ts";
import { type SnapshotInfo, SnapshotError } from "./snapshot.ts";

export const SNAPSHOT_PATH = "/v1/snapshot";
/** A snapshot younger than this is served again (fetchers arriving together share one). */
export const REUSE_MS = 2000;
/** Bound: snapshot files kept, newest first. */
export const KEEP_SNAPSHOTS = 2;
const FILE_SUFFIX = ".kvsnap";
const JSON_TYPE = "application/json; charset=utf-8";

/** What a fetcher reads first: the snapshot's identity and how to check it. */
export interface SnapshotMeta {
  readonly id: string;
  /** The store's cursor, hex. */
  readonly cursor: string;
  readonly bytes: number;
  readonly rows: number;
  readonly sha256: string;
  readonly stateSha256: string;
}

export interface SnapshotSource {
  /** Writes a snapshot of the state now to `path`; null: no state to give now. */
  take(path: string): Promise<SnapshotInfo | null>;
}

export class SnapshotServer implements AppRoutes {
  /** Newest first; at most KEEP_SNAPSHOTS. */
  private kept: { readonly meta: SnapshotMeta; readonly path: string; readonly atMs: number }[] = [];
  private made = 0;
  /** The snapshot being written, which requests arriving meanwhile share. */
  private making: Promise<void> | null = null;
  readonly counters = { taken: 0, served: 0 };

  constructor(
    private readonly dir: string,
    private readonly source: SnapshotSource,
    private readonly nowMs: () => number = Date.now,
  ) {
    // Files of an earlier run are not known to this one: none of them is served.
    mkdirSync(dir, { recursive: true });
    for (const f of readdirSync(dir)) if (f.endsWith(FILE_SUFFIX)) rmSync(join(dir, f), { force: true });
  }

  handles(path: string): boolean {
    return path === SNAPSHOT_PATH || path.startsWith(`${SNAPSHOT_PATH}/`);
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    req.resume();
    if ((req.method ?? "") !== "GET") return send(res, 405, { code: "METHOD_NOT_ALLOWED", message: "snapshots take GET" });
    if (url.pathname === SNAPSHOT_PATH) return await this.meta(res);
    this.bytes(res, decodeURIComponent(url.pathname.slice(SNAPSHOT_PATH.length + 1)), url.searchParams.get("offset"));
  }

  /** The newest snapshot, made now unless one is younger than REUSE_MS (or being made). */
  private async meta(res: ServerResponse): Promise<void> {
    if (this.making === null && !this.fresh()) this.making = this.make().finally(() => (this.making = null));
    try {
      await this.making;
    } catch (e) {
      if (e instanceof SnapshotError) return send(res, 503, { code: "UNAVAILABLE", message: e.message });
      throw e;
    }
    const newest = this.kept[0];
    if (!newest || !this.fresh()) return send(res, 503, { code: "UNAVAILABLE", message: "this replica has no state to give now (it is receiving one itself)" });
    send(res, 200, newest.meta);
  }

  private fresh(): boolean {
    const newest = this.kept[0];
    return newest !== undefined && this.nowMs() - newest.atMs < REUSE_MS;
  }

  private async make(): Promise<void> {
    const id = `${this.nowMs()}-${++this.made}`;
    const path = join(this.dir, `${id}${FILE_SUFFIX}`);
    let info: SnapshotInfo | null;
    try {
      info = await this.source.take(path);
    } catch (e) {
      rmSync(path, { force: true });
      throw e;
    }
    if (info === null) return;
    this.counters.taken++;
    const meta: SnapshotMeta = { id, cursor: Buffer.from(info.cursor).toString("hex"), bytes: info.bytes, rows: info.rows, sha256: info.sha256, stateSha256: info.stateSha256 };
    this.kept.unshift({ meta, path, atMs: this.nowMs() });
    for (const old of this.kept.splice(KEEP_SNAPSHOTS)) rmSync(old.path, { force: true });
  }

  private bytes(res: ServerResponse, id: string, offsetParam: string | null): void {
    const s = this.kept.find((k) => k.meta.id === id);
    if (!s) return send(res, 404, { code: "NOT_FOUND", message: `no snapshot ${id} here (a newer one replaced it): ask ${SNAPSHOT_PATH} again` });
    const offset = offsetParam === null ? 0 : Number(offsetParam);
    if (!Number.isSafeInteger(offset) || offset < 0 || offset > s.meta.bytes) return send(res, 416, { code: "BAD_OFFSET", message: `offset must be an integer in 0..${s.meta.bytes}` });
    const size = statSync(s.path).size;
    res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": size - offset, "X-Snapshot-Sha256": s.meta.sha256 });
    if (offset === size) return void res.end();
    this.counters.served++;
    const stream = createReadStream(s.path, { start: offset });
    stream.on("error", () => res.destroy());
    res.on("close", () => stream.destroy());
    stream.pipe(res);
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { "Content-Type": JSON_TYPE, "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

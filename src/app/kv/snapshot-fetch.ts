/**
 * Fetches a snapshot from another replica (snapshot-server.ts) into a local file: the first peer
 * whose snapshot stands at or beyond the instance asked for gives it; the download is resumable
 * (an interrupted one goes on from the bytes already on disk, also after this process restarts:
 * `incoming.json` names what `incoming.part` holds) and checked (the whole file's SHA-256) before
 * it is handed over. It keeps trying, peer after peer, with a pause between rounds, until it has a
 * snapshot or is closed.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "../../obs/log.ts";
import { fileSha256 } from "./snapshot.ts";
import { SNAPSHOT_PATH, type SnapshotMeta } from "./snapshot-server.ts";

/** How long a peer may take to answer for a snapshot's metadata (it writes the snapshot first). */
export const META_TIMEOUT_MS = 30_000;
/** A download that receives nothing for this long is cut (and resumed). */
export const IDLE_TIMEOUT_MS = 10_000;
/** Pause between rounds over the peers. */
export const RETRY_MS = 500;

export interface FetchedSnapshot {
  /** The checked file (the caller installs it, then removes it). */
  readonly path: string;
  readonly meta: SnapshotMeta;
  /** The peer's base URL. */
  readonly from: string;
  readonly ms: number;
}

interface Incoming {
  readonly from: string;
  readonly meta: SnapshotMeta;
}

export class SnapshotFetcher {
  private closed = false;
  private abort: AbortController | null = null;
  private readonly part: string;
  private readonly partMeta: string;
  readonly counters = { attempts: 0, resumed: 0, badChecksums: 0 };

  constructor(
    /** Base URLs of the other replicas (http://host:port). */
    private readonly peers: readonly string[],
    private readonly dir: string,
    private readonly log: Logger,
  ) {
    mkdirSync(dir, { recursive: true });
    this.part = join(dir, "incoming.part");
    this.partMeta = join(dir, "incoming.json");
  }

  /** A checked snapshot whose cursor `enough` accepts; null once closed. */
  async fetch(enough: (meta: SnapshotMeta) => boolean): Promise<FetchedSnapshot | null> {
    const started = performance.now();
    for (let round = 0; !this.closed; round++) {
      if (round > 0) await sleep(RETRY_MS);
      const got = (await this.resume(enough)) ?? (await this.fromPeers(enough));
      if (got === null) continue;
      if (fileSha256(this.part) !== got.meta.sha256) {
        this.counters.badChecksums++;
        this.log.warn("a fetched snapshot does not match its checksum: fetching it again", { from: got.from, id: got.meta.id });
        this.discard();
        continue;
      }
      const path = join(this.dir, "snapshot.kvsnap");
      renameSync(this.part, path);
      rmSync(this.partMeta, { force: true });
      return { path, meta: got.meta, from: got.from, ms: performance.now() - started };
    }
    return null;
  }

  close(): void {
    this.closed = true;
    this.abort?.abort();
  }

  /** Goes on with the download `incoming.json` names, if it still is what `enough` wants. */
  private async resume(enough: (meta: SnapshotMeta) => boolean): Promise<Incoming | null> {
    const inc = this.incoming();
    if (inc === null) return null;
    if (!enough(inc.meta)) {
      this.discard();
      return null;
    }
    this.counters.resumed++;
    return (await this.download(inc)) ? inc : null;
  }

  private async fromPeers(enough: (meta: SnapshotMeta) => boolean): Promise<Incoming | null> {
    for (const from of this.peers) {
      if (this.closed) return null;
      this.counters.attempts++;
      const meta = await this.metaOf(from);
      if (meta === null || !enough(meta)) continue;
      this.discard();
      const inc = { from, meta };
      writeFileSync(this.partMeta, JSON.stringify(inc));
      writeFileSync(this.part, new Uint8Array(0));
      if (await this.download(inc)) return inc;
      if (this.incoming() !== null) return null; // interrupted: the next round resumes it
    }
    return null;
  }

  private async metaOf(from: string): Promise<SnapshotMeta | null> {
    try {
      const res = await fetch(`${from}${SNAPSHOT_PATH}`, { signal: AbortSignal.timeout(META_TIMEOUT_MS) });
      const body = (await res.json()) as Partial<SnapshotMeta>;
      if (res.status !== 200) return null;
      return isMeta(body) ? body : null;
    } catch {
      return null;
    }
  }

  /**
   * Appends the snapshot's bytes from what `incoming.part` holds; true once it holds them all.
   * A snapshot the peer no longer has is discarded (the next round starts over).
   */
  private async download(inc: Incoming): Promise<boolean> {
    const have = statSync(this.part).size;
    if (have >= inc.meta.bytes) return have === inc.meta.bytes;
    const ctl = (this.abort = new AbortController());
    let idle = setTimeout(() => ctl.abort(), IDLE_TIMEOUT_MS);
    const fd = openSync(this.part, "a");
    try {
      const res = await fetch(`${inc.from}${SNAPSHOT_PATH}/${encodeURIComponent(inc.meta.id)}?offset=${have}`, { signal: ctl.signal });
      if (res.status !== 200 || res.body === null) {
        if (res.status === 404 || res.status === 416) this.discard();
        return false;
      }
      const reader = res.body.getReader();
      for (let r = await reader.read(); !r.done; r = await reader.read()) {
        clearTimeout(idle);
        idle = setTimeout(() => ctl.abort(), IDLE_TIMEOUT_MS);
        for (let at = 0; at < r.value.byteLength; ) at += writeSync(fd, r.value, at);
      }
    } catch {
      return false;
    } finally {
      clearTimeout(idle);
      closeSync(fd);
      this.abort = null;
    }
    return existsSync(this.part) && statSync(this.part).size === inc.meta.bytes;
  }

  private incoming(): Incoming | null {
    if (!existsSync(this.partMeta) || !existsSync(this.part)) return null;
    try {
      const inc = JSON.parse(readFileSync(this.partMeta, "utf8")) as Partial<Incoming>;
      return typeof inc.from === "string" && isMeta(inc.meta) && this.peers.includes(inc.from) ? { from: inc.from, meta: inc.meta } : null;
    } catch {
      return null;
    }
  }

  private discard(): void {
    rmSync(this.part, { force: true });
    rmSync(this.partMeta, { force: true });
  }
}

function isMeta(m: unknown): m is SnapshotMeta {
  if (typeof m !== "object" || m === null) return false;
  const o = m as Record<string, unknown>;
  return typeof o["id"] === "string" && typeof o["cursor"] === "string" && /^([0-9a-f]{2})+$/.test(o["cursor"]) && Number.isSafeInteger(o["bytes"]) && typeof o["sha256"] === "string";
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

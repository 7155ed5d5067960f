/**
 * The key-value service's client library (`import { KvClient } from "paxos"`): typed calls over
 * the replicas' HTTP API. Each command carries this client's id (random per KvClient) and a
 * sequence number; a command that failed in transit, timed out or met an unavailable replica is
 * retried with the same (client, seq) on the next replica, so it is applied at most once and its
 * reply is the one of its first application. Keys are strings (UTF-8); values strings or bytes.
 */
import { randomInt } from "node:crypto";
import { partitionOf } from "./partitions.ts";

export type KvErrorCode = "NOT_FOUND" | "EXISTS" | "REVISION_MISMATCH" | "BAD_COMMAND" | "STALE" | "VALUE_TOO_LARGE" | "UNAVAILABLE" | "COMPACTED" | "MISDIRECTED";

export class KvError extends Error {
  constructor(
    readonly code: KvErrorCode,
    message: string,
    /** REVISION_MISMATCH and EXISTS: the key's current revision (0: absent); COMPACTED: the oldest a watch can start from there. */
    readonly revision?: number,
  ) {
    super(message);
    this.name = "KvError";
  }
}

export interface KvClientOptions {
  /** Replica base URLs, e.g. http://10.0.0.3:8303; tried in turn from a random one. */
  readonly endpoints: readonly string[];
  /** Per attempt (the replica's own wait is the same); default 5000. */
  readonly timeoutMs?: number;
  /** Attempts per command over the endpoints; default 2 × endpoints. */
  readonly attempts?: number;
}

export interface KvEntry {
  readonly key: string;
  readonly value: Uint8Array;
  readonly revision: number;
}

/** A change a watch reports: a key written (its new value) or deleted, at a revision. */
export interface WatchEvent {
  readonly type: "put" | "delete";
  readonly key: string;
  readonly value: Uint8Array | null;
  readonly revision: number;
}

/** One write of a batch (KvClient.batch). */
export type BatchWrite = { readonly op: "put"; readonly key: string; readonly value: string | Uint8Array } | { readonly op: "delete"; readonly key: string };

/** A partitioned service's layout (GET /v1/partitions): partition i's replicas are replicas[i]. */
interface Layout {
  readonly partitions: number;
  readonly replicas: readonly (readonly string[])[];
}

export type CasResult = { readonly ok: true; readonly revision: number } | { readonly ok: false; readonly revision: number };

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

export class KvClient {
  private readonly endpoints: readonly string[];
  private readonly timeoutMs: number;
  private readonly attempts: number;
  /** This client's id in every replica's client table. */
  readonly clientId = randomInt(2 ** 47, 2 ** 48);
  private seq = 0;
  private next: number;
  /** The service's partitions, asked once (null: one partition; undefined: not asked yet). */
  private layout: Layout | null | undefined;

  constructor(o: KvClientOptions) {
    if (o.endpoints.length === 0) throw new RangeError("KvClient: no endpoints");
    this.endpoints = o.endpoints.map((e) => e.replace(/\/+$/, ""));
    this.timeoutMs = o.timeoutMs ?? 5000;
    this.attempts = o.attempts ?? 2 * this.endpoints.length;
    this.next = randomInt(0, this.endpoints.length);
  }

  /** Writes `value`; the revision it gave the key and the one it replaced (0: absent). */
  async put(key: string, value: string | Uint8Array): Promise<{ revision: number; prev: number }> {
    const a = ok(await this.call("PUT", keyPath(key), value, key));
    return { revision: a.body["revision"] as number, prev: a.body["prev"] as number };
  }

  /** Writes only if the key is absent; else KvError EXISTS. */
  async insert(key: string, value: string | Uint8Array): Promise<{ revision: number }> {
    return { revision: ok(await this.call("PUT", `${keyPath(key)}?op=insert`, value, key)).body["revision"] as number };
  }

  /** Writes only if the key is present; else KvError NOT_FOUND. */
  async update(key: string, value: string | Uint8Array): Promise<{ revision: number; prev: number }> {
    const a = ok(await this.call("PUT", `${keyPath(key)}?op=update`, value, key));
    return { revision: a.body["revision"] as number, prev: a.body["prev"] as number };
  }

  /** The key's value and revision, or null when absent (linearizable: by the leader's read index, or through the log when no leader answers in time). */
  async get(key: string): Promise<{ value: Uint8Array; revision: number } | null> {
    const a = await this.call("GET", keyPath(key), undefined, key);
    if (a.status === 404) return null;
    const b = ok(a).body;
    return { value: bytesOf(b["value"], b["encoding"]), revision: b["revision"] as number };
  }

  async delete(key: string): Promise<{ revision: number; deleted: boolean }> {
    const b = ok(await this.call("DELETE", keyPath(key), undefined, key)).body;
    return { revision: b["revision"] as number, deleted: b["deleted"] as boolean };
  }

  /** Writes only if the key's revision is `expected` (0: absent); otherwise says the current revision. */
  async cas(key: string, expected: number, value: string | Uint8Array): Promise<CasResult> {
    const a = await this.call("POST", `${keyPath(key)}/cas?expected=${expected}`, value, key);
    if (a.status === 409 && a.body["code"] === "REVISION_MISMATCH") return { ok: false, revision: a.body["revision"] as number };
    return { ok: true, revision: ok(a).body["revision"] as number };
  }

  /**
   * Keys in [from, to) in byte order (to omitted: to the end), at most `limit` (default 100). On a
   * partitioned service, each partition's range comes from one of its replicas (each through its
   * partition's log), and the client merges them: together they are not one atomic read.
   */
  async range(o: { from?: string; to?: string; limit?: number } = {}): Promise<{ entries: KvEntry[]; more: boolean }> {
    const limit = o.limit ?? 100;
    const q = new URLSearchParams({ from: o.from ?? "", limit: String(limit) });
    if (o.to !== undefined) q.set("to", o.to);
    const layout = await this.partitioning();
    if (layout === null) return rangeOf(ok(await this.call("GET", `/v1/kv?${q.toString()}`)).body);
    const parts = await Promise.all(
      layout.replicas.map(async (replicas, p) => rangeOf(ok(await this.call("GET", `/v1/kv?${q.toString()}&partition=${p}`, undefined, undefined, replicas.length > 0 ? replicas : this.endpoints)).body)),
    );
    // In the keys' byte order, each key encoded once.
    const enc = new TextEncoder();
    const all = parts.flatMap((r) => r.entries.map((e) => ({ e, bytes: enc.encode(e.key) }))).sort((a, b) => compareBytes(a.bytes, b.bytes));
    return { entries: all.slice(0, limit).map((x) => x.e), more: all.length > limit || parts.some((r) => r.more) };
  }

  /** Writes and deletes of several keys at once, at one revision (on a partitioned service: through the group every replica learns). */
  async batch(writes: readonly BatchWrite[]): Promise<{ revision: number }> {
    const ops = writes.map((w) => (w.op === "delete" ? w : { op: "put", key: w.key, ...(typeof w.value === "string" ? { value: w.value } : { value: Buffer.from(w.value).toString("base64"), encoding: "base64" }) }));
    return { revision: ok(await this.call("POST", "/v1/batch", JSON.stringify({ ops }))).body["revision"] as number };
  }

  /** The service's partitions (GET /v1/partitions on a replica, asked once); null: one partition. */
  private async partitioning(): Promise<Layout | null> {
    if (this.layout !== undefined) return this.layout;
    for (let i = 0; i < this.endpoints.length; i++) {
      const base = this.endpoints[(this.next + i) % this.endpoints.length] as string;
      try {
        const r = await fetch(`${base}/v1/partitions`, { signal: AbortSignal.timeout(this.timeoutMs) });
        const body = (await r.json()) as Record<string, unknown>;
        if (r.status === 404) return (this.layout = null);
        if (r.status === 200) return (this.layout = { partitions: body["partitions"] as number, replicas: body["replicas"] as string[][] });
      } catch {
        // this replica is down: ask the next
      }
    }
    return null; // none answered: asked again next time
  }

  /** The replicas to send a command on `key` to (the configured endpoints on a service of one partition). */
  private async targetsOf(key: string | undefined): Promise<readonly string[]> {
    if (key === undefined) return this.endpoints;
    const layout = await this.partitioning();
    if (layout === null) return this.endpoints;
    const replicas = layout.replicas[partitionOf(new TextEncoder().encode(key), layout.partitions)] ?? [];
    return replicas.length > 0 ? replicas : this.endpoints;
  }

  /**
   * The changes of keys starting with `prefix`, in log order, as one replica applies them (from
   * `fromRevision` on when that replica still holds them: else KvError COMPACTED with the oldest
   * revision it can start from). Ends with a KvError UNAVAILABLE when the replica drops the watch
   * (it stopped, or this reader fell behind): watch again from the last revision seen + 1.
   */
  async *watch(prefix = "", o: { readonly fromRevision?: number; readonly signal?: AbortSignal } = {}): AsyncGenerator<WatchEvent> {
    const base = this.endpoints[this.next % this.endpoints.length] as string;
    const q = new URLSearchParams({ prefix, fromRevision: String(o.fromRevision ?? 0) });
    const r = await fetch(`${base}/v1/watch?${q.toString()}`, o.signal ? { signal: o.signal } : {});
    if (r.status !== 200 || r.body === null) ok({ status: r.status, body: (await r.json()) as Record<string, unknown> });
    const reader = (r.body as ReadableStream<Uint8Array>).getReader();
    const text = new TextDecoder();
    let buffered = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) throw new KvError("UNAVAILABLE", `the watch on ${base} ended`);
      buffered += text.decode(value, { stream: true });
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const e = JSON.parse(buffered.slice(0, nl)) as Record<string, unknown>;
        buffered = buffered.slice(nl + 1);
        if (typeof e["code"] === "string") throw new KvError("UNAVAILABLE", `the watch on ${base} ended: ${e["code"]}`);
        if (e["type"] !== "put" && e["type"] !== "delete") continue;
        const key = keyOf(e);
        yield { type: e["type"], key, value: e["type"] === "put" ? bytesOf(e["value"], e["encoding"]) : null, revision: e["revision"] as number };
      }
    }
  }

  /**
   * One command: its (client, seq), tried on the replicas that hold `key` (or `targets`; else the
   * endpoints) in turn until one answers it; a replica that does not hold the key's partition
   * (421) names those that do, tried next.
   */
  private async call(method: string, path: string, body?: string | Uint8Array, key?: string, targets?: readonly string[]): Promise<Answer> {
    const seq = ++this.seq;
    let replicas = targets ?? (await this.targetsOf(key));
    let last = "no replica answered";
    for (let attempt = 0; attempt < this.attempts; attempt++) {
      const base = (replicas[this.next % replicas.length] as string).replace(/\/+$/, "");
      try {
        const r = await fetch(`${base}${path}${path.includes("?") ? "&" : "?"}timeoutMs=${this.timeoutMs}`, {
          method,
          headers: { "X-Paxos-Client": String(this.clientId), "X-Paxos-Seq": String(seq) },
          ...(body !== undefined ? { body: typeof body === "string" ? body : new Uint8Array(body) } : {}),
          signal: AbortSignal.timeout(this.timeoutMs + 1000),
        });
        const answer = { status: r.status, body: (await r.json()) as Record<string, unknown> };
        if (r.status === 421 && Array.isArray(answer.body["replicas"]) && answer.body["replicas"].length > 0) {
          this.layout = undefined; // the layout changed, or was never asked: ask again next time
          replicas = answer.body["replicas"] as string[];
          last = `${base}: ${String(answer.body["message"])}`;
          continue;
        }
        if (r.status !== 503) return answer;
        last = `${base}: ${String(answer.body["message"] ?? "unavailable")}`;
      } catch (e) {
        last = `${base}: ${e instanceof Error ? e.message : String(e)}`;
      }
      this.next++;
    }
    throw new KvError("UNAVAILABLE", `no replica applied the command after ${this.attempts} attempts (last: ${last})`);
  }
}

function rangeOf(b: Record<string, unknown>): { entries: KvEntry[]; more: boolean } {
  const entries = (b["entries"] as Record<string, unknown>[]).map((e) => ({
    key: keyOf(e),
    value: bytesOf(e["value"], e["encoding"]),
    revision: e["revision"] as number,
  }));
  return { entries, more: b["more"] as boolean };
}

/** An answer's key: a UTF-8 string, or base64 with "keyEncoding": "base64". */
function keyOf(e: Record<string, unknown>): string {
  return e["keyEncoding"] === "base64" ? new TextDecoder().decode(Buffer.from(e["key"] as string, "base64")) : (e["key"] as string);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.byteLength, b.byteLength);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  return a.byteLength - b.byteLength;
}

function keyPath(key: string): string {
  return `/v1/kv/${encodeURIComponent(key)}`;
}

function ok(a: Answer): Answer {
  if (a.status === 200) return a;
  const code = (a.body["code"] as KvErrorCode | undefined) ?? "UNAVAILABLE";
  const revision = a.body["revision"] ?? a.body["oldest"];
  throw new KvError(code, String(a.body["message"] ?? `HTTP ${a.status}`), typeof revision === "number" ? revision : undefined);
}

function bytesOf(value: unknown, encoding: unknown): Uint8Array {
  return encoding === "base64" ? new Uint8Array(Buffer.from(value as string, "base64")) : new TextEncoder().encode(value as string);
}

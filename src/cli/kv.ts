import { type BatchWrite, KvClient, KvError } from "../app/kv/client.ts";
import { httpBase } from "../app/kv/host.ts";
import { loadConfig } from "../config/load.ts";
import { configPath } from "./node.ts";
import { UsageError } from "./errors.ts";

export type KvVerb = "put" | "get" | "delete" | "insert" | "update" | "cas" | "range" | "watch" | "batch";

export interface KvCliOptions {
  readonly verb: KvVerb;
  readonly args: readonly string[];
  readonly endpoints?: string;
  readonly config?: string;
  readonly json: boolean;
  readonly timeoutMs: number;
  readonly from?: string;
  readonly to?: string;
  readonly limit?: number;
  readonly fromRevision?: number;
}

const ARITY: Record<KvVerb, [number, string]> = {
  put: [2, "KEY VALUE"],
  insert: [2, "KEY VALUE"],
  update: [2, "KEY VALUE"],
  get: [1, "KEY"],
  delete: [1, "KEY"],
  cas: [3, "KEY EXPECTED-REVISION VALUE"],
  range: [0, "(--from, --to, --limit)"],
  watch: [1, "PREFIX"],
  batch: [-1, "WRITE... (put:KEY=VALUE or delete:KEY)"],
};

/** The replicas to talk to: --endpoints, else every node with a `kv` section in the configuration. */
export function kvEndpoints(o: Pick<KvCliOptions, "endpoints" | "config">): string[] {
  if (o.endpoints !== undefined) {
    const list = o.endpoints.split(",").map((e) => e.trim()).filter(Boolean);
    for (const e of list) if (!/^https?:\/\/[^/]+/.test(e)) throw new UsageError(`--endpoints: ${JSON.stringify(e)} is not an http:// URL`);
    if (list.length === 0) throw new UsageError("--endpoints: no URL");
    return list;
  }
  const file = configPath(o.config);
  const config = loadConfig(file);
  const replicas = config.nodes.filter((n) => n.kv !== undefined && n.http !== undefined);
  if (replicas.length === 0) throw new UsageError(`${file}: no node has a kv section (a key-value replica); pass --endpoints URL,…`);
  return replicas.map(httpBase);
}

/** `paxos kv VERB …`: one command against the replicas; exit 0, or 1 with one line (not found, exists, a revision mismatch, unavailable). */
export async function runKvCommand(o: KvCliOptions, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const [arity, usage] = ARITY[o.verb];
  if (arity >= 0 ? o.args.length !== arity : o.args.length === 0) throw new UsageError(`kv ${o.verb}: expected ${usage}, got ${o.args.length} argument(s)`);
  const writes = o.verb === "batch" ? o.args.map(batchWrite) : [];
  const kv = new KvClient({ endpoints: kvEndpoints(o), timeoutMs: o.timeoutMs });
  const print = (human: string, json: unknown) => out(o.json ? `${JSON.stringify(json)}\n` : `${human}\n`);
  const [key = "", a1 = "", a2 = ""] = o.args;
  try {
    switch (o.verb) {
      case "put":
      case "insert":
      case "update": {
        const r = await kv[o.verb](key, a1);
        print(`revision ${r.revision}`, r);
        return 0;
      }
      case "get": {
        const r = await kv.get(key);
        if (r === null) {
          if (o.json) print("", null);
          else err(`paxos kv: no such key: ${key}\n`);
          return 1;
        }
        const value = new TextDecoder().decode(r.value);
        print(value, { value, revision: r.revision });
        return 0;
      }
      case "delete": {
        const r = await kv.delete(key);
        print(r.deleted ? `deleted at revision ${r.revision}` : "no such key", r);
        return 0;
      }
      case "batch": {
        const r = await kv.batch(writes);
        print(`${writes.length} writes at revision ${r.revision}`, r);
        return 0;
      }
      case "cas":
        return await cas(kv, { key, expected: a1, value: a2, json: o.json }, print, err);
      case "watch":
        for await (const e of kv.watch(key, o.fromRevision !== undefined ? { fromRevision: o.fromRevision } : {})) {
          const value = e.value === null ? null : new TextDecoder().decode(e.value);
          print(`${e.type}\t${e.key}${value === null ? "" : `\t${value}`}\t${e.revision}`, { type: e.type, key: e.key, ...(value === null ? {} : { value }), revision: e.revision });
        }
        return 0;
      case "range": {
        const r = await kv.range({ ...(o.from !== undefined ? { from: o.from } : {}), ...(o.to !== undefined ? { to: o.to } : {}), ...(o.limit !== undefined ? { limit: o.limit } : {}) });
        const rows = r.entries.map((e) => ({ key: e.key, value: new TextDecoder().decode(e.value), revision: e.revision }));
        print(rows.map((e) => `${e.key}\t${e.value}\t${e.revision}`).join("\n") + (r.more ? "\n… (more: raise --limit or continue --from after the last key)" : ""), { entries: rows, more: r.more });
        return 0;
      }
    }
  } catch (e) {
    if (!(e instanceof KvError)) throw e;
    err(`paxos kv: ${e.code}: ${e.message}\n`);
    return 1;
  }
}

/** One write of `paxos kv batch`: put:KEY=VALUE or delete:KEY. */
function batchWrite(arg: string): BatchWrite {
  if (arg.startsWith("delete:") && arg.length > "delete:".length) return { op: "delete", key: arg.slice("delete:".length) };
  const eq = arg.indexOf("=");
  if (arg.startsWith("put:") && eq > "put:".length) return { op: "put", key: arg.slice("put:".length, eq), value: arg.slice(eq + 1) };
  throw new UsageError(`kv batch: ${JSON.stringify(arg)}: a write is put:KEY=VALUE or delete:KEY`);
}

async function cas(
  kv: KvClient,
  { key, expected, value, json }: { key: string; expected: string; value: string; json: boolean },
  print: (h: string, j: unknown) => void,
  err: (s: string) => void,
): Promise<number> {
  const rev = Number(expected);
  if (expected.trim() === "" || !Number.isSafeInteger(rev) || rev < 0) throw new UsageError(`kv cas: EXPECTED-REVISION is an integer >= 0 (0: the key is absent), got ${JSON.stringify(expected)}`);
  const r = await kv.cas(key, rev, value);
  if (r.ok) {
    print(`revision ${r.revision}`, r);
    return 0;
  }
  if (json) print("", r);
  else err(`paxos kv: REVISION_MISMATCH: ${key} is at revision ${r.revision}, not ${rev}\n`);
  return 1;
}

/**
 * The client side of the Jepsen-style key-value tests (tests/e2e/kv-linearizability.test.ts,
 * tests/e2e/kv-netns-linearizability.test.ts): operations over the HTTP API with their call and
 * return times recorded as a history for checkHistory (linearizability.ts), and a client that
 * does random get/put/cas on a few hot keys.
 */
import type { KvInput, KvOutput, Operation } from "./linearizability.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How long a client waits for one answer; past it the operation's outcome is unknown. */
const OP_TIMEOUT_MS = 3000;

export interface Recorder {
  readonly history: Operation[];
  /** Runs one operation against a replica (`endpoint`: its base URL, http://host:port) and records it. */
  run(client: number, seq: number, endpoint: string, key: string, input: KvInput): Promise<KvOutput | null>;
}

/**
 * `serverTimeoutMs`: the replica's own wait for a command (?timeoutMs=, 503 past it), shorter than
 * OP_TIMEOUT_MS so that a replica cut off from the cluster answers soon: its client then goes on
 * instead of sitting out the whole fault on one call (absent: the replica's default, 5 s).
 */
export function recorder(opts: { serverTimeoutMs?: number } = {}): Recorder {
  const history: Operation[] = [];
  return {
    history,
    async run(client, seq, endpoint, key, input) {
      const query = new URLSearchParams();
      if (input.op === "cas") query.set("expected", String(input.expected));
      if (input.op === "insert" || input.op === "update") query.set("op", input.op);
      if (opts.serverTimeoutMs !== undefined) query.set("timeoutMs", String(opts.serverTimeoutMs));
      const q = query.toString();
      const path = `/v1/kv/${key}${input.op === "cas" ? "/cas" : ""}${q === "" ? "" : `?${q}`}`;
      const method = input.op === "get" ? "GET" : input.op === "delete" ? "DELETE" : input.op === "cas" ? "POST" : "PUT";
      const call = performance.now();
      let output: KvOutput | null;
      try {
        const r = await fetch(`${endpoint}${path}`, {
          method,
          headers: { "X-Paxos-Client": String(client), "X-Paxos-Seq": String(seq) },
          ...("value" in input ? { body: input.value } : {}),
          signal: AbortSignal.timeout(OP_TIMEOUT_MS),
        });
        const j = (await r.json()) as Record<string, unknown>;
        if (r.status === 503) output = null; // not proposed, or not applied in time: unknown
        else if (r.status === 200) output = { ok: true, revision: j["revision"] as number, ...pick(j) };
        else output = { ok: false, code: j["code"] as string, ...(typeof j["revision"] === "number" ? { revision: j["revision"] } : {}) };
      } catch {
        // Unknown, even when the error says the connection was refused: the runtime's fetch may
        // have sent it on a kept-alive connection first, the replica proposed it and died, and
        // the retry on a new connection was what got refused (seen: such a write applied).
        output = null;
      }
      history.push({ client, key, input, output, call, ret: output === null ? Infinity : performance.now() });
      return output;
    },
  };
}

function pick(j: Record<string, unknown>): { prev?: number; value?: string; deleted?: boolean } {
  return {
    ...(typeof j["prev"] === "number" ? { prev: j["prev"] } : {}),
    ...(typeof j["value"] === "string" ? { value: j["value"] } : {}),
    ...(typeof j["deleted"] === "boolean" ? { deleted: j["deleted"] } : {}),
  };
}

/**
 * One client: random operations on `keys` (40 % get, 30 % put, 30 % cas against the last revision
 * it saw) through a random replica of `endpoints` (or of `endpoints(key)`: the replicas that hold
 * the key, on a partitioned service) until `until` (performance.now()); a replica
 * that failed it rests 500 ms (with all of them resting, the client waits: a client bound to one
 * replica that is down would otherwise pile up operations of unknown outcome, which the checker
 * may place anywhere after their call). `pauseMs` between operations bounds the history's length,
 * which the checker's work grows with faster than linearly.
 */
export async function randomClient(
  id: number,
  rec: Recorder,
  endpoints: readonly string[] | ((key: string) => readonly string[]),
  keys: readonly string[],
  until: number,
  pauseMs = 0,
): Promise<void> {
  const seen = new Map<string, number>();
  const restUntil = new Map<string, number>();
  let seq = 0;
  while (performance.now() < until) {
    const key = keys[Math.floor(Math.random() * keys.length)] as string;
    const holders = typeof endpoints === "function" ? endpoints(key) : endpoints;
    const up = holders.filter((e) => (restUntil.get(e) ?? 0) <= performance.now());
    if (up.length === 0) {
      await sleep(Math.max(0, Math.min(...holders.map((e) => restUntil.get(e) ?? 0)) - performance.now()));
      continue;
    }
    const endpoint = up[Math.floor(Math.random() * up.length)] as string;
    const roll = Math.random();
    const value = `${id}-${seq + 1}`;
    const input: KvInput = roll < 0.4 ? { op: "get" } : roll < 0.7 ? { op: "put", value } : { op: "cas", expected: seen.get(key) ?? 0, value };
    const out = await rec.run(id, ++seq, endpoint, key, input);
    if (out?.ok) seen.set(key, out.revision);
    else if (out && !out.ok && out.revision !== undefined) seen.set(key, out.revision);
    if (out === null) restUntil.set(endpoint, performance.now() + 500);
    if (pauseMs > 0) await sleep(pauseMs);
  }
}

/** Writes a history as JSON (a pending operation's `ret` as null) for a failure to be looked at. */
export function historyJson(history: readonly Operation[]): string {
  return JSON.stringify(history.map((o) => ({ ...o, ret: o.ret === Infinity ? null : o.ret })));
}

/**
 * The JSON body of POST /v1/batch: {"ops": [{"op": "put", "key": K, "value": V}, {"op": "delete",
 * "key": K}, …]}; a value is a UTF-8 string, or base64 with "encoding": "base64" beside it.
 */
import { type BatchOp, MAX_BATCH_OPS } from "./command.ts";

/** The writes of a batch body, or what is wrong with it (one line). */
export function batchOps(body: Uint8Array): BatchOp[] | string {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch (e) {
    return `the batch is not JSON: ${e instanceof Error ? e.message : String(e)}`;
  }
  const ops = (doc as { ops?: unknown } | null)?.ops;
  if (!Array.isArray(ops) || ops.length === 0 || ops.length > MAX_BATCH_OPS) return `ops: expected a list of 1..${MAX_BATCH_OPS} writes`;
  const out: BatchOp[] = [];
  for (const [i, raw] of ops.entries()) {
    const w = opOf(raw);
    if (typeof w === "string") return `ops[${i}]: ${w}`;
    out.push(w);
  }
  return out;
}

function opOf(raw: unknown): BatchOp | string {
  if (typeof raw !== "object" || raw === null) return "expected an object";
  const o = raw as Record<string, unknown>;
  if (typeof o["key"] !== "string" || o["key"] === "") return "key: expected a non-empty string";
  const key = new TextEncoder().encode(o["key"]);
  if (o["op"] === "delete") return { op: "delete", key };
  if (o["op"] !== "put") return `op: put or delete, not ${JSON.stringify(o["op"])}`;
  if (typeof o["value"] !== "string") return "value: expected a string";
  if (o["encoding"] === "base64") return { op: "put", key, value: new Uint8Array(Buffer.from(o["value"], "base64")) };
  if (o["encoding"] !== undefined) return `encoding: base64 or none, not ${JSON.stringify(o["encoding"])}`;
  return { op: "put", key, value: new TextEncoder().encode(o["value"]) };
}

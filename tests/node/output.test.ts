import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DeliveryWriter } from "../../src/node/output.ts";

test("one JSON line per delivered value, base64 payload, in delivery order; no-ops write nothing", async () => {
  const file = join(mkdtempSync(join(tmpdir(), "paxos-out-")), "log.jsonl");
  const w = new DeliveryWriter(file);
  const bytes = new Uint8Array([0, 1, 2, 250, 255]);
  w.write({ instance: 0, vid: "32.0", values: [{ client: 7, seq: 0, payload: bytes.subarray(1, 4) }, { client: 8, seq: 3, payload: new TextEncoder().encode("hi") }] });
  w.write({ instance: 1, vid: "32.1", values: [] });
  w.write({ instance: 2, vid: "32.2", values: [{ client: 7, seq: 1, payload: new Uint8Array() }] });
  await w.close();
  const lines = readFileSync(file, "utf8").trimEnd().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(lines).toEqual([
    { instance: 0, client: 7, seq: 0, value: Buffer.from([1, 2, 250]).toString("base64") },
    { instance: 0, client: 8, seq: 3, value: Buffer.from("hi").toString("base64") },
    { instance: 2, client: 7, seq: 1, value: "" },
  ]);
  expect(w.lines).toBe(3);
});

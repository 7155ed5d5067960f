import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { LocalCluster, type NodeSpec } from "../../src/bench/cluster.ts";
import { PLANTED_BUG_ENV } from "../../src/app/kv/host.ts";
import { checkHistory, type KvInput, type KvOutput, type Operation } from "../support/linearizability.ts";

/**
 * Jepsen-style, on real processes: concurrent clients doing get/put/cas on a few hot keys through
 * both replicas while a replica and the coordinator are killed with SIGKILL and restarted; every
 * operation's call and return recorded (a timeout: outcome unknown); the history must be
 * linearizable, and the replicas' states equal once healed. The same checker must catch a
 * planted replica that answers reads from its own state, without the log.
 */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const KEYS = ["x", "y", "z"];
const OP_TIMEOUT_MS = 3000;

interface Recorder {
  readonly history: Operation[];
  /** Runs one operation against a replica's HTTP port and records it (not at all when it surely never arrived). */
  run(client: number, seq: number, port: number, key: string, input: KvInput): Promise<KvOutput | null>;
}

function recorder(): Recorder {
  const history: Operation[] = [];
  return {
    history,
    async run(client, seq, port, key, input) {
      const path = input.op === "cas" ? `/v1/kv/${key}/cas?expected=${input.expected}` : `/v1/kv/${key}${input.op === "insert" || input.op === "update" ? `?op=${input.op}` : ""}`;
      const method = input.op === "get" ? "GET" : input.op === "delete" ? "DELETE" : input.op === "cas" ? "POST" : "PUT";
      const call = performance.now();
      let output: KvOutput | null;
      try {
        const r = await fetch(`http://127.0.0.1:${port}${path}`, {
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

/** One client: random operations on the hot keys through a random replica (one that failed it rests 500 ms) until `until`. */
async function client(id: number, rec: Recorder, ports: readonly number[], until: number): Promise<void> {
  const seen = new Map<string, number>();
  const restUntil = new Map<number, number>();
  let seq = 0;
  while (performance.now() < until) {
    const key = KEYS[Math.floor(Math.random() * KEYS.length)] as string;
    const up = ports.filter((p) => (restUntil.get(p) ?? 0) <= performance.now());
    const port = (up.length > 0 ? up : ports)[Math.floor(Math.random() * (up.length > 0 ? up.length : ports.length))] as number;
    const roll = Math.random();
    const value = `${id}-${seq + 1}`;
    const input: KvInput = roll < 0.4 ? { op: "get" } : roll < 0.7 ? { op: "put", value } : { op: "cas", expected: seen.get(key) ?? 0, value };
    const out = await rec.run(id, ++seq, port, key, input);
    if (out?.ok) seen.set(key, out.revision);
    else if (out && !out.ok && out.revision !== undefined) seen.set(key, out.revision);
    if (out === null) {
      restUntil.set(port, performance.now() + 500);
      await sleep(20);
    }
  }
}

const replicas = (c: LocalCluster): [NodeSpec, NodeSpec] => c.nodes.filter((n) => n.kv !== undefined) as [NodeSpec, NodeSpec];

describe("paxos kv linearizability (real processes)", () => {
  test(
    "concurrent get/put/cas on hot keys through both replicas, a replica and the coordinator killed and restarted: linearizable, and the replicas agree",
    async () => {
      const c = await LocalCluster.start({ variant: "mring", acceptors: 3, learners: 2, clients: 0, kv: true, http: true, ledger: { kind: "wal", sync: "none" } });
      const [r1, r2] = replicas(c);
      const ports = [r1.http as number, r2.http as number];
      const rec = recorder();
      try {
        const end = performance.now() + 7000;
        const clients = [1, 2, 3, 4].map((id) => client(id, rec, ports, end));
        await sleep(1500);
        await c.kill(r2.id, "SIGKILL");
        await sleep(1000);
        await c.restart(r2.id);
        await sleep(1000);
        await c.kill(0, "SIGKILL");
        await sleep(1000);
        await c.restart(0);
        await Promise.all(clients);
        const done = rec.history.filter((o) => o.output !== null);
        console.log(`kv linearizability: ${rec.history.length} operations (${done.length} with a known outcome, ${done.filter((o) => o.input.op === "get").length} reads)`);
        expect(done.length).toBeGreaterThan(100);
        const result = checkHistory(rec.history);
        if (!result.ok) {
          const file = join(tmpdir(), `kv-history-${process.pid}.json`);
          writeFileSync(file, JSON.stringify(rec.history.map((o) => ({ ...o, ret: o.ret === Infinity ? null : o.ret }))));
          console.log(`kv linearizability: not linearizable on ${result.failedKeys.join(", ")}; history in ${file}`);
        }
        expect(result.failedKeys).toEqual([]);
        // Healed: both replicas hold the same keys, values and revisions.
        const all = async (port: number) => (await (await fetch(`http://127.0.0.1:${port}/v1/kv?from=&limit=100`)).json()) as unknown;
        let same = false;
        for (let t = 0; t < 5000 && !same; t += 100) {
          same = JSON.stringify(await all(ports[0] as number)) === JSON.stringify(await all(ports[1] as number));
          if (!same) await sleep(100);
        }
        expect(same).toBe(true);
      } finally {
        await c.stop();
      }
    },
    { timeout: 90_000 },
  );

  test(
    "the checker catches a planted replica that answers reads from its own state (a restarted replica read before it caught up)",
    async () => {
      process.env[PLANTED_BUG_ENV] = "local-reads";
      let c: LocalCluster | null = null;
      try {
        c = await LocalCluster.start({ variant: "mring", acceptors: 3, learners: 2, clients: 0, kv: true, http: true });
        const [r1, r2] = replicas(c);
        const rec = recorder();
        let seq = 0;
        let caught = false;
        for (let round = 0; round < 10 && !caught; round++) {
          await c.kill(r2.id, "SIGKILL");
          for (const key of KEYS) await rec.run(1, ++seq, r1.http as number, key, { op: "put", value: `r${round}` });
          await c.restart(r2.id);
          for (const key of KEYS) await rec.run(2, ++seq, r2.http as number, key, { op: "get" });
          caught = !checkHistory(rec.history).ok;
        }
        expect(caught).toBe(true);
      } finally {
        delete process.env[PLANTED_BUG_ENV];
        await c?.stop();
      }
    },
    { timeout: 90_000 },
  );
});

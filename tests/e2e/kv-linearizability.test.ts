import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { LocalCluster, type NodeSpec } from "../../src/bench/cluster.ts";
import { PLANTED_BUG_ENV } from "../../src/app/kv/host.ts";
import { checkHistory } from "../support/linearizability.ts";
import { historyJson, randomClient, recorder } from "../support/kv-history.ts";

/**
 * Jepsen-style, on real processes: concurrent clients doing get/put/cas on a few hot keys through
 * both replicas while a replica and the coordinator are killed with SIGKILL and restarted; every
 * operation's call and return recorded (a timeout: outcome unknown); the history must be
 * linearizable, and the replicas' states equal once healed. The same checker must catch a
 * planted replica that answers reads from its own state, without the log.
 */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const KEYS = ["x", "y", "z"];
const url = (n: NodeSpec): string => `http://127.0.0.1:${n.http as number}`;

const replicas = (c: LocalCluster): [NodeSpec, NodeSpec] => c.nodes.filter((n) => n.kv !== undefined) as [NodeSpec, NodeSpec];

describe("paxos kv linearizability (real processes)", () => {
  test(
    "concurrent get/put/cas on hot keys through both replicas, a replica and the coordinator killed and restarted: linearizable, and the replicas agree",
    async () => {
      const c = await LocalCluster.start({ variant: "mring", acceptors: 3, learners: 2, clients: 0, kv: true, http: true, ledger: { kind: "wal", sync: "none" } });
      const [r1, r2] = replicas(c);
      const ports = [r1.http as number, r2.http as number];
      const endpoints = [url(r1), url(r2)];
      const rec = recorder();
      try {
        const end = performance.now() + 7000;
        const clients = [1, 2, 3, 4].map((id) => randomClient(id, rec, endpoints, KEYS, end));
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
          writeFileSync(file, historyJson(rec.history));
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
          for (const key of KEYS) await rec.run(1, ++seq, url(r1), key, { op: "put", value: `r${round}` });
          await c.restart(r2.id);
          for (const key of KEYS) await rec.run(2, ++seq, url(r2), key, { op: "get" });
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

import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { LocalCluster, type NodeSpec } from "../../src/bench/cluster.ts";
import { KvClient } from "../../src/app/kv/client.ts";
import { partitionOf } from "../../src/app/kv/partitions.ts";
import { checkHistory } from "../support/linearizability.ts";
import { historyJson, randomClient, recorder } from "../support/kv-history.ts";

/**
 * The partitioned key-value service on real processes (Multi-Ring Paxos): 3 acceptors serving a
 * ring per partition and the global ring; replica 3 holds partition 0, replica 4 partition 1,
 * replica 5 both.
 */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const url = (n: NodeSpec): string => `http://127.0.0.1:${n.http as number}`;
const enc = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const LAYOUT = { partitions: 2, replicas: [[0], [1], [0, 1]] };

async function start(layout: typeof LAYOUT = LAYOUT, protocol: Readonly<Record<string, number>> = {}): Promise<{ c: LocalCluster; replicas: NodeSpec[]; holders: (key: string) => string[] }> {
  const c = await LocalCluster.start({ variant: "mring", acceptors: 3, learners: 0, clients: 0, kv: true, kvPartitions: layout, ledger: { kind: "wal", sync: "none" }, protocol });
  const replicas = c.nodes.filter((n) => n.kv !== undefined);
  const holders = (key: string) => replicas.filter((_, i) => (layout.replicas[i] as number[]).includes(partitionOf(enc(key), layout.partitions))).map(url);
  return { c, replicas, holders };
}

/** A replica's keys of partition `p` (values and revisions), through its log; what failed instead (a restarted replica may not serve yet). */
async function partitionRows(replica: NodeSpec, p: number): Promise<unknown> {
  try {
    const r = await fetch(`${url(replica)}/v1/kv?from=&limit=1000&partition=${p}`, { signal: AbortSignal.timeout(3000) });
    return r.status === 200 ? ((await r.json()) as { entries: unknown }).entries : `HTTP ${r.status}`;
  } catch (e) {
    return `failed: ${e instanceof Error ? e.message : String(e)}`;
  }
}

/** Whether `replica` comes to hold, within 8 s, partition p's rows as `others[p]` does, for each p. */
async function converges(replica: NodeSpec, others: readonly NodeSpec[]): Promise<boolean> {
  const same = async () => {
    for (const [p, o] of others.entries()) if (JSON.stringify(await partitionRows(replica, p)) !== JSON.stringify(await partitionRows(o, p))) return false;
    return true;
  };
  for (let t = 0; t < 8000; t += 200) {
    if (await same()) return true;
    await sleep(200);
  }
  return same();
}

describe("paxos kv, partitioned (real processes)", () => {
  test(
    "keys go to their partition's replicas (421 elsewhere), batches write both partitions at one revision, ranges are split and merged, a killed replica resumes from its saved cursor, acceptors trim",
    async () => {
      const { c, replicas } = await start();
      const [r3, r4, r5] = replicas as [NodeSpec, NodeSpec, NodeSpec];
      try {
        const kv = new KvClient({ endpoints: replicas.map(url), timeoutMs: 3000 });
        const keys = Array.from({ length: 20 }, (_, i) => `k${String(i).padStart(2, "0")}`);
        expect(new Set(keys.map((k) => partitionOf(enc(k), 2))).size).toBe(2);
        for (const k of keys) await kv.put(k, `v-${k}`);
        for (const k of keys) expect(text((await kv.get(k))?.value ?? enc("absent"))).toBe(`v-${k}`);
        // A replica answers for its partitions only, naming those that hold the others.
        const k1 = keys.find((k) => partitionOf(enc(k), 2) === 1) as string;
        const misdirected = await fetch(`${url(r3)}/v1/kv/${k1}`);
        expect(misdirected.status).toBe(421);
        expect(((await misdirected.json()) as { replicas: string[] }).replicas).toEqual([url(r4), url(r5)]);
        // A range of a partition the service does not have is a bad request, not a misdirected one.
        const nowhere = await fetch(`${url(r3)}/v1/kv?partition=2`);
        expect(nowhere.status).toBe(400);
        expect(((await nowhere.json()) as { message: string }).message).toContain("partition 2 does not exist: this service has 2");
        // A batch over both partitions: one revision everywhere.
        const { revision } = await kv.batch([...keys.slice(0, 4).map((k) => ({ op: "put" as const, key: k, value: "B" })), { op: "delete", key: "k05" }]);
        for (const k of keys.slice(0, 4)) expect(await kv.get(k)).toEqual({ value: enc("B"), revision });
        expect(await kv.get("k05")).toBeNull();
        const all = await kv.range({ limit: 100 });
        expect(all.entries.map((e) => e.key)).toEqual(keys.filter((k) => k !== "k05"));
        expect(all.more).toBe(false);
        const some = await kv.range({ from: "k03", limit: 5 });
        expect(some.entries.map((e) => e.key)).toEqual(["k03", "k04", "k06", "k07", "k08"]);
        expect(some.more).toBe(true);
        // Replica 5 killed, writes go on through the others, then it comes back from its store.
        await c.kill(r5.id, "SIGKILL");
        for (const k of keys) await kv.put(k, `w-${k}`);
        await c.restart(r5.id);
        expect(await converges(r5, [r3, r4])).toBe(true);
        expect(text((await kv.get("k07"))?.value ?? enc(""))).toBe("w-k07");
        const status = (await (await fetch(`${url(r5)}/status`)).json()) as { kvPartitions: { held: number[]; appliedUpTo: Record<string, number> } };
        expect(status.kvPartitions.held).toEqual([0, 1]);
        expect(Object.keys(status.kvPartitions.appliedUpTo)).toEqual(["1", "2", "3"]);
        // Acceptors trim every ring below what the replicas saved, idle partitions included.
        const acceptor = (await (await fetch(`http://127.0.0.1:${c.nodes[0]?.http as number}/status`)).json()) as { rings: Record<string, { acceptor?: { trimmedBelow: number } }> };
        for (const ring of ["1", "2", "3"]) expect(acceptor.rings[ring]?.acceptor?.trimmedBelow ?? 0).toBeGreaterThan(0);
      } finally {
        await c.stop();
      }
    },
    { timeout: 60_000 },
  );

  test(
    "concurrent get/put/cas on hot keys of both partitions, each through a replica that holds it, a replica and a ring's coordinator killed and restarted: linearizable",
    async () => {
      const { c, replicas, holders } = await start();
      const rec = recorder({ serverTimeoutMs: 1500 });
      try {
        const end = performance.now() + 6000;
        const clients = [1, 2, 3, 4].map((id) => randomClient(id, rec, holders, ["x", "y", "z", "w"], end, 5));
        await sleep(1500);
        await c.kill((replicas[2] as NodeSpec).id, "SIGKILL");
        await sleep(1000);
        await c.restart((replicas[2] as NodeSpec).id);
        await sleep(800);
        await c.kill(0, "SIGKILL");
        await sleep(800);
        await c.restart(0);
        await Promise.all(clients);
        const done = rec.history.filter((o) => o.output !== null);
        console.log(`kv partitioned linearizability: ${rec.history.length} operations (${done.length} with a known outcome)`);
        expect(done.length).toBeGreaterThan(100);
        expect(done.some((o) => o.output && !o.output.ok && o.output.code === "MISDIRECTED")).toBe(false);
        const result = checkHistory(rec.history);
        if (!result.ok) {
          const file = join(tmpdir(), `kv-partitioned-history-${process.pid}.json`);
          writeFileSync(file, historyJson(rec.history));
          console.log(`kv partitioned linearizability: not linearizable on ${result.failedKeys.join(", ")}; history in ${file}`);
        }
        expect(result.failedKeys).toEqual([]);
      } finally {
        await c.stop();
      }
    },
    { timeout: 90_000 },
  );

  test(
    "a replica back after its rings trimmed what it missed takes the state of a replica with its subscriptions (state transfer) while writes go on, then holds the same state",
    async () => {
      const protocol = { gcSuspectMs: 400, catchupGiveUpMs: 500, maxUnappliedInstances: 1024, retainInstances: 16, learnerRetainInstances: 16, appliedMs: 20 };
      const { c, replicas } = await start({ partitions: 2, replicas: [[0, 1], [0, 1], [0]] }, protocol);
      const [r3, r4] = replicas as [NodeSpec, NodeSpec, NodeSpec];
      try {
        const kv = new KvClient({ endpoints: replicas.map(url), timeoutMs: 2000 });
        await kv.put("before", "1");
        await c.kill(r4.id, "SIGKILL");
        await sleep(600); // r4 leaves the garbage-collection quorums
        for (let i = 0; i < 100; i++) await kv.put(`k${i}`, "v");
        await sleep(500); // skip instances carry every ring past what acceptors retain
        await c.restart(r4.id);
        const writer = (async () => {
          for (let i = 0; i < 50; i++) await kv.put(`during${i}`, "w");
        })();
        let status: Awaited<ReturnType<LocalCluster["status"]>> = null;
        for (let t = 0; t < 15_000 && (status?.kvPartitions?.transfers ?? 0) === 0; t += 100) {
          await sleep(100);
          status = await c.status(r4.id);
        }
        await writer;
        if (status?.kvPartitions?.transfers !== 1)
          console.log(`state transfer not seen; replica ${r4.id} exit code ${String(c.procs.get(r4.id)?.exitCode)}, its last lines:\n${(c.logs.get(r4.id) ?? []).slice(-25).join("\n")}`);
        expect(status?.kvPartitions?.transfers).toBe(1);
        expect(status?.kvPartitions?.lastTransfer?.from).toBe(url(r3));
        expect(status?.kvPartitions?.lastTransfer?.rows).toBeGreaterThan(100);
        expect(c.procs.get(r4.id)?.exitCode).toBeNull();
        expect(await converges(r4, [r3, r3])).toBe(true);
        const rows = (await partitionRows(r4, partitionOf(enc("during49"), 2))) as { key: string }[];
        expect(rows.some((e) => e.key === "during49")).toBe(true);
        const lines = c.logs.get(r4.id) ?? [];
        expect(lines.some((l) => l.includes("state transfer: installed a snapshot"))).toBe(true);
        expect(lines.some((l) => l.includes("invariant"))).toBe(false);
      } finally {
        await c.stop();
      }
    },
    { timeout: 60_000 },
  );
});

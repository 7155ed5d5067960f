import { describe, expect, test } from "bun:test";
import { LocalCluster, type NodeSpec } from "../../src/bench/cluster.ts";
import { KvClient, KvError, type WatchEvent } from "../../src/index.ts";
import { runKvCommand } from "../../src/cli/kv.ts";

/**
 * The key-value service on real processes: 3 acceptors, 2 replicas with durable stores, the HTTP
 * API. Writes through one replica are read through the other (every command goes through the
 * log); a command retried with the same (client, seq) through the other replica gets its first
 * reply and is not applied twice; a replica killed with SIGKILL restarts from its store's cursor,
 * catches up, and then holds the same state as the other.
 */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** 3 acceptors and 2 key-value replicas on loopback, with `protocol` settings; the replicas' node entries. */
async function kvCluster(protocol?: Readonly<Record<string, number>>): Promise<{ c: LocalCluster; r1: NodeSpec; r2: NodeSpec }> {
  const c = await LocalCluster.start({ variant: "mring", acceptors: 3, learners: 2, clients: 0, kv: true, http: true, ...(protocol ? { protocol } : {}) });
  const [r1, r2] = c.nodes.filter((n) => n.kv !== undefined) as [NodeSpec, NodeSpec];
  return { c, r1, r2 };
}

async function call(port: number, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`, { method, headers, ...(body !== undefined ? { body } : {}), signal: AbortSignal.timeout(8000) });
  return { status: r.status, json: (await r.json()) as Record<string, unknown> };
}

describe("paxos kv on real processes", () => {
  test(
    "put/get/cas/range across replicas, exactly-once retries, and a replica restarted from its store",
    async () => {
      const { c, r1, r2 } = await kvCluster();
      const p1 = r1.http as number;
      const p2 = r2.http as number;
      try {
        const put = await call(p1, "PUT", "/v1/kv/greeting", "hello");
        expect(put.status).toBe(200);
        const rev = put.json["revision"] as number;
        expect(await call(p2, "GET", "/v1/kv/greeting")).toEqual({ status: 200, json: { revision: rev, value: "hello" } });
        expect((await call(p2, "PUT", "/v1/kv/greeting?op=insert", "again")).json["code"]).toBe("EXISTS");
        expect((await call(p2, "GET", "/v1/kv/missing")).status).toBe(404);
        // Gets take the leader's read index, not the log; ?consistency=log goes through it; stale reads the state as it is.
        const applied = async () => (await c.status(r2.id))?.kv?.commandsApplied ?? -1;
        const before = await applied();
        for (let i = 0; i < 5; i++) expect((await call(p2, "GET", "/v1/kv/greeting")).json["value"]).toBe("hello");
        expect(await applied()).toBe(before);
        expect((await call(p2, "GET", "/v1/kv/greeting?consistency=log")).json["value"]).toBe("hello");
        expect(await applied()).toBe(before + 1);
        expect((await call(p2, "GET", "/v1/kv/greeting?consistency=stale")).json["value"]).toBe("hello");
        expect((await call(p2, "GET", "/v1/kv/greeting?consistency=maybe")).status).toBe(400);
        expect((await call(p1, "POST", "/v1/kv/greeting/cas?expected=1234", "no")).status).toBe(409);

        // Exactly once: the same (client, seq) through the other replica answers as the first time.
        const id = { "X-Paxos-Client": "77", "X-Paxos-Seq": "1" };
        const first = await call(p1, "POST", `/v1/kv/greeting/cas?expected=${rev}`, "mine", id);
        expect(first.status).toBe(200);
        expect(await call(p2, "POST", `/v1/kv/greeting/cas?expected=${rev}`, "mine", id)).toEqual(first);
        expect((await call(p2, "GET", "/v1/kv/greeting")).json["value"]).toBe("mine");
        expect((await call(p1, "PUT", "/v1/kv/bad%2", "x")).json["code"]).toBe("BAD_COMMAND");

        await c.kill(r2.id, "SIGKILL");
        for (let i = 0; i < 20; i++) expect((await call(p1, "PUT", `/v1/kv/k${String(i).padStart(2, "0")}`, `v${i}`)).status).toBe(200);
        await c.restart(r2.id);
        const st = await c.status(r2.id);
        expect(st?.learnerStart?.source).toBe("kv");
        expect(st?.learnerStart?.instance).toBeGreaterThan(0);
        expect((await call(p2, "GET", "/v1/kv/k19")).json["value"]).toBe("v19");
        const all = async (port: number) => (await call(port, "GET", "/v1/kv?from=&limit=100")).json;
        for (let t = 0; t < 3000 && JSON.stringify(await all(p1)) !== JSON.stringify(await all(p2)); t += 100) await sleep(100);
        const state = await all(p2);
        expect(state).toEqual(await all(p1));
        expect((state["entries"] as unknown[]).length).toBe(21);
        const kv2 = (await c.status(r2.id))?.kv;
        expect(kv2?.keys).toBe(21);
        expect(kv2?.sqlite).toBe("bun:sqlite");
      } finally {
        await c.stop();
      }
    },
    { timeout: 60_000 },
  );

  test(
    "the client library and paxos kv: typed results, failover past a dead endpoint with the same command id, exit codes",
    async () => {
      const { c, r1, r2 } = await kvCluster();
      const urls = [r1, r2].map((n) => `http://127.0.0.1:${n.http as number}`);
      try {
        // The first endpoint refuses connections: every command goes on to a live replica.
        const kv = new KvClient({ endpoints: ["http://127.0.0.1:9", ...urls], timeoutMs: 3000 });
        const w = await kv.put("k", "v1");
        expect(w.prev).toBe(0);
        expect(new TextDecoder().decode((await kv.get("k"))?.value)).toBe("v1");
        expect(await kv.get("absent")).toBeNull();
        expect(await kv.cas("k", w.revision + 1, "no")).toEqual({ ok: false, revision: w.revision });
        expect((await kv.cas("k", w.revision, "v2")).ok).toBe(true);
        const inserted = await kv.insert("bin", new Uint8Array([0xff, 0x00, 0x80]));
        expect([...((await kv.get("bin"))?.value ?? [])]).toEqual([0xff, 0x00, 0x80]);
        expect(await kv.insert("bin", "x").catch((e: unknown) => (e instanceof KvError ? [e.code, e.revision] : e))).toEqual(["EXISTS", inserted.revision]);
        expect((await kv.range({ from: "a", limit: 10 })).entries.map((e) => e.key)).toEqual(["bin", "k"]);
        expect(await kv.delete("k")).toMatchObject({ deleted: true });

        const out: string[] = [];
        const err: string[] = [];
        const cli = (verb: Parameters<typeof runKvCommand>[0]["verb"], ...args: string[]) => runKvCommand({ verb, args, endpoints: urls.join(","), json: false, timeoutMs: 3000 }, (s) => out.push(s), (s) => err.push(s));
        expect(await cli("put", "c", "hello")).toBe(0);
        expect(await cli("get", "c")).toBe(0);
        expect(out.at(-1)).toBe("hello\n");
        expect(await cli("get", "nope")).toBe(1);
        expect(err.at(-1)).toBe("paxos kv: no such key: nope\n");
        expect(await cli("cas", "c", "0", "x")).toBe(1);
        expect(err.at(-1)).toMatch(/^paxos kv: REVISION_MISMATCH: c is at revision \d+, not 0\n$/);
        const dead = await runKvCommand({ verb: "get", args: ["c"], endpoints: "http://127.0.0.1:9", json: false, timeoutMs: 500 }, () => {}, (s) => err.push(s));
        expect(dead).toBe(1);
        expect(err.at(-1)).toContain("UNAVAILABLE");
      } finally {
        await c.stop();
      }
    },
    { timeout: 60_000 },
  );

  test(
    "a replica back after every acceptor trimmed what it missed takes the other's snapshot (state transfer) while writes go on, then holds the same state",
    async () => {
      const protocol = { gcSuspectMs: 400, catchupGiveUpMs: 500, maxUnappliedInstances: 128, retainInstances: 16, learnerRetainInstances: 16, appliedMs: 20 };
      const { c, r1, r2 } = await kvCluster(protocol);
      const p1 = r1.http as number;
      const p2 = r2.http as number;
      try {
        expect((await call(p1, "PUT", "/v1/kv/before", "1")).status).toBe(200);
        await c.kill(r2.id, "SIGKILL");
        await sleep(600); // r2 leaves the garbage-collection quorum
        for (let i = 0; i < 200; i++) expect((await call(p1, "PUT", `/v1/kv/k${i}`, "v")).status).toBe(200);
        await sleep(300);
        await c.restart(r2.id);
        // Writes go on while r2 fetches and installs the snapshot: it applies them after it.
        let more = 0;
        const writer = (async () => {
          for (; more < 100; more++) expect((await call(p1, "PUT", `/v1/kv/during${more}`, "w")).status).toBe(200);
        })();
        for (let t = 0; t < 15_000 && ((await c.status(r2.id))?.kv?.transfers ?? 0) === 0; t += 100) await sleep(100);
        await writer;
        const kv2 = (await c.status(r2.id))?.kv;
        expect(kv2?.transfers).toBe(1);
        expect(kv2?.lastTransfer?.from).toBe(`http://127.0.0.1:${p1}`);
        expect(kv2?.lastTransfer?.rows).toBeGreaterThan(200);
        expect(c.procs.get(r2.id)?.exitCode).toBeNull();
        // Equal states have equal state digests (the snapshots' rows, without the cursor).
        const digest = async (port: number) => (await call(port, "GET", "/v1/snapshot")).json["stateSha256"];
        for (let t = 0; t < 5000 && (await digest(p1)) !== (await digest(p2)); t += 300) await sleep(300);
        expect(await digest(p2)).toBe(await digest(p1));
        expect((await call(p2, "GET", "/v1/kv/during99")).json["value"]).toBe("w");
        expect((await call(p2, "GET", "/v1/kv/before")).json["value"]).toBe("1");
        // The changes before the installed snapshot are not held there: a watch from them is told so.
        const compacted = await call(p2, "GET", "/v1/watch?prefix=&fromRevision=1");
        expect(compacted.status).toBe(410);
        expect(compacted.json["oldest"]).toBeGreaterThan(200 * 2 ** 20);
        const lines = c.logs.get(r2.id) ?? [];
        expect(lines.some((l) => l.includes("state transfer: installed a snapshot"))).toBe(true);
        expect(lines.some((l) => l.includes("invariant"))).toBe(false);
      } finally {
        await c.stop();
      }
    },
    { timeout: 60_000 },
  );

  test(
    "watches: a prefix's changes in log order with revisions, from now or from a past revision this replica holds, also after its restart",
    async () => {
      const { c, r1, r2 } = await kvCluster();
      const writer = new KvClient({ endpoints: [`http://127.0.0.1:${r1.http as number}`] });
      const watcher = new KvClient({ endpoints: [`http://127.0.0.1:${r2.http as number}`] });
      const take = async (it: AsyncGenerator<WatchEvent>, n: number) => {
        const got: string[] = [];
        for await (const e of it) {
          got.push(`${e.type} ${e.key}${e.value ? `=${new TextDecoder().decode(e.value)}` : ""} @${e.revision}`);
          if (got.length === n) break;
        }
        return got;
      };
      try {
        const live = watcher.watch("w/");
        const first = take(live, 3);
        await sleep(200); // the watch is open before the writes
        const a = await writer.put("w/a", "1");
        await writer.put("other", "x"); // not under the prefix
        const b = await writer.put("w/b", "2");
        const d = await writer.delete("w/a");
        const expected = [`put w/a=1 @${a.revision}`, `put w/b=2 @${b.revision}`, `delete w/a @${d.revision}`];
        expect(await first).toEqual(expected);
        // From a past revision: the held changes again, then live ones.
        expect(await take(watcher.watch("w/", { fromRevision: b.revision }), 2)).toEqual(expected.slice(1));
        // The changes are kept in the replica's store with its state: a restarted replica replays them.
        await c.kill(r2.id, "SIGKILL");
        await c.restart(r2.id);
        expect(await take(watcher.watch("w/", { fromRevision: a.revision }), 3)).toEqual(expected);
      } finally {
        await c.stop();
      }
    },
    { timeout: 60_000 },
  );
});

import { describe, expect, test } from "bun:test";
import { LocalCluster } from "../../src/bench/cluster.ts";

/**
 * Real processes on loopback: a cluster of `paxos node`, several `paxos propose` clients at once;
 * every learner's --output stream must be identical and hold exactly the proposed values, once.
 */
describe.each(["mring", "uring"] as const)("%s cluster of real processes", (variant) => {
  test(
    "every learner writes the same ordered log holding every proposed value once",
    async () => {
      const c = await LocalCluster.start({ variant, acceptors: 3, learners: 1, clients: 3, window: 16 }, { outputs: true });
      const learners = c.ids("learner");
      try {
        const perClient = 400;
        const runs = await Promise.all(
          c.ids("client").map((id) =>
            c.run(["propose", "--config", c.configFile, "--id", String(id), ...Array.from({ length: perClient }, (_, i) => `c${id}-v${i}`)]),
          ),
        );
        for (const r of runs) expect({ code: r.code, err: r.err.split("\n").filter((l) => l.includes("paxos:")) }).toEqual({ code: 0, err: [] });
        for (const r of runs) expect(r.out.trim().split("\n")).toHaveLength(perClient);
        const expected = c.ids("client").length * perClient;
        const t0 = Date.now();
        while (learners.some((l) => c.outputOf(l).length < expected) && Date.now() - t0 < 10000) await new Promise((r) => setTimeout(r, 50));
        const reference = c.outputOf(learners[0] as number);
        const values = reference.map((l) => Buffer.from((JSON.parse(l) as { value: string }).value, "base64").toString());
        expect(values).toHaveLength(expected);
        expect(new Set(values).size).toBe(expected);
        for (const id of c.ids("client")) for (let i = 0; i < perClient; i++) expect(values).toContain(`c${id}-v${i}`);
        for (const l of learners) expect(c.outputOf(l)).toEqual(reference);
      } finally {
        await c.stop();
      }
      for (const p of c.procs.values()) expect(p.exitCode).toBe(0);
    },
    { timeout: 60_000 },
  );
});

describe("clients without a learner (role proposer)", () => {
  test(
    "M-Ring: they follow a learner's delivery notices, report the very instance learners deliver at, and turn to another learner when theirs is down",
    async () => {
      const c = await LocalCluster.start({ variant: "mring", acceptors: 3, learners: 2, clients: 2, clientsLearn: false, window: 16 }, { outputs: true });
      const [l1, l2] = c.ids("learner") as [number, number];
      const clients = c.clientIds();
      try {
        expect(clients).toHaveLength(2);
        for (const id of clients) expect(c.nodes.find((n) => n.id === id)?.roles).toEqual(["proposer"]);
        // One learner down from the start: a client subscribed to it must turn to the other.
        await c.kill(l1);
        const perClient = 200;
        const runs = await Promise.all(
          clients.map((id) => c.run(["propose", "--config", c.configFile, "--id", String(id), ...Array.from({ length: perClient }, (_, i) => `p${id}-v${i}`)])),
        );
        for (const r of runs) expect({ code: r.code, err: r.err.split("\n").filter((l) => l.includes("paxos:")) }).toEqual({ code: 0, err: [] });
        const told = new Map<string, number>();
        for (const r of runs)
          for (const line of r.out.trim().split("\n")) {
            const m = /^instance (\d+): (.+)$/.exec(line);
            if (m) told.set(m[2] as string, Number(m[1]));
          }
        expect(told.size).toBe(clients.length * perClient);
        const expected = clients.length * perClient;
        const t0 = Date.now();
        while (c.outputOf(l2).length < expected && Date.now() - t0 < 10000) await new Promise((r) => setTimeout(r, 50));
        const delivered = new Map(
          c.outputOf(l2).map((l) => {
            const d = JSON.parse(l) as { instance: number; value: string };
            return [Buffer.from(d.value, "base64").toString(), d.instance] as const;
          }),
        );
        expect(delivered.size).toBe(expected);
        // Each client was told the instance the learner delivered its value at.
        for (const [v, i] of told) expect({ v, i: delivered.get(v) }).toEqual({ v, i });
      } finally {
        await c.stop();
      }
    },
    { timeout: 60_000 },
  );
});

describe("the load generator", () => {
  test(
    "paxos node --role client is paxos client: it reports throughput and latency of values it saw decided",
    async () => {
      const c = await LocalCluster.start({ variant: "mring", acceptors: 3, learners: 1, clients: 1, window: 16 });
      try {
        const id = String(c.ids("client")[0]);
        const r = await c.run(["node", "--role", "client", "--config", c.configFile, "--id", id, "--value-size", "512", "--duration", "1", "--warmup", "0.2", "--window", "8", "--json"]);
        expect(r.code).toBe(0);
        const report = JSON.parse(r.out.trim()) as { mode: string; valueSize: number; acked: number; latencyUs: { count: number } };
        expect(report.mode).toBe("closed");
        expect(report.valueSize).toBe(512);
        expect(report.acked).toBeGreaterThan(10);
        expect(report.latencyUs.count).toBeGreaterThan(0);
      } finally {
        await c.stop();
      }
    },
    { timeout: 60_000 },
  );
});

describe("LocalCluster with http and stats", () => {
  test(
    "status() reads each node's /status (who leads, the ring); stats lines carry the wall clock",
    async () => {
      const c = await LocalCluster.start({ variant: "mring", acceptors: 3, learners: 1, clients: 1, http: true }, { statsMs: 100 });
      try {
        expect(c.nodes.filter((n) => n.http !== undefined).map((n) => n.id)).toEqual([0, 1, 2, 3]);
        const from = Date.now();
        // Some acceptor leads once Phase 1 completed: node 0 normally, but on a loaded host start-up can take
        // seconds and another acceptor may win the first election; find whichever leads.
        type S = Awaited<ReturnType<typeof c.status>>;
        let leader: S = null;
        for (let t = 0; t < 20_000 && leader === null; t += 100) {
          await new Promise((r) => setTimeout(r, 100));
          for (const id of [0, 1, 2]) {
            const s = await c.status(id);
            if (s?.coordinator?.active === true && (s.coordinator.ring ?? null) !== null) leader = s;
          }
        }
        expect(leader).not.toBeNull();
        const lid = leader?.id as number;
        expect([0, 1, 2]).toContain(lid);
        // M-Ring, 3 acceptors: f+1 = 2 on the ring, the coordinator last (the other: whichever answered Phase 1 first).
        const ring = leader?.coordinator?.ring ?? [];
        expect(ring).toHaveLength(2);
        expect(ring[1]).toBe(lid);
        expect([0, 1, 2].filter((i) => i !== lid)).toContain(ring[0] as number);
        const other = [0, 1, 2].find((i) => i !== lid) as number;
        let seen = (await c.status(other))?.election?.leader;
        for (let t = 0; t < 3000 && seen !== lid; t += 100) {
          await new Promise((r) => setTimeout(r, 100));
          seen = (await c.status(other))?.election?.leader;
        }
        expect(seen).toBe(lid);
        expect((await c.status(3))?.learner).not.toBeNull();
        for (let t = 0; t < 5000 && (c.stats.get(3) ?? []).length < 2; t += 100) await new Promise((r) => setTimeout(r, 100));
        const lines = c.stats.get(3) ?? [];
        expect(lines.length).toBeGreaterThan(1);
        for (const l of lines) {
          expect(l.wall).toBeGreaterThan(from - 15_000);
          expect(l.wall).toBeLessThanOrEqual(Date.now());
        }
        await c.kill(other);
        expect(await c.status(other)).toBeNull(); // a dead node does not answer
        await expect(c.status(4)).rejects.toThrow("no HTTP port"); // clients get none
      } finally {
        await c.stop();
      }
    },
    { timeout: 60_000 },
  );
});

describe("U-Ring over sized TCP buffers", () => {
  test(
    "the ring's connections get the tcp section's buffers (as the kernel reports them: doubled) and the cluster decides",
    async () => {
      const c = await LocalCluster.start({ variant: "uring", acceptors: 3, learners: 1, clients: 1, window: 16, http: true, socketBufferBytes: 32 * 1024 });
      try {
        const id = c.ids("client")[0] as number;
        const r = await c.run(["propose", "--config", c.configFile, "--id", String(id), ...Array.from({ length: 50 }, (_, i) => `v${i}`)]);
        expect(r.code).toBe(0);
        expect(r.out.trim().split("\n")).toHaveLength(50);
        for (const a of c.ids("acceptor")) expect((await c.status(a))?.tcpBuffers).toEqual({ sendBytes: 64 * 1024, recvBytes: 64 * 1024, warning: null });
      } finally {
        await c.stop();
      }
    },
    { timeout: 60_000 },
  );
});

import { describe, expect, test } from "bun:test";
import { LocalCluster } from "../../src/bench/cluster.ts";

/**
 * Coordinator failure at process level: under load, the coordinator is killed with SIGKILL; the
 * acceptors elect another (no external service) and learners deliver again. Measured: the time
 * from the kill to the first value decided after it (target 1 s; the README reports the median).
 */
describe.each(["mring", "uring"] as const)("%s coordinator failover", (variant) => {
  test(
    "kill -9 the coordinator under load: another acceptor leads, values are decided again, and every learner agrees",
    async () => {
      const c = await LocalCluster.start({ variant, acceptors: 3, learners: 1, clients: 1, window: 16 }, { outputs: true });
      const learner = c.ids("learner").find((id) => !c.ids("acceptor").includes(id)) as number;
      const client = String(c.ids("client")[0]);
      try {
        const load = c.run(["client", "--config", c.configFile, "--id", client, "--rate", "300", "--value-size", "256", "--duration", "8", "--warmup", "0", "--window", "256", "--json"]);
        // Load flowing first (at least 1.5 s; on a loaded machine the cluster's start-up may take longer).
        await new Promise((r) => setTimeout(r, 1500));
        for (let waited = 0; waited < 3000 && c.outputOf(learner).length <= 50; waited += 100) await new Promise((r) => setTimeout(r, 100));
        const before = c.outputOf(learner).length;
        expect(before).toBeGreaterThan(50);
        const killedAt = performance.now();
        await c.kill(0, "SIGKILL");
        // Values in flight when it died may be re-sent; what counts is the first delivery of a new instance.
        const lastInstance = (JSON.parse(c.outputOf(learner).at(-1) as string) as { instance: number }).instance;
        let failoverMs = -1;
        while (performance.now() - killedAt < 10_000) {
          const out = c.outputOf(learner);
          const last = out.at(-1);
          if (last && (JSON.parse(last) as { instance: number }).instance > lastInstance + 1) {
            failoverMs = performance.now() - killedAt;
            break;
          }
          await new Promise((r) => setTimeout(r, 5));
        }
        console.log(`${variant} failover: first new decision ${failoverMs.toFixed(0)} ms after kill -9 of the coordinator`);
        expect(failoverMs).toBeGreaterThan(0);
        expect(failoverMs).toBeLessThan(3000); // target 1 s; a loaded 2-core machine gets slack here
        const r = await load;
        expect(r.code).toBe(0);
        const report = JSON.parse(r.out.trim()) as { acked: number; proposed: number };
        // Values the client was told are decided keep flowing after the kill.
        expect(report.acked).toBeGreaterThan(before + 100);
        // Every learner still alive delivered the same sequence.
        const alive = c.ids("learner").filter((id) => id !== 0);
        const t0 = Date.now();
        const settled = () => new Set(alive.map((id) => c.outputOf(id).length)).size === 1;
        while (!settled() && Date.now() - t0 < 5000) await new Promise((res) => setTimeout(res, 50));
        const reference = c.outputOf(learner);
        for (const id of alive) expect(c.outputOf(id)).toEqual(reference);
        // The new coordinator said so in its log.
        expect(c.ids("acceptor").filter((id) => id !== 0).some((id) => (c.logs.get(id) ?? []).some((l) => l.includes("leading: Phase 1 in a new round")))).toBe(true);
      } finally {
        await c.stop();
      }
    },
    { timeout: 60_000 },
  );
});

describe("mring acceptor failover", () => {
  test(
    "kill -9 an acceptor on the ring under load: the coordinator lays out a new ring with the spare, and values are decided again",
    async () => {
      const c = await LocalCluster.start({ variant: "mring", acceptors: 3, learners: 1, clients: 1, window: 16 }, { outputs: true });
      const learner = c.ids("learner").find((id) => !c.ids("acceptor").includes(id)) as number;
      try {
        const load = c.run(["client", "--config", c.configFile, "--id", String(c.ids("client")[0]), "--rate", "300", "--value-size", "256", "--duration", "5", "--warmup", "0", "--window", "256", "--json"]);
        await new Promise((r) => setTimeout(r, 1500));
        // The ring of 3 acceptors is f+1 = 2 of them, the coordinator (0) last: [1, 0]; node 2 is the spare.
        const killedAt = performance.now();
        await c.kill(1, "SIGKILL");
        const lastInstance = (JSON.parse(c.outputOf(learner).at(-1) as string) as { instance: number }).instance;
        let resumedMs = -1;
        let coordinatorLinesAtRecovery = 0;
        while (performance.now() - killedAt < 10_000) {
          const last = c.outputOf(learner).at(-1);
          // Past what was in flight at the kill (window 16): instances the new ring decided.
          if (last && (JSON.parse(last) as { instance: number }).instance > lastInstance + 16) {
            resumedMs = performance.now() - killedAt;
            coordinatorLinesAtRecovery = (c.logs.get(0) ?? []).length;
            break;
          }
          await new Promise((r) => setTimeout(r, 5));
        }
        console.log(`mring acceptor failover: first new decision ${resumedMs.toFixed(0)} ms after kill -9 of ring acceptor 1`);
        expect(resumedMs).toBeGreaterThan(0);
        expect(resumedMs).toBeLessThan(3000);
        const r = await load;
        expect(r.code).toBe(0);
        // The coordinator did not change to get there: it routed around the dead acceptor with a new
        // round. (Later, under a loaded host, an election may still happen; it is not the recovery.)
        expect((c.logs.get(0) ?? []).slice(0, coordinatorLinesAtRecovery).some((l) => l.includes("stood down"))).toBe(false);
      } finally {
        await c.stop();
      }
    },
    { timeout: 60_000 },
  );
});

describe.each([
  { leases: "off", moves: true },
  { leases: "on", moves: false },
])("SIGUSR2: a node stands for leadership (leases $leases)", ({ leases, moves }) => {
  test(
    moves
      ? "an acceptor sent SIGUSR2 leads in a higher round, the old coordinator stands down, values are decided; a learner ignores the signal"
      : "an acceptor sent SIGUSR2 is refused while the leader's lease holds: the leader stays, values are decided; a learner ignores the signal",
    async () => {
      const c = await LocalCluster.start({ variant: "mring", acceptors: 3, learners: 1, clients: 1, http: true, ...(leases === "off" ? { protocol: { leaseMs: 0 } } : {}) }, { outputs: true });
      const learner = c.ids("learner").find((id) => !c.ids("acceptor").includes(id)) as number;
      const client = String(c.ids("client")[0]);
      const propose = (v: string) => c.run(["propose", "--config", c.configFile, "--id", client, "--timeout-ms", "20000", v]);
      const leads = async (id: number) => (await c.status(id))?.coordinator?.active === true;
      try {
        expect((await propose("before")).code).toBe(0);
        // One acceptor leads: node 0 as configured, or, when node 0's process started over 250 ms
        // after another's (seen on a loaded host), the acceptor that suspected it meanwhile.
        const leaders: number[] = [];
        for (const id of c.ids("acceptor")) if (await leads(id)) leaders.push(id);
        expect(leaders).toHaveLength(1);
        const from = leaders[0] as number;
        const to = from === 2 ? 1 : 2;
        expect(c.signal(to, "SIGUSR2")).toBe(true);
        expect(c.signal(learner, "SIGUSR2")).toBe(true);
        let moved = false;
        for (let waited = 0; waited < 3000 && !moved; waited += 50) {
          await new Promise((r) => setTimeout(r, 50));
          moved = (await leads(to)) && !(await leads(from));
        }
        expect(moved).toBe(moves);
        expect(await leads(moves ? to : from)).toBe(true);
        expect((await propose("after")).code).toBe(0);
        const delivered = c.outputOf(learner).map((l) => Buffer.from((JSON.parse(l) as { value: string }).value, "base64").toString());
        expect(delivered).toEqual(["before", "after"]);
        expect((c.logs.get(to) ?? []).some((l) => l.includes("SIGUSR2: standing for leadership"))).toBe(true);
        expect((c.logs.get(learner) ?? []).some((l) => l.includes("SIGUSR2 ignored"))).toBe(true);
        for (const [id, p] of c.procs) expect({ id, exit: p.exitCode }).toEqual({ id, exit: null });
      } finally {
        await c.stop();
      }
    },
    { timeout: 60_000 },
  );
});

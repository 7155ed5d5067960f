import { describe, expect, test } from "bun:test";
import { LocalCluster } from "../../src/bench/cluster.ts";

/**
 * Flow control and garbage collection with real processes: a learner is throttled (SIGSTOP for
 * 60 ms of every 100 ms) under load. Its socket overflows and it falls behind; it tells the
 * coordinator, which halves its window (and grows it back later). Nothing is lost: once the
 * throttling stops, the slow learner delivers exactly what the other learner delivered. Meanwhile
 * acceptors garbage-collect what both replicas applied (RAM ledgers, memory bounded).
 */
describe("mring slow learner", () => {
  test(
    "a throttled learner triggers flow control without losing anything; acceptors trim what both replicas applied",
    async () => {
      const c = await LocalCluster.start(
        {
          variant: "mring",
          acceptors: 3,
          learners: 2,
          clients: 1,
          window: 32,
          protocol: { flowBacklogInstances: 8, flowNoticeMs: 20, appliedMs: 20, retainInstances: 64 },
        },
        { outputs: true, statsMs: 200 },
      );
      const [fast, slow] = c.ids("learner").filter((id) => !c.ids("acceptor").includes(id) && !c.ids("client").includes(id)) as [number, number];
      const client = String(c.ids("client")[0]);
      const slowProc = c.procs.get(slow);
      let throttling = true;
      try {
        // Values of 6,000 bytes: two do not fit one pack (a batch holds 8 KB), so the 2,000 values a
        // second stay 2,000 instances a second: what makes a stopped learner fall behind.
        const load = c.run(["client", "--config", c.configFile, "--id", client, "--rate", "2000", "--value-size", "6000", "--duration", "5", "--warmup", "0", "--window", "512", "--json"]);
        const throttle = (async () => {
          await new Promise((r) => setTimeout(r, 500));
          while (throttling) {
            slowProc?.kill("SIGSTOP");
            await new Promise((r) => setTimeout(r, 60));
            slowProc?.kill("SIGCONT");
            await new Promise((r) => setTimeout(r, 40));
          }
        })();
        const r = await load;
        throttling = false;
        await throttle;
        slowProc?.kill("SIGCONT");
        expect(r.code).toBe(0);
        // Everything delivered at the fast learner reaches the slow one too, in the same order.
        const t0 = Date.now();
        while (Date.now() - t0 < 15_000 && c.outputOf(slow).length < c.outputOf(fast).length) await new Promise((res) => setTimeout(res, 100));
        await new Promise((res) => setTimeout(res, 500)); // stats lines of the last state
        const reference = c.outputOf(fast);
        expect(reference.length).toBeGreaterThan(2000);
        expect(c.outputOf(slow)).toEqual(reference);
        const last = (id: number) => c.stats.get(id)?.at(-1);
        const slowDowns = Math.max(...(c.stats.get(slow) ?? []).map((s) => s.slowDowns ?? 0));
        // Whoever led: on a loaded machine another acceptor may take over from node 0 at start-up.
        const coordinatorStats = c.ids("acceptor").flatMap((a) => c.stats.get(a) ?? []);
        const cuts = Math.max(...coordinatorStats.map((s) => s.windowCuts ?? 0));
        // The lowest the window went, as the coordinator remembers it (a sampled window may miss a cut that lasted a few periods).
        const smallest = Math.min(...coordinatorStats.map((s) => s.lowestWindow ?? 32));
        console.log(`slow learner: ${slowDowns} notices, ${cuts} window cuts (by acceptor: ${c.ids("acceptor").map((a) => Math.max(0, ...(c.stats.get(a) ?? []).map((s) => s.windowCuts ?? 0)))}), window down to ${smallest}; acceptors trimmed below ${c.ids("acceptor").map((a) => last(a)?.trimmedBelow)} holding ${c.ids("acceptor").map((a) => last(a)?.heldInstances)} instances`);
        expect(slowDowns).toBeGreaterThan(0);
        expect(cuts).toBeGreaterThan(0);
        expect(smallest).toBeLessThan(32);
        // Garbage collection ran at every acceptor, and what they hold is far below what was decided.
        const decided = (JSON.parse(reference.at(-1) as string) as { instance: number }).instance;
        for (const a of c.ids("acceptor")) {
          expect(last(a)?.trimmedBelow ?? 0).toBeGreaterThan(0);
          expect(last(a)?.heldInstances ?? Infinity).toBeLessThan(decided / 2);
        }
      } finally {
        throttling = false;
        slowProc?.kill("SIGCONT");
        await c.stop();
      }
    },
    { timeout: 60_000 },
  );
});

import { describe, expect, test } from "bun:test";
import { LocalCluster } from "../../src/bench/cluster.ts";

/** How long the acceptor is stopped: four times suspectMs (250), well past its 350 ms stagger. */
const STOPPED_MS = 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * An acceptor that was not scheduled (SIGSTOP, or a host too busy to run it) must read the
 * heartbeats queued for it before it acts on the silence it measured: on SIGCONT the event loop
 * runs the overdue tick timer before it polls the sockets, and without the runtime's deferral
 * the acceptor stood as a candidate at once (refused by the leases, it then stood down again).
 */
describe.each(["mring", "uring"] as const)("%s acceptor stopped and resumed", (variant) => {
  test(
    "SIGSTOP an idle cluster's first-ranked acceptor for 1 s, SIGCONT: no candidacy, no leadership change anywhere",
    async () => {
      const c = await LocalCluster.start({ variant, acceptors: 3, learners: 1, clients: 0, http: true });
      try {
        // Node 0 leads; node 1 ranks first after it (it would stand first).
        let ready = false;
        for (let waited = 0; waited < 5000 && !ready; waited += 100) {
          await sleep(100);
          ready = (await c.status(1))?.election?.leader === 0 && (await c.status(0))?.coordinator?.ring !== null;
        }
        expect(ready).toBe(true);
        const p = c.procs.get(1);
        if (!p) throw new Error("no process for node 1");
        p.kill("SIGSTOP");
        await sleep(STOPPED_MS);
        p.kill("SIGCONT");
        // Past the resumed acceptor's own suspicion plus stagger, and a Phase 1 round trip.
        await sleep(1500);
        const s1 = await c.status(1);
        expect(s1?.counters["leadershipChanges"]).toBe(0);
        expect(s1?.election?.leader).toBe(0);
        // The deferral is what prevented it: the resumed node's first tick waited for its input.
        expect(s1?.counters["ticksDeferred"] ?? 0).toBeGreaterThan(0);
        for (const id of c.ids("acceptor")) {
          const lines = c.logs.get(id) ?? [];
          expect(lines.filter((l) => l.includes("leading: Phase 1")).length).toBe(id === 0 ? 1 : 0);
          expect(lines.some((l) => l.includes("stood down"))).toBe(false);
        }
        expect((await c.status(0))?.coordinator?.active).toBe(true);
      } finally {
        await c.stop();
      }
    },
    { timeout: 30_000 },
  );
});

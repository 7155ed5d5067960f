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
        // A leader with a ring that every acceptor follows (on a loaded host start-up may elect
        // another than node 0: the test holds whoever leads), then the acceptor ranked first after it.
        const acceptors = c.ids("acceptor");
        let leader = -1;
        for (let waited = 0; waited < 10_000 && leader < 0; waited += 100) {
          await sleep(100);
          const st = await Promise.all(acceptors.map((id) => c.status(id)));
          const l = st.find((x) => x?.coordinator?.active && x.coordinator.ring !== null)?.id;
          if (l !== undefined && st.every((x) => x?.election?.leader === l)) leader = l;
        }
        expect(leader).toBeGreaterThanOrEqual(0);
        const victim = acceptors[(acceptors.indexOf(leader) + 1) % acceptors.length] as number;
        const changes = async (id: number) => (await c.status(id))?.counters["leadershipChanges"] ?? -1;
        const before = await Promise.all(acceptors.map(changes));
        const lines = (id: number, what: string) => (c.logs.get(id) ?? []).filter((l) => l.includes(what)).length;
        const logBefore = acceptors.map((id) => lines(id, "leading: Phase 1") + lines(id, "stood down"));
        const p = c.procs.get(victim);
        if (!p) throw new Error(`no process for node ${victim}`);
        p.kill("SIGSTOP");
        await sleep(STOPPED_MS);
        p.kill("SIGCONT");
        // Past the resumed acceptor's own suspicion plus stagger, and a Phase 1 round trip.
        await sleep(1500);
        const s1 = await c.status(victim);
        expect(s1?.election?.leader).toBe(leader);
        // The deferral is what prevented it: the resumed node's first tick waited for its input.
        expect(s1?.counters["ticksDeferred"] ?? 0).toBeGreaterThan(0);
        expect({ leader, victim, changes: await Promise.all(acceptors.map(changes)) }).toEqual({ leader, victim, changes: before });
        expect(acceptors.map((id) => lines(id, "leading: Phase 1") + lines(id, "stood down"))).toEqual(logBefore);
        expect((await c.status(leader))?.coordinator?.active).toBe(true);
      } finally {
        await c.stop();
      }
    },
    { timeout: 30_000 },
  );
});

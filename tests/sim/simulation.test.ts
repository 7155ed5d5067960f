import { describe, expect, test } from "bun:test";
import type { Variant } from "../../src/core/config.ts";
import { faults } from "../../src/core/quorum.ts";
import { drawScenario } from "../../src/sim/scenario.ts";
import { Simulation } from "../../src/sim/simulation.ts";

const VARIANTS: Variant[] = ["mring", "uring"];

describe.each(VARIANTS)("%s simulation", (variant) => {
  test("a seed replays exactly: same deliveries, messages and virtual time", () => {
    for (const seed of [5, 17, 123]) {
      const a = new Simulation({ variant, seed }).run();
      const b = new Simulation({ variant, seed }).run();
      expect(b).toEqual(a);
      expect(a.messages).toBeGreaterThan(0);
    }
  });

  test("proposers whose window fills send packs, and the checker checks their values like any other", () => {
    let packs = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const r = new Simulation({ variant, seed }).run();
      expect(r.violations).toEqual([]);
      packs += r.packsSent;
    }
    expect(packs).toBeGreaterThan(0);
  });

  test("different seeds draw different runs", () => {
    const runs = [1, 2, 3, 4].map((seed) => new Simulation({ variant, seed }).run());
    expect(new Set(runs.map((r) => r.messages)).size).toBeGreaterThan(1);
    expect(new Set(runs.map((r) => r.scenario)).size).toBe(4);
  });

  test("fault-free runs deliver every value at every learner, for ring sizes 1..9", () => {
    for (let ring = 1; ring <= 9; ring++) {
      const sim = new Simulation({ variant, seed: 1000 + ring, ringSize: ring, faults: false });
      const r = sim.run();
      expect(r.violations).toEqual([]);
      expect(r.proposed).toBeGreaterThan(0);
      const learners = sim.sc.cfg.learners.length;
      expect(r.deliveredValues).toBe(r.proposed * learners);
    }
  });

  test("storage faults: crashes that leave unsynced records on disk (torn group commits) keep safety", () => {
    let tornSeeds = 0;
    let seeds = 0;
    for (let seed = 1; seed <= 60; seed++) {
      const sim = new Simulation({ variant, seed, ledger: "durable" });
      const r = sim.run();
      expect({ seed, v: r.violations }).toEqual({ seed, v: [] });
      if (sim.sc.tornWrites) seeds++;
      else expect(r.tornRecords).toBe(0);
      if (r.tornRecords > 0) tornSeeds++;
    }
    expect(seeds).toBeGreaterThan(15);
    // The faults do happen: in several runs a crash left records on disk that no reply depended on.
    expect(tornSeeds).toBeGreaterThanOrEqual(3);
  }, 60_000);

  test("when the configured coordinator dies for good, another acceptor is elected and every value is still delivered", () => {
    let elected = 0;
    for (let seed = 1; seed <= 300 && elected < 5; seed++) {
      const sim = new Simulation({ variant, seed });
      if (sim.sc.coordinatorDiesAt === null) continue;
      const r = sim.run();
      expect({ seed, v: r.violations }).toEqual({ seed, v: [] });
      // (A run whose values were all delivered before the death may end before an election.)
      if (r.leader === null) continue;
      expect(r.leader).not.toBe(sim.sc.cfg.coordinator);
      expect(sim.sc.cfg.acceptors).toContain(r.leader);
      elected++;
    }
    expect(elected).toBe(5);
  });

  test("faulty runs keep safety and, after healing, liveness", () => {
    for (let seed = 1; seed <= 40; seed++) {
      const r = new Simulation({ variant, seed }).run();
      expect({ seed, v: r.violations }).toEqual({ seed, v: [] });
    }
  });

  test("the simulator does inject every kind of fault", () => {
    const kinds = new Set<string>();
    for (let seed = 1; seed <= 300; seed++) {
      const sc = drawScenario({ variant, seed });
      if (sc.loss > 0.1) kinds.add("loss");
      if (sc.dup > 0.1) kinds.add("dup");
      if (sc.mcastLoss > 0.1) kinds.add("mcast-loss");
      if (sc.reorder > 0.1) kinds.add("reorder");
      if (sc.syncUs > 0) kinds.add("slow-sync");
      for (const c of sc.crashes) kinds.add(c.restartAt === null ? "permanent-crash" : "crash-restart");
      for (const p of sc.partitions) kinds.add(`partition-${p.kind}`);
      if (sc.usurpers.length > 0) kinds.add("usurper");
      if (sc.cfg.acceptors.length >= 3 && sc.cfg.acceptors.length <= 9) kinds.add(`ring-${sc.cfg.acceptors.length}`);
    }
    for (const k of [
      "loss",
      "dup",
      "mcast-loss",
      "reorder",
      "slow-sync",
      "permanent-crash",
      "crash-restart",
      "partition-isolate",
      "partition-split",
      "partition-one-way",
      "usurper",
      ...[3, 4, 5, 6, 7, 8, 9].map((n) => `ring-${n}`),
    ])
      expect(kinds).toContain(k);
  });

  test("RAM-mode scenarios crash at most f acceptors, never the coordinator, and never restart them", () => {
    for (let seed = 1; seed <= 300; seed++) {
      const sc = drawScenario({ variant, seed, ledger: "ram" });
      const acceptorCrashes = sc.crashes.filter((c) => sc.cfg.acceptors.includes(c.node));
      expect(acceptorCrashes.every((c) => c.restartAt === null && c.node !== sc.cfg.coordinator)).toBe(true);
      expect(acceptorCrashes.length).toBeLessThanOrEqual(faults(sc.cfg.acceptors.length));
    }
  });

  test("a restarted acceptor resumes from its durable ledger", () => {
    // Find a durable seed whose scenario restarts an acceptor, and check the run stays correct.
    let checked = 0;
    for (let seed = 1; seed <= 200 && checked < 5; seed++) {
      const sc = drawScenario({ variant, seed, ledger: "durable" });
      if (!sc.crashes.some((c) => c.restartAt !== null && sc.cfg.acceptors.includes(c.node))) continue;
      const r = new Simulation({ variant, seed, ledger: "durable" }).run();
      expect(r.violations).toEqual([]);
      checked++;
    }
    expect(checked).toBe(5);
  });
});

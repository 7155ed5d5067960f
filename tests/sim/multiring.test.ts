import { describe, expect, test } from "bun:test";
import { sweepMultiRing } from "../../src/sim/multiring/runner.ts";
import { MultiRingSimulation } from "../../src/sim/multiring/simulation.ts";

/** CI's safety net for Multi-Ring Paxos: 2,000 seeds, every fault kind, zero violations. */
const SEEDS = Number(process.env.PAXOS_MULTIRING_SEEDS ?? process.env.PAXOS_SIM_SEEDS ?? 2000);

describe("multi-ring simulator (thesis ch. 5)", () => {
  test(
    `${SEEDS} seeds without a violation: per-ring safety, acyclic order of the merges, every value merged by every subscriber after healing`,
    () => {
      const s = sweepMultiRing({ from: 1, seeds: SEEDS });
      const first = s.failures[0];
      expect(first ? `seed ${first.seed}: ${JSON.stringify(first.violations)}\n${first.scenario}` : "none").toBe("none");
      // Real work: values merged (each by every subscriber), idle rings releasing merges with skips.
      expect(s.merged).toBeGreaterThan(s.proposed);
      expect(s.skippedSlots).toBeGreaterThan(0);
    },
    { timeout: 900_000 },
  );

  test("a seed replays exactly", () => {
    const a = new MultiRingSimulation({ seed: 42 }).run();
    const b = new MultiRingSimulation({ seed: 42 }).run();
    expect(b).toEqual(a);
  });

  // The checkers can fail: each planted bug is caught in some of 30 seeds.
  const planted: [string, Parameters<typeof sweepMultiRing>[0]][] = [
    ["a merge that counts a skip(n) instance as one", { from: 1, seeds: 30, mergeBugs: { skipCountsAsOne: true } }],
    ["a learner that merges the rings in another order", { from: 1, seeds: 30, mergeBugs: { descendingRings: true } }],
    ["a coordinator that skips into an instance it proposed values into", { from: 1, seeds: 30, bugs: { coordinatorSkipsProposedInstance: true } }],
  ];
  for (const [name, o] of planted)
    test(`planted bug caught: ${name}`, () => {
      const s = sweepMultiRing(o);
      expect(s.violations).toBeGreaterThanOrEqual(5);
    }, { timeout: 120_000 });
});

import { describe, expect, test } from "bun:test";
import type { PlantedBugs, Variant } from "../../src/core/config.ts";
import { sweep } from "../../src/sim/runner.ts";
import { Simulation } from "../../src/sim/simulation.ts";

/**
 * The checkers can fail: with a bug planted in a core, the simulator must find a violation
 * within a bounded number of seeds. (Bugs are switched on only here, through the core config.)
 */
const BUGS: [keyof PlantedBugs, string][] = [
  ["acceptorIgnoresPromise", "an acceptor that votes below its promised round"],
  ["learnerDeliversEarly", "a learner that delivers before the decision"],
  ["coordinatorIgnoresVotes", "a coordinator that skips picking the highest-round value in Phase 1"],
];
/*
 * Not in the list since coordinator election landed: "acceptorRepromisesRound" (an acceptor that
 * promises again the round it promised). It was found at seed 203 (M-Ring) when a restarted
 * coordinator reused its round number; now a restarted acceptor refuses every 1A for one lease
 * and a coordinator nacked in its own round moves up at once: its first failure is a liveness one
 * (seed 4,882), and 3,000 seeds with leases off found nothing. The strict promise stays covered by the core
 * test "a coordinator restarted from its ledger cannot complete Phase 1 again in its old round".
 */
const VARIANTS: Variant[] = ["mring", "uring"];
/**
 * acceptorIgnoresPromise needs values competing across rounds; since proposers back off (adaptive
 * re-send timeout) M-Ring first showed it at seed 1,198 (it was 376 when every value was re-sent
 * every timeout), and at seed 3,965 since half the M-Ring scenarios have clients that follow a
 * learner's notices (other roles, so other runs for the same seeds).
 */
const BOUND = 1500;
const BOUNDS: Partial<Record<`${Variant}:${keyof PlantedBugs}`, number>> = { "mring:acceptorIgnoresPromise": 4000 };

/** The first seed (from 1) where the planted bug breaks safety, or null within `bound` seeds (a mere liveness failure does not count). */
function firstSafetyViolation(variant: Variant, bugs: PlantedBugs, bound: number): { seed: number; kinds: string[] } | null {
  for (let seed = 1; seed <= bound; seed++) {
    const r = new Simulation({ variant, seed, bugs }).run();
    const kinds = r.violations.map((v) => v.kind);
    if (kinds.some((k) => k !== "liveness")) return { seed, kinds };
  }
  return null;
}

describe.each(VARIANTS)("%s planted bugs", (variant) => {
  test.each(BUGS)("%s is found: %s", (bug) => {
    const f = firstSafetyViolation(variant, { [bug]: true }, BOUNDS[`${variant}:${bug}`] ?? BOUND);
    expect(f).not.toBeNull();
    // And the same seed without the bug is clean: the violation is the bug's doing.
    const clean = sweep({ variant, from: f?.seed ?? 0, seeds: 1 });
    expect(clean.violations).toBe(0);
  }, 300_000);
});

describe.each(VARIANTS)("%s lease checker", (variant) => {
  // Leases are a separate promise (at most one coordinator believes it holds one at any time,
  // clocks drifting within CLOCK_DRIFT_BOUND): an acceptor that acks heartbeats but promises any
  // candidate anyway must be caught by the lease checker. Found at seed 180 (M-Ring) / 878 (U-Ring).
  test("acceptorIgnoresLease is found: two coordinators both hold a lease", () => {
    const f = firstSafetyViolation(variant, { acceptorIgnoresLease: true }, BOUND);
    expect(f?.kinds).toContain("lease");
    const clean = sweep({ variant, from: f?.seed ?? 0, seeds: 1 });
    expect(clean.violations).toBe(0);
  }, 300_000);
});

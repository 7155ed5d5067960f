import { expect, test } from "bun:test";
import type { Variant } from "../../src/core/config.ts";
import { sweep } from "../../src/sim/runner.ts";

/** CI's safety net: 2,000 seeds per variant, every fault kind, zero violations. */
const SEEDS = Number(process.env.PAXOS_SIM_SEEDS ?? 2000);

for (const variant of ["mring", "uring"] as Variant[]) {
  test(
    `${variant}: ${SEEDS} seeds without a violation`,
    () => {
      const s = sweep({ variant, from: 1, seeds: SEEDS });
      const first = s.failures[0];
      expect(first ? `seed ${first.seed}: ${JSON.stringify(first.violations)}` : "none").toBe("none");
      expect(s.seeds).toBe(SEEDS);
      expect(s.deliveredValues).toBeGreaterThan(s.proposed);
    },
    { timeout: 600_000 },
  );
}

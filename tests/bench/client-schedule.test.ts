import { describe, expect, test } from "bun:test";
import { BENCH_DEFAULTS, runBench } from "../../src/bench/run.ts";

describe("paxos bench: clients on a schedule (seed 000's workloads B and C)", () => {
  test(
    "a client killed on schedule reports nothing and the survivor's figures stand; a delayed client starts later",
    async () => {
      const t0 = Date.now();
      const r = await runBench(
        { ...BENCH_DEFAULTS, clients: 2, valueSize: 1024, rate: 50, durationS: 3, warmupS: 1, clientSchedule: [{ killAfterS: 2 }, { startDelayS: 1 }] },
        { update: () => {} },
      );
      // Only the survivor reported; it started a second after the first.
      expect(r.clients.length).toBe(1);
      const survivor = r.clients[0];
      expect(survivor?.measuredFrom).toBeGreaterThanOrEqual(t0 + 1000 + 1000);
      expect(survivor?.acked).toBeGreaterThan(50);
      expect(r.processes.filter((p) => p.roles.includes("client")).length).toBe(1);
      expect(r.learners[0]?.valuesPerSec).toBeGreaterThan(0);
    },
    { timeout: 60_000 },
  );

  test(
    "when every client is killed nothing is measured: the run fails",
    async () => {
      // Killed at once: nothing to measure, and no client survives.
      await expect(runBench({ ...BENCH_DEFAULTS, valueSize: 1024, rate: 10, durationS: 1, warmupS: 1, clientSchedule: [{ killAfterS: 0.2 }] }, { update: () => {} })).rejects.toThrow("every client was killed");
    },
    { timeout: 60_000 },
  );
});

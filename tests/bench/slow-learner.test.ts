import { describe, expect, test } from "bun:test";
import { median } from "../../src/bench/failure-trace.ts";
import { BENCH_DEFAULTS, runBench } from "../../src/bench/run.ts";
import { checkSlowSpell, DUTY_PERIOD_MS, slowSpell } from "../../src/bench/slow-learner.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("a learner slowed for a spell", () => {
  test("stopped and resumed each period within the spell, resumed at its end, nothing after", async () => {
    const log: { sig: string; at: number }[] = [];
    const t0 = performance.now();
    slowSpell((sig) => void log.push({ sig, at: performance.now() - t0 }), { fromS: 0.05, toS: 0.05 + (4 * DUTY_PERIOD_MS) / 1000, runPercent: 30 }, 20);
    await sleep(70 + 4 * DUTY_PERIOD_MS + 150);
    expect(log[0]?.sig).toBe("SIGCONT");
    expect(log[0]?.at ?? 0).toBeGreaterThanOrEqual(65);
    expect(log.filter((l) => l.sig === "SIGSTOP").length).toBeGreaterThanOrEqual(3);
    expect(log.at(-1)?.sig).toBe("SIGCONT");
    for (let i = 1; i < log.length - 1; i++) expect(log[i]?.sig).not.toBe(log[i - 1]?.sig);
    const n = log.length;
    await sleep(2 * DUTY_PERIOD_MS);
    expect(log.length).toBe(n);
  });

  test("stopping early resumes the process at once and cancels the rest", async () => {
    const log: string[] = [];
    const stop = slowSpell((sig) => void log.push(sig), { fromS: 0, toS: 10, runPercent: 50 }, 0);
    await sleep(2.5 * DUTY_PERIOD_MS);
    stop();
    const n = log.length;
    expect(log.at(-1)).toBe("SIGCONT");
    await sleep(2 * DUTY_PERIOD_MS);
    expect(log.length).toBe(n);
  });

  test("a spell must end after it starts and leave the process some of each period", () => {
    expect(() => checkSlowSpell({ fromS: 2, toS: 1, runPercent: 50 })).toThrow(RangeError);
    expect(() => checkSlowSpell({ fromS: 0, toS: 1, runPercent: 0 })).toThrow(RangeError);
    expect(() => checkSlowSpell({ fromS: 0, toS: 1, runPercent: 100 })).toThrow(RangeError);
  });

  test(
    "in a bench: the slowed learner delivers less during its spell, and the run's timelines carry both learners and the window",
    async () => {
      const r = await runBench({ ...BENCH_DEFAULTS, learners: 2, durationS: 6, warmupS: 1, slowLearner: { fromS: 2, toS: 4, runPercent: 15 } }, { update: () => {} });
      const names = (r.timelines ?? []).map((t) => t.name);
      expect(names.filter((n) => n.endsWith("values/s")).length).toBe(2);
      expect(names.some((n) => n.startsWith("coordinator") && n.endsWith("window"))).toBe(true);
      const slowed = r.timelines?.filter((t) => t.name.endsWith("values/s")).at(-1);
      const before = median((slowed?.points ?? []).filter((p) => p.t > 0.5 && p.t < 2).map((p) => p.y));
      const during = median((slowed?.points ?? []).filter((p) => p.t > 2.5 && p.t < 4).map((p) => p.y));
      expect(before).toBeGreaterThan(0);
      expect(during).toBeLessThan(before);
    },
    { timeout: 60_000 },
  );
});

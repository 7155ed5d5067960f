import type { Variant } from "../core/config.ts";
import { replayCommand, sweep, type SweepSummary } from "../sim/runner.ts";
import { sweepMultiRing } from "../sim/multiring/runner.ts";
import { describeMultiRing, drawMultiRing } from "../sim/multiring/scenario.ts";
import type { LedgerMode, SimOptions } from "../sim/scenario.ts";
import type { SimResult } from "../sim/simulation.ts";

export interface SimCliOptions {
  readonly variant: Variant | "both" | "multiring";
  readonly seeds: number;
  readonly from: number;
  readonly seed?: number;
  readonly ledger?: LedgerMode;
  readonly ring?: number;
  readonly maxLoss?: number;
  readonly maxDup?: number;
  readonly faults: boolean;
  readonly livenessTicks?: number;
  readonly app?: "kv";
  readonly json: boolean;
  readonly verbose: boolean;
}

/** Runs the simulator as asked and prints a summary; returns the process exit code (1 on any violation). */
export function runSimCommand(o: SimCliOptions, write: (s: string) => void): number {
  if (o.variant === "multiring") return runMultiRing(o, write);
  const variants: Variant[] = o.variant === "both" ? ["mring", "uring"] : [o.variant];
  const summaries: { summary: SweepSummary; base: Omit<SimOptions, "seed"> }[] = [];
  for (const variant of variants) {
    const base: Omit<SimOptions, "seed"> = {
      variant,
      ...(o.ledger ? { ledger: o.ledger } : {}),
      ...(o.ring !== undefined ? { ringSize: o.ring } : {}),
      ...(o.maxLoss !== undefined ? { maxLoss: o.maxLoss } : {}),
      ...(o.maxDup !== undefined ? { maxDup: o.maxDup } : {}),
      ...(o.faults ? {} : { faults: false }),
      ...(o.livenessTicks !== undefined ? { livenessTicks: o.livenessTicks } : {}),
      ...(o.app ? { app: o.app } : {}),
    };
    const single = o.seed !== undefined;
    const summary = sweep({
      ...base,
      from: single ? (o.seed as number) : o.from,
      seeds: single ? 1 : o.seeds,
      ...(o.verbose && single ? { onSeed: (r: SimResult) => write(`scenario:\n${indent(r.scenario)}\n`) } : {}),
    });
    summaries.push({ summary, base });
  }
  if (o.json) {
    write(
      JSON.stringify(
        summaries.map(({ summary: s, base }) => ({
          variant: s.variant,
          seeds: s.seeds,
          violations: s.violations,
          proposed: s.proposed,
          delivered: s.deliveredValues,
          messages: s.messages,
          wallMs: s.wallMs,
          failures: s.failures.map((f) => ({
            seed: f.seed,
            violations: f.violations,
            replay: replayCommand(base, f.seed),
            scenario: f.scenario,
            trace: f.trace,
          })),
        })),
        null,
        2,
      ) + "\n",
    );
  } else {
    for (const { summary: s, base } of summaries) {
      write(
        `sim ${s.variant}: ${s.seeds} seed${s.seeds === 1 ? "" : "s"}, ${s.violations} violations, ${s.deliveredValues.toLocaleString("en-US")} deliveries ` +
          `of ${s.proposed.toLocaleString("en-US")} proposed values, ${s.messages.toLocaleString("en-US")} simulated messages` +
          `${s.kv ? `, ${s.kv.applied.toLocaleString("en-US")} key-value commands applied, ${s.kv.transfers.toLocaleString("en-US")} state transfers` : ""}, ${(s.wallMs / 1000).toFixed(1)} s\n`,
      );
      for (const f of s.failures) {
        write(`\nseed ${f.seed} FAILED:\n`);
        for (const v of f.violations) write(`  ${v.kind}: ${v.detail}\n`);
        write(`  replay: ${replayCommand(base, f.seed)}\n`);
        write(`  scenario:\n${indent(f.scenario, 4)}\n`);
        write(`  last events:\n${indent(f.trace.join("\n"), 4)}\n`);
      }
    }
  }
  return summaries.some((x) => x.summary.violations > 0) ? 1 : 0;
}

/** `paxos sim --variant multiring`: the multi-ring simulator (rings, skips, merging learners). */
function runMultiRing(o: SimCliOptions, write: (s: string) => void): number {
  const single = o.seed !== undefined;
  const s = sweepMultiRing({ from: single ? (o.seed as number) : o.from, seeds: single ? 1 : o.seeds, ...(o.faults ? {} : { faults: false }) });
  const replay = (seed: number) => `paxos sim --variant multiring --seed ${seed}${o.faults ? "" : " --no-faults"}`;
  if (o.json) {
    const failures = s.failures.map((f) => ({ seed: f.seed, violations: f.violations, replay: replay(f.seed), scenario: f.scenario }));
    write(JSON.stringify([{ variant: "multiring", seeds: s.seeds, violations: s.violations, proposed: s.proposed, merged: s.merged, skippedSlots: s.skippedSlots, messages: s.messages, wallMs: s.wallMs, failures }], null, 2) + "\n");
    return s.violations > 0 ? 1 : 0;
  }
  const n = (x: number) => x.toLocaleString("en-US");
  write(
    `sim multiring: ${s.seeds} seed${s.seeds === 1 ? "" : "s"}, ${s.violations} violations, ${n(s.merged)} merged deliveries of ${n(s.proposed)} proposed values, ` +
      `${n(s.skippedSlots)} skipped instances, ${n(s.messages)} simulated messages, ${(s.wallMs / 1000).toFixed(1)} s\n`,
  );
  for (const f of s.failures) {
    write(`\nseed ${f.seed} FAILED:\n`);
    for (const v of f.violations) write(`  ${v.kind}: ${v.detail}\n`);
    write(`  replay: ${replay(f.seed)}\n  scenario:\n${indent(f.scenario, 4)}\n`);
  }
  if (single && o.verbose && s.failures.length === 0) write(`scenario:\n${indent(describeMultiRing(drawMultiRing({ seed: o.seed as number, faults: o.faults })))}\n`);
  return s.violations > 0 ? 1 : 0;
}

function indent(s: string, n = 2): string {
  const pad = " ".repeat(n);
  return s
    .split("\n")
    .map((l) => pad + l)
    .join("\n");
}

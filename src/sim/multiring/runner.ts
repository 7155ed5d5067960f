import type { MergeBugs } from "../../multiring/merge.ts";
import type { PlantedBugs } from "../../core/config.ts";
import type { Violation } from "../checker.ts";
import { MultiRingSimulation, type MultiRingResult } from "./simulation.ts";

export interface MultiRingSweep {
  readonly seeds: number;
  readonly violations: number;
  readonly proposed: number;
  readonly merged: number;
  readonly skippedSlots: number;
  readonly messages: number;
  readonly wallMs: number;
  /** The first failing seeds (bounded), with what they broke and their scenario. */
  readonly failures: readonly { readonly seed: number; readonly violations: readonly Violation[]; readonly scenario: string }[];
}

/** Bound: failing seeds kept in a sweep's report. */
export const MAX_KEPT_MULTIRING_FAILURES = 10;

/** Runs seeds [from, from + seeds) of the multi-ring simulator. */
export function sweepMultiRing(o: { readonly from: number; readonly seeds: number; readonly faults?: boolean; readonly mergeBugs?: MergeBugs; readonly bugs?: PlantedBugs }): MultiRingSweep {
  const start = performance.now();
  let violations = 0;
  let proposed = 0;
  let merged = 0;
  let skippedSlots = 0;
  let messages = 0;
  const failures: { seed: number; violations: readonly Violation[]; scenario: string }[] = [];
  for (let seed = o.from; seed < o.from + o.seeds; seed++) {
    const r: MultiRingResult = new MultiRingSimulation({
      seed,
      ...(o.faults === false ? { faults: false } : {}),
      ...(o.mergeBugs ? { mergeBugs: o.mergeBugs } : {}),
      ...(o.bugs ? { bugs: o.bugs } : {}),
    }).run();
    proposed += r.proposed;
    merged += r.merged;
    skippedSlots += r.skippedSlots;
    messages += r.messages;
    if (r.violations.length === 0) continue;
    violations++;
    if (failures.length < MAX_KEPT_MULTIRING_FAILURES) failures.push({ seed, violations: r.violations, scenario: r.scenario });
  }
  return { seeds: o.seeds, violations, proposed, merged, skippedSlots, messages, wallMs: performance.now() - start, failures };
}

import type { Variant } from "../core/config.ts";
import type { SimOptions } from "./scenario.ts";
import { Simulation, type SimResult } from "./simulation.ts";

export interface SweepOptions extends Omit<SimOptions, "seed"> {
  /** First seed, and how many consecutive seeds to run. */
  readonly from: number;
  readonly seeds: number;
  /** Stop at the first failing seed. */
  readonly stopOnFailure?: boolean;
  readonly onSeed?: (r: SimResult) => void;
}

export interface SweepSummary {
  readonly variant: Variant;
  readonly seeds: number;
  readonly failures: readonly SimResult[];
  readonly violations: number;
  readonly proposed: number;
  readonly deliveredValues: number;
  readonly messages: number;
  /** With --app kv: commands the replicas applied, and state transfers, over every seed. */
  readonly kv: { readonly applied: number; readonly transfers: number } | null;
  readonly wallMs: number;
}

/** Bound: failing seeds kept in a summary (the count of violations stays exact). */
export const MAX_KEPT_FAILURES = 10;

export function sweep(o: SweepOptions): SweepSummary {
  const t0 = performance.now();
  const failures: SimResult[] = [];
  let violations = 0;
  let proposed = 0;
  let delivered = 0;
  let messages = 0;
  let ran = 0;
  let kv = null as { applied: number; transfers: number } | null;
  for (let s = o.from; s < o.from + o.seeds; s++) {
    const { from: _f, seeds: _s, stopOnFailure: _x, onSeed: _o, ...rest } = o;
    const r = new Simulation({ ...rest, seed: s }).run();
    ran++;
    proposed += r.proposed;
    delivered += r.deliveredValues;
    messages += r.messages;
    if (r.kv) kv = { applied: (kv?.applied ?? 0) + r.kv.applied, transfers: (kv?.transfers ?? 0) + r.kv.transfers };
    o.onSeed?.(r);
    if (r.violations.length > 0) {
      violations += r.violations.length;
      if (failures.length < MAX_KEPT_FAILURES) failures.push(r);
      if (o.stopOnFailure) break;
    }
  }
  return {
    variant: o.variant,
    seeds: ran,
    failures,
    violations,
    proposed,
    deliveredValues: delivered,
    messages,
    kv,
    wallMs: Math.round(performance.now() - t0),
  };
}

/** The command that replays one seed exactly. */
export function replayCommand(o: Omit<SimOptions, "seed" | "bugs">, seed: number): string {
  const parts = ["paxos sim", `--variant ${o.variant}`, `--seed ${seed}`];
  if (o.ledger) parts.push(`--ledger ${o.ledger}`);
  if (o.ringSize !== undefined) parts.push(`--ring ${o.ringSize}`);
  if (o.maxLoss !== undefined) parts.push(`--max-loss ${o.maxLoss}`);
  if (o.maxDup !== undefined) parts.push(`--max-dup ${o.maxDup}`);
  if (o.faults === false) parts.push("--no-faults");
  if (o.livenessTicks !== undefined) parts.push(`--liveness-ticks ${o.livenessTicks}`);
  if (o.app !== undefined) parts.push(`--app ${o.app}`);
  return parts.join(" ");
}

import type { ProtocolConfig } from "../config.ts";
import { gcQuorum } from "../gc.ts";
import type { Instance, Tick } from "../types.ts";

/**
 * How far the coordinator's proposals may run ahead. Flow control (thesis §3.3.6): the window of
 * instances in flight, halved when a learner falls behind and grown back by one per decision,
 * never beyond cfg.window. Garbage collection: no instance is proposed maxUnappliedInstances
 * beyond what replicas applied, since acceptors keep every instance above that.
 *
 * There is no reset(): the window and the watermark measure the learners and replicas, not who
 * leads, so standing down keeps them.
 */
export class FlowWindow {
  private window: number;
  private lastCut: Tick = -Infinity;
  private cutCount = 0;
  /** The smallest the window has been (a cut lasts a few notice periods: a sampled status may miss it). */
  private lowestSize: number;
  /** What min(f+1, replicas) replicas applied: every instance below it. */
  private appliedWatermark: Instance = 0;
  /** Whether replicas report what they applied at all (else nothing bounds proposals by it). */
  private readonly gcOn: boolean;

  constructor(private readonly cfg: ProtocolConfig) {
    this.window = cfg.window;
    this.lowestSize = cfg.window;
    this.gcOn = gcQuorum(cfg).k > 0;
  }

  /** The window of instances in flight in use now (at most cfg.window). */
  get size(): number {
    return this.window;
  }

  /** The smallest the window has been. */
  get lowest(): number {
    return this.lowestSize;
  }

  /** Flow-control notices that halved the window. */
  get cuts(): number {
    return this.cutCount;
  }

  /** Every instance below this was applied by enough replicas. */
  get applied(): Instance {
    return this.appliedWatermark;
  }

  /**
   * A learner is falling behind: halve the window, at most once per notice period (a learner
   * repeats its notice every period while behind, and several may report the same backlog).
   */
  onSlowDown(now: Tick): void {
    if (now - this.lastCut < this.cfg.flowNoticeTicks) return;
    this.lastCut = now;
    this.window = Math.max(1, Math.floor(this.window / 2));
    this.lowestSize = Math.min(this.lowestSize, this.window);
    this.cutCount++;
  }

  /** An instance decided: the window grows back by one once notices stopped for four periods. */
  onDecision(now: Tick): void {
    if (this.window < this.cfg.window && now - this.lastCut >= 4 * this.cfg.flowNoticeTicks) this.window++;
  }

  /** Replicas applied every instance below `w`; whether that moved the watermark (proposals may resume). */
  onApplied(w: Instance): boolean {
    if (w <= this.appliedWatermark) return false;
    this.appliedWatermark = w;
    return true;
  }

  /** Room for one more instance, `instance`, with `inFlight` in flight: the window, and the bound beyond what replicas applied. */
  admits(inFlight: number, instance: Instance): boolean {
    if (inFlight >= this.window) return false;
    const bound = this.cfg.maxUnappliedInstances;
    return bound === 0 || !this.gcOn || instance < this.appliedWatermark + bound;
  }
}

import { instanceReach, type ProtocolConfig } from "./config.ts";
import { MAX_INSTANCE } from "./round.ts";
import type { OutputBuilder } from "./output.ts";
import type { Batch, CatchupEntry, DecisionId, Instance, LedgerRecord, NodeId, Round, Vid, VoteReport } from "./types.ts";

interface Vote {
  readonly vrnd: Round;
  readonly batch: Batch;
}

/**
 * The acceptor of Paxos (thesis Algorithm 1, Tasks 2 and 4): `rnd` is shared by all instances
 * (Multi-Paxos: Phase 1 covers every instance >= from); per instance it keeps v-rnd, v-val and
 * v-vid (the batch and its id). Every promise and vote is persisted before the reply leaves: the
 * driver holds the step's sends until its records are durable.
 */
export class Acceptor {
  private rndValue: Round = 0;
  private readonly votes = new Map<Instance, Vote>();
  private readonly decisions = new Map<Instance, Vid>();
  /** Every instance below this one was applied by enough replicas and is forgotten here. */
  private trimmedBelowValue: Instance = 0;
  /** What this acceptor knows the cluster reached: its highest vote, its latest promise's start, its trim point. */
  private horizon: Instance = 0;
  private readonly reach: number;

  constructor(
    readonly id: NodeId,
    private readonly cfg: ProtocolConfig,
    recovered: readonly LedgerRecord[] = [],
  ) {
    this.reach = instanceReach(cfg);
    for (const r of recovered) this.replay(r);
  }

  get rnd(): Round {
    return this.rndValue;
  }

  get trimmedBelow(): Instance {
    return this.trimmedBelowValue;
  }

  /** Instances whose vote this acceptor holds (its memory use, bounded by garbage collection). */
  get heldInstances(): number {
    return this.votes.size;
  }

  /**
   * Garbage collection: forgets votes and decisions below `below`, which enough replicas applied.
   * It never votes there again (those instances are decided) and tells a new coordinator so.
   */
  trim(below: Instance, out: OutputBuilder): void {
    if (below <= this.trimmedBelowValue) return;
    this.forgetBelow(below);
    out.record({ k: "trim", below }, false);
  }

  private forgetBelow(below: Instance): void {
    this.trimmedBelowValue = Math.max(this.trimmedBelowValue, below);
    this.horizon = Math.max(this.horizon, below);
    for (const i of this.votes.keys()) if (i < below) this.votes.delete(i);
    for (const i of this.decisions.keys()) if (i < below) this.decisions.delete(i);
  }

  /** Rebuilds state from the ledger after a restart. */
  private replay(r: LedgerRecord): void {
    switch (r.k) {
      case "promise":
        this.rndValue = Math.max(this.rndValue, r.rnd);
        break;
      case "vote": {
        const prev = this.votes.get(r.instance);
        if (!prev || prev.vrnd <= r.vrnd) this.votes.set(r.instance, { vrnd: r.vrnd, batch: r.batch });
        this.horizon = Math.max(this.horizon, r.instance);
        this.rndValue = Math.max(this.rndValue, r.vrnd);
        break;
      }
      case "decision":
        this.decisions.set(r.instance, r.vid);
        break;
      case "trim":
        this.forgetBelow(r.below);
        break;
    }
  }

  /**
   * Phase 1B (Task 2): promise `crnd` only if it is strictly above every round seen, and report
   * the votes cast at instances >= from. Returns null when the promise is refused (the caller
   * sends a nack). Strictness matters: a restarted coordinator that forgot its rounds may pick
   * one it already used, and must not complete Phase 1 in it again (two values in one round).
   */
  onPhase1A(crnd: Round, from: Instance, out: OutputBuilder): VoteReport[] | null {
    if (crnd < this.rndValue || (crnd === this.rndValue && !this.cfg.bugs?.acceptorRepromisesRound)) return null;
    this.rndValue = crnd;
    this.horizon = Math.max(this.horizon, from);
    out.record({ k: "promise", rnd: crnd }, true);
    const reports: VoteReport[] = [];
    for (const [instance, v] of this.votes) {
      if (instance < from) continue;
      const d = this.decisions.get(instance);
      reports.push({ instance, vrnd: v.vrnd, batch: v.batch, decided: d === v.batch.vid });
    }
    reports.sort((a, b) => a.instance - b.instance);
    return reports;
  }

  /** Phase 2B (Task 4): vote for `batch` in round `crnd` unless a higher round was promised. */
  vote(crnd: Round, instance: Instance, batch: Batch, out: OutputBuilder): boolean {
    if (crnd < this.rndValue && !this.cfg.bugs?.acceptorIgnoresPromise) return false;
    // Garbage-collected: decided and applied long ago; only a coordinator behind the news proposes here.
    if (instance < this.trimmedBelowValue) return false;
    if (!this.within(instance, out, "2A")) return false;
    const prev = this.votes.get(instance);
    if (prev && prev.vrnd === crnd) {
      // A round has a single value: a repeated 2A carries the batch already voted for, else it is
      // forged or its coordinator is broken.
      if (prev.batch.vid === batch.vid) return true;
      out.conflict(`second value in round ${crnd} at instance ${instance} (${batch.vid}, voted ${prev.batch.vid})`);
      return false;
    }
    this.rndValue = Math.max(this.rndValue, crnd);
    this.votes.set(instance, { vrnd: crnd, batch });
    this.horizon = Math.max(this.horizon, instance);
    out.record({ k: "vote", instance, vrnd: crnd, batch }, true);
    return true;
  }

  /** Whether `instance` is within reach of what this acceptor knows (else the input is reported, see instanceReach). */
  within(instance: Instance, out: OutputBuilder, what: string): boolean {
    if (instance <= this.horizon + this.reach) return true;
    out.conflict(`${what} for instance ${instance}, beyond reach (known up to ${this.horizon})`);
    return false;
  }

  /** Task 5's check: this acceptor holds the value and voted for it in round `rnd`. */
  hasVoted(instance: Instance, rnd: Round, vid: Vid): boolean {
    const v = this.votes.get(instance);
    return v !== undefined && v.vrnd === rnd && v.batch.vid === vid;
  }

  /** The batch this acceptor voted for at `instance`, if its id is `vid`. */
  votedBatch(instance: Instance, vid: Vid): Batch | undefined {
    const v = this.votes.get(instance);
    return v !== undefined && v.batch.vid === vid ? v.batch : undefined;
  }

  /** Records a decision so that learners can later retrieve it from this acceptor. */
  learnDecision(instance: Instance, vid: Vid, out: OutputBuilder): void {
    const known = this.decisions.get(instance);
    if (known === vid || !this.within(instance, out, "decision")) return;
    if (known !== undefined) {
      // One of the two is forged (or a peer is broken): trust neither; learners find the decision
      // at other acceptors.
      out.conflict(`second decision for instance ${instance} (${vid}, known ${known})`);
      this.decisions.delete(instance);
      return;
    }
    this.decisions.set(instance, vid);
    out.record({ k: "decision", instance, vid }, false);
  }

  isDecided(instance: Instance): boolean {
    return this.decisions.has(instance);
  }

  /**
   * What this acceptor knows of [from, from+count), for a lagging learner: decided instances with
   * their value, decisions without the value, and values voted for without a known decision.
   */
  catchup(from: Instance, count: number): { entries: CatchupEntry[]; decisions: DecisionId[]; votes: CatchupEntry[] } {
    from = Math.max(from, this.trimmedBelowValue);
    // Bounded by catchupBatch, and by MAX_INSTANCE so that from + k stays a safe integer.
    const n = Math.max(0, Math.min(count, this.cfg.catchupBatch, MAX_INSTANCE - from + 1));
    const entries: CatchupEntry[] = [];
    const decisions: DecisionId[] = [];
    const votes: CatchupEntry[] = [];
    for (let i = from; i < from + n; i++) {
      const vid = this.decisions.get(i);
      const v = this.votes.get(i);
      if (vid !== undefined && v !== undefined && v.batch.vid === vid) entries.push({ instance: i, batch: v.batch });
      else {
        if (vid !== undefined) decisions.push({ instance: i, vid });
        if (v !== undefined) votes.push({ instance: i, batch: v.batch });
      }
    }
    return { entries, decisions, votes };
  }
}

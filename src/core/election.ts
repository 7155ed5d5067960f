import type { ProtocolConfig } from "./config.ts";
import { roundOwner } from "./round.ts";
import type { Input, NodeId, Round, Tick } from "./types.ts";

/** Bound: sampling periods the failure detector remembers (see SilenceHistory). */
export const SILENCE_SAMPLES = 64;
/**
 * A sampling period spans at least this many heartbeat periods, so that the samples remember
 * SILENCE_SAMPLES * 4 heartbeats (about 5 s at the defaults) whatever the load.
 */
export const SAMPLE_PERIOD_HEARTBEATS = 4;
/** The suspicion timeout stays this many times above the longest silence the leader recently survived. */
export const SUSPECT_MARGIN = 2;

/**
 * The silences a leader survived, as one acceptor saw them: per sampling period, the longest gap
 * between two pieces of evidence from the same round, for the last SILENCE_SAMPLES periods.
 * Periods rather than single gaps: under load Phase 2 traffic arrives every millisecond, and the
 * last 64 gaps would remember only the last 64 ms. The longest, not a mean plus deviations: the
 * gaps a busy host causes are rare and long (a process not scheduled for 300 ms among 20 ms
 * heartbeats), a heavy tail that a normal distribution's mean + k·σ stays below.
 */
export class SilenceHistory {
  private readonly samples: number[] = [];
  private nextSlot = 0;
  private periodStart: Tick | null = null;
  private periodLongest = 0;
  private longestSample = 0;

  constructor(private readonly periodTicks: number) {}

  /** Evidence arrived at `now`, `gap` ticks after the previous evidence from the same round. */
  add(gap: Tick, now: Tick): void {
    this.periodLongest = Math.max(this.periodLongest, gap);
    this.periodStart ??= now - gap;
    if (now - this.periodStart < this.periodTicks) return;
    if (this.samples.length < SILENCE_SAMPLES) this.samples.push(this.periodLongest);
    else this.samples[this.nextSlot] = this.periodLongest;
    this.nextSlot = (this.nextSlot + 1) % SILENCE_SAMPLES;
    // Once per period: the recomputation is cheaper than the per-tick reads would be.
    this.longestSample = Math.max(...this.samples);
    this.periodStart = now;
    this.periodLongest = 0;
  }

  /** The longest silence survived in the periods remembered (0: none yet). */
  get longest(): Tick {
    return this.longestSample;
  }
}

/** Why the leadership changed, as this process' core saw it (see LeadershipWatch). */
export type LeadershipCause =
  | { readonly k: "told-to-lead" }
  | { readonly k: "told-to-step-down" }
  /** The leader was silent for `silence` ticks; this acceptor stands after `after`. */
  | { readonly k: "suspected"; readonly leader: NodeId; readonly silence: Tick; readonly after: Tick }
  /** A majority refused this candidate's Phase 1: their lease to `leader` holds. */
  | { readonly k: "refused"; readonly leader: NodeId }
  /** A higher established round (heartbeat, Phase 2, ring, or a promise reported in a refusal). */
  | { readonly k: "higher-round"; readonly round: Round; readonly owner: NodeId }
  /** This acceptor promised a candidate's Phase 1. */
  | { readonly k: "promised"; readonly round: Round; readonly owner: NodeId }
  | { readonly k: "unexplained" };

/** A tick this many ticks or more after the previous one: the process did not run in between (see Election.ticked; the runtime defers such a tick behind queued input). */
export const STALL_TICKS = 10;

/**
 * Failure detection, candidacy and the acceptor's side of leases, decided by Paxos itself (no
 * external service): the coordinator is whoever owns the highest round that is *established* —
 * promised by this acceptor, or seen in Phase 2 traffic or a heartbeat — and it is alive as long
 * as such evidence keeps coming.
 *
 * - Suspicion: no evidence from the leader's round for suspectAfter() ticks: suspectTicks, or
 *   SUSPECT_MARGIN times the longest silence the leader survived recently (SilenceHistory), up to
 *   suspectMaxTicks. A fixed timeout is tight on a busy host, where a live leader's heartbeats
 *   arrive with gaps of hundreds of milliseconds; a dead leader is still suspected within
 *   suspectMaxTicks.
 * - Candidacy: a suspecting acceptor starts Phase 1 in a higher round, after suspectAfter() plus
 *   staggerTicks per acceptor ranked before it (the acceptors after the leader, in configured
 *   order): deterministic backoff, so two candidates rarely duel, and never forever.
 * - Lease: an acceptor refuses the 1A of anyone but its leader until leaseTicks after the last
 *   evidence (by its own clock). A candidate therefore wins only once the leader has been silent
 *   for a lease at a majority, and a coordinator that holds a lease acked by a majority (see
 *   Coordinator.hasLease) is the only one that can. An acceptor that restarts from its ledger
 *   refuses every 1A for one lease: it may have granted one it no longer remembers. Leases do not
 *   adapt (safety rests on them); the suspicion timeout only grows, so it stays above the lease
 *   (suspectTicks > leaseTicks) and a candidate still waits out its own lease before standing.
 *
 * Pure: time is the tick count passed in.
 */
export class Election {
  private leaderId: NodeId;
  private leaderRound: Round = 0;
  /** Tick of the last evidence from the leader's round; null before the first step. */
  private lastHeard: Tick | null = null;
  private lastTick: Tick | null = null;
  /** Whether lastHeard is evidence from leaderRound: a silence is measured only between two of those. */
  private heardLeaderRound = false;
  private readonly silences: SilenceHistory;
  private quietUntil: Tick | null = null;
  /** Tick of the last promise to a new candidate: it gets a full suspicion period before anyone stands against it. */
  private promisedAt: Tick = -Infinity;
  private notBefore: Tick = -Infinity;
  /** Why the leader followed (or this candidacy) last changed, until LeadershipWatch takes it. */
  private cause: LeadershipCause | null = null;

  constructor(
    private readonly id: NodeId,
    private readonly cfg: ProtocolConfig,
    private readonly restarted: boolean,
  ) {
    this.leaderId = cfg.coordinator;
    this.silences = new SilenceHistory(SAMPLE_PERIOD_HEARTBEATS * cfg.heartbeatTicks);
  }

  /** The coordinator this process follows. */
  get leader(): NodeId {
    return this.leaderId;
  }

  /** The round of the coordinator this process follows (0: none seen yet). */
  get round(): Round {
    return this.leaderRound;
  }

  /**
   * Called with every tick. A tick STALL_TICKS or more after the previous one means this process
   * did not run in between (stopped, or starved by its host): it heard nothing because it read
   * nothing, so that time is no silence of its leader and suspicion does not count it (the input
   * queued meanwhile is read next). It only delays a candidacy, and an acceptor's refusal of other
   * candidates lasts as much longer: liveness, never safety.
   */
  ticked(now: Tick): void {
    const gap = this.lastTick === null ? 0 : now - this.lastTick - 1;
    this.lastTick = now;
    if (gap < STALL_TICKS) return;
    if (this.lastHeard !== null) this.lastHeard += gap;
    if (this.promisedAt !== -Infinity) this.promisedAt += gap;
  }

  /** Called with every step's time: the process counts as having heard from its leader when it starts. */
  start(now: Tick): void {
    if (this.lastHeard !== null) return;
    this.lastHeard = now;
    if (this.restarted) this.quietUntil = now + this.cfg.leaseTicks;
  }

  /** Evidence that round `rnd` is established and its owner alive. Older rounds are no evidence. */
  established(rnd: Round, now: Tick): void {
    if (rnd > this.leaderRound) {
      this.leaderRound = rnd;
      this.leaderId = roundOwner(rnd, this.cfg.maxNodes);
      this.cause = { k: "higher-round", round: rnd, owner: this.leaderId };
    } else if (rnd < this.leaderRound) return;
    else if (this.heardLeaderRound && this.lastHeard !== null) this.silences.add(now - this.lastHeard, now);
    this.lastHeard = now;
    this.heardLeaderRound = true;
  }

  /**
   * This acceptor promised round `rnd`: it follows that candidate from now on. A promise is no
   * evidence that the candidate is alive and leading, so it grants no lease; but the candidate gets
   * a full suspicion period to complete Phase 1 before this acceptor stands against it (without
   * that, the acceptor ranked right after the candidate, already silent for a suspicion, would
   * stand at once: two candidates within milliseconds, and in U-Ring often a second election).
   */
  promised(rnd: Round, now: Tick): void {
    if (rnd <= this.leaderRound) return;
    this.leaderRound = rnd;
    this.leaderId = roundOwner(rnd, this.cfg.maxNodes);
    this.promisedAt = now;
    // The last evidence came from the previous leader: no silence of the new one to measure yet.
    this.heardLeaderRound = false;
    this.cause = { k: "promised", round: rnd, owner: this.leaderId };
  }

  /** Whether this acceptor refuses `from`'s 1A: it leases itself to another coordinator, or it just restarted. */
  refuses(from: NodeId, now: Tick): boolean {
    if (this.quietUntil !== null && now < this.quietUntil) return true;
    if (this.cfg.bugs?.acceptorIgnoresLease || this.cfg.leaseTicks === 0) return false;
    return from !== this.leaderId && now - (this.lastHeard ?? now) < this.cfg.leaseTicks;
  }

  /** Ticks of silence after which this acceptor suspects its leader (before its rank's stagger). */
  suspectAfter(): Tick {
    const adapted = Math.ceil(SUSPECT_MARGIN * this.silences.longest);
    return Math.min(this.cfg.suspectMaxTicks, Math.max(this.cfg.suspectTicks, adapted));
  }

  /**
   * How long the leader has been silent for candidacy (counted from a promise to a new candidate,
   * if later), and after how long this acceptor stands: suspectAfter() plus its rank's stagger.
   */
  suspicion(now: Tick): { readonly leader: NodeId; readonly silence: Tick; readonly after: Tick } {
    return { leader: this.leaderId, silence: now - this.silentSince(now), after: this.standAfter() };
  }

  /** Whether this (idle) acceptor should now stand as a candidate. */
  due(now: Tick): boolean {
    if (now < this.notBefore || this.lastHeard === null) return false;
    return now - this.silentSince(now) > this.standAfter();
  }

  private silentSince(now: Tick): Tick {
    return Math.max(this.lastHeard ?? now, this.promisedAt);
  }

  /** suspectAfter() plus staggerTicks per acceptor ranked before this one (those after the leader, in configured order). */
  private standAfter(): Tick {
    const acc = this.cfg.acceptors;
    const n = acc.length;
    const me = acc.indexOf(this.id);
    const li = acc.indexOf(this.leaderId);
    const rank = li < 0 ? me : (me - li - 1 + n) % n;
    return this.suspectAfter() + rank * this.cfg.staggerTicks;
  }

  /** Whether the leader has been silent past suspectAfter() (for /status). */
  suspecting(now: Tick): boolean {
    return this.silence(now) > this.suspectAfter();
  }

  /** A candidacy that a majority refused (the leader is alive): wait a full suspicion before the next. */
  refused(now: Tick): void {
    this.notBefore = now + this.suspectAfter();
    this.cause = { k: "refused", leader: this.leaderId };
  }

  /** Ticks since the last evidence from the leader (for /status). */
  silence(now: Tick): number {
    return this.lastHeard === null ? 0 : now - this.lastHeard;
  }

  /** The cause noted since the last call (null: none), for LeadershipWatch. */
  takeCause(): LeadershipCause | null {
    const c = this.cause;
    this.cause = null;
    return c;
  }
}

/** A change of leadership one step made, seen from one process. */
export interface LeadershipChange {
  /**
   * "leading": this process' coordinator stood as a candidate (Phase 1 in a new round) or was
   * told to lead; "stood-down": it stopped; "following": the leader this acceptor follows changed.
   */
  readonly kind: "leading" | "stood-down" | "following";
  /** The leader now: this process when leading, else the coordinator this acceptor follows. */
  readonly leader: NodeId;
  readonly round: Round;
  readonly cause: LeadershipCause;
}

/**
 * Tells the leadership changes of one process' steps, with their causes (the node logs one line
 * per change). It compares what the coordinator and the election say before and after each step,
 * so the process' step logic carries no bookkeeping for it.
 */
export class LeadershipWatch {
  private wasActive: boolean;
  private wasLeader: NodeId | null;

  constructor(
    private readonly id: NodeId,
    private readonly coordinator: { readonly isActive: boolean; readonly round: Round } | null,
    private readonly election: Election | null,
  ) {
    this.wasActive = coordinator?.isActive ?? false;
    this.wasLeader = election?.leader ?? null;
  }

  /** After a step on an input of kind `input` at `now`: the change it made (null: none). */
  observe(input: Input["k"], now: Tick): LeadershipChange | null {
    const e = this.election;
    const cause = e?.takeCause() ?? null;
    const active = this.coordinator?.isActive ?? false;
    const leader = e?.leader ?? null;
    const { wasActive, wasLeader } = this;
    this.wasActive = active;
    this.wasLeader = leader;
    const round = e?.round ?? 0;
    if (active && !wasActive) return { kind: "leading", leader: this.id, round: this.coordinator?.round ?? 0, cause: this.candidacyCause(input, now) };
    if (!active && wasActive) {
      const outranked = e !== null && e.round > (this.coordinator?.round ?? 0);
      const fallback: LeadershipCause = outranked ? { k: "higher-round", round, owner: e.leader } : { k: "unexplained" };
      return { kind: "stood-down", leader: leader ?? this.id, round, cause: input === "step-down" ? { k: "told-to-step-down" } : (cause ?? fallback) };
    }
    // While this process' coordinator is active, what it follows is told when it stands down (one
    // line per change, not a promise and then the stand-down); and a candidate that wins hears its
    // own round established: that is the "leading" already told.
    if (leader === null || leader === wasLeader || active) return null;
    return { kind: "following", leader, round, cause: cause ?? { k: "unexplained" } };
  }

  private candidacyCause(input: Input["k"], now: Tick): LeadershipCause {
    if (input === "lead" || !this.election) return { k: "told-to-lead" };
    return { k: "suspected", ...this.election.suspicion(now) };
  }
}

/** One line of text for a cause; durations in milliseconds. */
export function describeCause(c: LeadershipCause, tickMs: number): string {
  switch (c.k) {
    case "told-to-lead":
      return "told to lead";
    case "told-to-step-down":
      return "told to step down";
    case "suspected":
      return `leader ${c.leader} silent for ${c.silence * tickMs} ms (suspected after ${c.after * tickMs} ms)`;
    case "refused":
      return `Phase 1 refused by a majority: their lease to leader ${c.leader} holds (it is alive)`;
    case "higher-round":
      return `higher round ${c.round} of node ${c.owner} seen`;
    case "promised":
      return `promised node ${c.owner}'s Phase 1 in round ${c.round}`;
    case "unexplained":
      return "no cause recorded";
  }
}

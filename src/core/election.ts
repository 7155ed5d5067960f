import type { ProtocolConfig } from "./config.ts";
import { roundOwner } from "./round.ts";
import type { NodeId, Round, Tick } from "./types.ts";

/**
 * Failure detection, candidacy and the acceptor's side of leases, decided by Paxos itself (no
 * external service): the coordinator is whoever owns the highest round that is *established* —
 * promised by this acceptor, or seen in Phase 2 traffic or a heartbeat — and it is alive as long
 * as such evidence keeps coming.
 *
 * - Suspicion: no evidence from the leader's round for suspectTicks.
 * - Candidacy: a suspecting acceptor starts Phase 1 in a higher round, after suspectTicks plus
 *   staggerTicks per acceptor ranked before it (the acceptors after the leader, in configured
 *   order): deterministic backoff, so two candidates rarely duel, and never forever.
 * - Lease: an acceptor refuses the 1A of anyone but its leader until leaseTicks after the last
 *   evidence (by its own clock). A candidate therefore wins only once the leader has been silent
 *   for a lease at a majority, and a coordinator that holds a lease acked by a majority (see
 *   Coordinator.hasLease) is the only one that can. An acceptor that restarts from its ledger
 *   refuses every 1A for one lease: it may have granted one it no longer remembers.
 *
 * Pure: time is the tick count passed in.
 */
export class Election {
  private leaderId: NodeId;
  private leaderRound: Round = 0;
  /** Tick of the last evidence from the leader's round; null before the first step. */
  private lastHeard: Tick | null = null;
  private quietUntil: Tick | null = null;
  /** Tick of the last promise to a new candidate: it gets a full suspicion period before anyone stands against it. */
  private promisedAt: Tick = -Infinity;
  private notBefore: Tick = -Infinity;

  constructor(
    private readonly id: NodeId,
    private readonly cfg: ProtocolConfig,
    private readonly restarted: boolean,
  ) {
    this.leaderId = cfg.coordinator;
  }

  /** The coordinator this process follows. */
  get leader(): NodeId {
    return this.leaderId;
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
      this.lastHeard = now;
    } else if (rnd === this.leaderRound) this.lastHeard = now;
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
  }

  /** Whether this acceptor refuses `from`'s 1A: it leases itself to another coordinator, or it just restarted. */
  refuses(from: NodeId, now: Tick): boolean {
    if (this.quietUntil !== null && now < this.quietUntil) return true;
    if (this.cfg.bugs?.acceptorIgnoresLease || this.cfg.leaseTicks === 0) return false;
    return from !== this.leaderId && now - (this.lastHeard ?? now) < this.cfg.leaseTicks;
  }

  /** Whether this (idle) acceptor should now stand as a candidate. */
  due(now: Tick): boolean {
    if (now < this.notBefore || this.lastHeard === null) return false;
    const acc = this.cfg.acceptors;
    const n = acc.length;
    const me = acc.indexOf(this.id);
    const li = acc.indexOf(this.leaderId);
    const rank = li < 0 ? me : (me - li - 1 + n) % n;
    const since = Math.max(this.lastHeard, this.promisedAt);
    return now - since > this.cfg.suspectTicks + rank * this.cfg.staggerTicks;
  }

  /** A candidacy that a majority refused (the leader is alive): wait a full suspicion before the next. */
  refused(now: Tick): void {
    this.notBefore = now + this.cfg.suspectTicks;
  }

  /** Ticks since the last evidence from the leader (for /status). */
  silence(now: Tick): number {
    return this.lastHeard === null ? 0 : now - this.lastHeard;
  }
}

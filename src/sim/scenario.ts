import { CLOCK_DRIFT_BOUND, DEFAULT_TIMING, type PlantedBugs, type ProtocolConfig, type Variant } from "../core/config.ts";
import { quorumFaults } from "../core/quorum.ts";
import type { MsgType, NodeId } from "../core/types.ts";
import type { KvBugs } from "./kv-layer.ts";
import { Prng } from "./prng.ts";

/** Virtual time is in microseconds; cores see ticks of TICK_US. */
export const TICK_US = 1000;
export const MAX_NODES = 32;

export type LedgerMode = "durable" | "ram";

/** What a user (or a test) chooses; everything else is drawn from the seed. */
export interface SimOptions {
  readonly variant: Variant;
  readonly seed: number;
  /** durable: acceptors restart from what they persisted; ram: acceptor crashes are permanent (at most f). Default: drawn per seed. */
  readonly ledger?: LedgerMode;
  /** Number of acceptors (M-Ring) or of acceptor processes on the ring (U-Ring), 3..9. Default: drawn per seed. */
  readonly ringSize?: number;
  /** Upper bounds of the per-seed loss and duplication rates. */
  readonly maxLoss?: number;
  readonly maxDup?: number;
  /** false: a fault-free network (liveness and throughput smoke runs). */
  readonly faults?: boolean;
  /** Ticks after healing within which every value of a correct client must be delivered. */
  readonly livenessTicks?: number;
  /** Election timing: drawn per seed unless given (defaults, hasty, or no leases). */
  readonly election?: ElectionTiming;
  /** Flexible quorums (acceptors a Phase 1 and a Phase 2 need). Default: drawn per seed (a majority each in most seeds). */
  readonly quorums?: { readonly phase1: number; readonly phase2: number };
  /** Test-only planted bugs. */
  readonly bugs?: PlantedBugs;
  /** kv: every replica hosts the key-value service above its learner (see kv-layer.ts). */
  readonly app?: "kv";
  /** Test-only planted bugs of the key-value layer. */
  readonly kvBugs?: KvBugs;
}

export interface Crash {
  readonly node: NodeId;
  readonly at: number;
  /** null: a permanent crash (RAM-mode acceptors); otherwise restart time (at the latest, healing time). */
  readonly restartAt: number | null;
}

/** A crash triggered by the process' own k-th send of a message type (e.g. right after a 2A left). */
export interface SendCrash {
  readonly node: NodeId;
  readonly msgType: MsgType;
  readonly nth: number;
  readonly downUs: number;
}

/** A crash while a node's nth ledger write is still unsynced (a torn group commit), then a restart. */
export interface WriteCrash {
  readonly node: NodeId;
  readonly nth: number;
  readonly downUs: number;
}

export interface Partition {
  readonly at: number;
  readonly until: number;
  readonly kind: "isolate" | "split" | "one-way";
  readonly sideA: readonly NodeId[];
  readonly sideB: readonly NodeId[];
}

export interface Usurper {
  readonly node: NodeId;
  readonly at: number;
  readonly until: number;
}

export interface Scenario {
  readonly options: SimOptions;
  readonly cfg: ProtocolConfig;
  readonly ledger: LedgerMode;
  /** M-Ring multicast group: acceptors and learners. */
  readonly group: readonly NodeId[];
  readonly loss: number;
  readonly mcastLoss: number;
  readonly dup: number;
  readonly reorder: number;
  readonly delayUs: readonly [number, number];
  readonly syncUs: number;
  /**
   * Storage faults of a write-ahead log (durable ledgers): a crash may leave on disk a prefix of
   * the records written but not yet synced (a torn group commit), never acknowledged.
   */
  readonly tornWrites: boolean;
  readonly writeCrashes: readonly WriteCrash[];
  /**
   * The configured coordinator dies for good at this time (null: it does not): the election must
   * find another. Counted among the f processes that may be lost.
   */
  readonly coordinatorDiesAt: number | null;
  /** Clock rate of each process (ticks per virtual tick), within CLOCK_DRIFT_BOUND of 1: leases must hold anyway. */
  readonly clockRates: ReadonlyMap<NodeId, number>;
  readonly valuesPerClient: number;
  readonly valueBytes: readonly [number, number];
  readonly proposeUntil: number;
  readonly healAt: number;
  readonly endAt: number;
  readonly crashes: readonly Crash[];
  readonly sendCrashes: readonly SendCrash[];
  readonly partitions: readonly Partition[];
  readonly usurpers: readonly Usurper[];
}

const PROPOSE_UNTIL_US = 600_000;
const HEAL_AT_US = 800_000;

/** Draws one scenario from a seed. Same options, same scenario: a failing seed replays exactly. */
export function drawScenario(o: SimOptions): Scenario {
  const r = new Prng(o.seed ^ (o.variant === "mring" ? 0x6d72 : 0x7572));
  const n = o.ringSize ?? r.int(3, 9);
  if (!Number.isInteger(n) || n < 1 || n > 9) throw new RangeError(`ring size ${n} is not within 1..9`);
  const acceptors = Array.from({ length: n }, (_, i) => i);
  let processes: NodeId[];
  let learners: NodeId[];
  let proposers: NodeId[];
  let next = n;
  if (o.variant === "mring") {
    const pureLearners = Array.from({ length: r.int(1, 2) }, () => next++);
    const clients = Array.from({ length: r.int(1, 3) }, () => next++);
    processes = [...acceptors, ...pureLearners, ...clients];
    // Half the scenarios have clients without a learner: they follow a learner's delivery notices.
    // (A Prng of its own: the draws of every other choice stay as they were.)
    const clientsLearn = new Prng(o.seed ^ 0x6e6f74).chance(0.5);
    learners = clientsLearn ? [...pureLearners, ...clients] : pureLearners;
    proposers = clients;
  } else {
    // Every acceptor is also a learner; a few extra processes (learner, maybe proposer) sit on the ring too.
    processes = [...acceptors];
    const extras = Array.from({ length: r.int(0, 2) }, () => next++);
    for (const e of extras) processes.splice(r.int(1, processes.length), 0, e);
    learners = [...processes];
    const candidates = [...processes];
    proposers = [];
    for (let k = r.int(1, 3); k > 0 && candidates.length > 0; k--)
      proposers.push(candidates.splice(r.int(0, candidates.length - 1), 1)[0] as NodeId);
  }
  const cfg: ProtocolConfig = {
    ...DEFAULT_TIMING,
    variant: o.variant,
    maxNodes: MAX_NODES,
    processes,
    acceptors,
    learners,
    proposers,
    coordinator: 0,
    window: r.pick([1, 2, 4, 8, 32]),
    batchBytes: r.pick([512, 2048, 8192]),
    batchDelayTicks: r.int(0, 2),
    ...drawQuorums(o, n),
    ...(o.bugs ? { bugs: o.bugs } : {}),
  };
  const ledger: LedgerMode = o.ledger ?? (r.chance(0.7) ? "durable" : "ram");
  const faulty = o.faults ?? true;
  const maxLoss = o.maxLoss ?? 0.3;
  const maxDup = o.maxDup ?? 0.5;
  const healAt = HEAL_AT_US;
  const livenessTicks = o.livenessTicks ?? 6000;

  const crashes: Crash[] = [];
  const sendCrashes: SendCrash[] = [];
  const partitions: Partition[] = [];
  const usurpers: Usurper[] = [];
  if (faulty) {
    // Acceptor failures the quorums survive: a majority each, f; flexible ones, n - max(q1, q2).
    const f = quorumFaults(cfg);
    let permanent = 0;
    for (let k = r.int(0, 3); k > 0; k--) {
      const node = r.pick(processes);
      const at = r.int(10_000, healAt - 50_000);
      if (crashes.some((c) => c.node === node && (c.restartAt === null || c.restartAt > at - 1))) continue;
      const isAcceptor = acceptors.includes(node);
      if (ledger === "ram" && isAcceptor) {
        // RAM ink survives no crash: such an acceptor never returns, and a majority must stay up.
        if (node === cfg.coordinator || permanent >= f) continue;
        permanent++;
        crashes.push({ node, at, restartAt: null });
      } else {
        crashes.push({ node, at, restartAt: r.chance(0.5) ? Math.min(healAt, at + r.int(5_000, 200_000)) : healAt });
      }
    }
    if (ledger === "durable" && r.chance(0.3)) {
      // The coordinator crashes and comes back, possibly several times, often soon after a proposal
      // left: what Phase 1 recovery (and the strict promise) is for.
      let at = r.int(5_000, 300_000);
      for (let k = r.int(1, 3); k > 0 && at < healAt - 50_000; k--) {
        const restartAt = Math.min(healAt, at + r.int(1_000, 60_000));
        if (!crashes.some((c) => c.node === cfg.coordinator && (c.restartAt ?? healAt) >= at && c.at <= restartAt))
          crashes.push({ node: cfg.coordinator, at, restartAt });
        at = restartAt + r.int(5_000, 150_000);
      }
    }
    if (ledger === "durable" && r.chance(0.4)) {
      for (let k = r.int(1, 3); k > 0; k--) {
        const node = r.chance(0.6) ? cfg.coordinator : r.pick(acceptors);
        const types: MsgType[] =
          o.variant === "mring" ? ["2a", "2b", "1b", "decision", "1a"] : ["2ab", "udecision", "1b", "1a"];
        sendCrashes.push({ node, msgType: r.pick(types), nth: r.int(1, 40), downUs: r.int(500, 60_000) });
      }
    }
    for (let k = r.int(0, 2); k > 0; k--) {
      const at = r.int(0, healAt - 100_000);
      const until = Math.min(healAt, at + r.int(10_000, 300_000));
      const kind = r.pick(["isolate", "split", "one-way"] as const);
      const shuffled = r.shuffle(processes);
      const cut = kind === "isolate" ? 1 : r.int(1, processes.length - 1);
      partitions.push({ at, until, kind, sideA: shuffled.slice(0, cut), sideB: shuffled.slice(cut) });
    }
    if (r.chance(0.3)) {
      const node = r.pick(acceptors.filter((a) => a !== cfg.coordinator));
      const at = r.int(20_000, healAt - 200_000);
      usurpers.push({ node, at, until: Math.min(healAt, at + r.int(20_000, 300_000)) });
    }
  }
  const loss = faulty ? r.float() * maxLoss : 0;
  const base: Omit<Scenario, "tornWrites" | "writeCrashes" | "coordinatorDiesAt" | "clockRates"> = {
    options: o,
    cfg,
    ledger,
    group: [...acceptors, ...learners.filter((l) => !acceptors.includes(l))],
    loss,
    mcastLoss: faulty ? r.float() * maxLoss : 0,
    dup: faulty ? r.float() * maxDup : 0,
    reorder: r.float() * 0.2,
    delayUs: [r.int(20, 200), r.int(300, 2000)],
    syncUs: ledger === "durable" ? r.pick([0, 50, 500]) : 0,
    valuesPerClient: r.int(3, 25),
    valueBytes: r.pick([
      [8, 64],
      [64, 1024],
      [1024, 4096],
    ] as const),
    proposeUntil: PROPOSE_UNTIL_US,
    healAt,
    endAt: healAt + livenessTicks * TICK_US,
    crashes,
    sendCrashes,
    partitions,
    usurpers,
  };
  // Storage faults are drawn last, so that adding them left every other draw of a seed as it was.
  const tornWrites = ledger === "durable" && r.float() < 0.5;
  const writeCrashes: WriteCrash[] = [];
  if (tornWrites && faulty && base.syncUs > 0)
    for (let k = r.int(0, 3); k > 0; k--) writeCrashes.push({ node: r.pick(acceptors), nth: r.int(1, 60), downUs: r.int(500, 60_000) });
  // Then the election's faults, for the same reason.
  const permanent = crashes.filter((c) => c.restartAt === null).length;
  const coordinatorDiesAt =
    faulty && permanent < quorumFaults(base.cfg) && r.chance(0.25) ? r.int(20_000, healAt - 100_000) : null;
  const drift = r.chance(0.5) ? CLOCK_DRIFT_BOUND : 0;
  const clockRates = new Map(processes.map((id) => [id, 1 + (r.float() * 2 - 1) * drift] as const));
  // Election timing: the defaults, or hasty (false suspicions under loss: many elections), or no
  // leases at all (candidates duel as in plain Paxos): safety may not depend on timing.
  const drawn = faulty ? r.pick(ELECTION_TIMINGS) : "default";
  const timing = ELECTION_TIMING[o.election ?? drawn];
  // Garbage collection and flow control, from a stream of their own: trims from none to eager (so
  // that restarted learners must catch up from other learners), a tight bound on what the
  // coordinator runs ahead of the replicas, and touchy flow control.
  const g = new Prng(o.seed ^ 0x6763);
  const window = base.cfg.window;
  const gc: Partial<ProtocolConfig> = {
    appliedTicks: g.pick([0, 5, 20, 50]),
    retainInstances: g.pick([0, 2, 8, 512]),
    maxUnappliedInstances: g.pick([0, Math.max(window, 4), 2048, 2048]),
    learnerRetainInstances: 1_000_000,
    // Touchy flow control keeps one instance in flight most of the time: a quarter of the seeds.
    flowBacklogInstances: g.pick([4, 256, 256, 256]),
    flowNoticeTicks: g.pick([5, 20]),
  };
  // Replicas that die for good, and learners that keep little for others, from a stream of their
  // own: the cluster must go on deciding while a replica is down, and a restarted learner that
  // nobody can bring up to date must give the missing instances up (reported) and go on.
  const d = new Prng(o.seed ^ 0x7265);
  const losses: Partial<ProtocolConfig> = {
    learnerRetainInstances: d.pick([1_000_000, 1_000_000, 16]),
    gcSuspectTicks: d.pick([100, 500]),
    catchupGiveUpTicks: d.pick([300, 1000]),
  };
  const replicas = base.cfg.replicas ?? base.cfg.learners;
  const spare = replicas.filter((l) => !base.cfg.acceptors.includes(l) && !crashes.some((c) => c.node === l));
  if (faulty && replicas.length >= 2 && spare.length > 0 && d.chance(0.3))
    crashes.push({ node: d.pick(spare), at: d.int(10_000, healAt - 50_000), restartAt: null });
  const kv = faulty && o.app === "kv" ? kvOutage(o.seed, base.cfg, crashes, healAt) : {};
  return { ...base, cfg: { ...base.cfg, ...timing, ...gc, ...losses, ...kv }, tornWrites, writeCrashes, coordinatorDiesAt, clockRates };
}

/**
 * With the key-value service (from a stream of its own): half the seeds take one replica down
 * for most of the run while another stays up, with garbage collection on, so that it comes back
 * behind what every acceptor and learner trimmed and must take another replica's
 * state (state transfer).
 */
function kvOutage(seed: number, cfg: ProtocolConfig, crashes: Crash[], healAt: number): Partial<ProtocolConfig> {
  const k = new Prng(seed ^ 0x6b76);
  const replicas = (cfg.replicas ?? cfg.learners).filter((l) => !cfg.acceptors.includes(l));
  const calm = replicas.filter((l) => !crashes.some((c) => c.node === l));
  const node = calm.length > 0 ? k.pick(calm) : null;
  const survivor = replicas.some((l) => l !== node && !crashes.some((c) => c.node === l && c.restartAt === null));
  if (node === null || !survivor || !k.chance(0.5)) return {};
  crashes.push({ node, at: k.int(10_000, 100_000), restartAt: healAt - k.int(0, 100_000) });
  return { appliedTicks: k.pick([5, 20]), retainInstances: k.pick([0, 2, 8]), learnerRetainInstances: k.pick([1, 4]) };
}

export type ElectionTiming = "default" | "hasty" | "no-leases";
const ELECTION_TIMING: Record<ElectionTiming, Partial<ProtocolConfig>> = {
  default: {},
  hasty: { heartbeatTicks: 3, leaseTicks: 10, suspectTicks: 15, staggerTicks: 5 },
  "no-leases": { heartbeatTicks: 5, leaseTicks: 0, suspectTicks: 20, staggerTicks: 3 },
};
const ELECTION_TIMINGS = Object.keys(ELECTION_TIMING) as ElectionTiming[];


/**
 * Flexible quorums (from a stream of their own, so every other draw of a seed stays as it was): the
 * given ones, or in a quarter of the seeds a legal pair drawn at random (q1 + q2 > n), else none (a
 * majority each).
 */
function drawQuorums(o: SimOptions, n: number): Pick<ProtocolConfig, "phase1Quorum" | "phase2Quorum"> {
  if (o.quorums) return { phase1Quorum: o.quorums.phase1, phase2Quorum: o.quorums.phase2 };
  const q = new Prng(o.seed ^ 0x7131);
  if (!q.chance(0.25)) return {};
  const phase2Quorum = q.int(1, n);
  return { phase1Quorum: q.int(n - phase2Quorum + 1, n), phase2Quorum };
}

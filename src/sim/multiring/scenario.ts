import { DEFAULT_TIMING, type PlantedBugs, type ProtocolConfig } from "../../core/config.ts";
import type { NodeId } from "../../core/types.ts";
import type { RingId } from "../../multiring/merge.ts";
import type { MergeBugs } from "../../multiring/merge.ts";
import { Prng } from "../prng.ts";

/** Microseconds per tick (1 ms), as in the single-ring simulator. */
export const TICK_US = 1000;
const MAX_NODES = 16;

export interface RingPlanSim {
  readonly id: RingId;
  readonly cfg: ProtocolConfig;
  /** The M-Ring multicast group: acceptors and learners of the ring. */
  readonly group: readonly NodeId[];
  /** Proposals: each proposer's count and mean gap (µs); bursts send several at once. */
  readonly load: { readonly perProposer: number; readonly gapUs: number; readonly burst: number };
}

export interface MultiRingScenario {
  readonly seed: number;
  readonly nodes: readonly NodeId[];
  readonly rings: readonly RingPlanSim[];
  /** Each learner node's rings (its subscriptions), and the merge's M. */
  readonly subscriptions: ReadonlyMap<NodeId, readonly RingId[]>;
  readonly m: number;
  readonly loss: number;
  readonly dup: number;
  readonly delayUs: readonly [number, number];
  /** Crashes of nodes that are no learners (acceptors, coordinators, proposers): at, for how long. */
  readonly crashes: readonly { readonly node: NodeId; readonly atUs: number; readonly downUs: number }[];
  readonly healAt: number;
  readonly endAt: number;
  /** Planted bugs (tests only): a merge bug at one learner, a coordinator bug in every ring. */
  readonly mergeBugs?: { readonly learner: NodeId; readonly bugs: MergeBugs };
}

export interface MultiRingOptions {
  readonly seed: number;
  readonly faults?: boolean;
  readonly mergeBugs?: MergeBugs;
  /** Core bugs planted in every ring (tests only). */
  readonly bugs?: PlantedBugs;
}

/** Draws a multi-ring scenario from its seed: 2–4 rings over 5–7 processes, skewed and bursty loads, overlapping subscriptions. */
export function drawMultiRing(o: MultiRingOptions): MultiRingScenario {
  const rng = new Prng(o.seed ^ 0x6d756c74);
  const nodes = Array.from({ length: rng.int(5, 7) }, (_, i) => i);
  const ringIds = Array.from({ length: rng.int(2, 4) }, (_, i) => i + 1);
  const learners = rng.shuffle(nodes).slice(0, rng.int(2, 3));
  const subscriptions = subscribe(rng, learners, ringIds);
  // One λ for every ring, as in the thesis (the maximum expected rate of any ring): 1–2 instances
  // per tick, above what the busiest drawn load decides, so that no ring's merge backlog grows
  // without bound; Δ 5–20 ticks.
  const skipIntervalTicks = rng.int(5, 20);
  const skip = { skipPerInterval: skipIntervalTicks * (1 + rng.float()), skipIntervalTicks };
  const rings = ringIds.map((id) => drawRing(rng, id, nodes, subscriptions, skip, o.bugs));
  const faults = o.faults ?? true;
  const learnerSet = new Set(learners);
  const crashable = nodes.filter((n) => !learnerSet.has(n));
  const crashes = faults && crashable.length > 0 ? Array.from({ length: rng.int(0, 2) }, () => ({ node: rng.pick(crashable), atUs: rng.int(20_000, 300_000), downUs: rng.int(5_000, 60_000) })) : [];
  const healAt = 400_000;
  return {
    seed: o.seed,
    nodes,
    rings,
    subscriptions,
    m: rng.int(1, 3),
    loss: faults ? rng.float() * 0.05 : 0,
    dup: faults ? rng.float() * 0.02 : 0,
    delayUs: [50, rng.int(300, 2000)],
    crashes,
    healAt,
    endAt: healAt + 2_000_000,
    ...(o.mergeBugs ? { mergeBugs: { learner: pickMerging(subscriptions), bugs: o.mergeBugs } } : {}),
  };
}

/** Every learner a non-empty set of rings; every ring at least one learner; one learner at least two rings (a merge). */
function subscribe(rng: Prng, learners: readonly NodeId[], rings: readonly RingId[]): Map<NodeId, RingId[]> {
  const subs = new Map<NodeId, RingId[]>();
  for (const l of learners) subs.set(l, rings.filter(() => rng.chance(0.6)));
  const first = learners[0] as NodeId;
  subs.set(first, [...rings]); // merges every ring
  for (const [l, s] of subs) if (s.length === 0) subs.set(l, [rng.pick(rings)]);
  return subs;
}

function pickMerging(subs: ReadonlyMap<NodeId, readonly RingId[]>): NodeId {
  for (const [l, s] of subs) if (s.length >= 2) return l;
  return [...subs.keys()][0] as NodeId;
}

function drawRing(
  rng: Prng,
  id: RingId,
  nodes: readonly NodeId[],
  subs: ReadonlyMap<NodeId, readonly RingId[]>,
  skip: { readonly skipPerInterval: number; readonly skipIntervalTicks: number },
  bugs?: PlantedBugs,
): RingPlanSim {
  const acceptors = rng.shuffle(nodes).slice(0, 3);
  const learners = [...subs].filter(([, s]) => s.includes(id)).map(([l]) => l);
  const proposers = rng.shuffle(nodes).slice(0, rng.int(1, 2));
  const processes = [...new Set([...acceptors, ...learners, ...proposers])].sort((a, b) => a - b);
  // Half the rings U-Ring (every process of the ring on its TCP ring), half M-Ring.
  const variant = rng.chance(0.5) ? "uring" : "mring";
  const cfg: ProtocolConfig = {
    ...DEFAULT_TIMING,
    variant,
    maxNodes: MAX_NODES,
    processes,
    acceptors,
    learners,
    proposers,
    coordinator: acceptors[0] as NodeId,
    replicas: learners,
    multiRing: skip,
    ...(bugs ? { bugs } : {}),
  };
  // Skewed rings: a busy one proposes every ~0.5 ms, an idle one every ~20 ms; some in bursts.
  const load = { perProposer: rng.int(3, 40), gapUs: rng.pick([500, 2_000, 8_000, 20_000]), burst: rng.chance(0.3) ? rng.int(2, 8) : 1 };
  return { id, cfg, group: [...new Set([...acceptors, ...learners])], load };
}


/** One line per ring and learner, for a failing seed's report. */
export function describeMultiRing(sc: MultiRingScenario): string {
  const rings = sc.rings.map((r) => `ring ${r.id} (${r.cfg.variant}): acceptors ${r.cfg.acceptors.join(",")} coordinator ${r.cfg.coordinator} learners ${r.cfg.learners.join(",")} proposers ${r.cfg.proposers.join(",")} load ${r.load.perProposer}x every ${r.load.gapUs} µs (burst ${r.load.burst}) λΔ ${r.cfg.multiRing?.skipPerInterval.toFixed(2)} per ${r.cfg.multiRing?.skipIntervalTicks} ticks`);
  const subs = [...sc.subscriptions].map(([l, s]) => `learner ${l}: rings ${s.join(",")}`);
  const crashes = sc.crashes.map((c) => `crash node ${c.node} at ${c.atUs / 1000} ms for ${c.downUs / 1000} ms`);
  return [...rings, ...subs, `M ${sc.m}, loss ${sc.loss.toFixed(3)}, dup ${sc.dup.toFixed(3)}`, ...crashes].join("\n");
}

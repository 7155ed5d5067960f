import { InvariantError } from "../../core/assert.ts";
import { createProcess } from "../../core/factory.ts";
import type { RingProcess } from "../../core/process.ts";
import type { Delivery, Envelope, LedgerRecord, Msg, NodeId } from "../../core/types.ts";
import { Driver } from "../../driver/driver.ts";
import { RamLedger, type Ledger } from "../../ledger/ledger.ts";
import { DeterministicMerge, type RingId } from "../../multiring/merge.ts";
import { LagWatch } from "../../multiring/lag-watch.ts";
import { Checker, PID_BYTES, payloadId, type Violation } from "../checker.ts";
import { EventHeap } from "../heap.ts";
import { Prng } from "../prng.ts";
import { acyclicOrderViolations } from "./order-checker.ts";
import { describeMultiRing, drawMultiRing, TICK_US, type MultiRingOptions, type MultiRingScenario, type RingPlanSim } from "./scenario.ts";

type Ev = { readonly time: number; readonly seq: number } & (
  | { readonly k: "msg"; readonly ring: RingId; readonly from: NodeId; readonly to: NodeId; readonly msg: Msg }
  | { readonly k: "tick"; readonly node: NodeId; readonly inc: number }
  | { readonly k: "propose"; readonly ring: RingId; readonly node: NodeId; readonly inc: number }
  | { readonly k: "crash" | "restart"; readonly node: NodeId }
);
type EvBody = Ev extends infer E ? (E extends Ev ? Omit<E, "time" | "seq"> : never) : never;

export interface MultiRingResult {
  readonly seed: number;
  readonly violations: readonly Violation[];
  readonly proposed: number;
  /** Values released by the learners' merges (summed over learners). */
  readonly merged: number;
  /** Skip slots the rings decided (summed over rings, as their first learner delivered them). */
  readonly skippedSlots: number;
  readonly messages: number;
  readonly scenario: string;
}

/** A ledger whose records are durable at once (the order of "persist, then send" is the driver's, tested elsewhere). */
class KeptLedger implements Ledger {
  readonly records: LedgerRecord[] = [];
  append(records: readonly LedgerRecord[], durable: () => void): void {
    this.records.push(...records);
    durable();
  }
  recover(): readonly LedgerRecord[] {
    return this.records;
  }
}

interface Host {
  readonly proc: RingProcess;
  readonly driver: Driver;
}

interface SimNode {
  readonly id: NodeId;
  inc: number;
  alive: boolean;
  readonly hosts: Map<RingId, Host>;
  readonly ledgers: Map<RingId, Ledger>;
  readonly merge: DeterministicMerge<number> | null;
  /** The merge's output: value ids in delivery order. */
  readonly merged: number[];
  /** Per merged ring, what this node's core was last told the merge released (its applied reports). */
  readonly applied: Map<RingId, number>;
  /** The "lagging" notices of its merge (as MultiRingNode sends them). */
  readonly lags: LagWatch | null;
}

/** Bound on simulated events per run. */
const MAX_EVENTS = 3_000_000;

/**
 * Multi-Ring Paxos on the real cores and driver (thesis ch. 5): several rings (M-Ring or U-Ring) over one set
 * of processes, with skip instances, and learners that merge the rings they subscribe to. Checks:
 * per ring, everything the single-ring checker checks; across rings, acyclic order of the merged
 * sequences; after healing, every value of a live proposer is delivered by every learner
 * subscribed to its ring (which needs the idle rings' skips to release the merges).
 */
export class MultiRingSimulation {
  private readonly sc: MultiRingScenario;
  private readonly rng: Prng;
  private readonly events = new EventHeap<Ev>();
  private readonly nodes = new Map<NodeId, SimNode>();
  private readonly checkers = new Map<RingId, Checker>();
  private readonly ringById: ReadonlyMap<RingId, RingPlanSim>;
  private now = 0;
  private seq = 0;
  private nextPid = 1;
  private messages = 0;
  private skippedSlots = 0;
  private readonly extra: Violation[] = [];

  constructor(opts: MultiRingOptions) {
    this.sc = drawMultiRing(opts);
    this.rng = new Prng(opts.seed).fork();
    for (const r of this.sc.rings) this.checkers.set(r.id, new Checker());
    this.ringById = new Map(this.sc.rings.map((r) => [r.id, r]));
  }

  run(): MultiRingResult {
    const sc = this.sc;
    for (const id of sc.nodes) this.nodes.set(id, this.boot(id, 0));
    for (const r of sc.rings) this.lead(r);
    for (const id of sc.nodes) this.at(0, { k: "tick", node: id, inc: 0 });
    for (const r of sc.rings) this.planLoad(r);
    for (const c of sc.crashes) {
      this.at(c.atUs, { k: "crash", node: c.node });
      this.at(Math.min(sc.healAt, c.atUs + c.downUs), { k: "restart", node: c.node });
    }
    let count = 0;
    for (;;) {
      const ev = this.events.pop();
      if (!ev || ev.time > sc.endAt || this.violations().length > 0) break;
      this.now = ev.time;
      if (++count > MAX_EVENTS) {
        this.extra.push({ kind: "liveness", detail: `more than ${MAX_EVENTS} events` });
        break;
      }
      try {
        this.dispatch(ev);
      } catch (e) {
        if (!(e instanceof InvariantError)) throw e;
        this.extra.push({ kind: "invariant", detail: e.message });
        break;
      }
    }
    if (this.violations().length === 0) this.finalChecks();
    return {
      seed: sc.seed,
      violations: this.violations(),
      proposed: this.nextPid - 1,
      merged: [...this.nodes.values()].reduce((n, x) => n + x.merged.length, 0),
      skippedSlots: this.skippedSlots,
      messages: this.messages,
      scenario: describeMultiRing(sc),
    };
  }

  private violations(): Violation[] {
    const out = [...this.extra];
    for (const [r, c] of this.checkers) for (const v of c.violations) out.push({ kind: v.kind, detail: `ring ${r}: ${v.detail}` });
    return out;
  }

  private boot(id: NodeId, inc: number, previous?: SimNode): SimNode {
    const sc = this.sc;
    const subs = sc.subscriptions.get(id) ?? null;
    const bugs = sc.mergeBugs?.learner === id ? sc.mergeBugs.bugs : undefined;
    const node: SimNode = {
      id,
      inc,
      alive: true,
      hosts: new Map(),
      ledgers: previous?.ledgers ?? new Map(),
      merge: subs ? new DeterministicMerge<number>(subs, sc.m, undefined, undefined, bugs) : null,
      merged: previous?.merged ?? [],
      applied: new Map(subs?.map((r) => [r, 0]) ?? []),
      lags: subs && subs.length > 1 ? this.lagWatch(subs) : null,
    };
    for (const r of sc.rings) {
      if (!r.cfg.processes.includes(id)) continue;
      let ledger = node.ledgers.get(r.id);
      if (!ledger) node.ledgers.set(r.id, (ledger = r.cfg.acceptors.includes(id) ? new KeptLedger() : new RamLedger()));
      const proc = createProcess(id, r.cfg, { recovered: ledger.recover(), clientId: id * 1000 + inc * 100 + r.id });
      node.hosts.set(r.id, { proc, driver: new Driver(proc, ledger, this.sink(node, r.id)) });
    }
    return node;
  }

  private sink(node: SimNode, ring: RingId) {
    const checker = this.checkers.get(ring) as Checker;
    return {
      send: (from: NodeId, env: Envelope) => this.send(ring, from, env),
      deliver: (_id: NodeId, d: Delivery) => this.onDeliver(node, ring, d, checker),
      decided: (id: NodeId, d: { instance: number; vid: string }) => checker.onDecided(id, d),
      acked: (id: NodeId, a: { client: number; seq: number; instance: number | null }) => checker.onAcked(id, a),
      lost: (id: NodeId) => this.extra.push({ kind: "liveness", detail: `ring ${ring}: learner ${id} gave instances up as lost: its merge cannot count them` }),
      conflict: (id: NodeId, c: { from: NodeId | null; what: string }) => checker.fail("conflict", `node ${id} dropped input from node ${c.from}: ${c.what}`),
    };
  }

  private onDeliver(node: SimNode, ring: RingId, d: Delivery, checker: Checker): void {
    checker.onDeliver(node.id, node.inc, d);
    if (d.skip !== undefined && this.ringById.get(ring)?.cfg.learners[0] === node.id) this.skippedSlots += d.skip;
    if (!node.merge) return;
    const values = d.values.map((v) => payloadId(v.payload) ?? -1);
    for (const m of node.merge.push(ring, { instance: d.instance, slots: d.skip ?? 1, values })) node.merged.push(...m.values);
  }

  private lagWatch(rings: readonly RingId[]): LagWatch {
    const cfgs = rings.map((r) => (this.ringById.get(r) as RingPlanSim).cfg);
    return new LagWatch(new Map(rings.map((r, i) => [r, cfgs[i]?.multiRing?.skipPerInterval ?? 0])), Math.min(...cfgs.map((c) => c.flowNoticeTicks)));
  }

  /** As MultiRingNode does: a merging replica reports as applied of a ring what its merge released. */
  private reportApplied(n: SimNode, ring: RingId, h: Host): void {
    const last = n.applied.get(ring);
    if (!n.merge || last === undefined) return;
    const next = n.merge.nextOf(ring);
    if (next <= last) return;
    n.applied.set(ring, next);
    h.driver.input({ k: "applied", upTo: next }, this.localNow());
  }

  private lead(r: RingPlanSim): void {
    const n = this.nodes.get(r.cfg.coordinator);
    n?.hosts.get(r.id)?.driver.input({ k: "lead" }, this.localNow());
  }

  /** Each proposer's values of a ring, spread over the first 300 ms (in bursts for some rings). */
  private planLoad(r: RingPlanSim): void {
    for (const p of r.cfg.proposers) {
      let t = this.rng.int(0, 5_000);
      for (let i = 0; i < r.load.perProposer; i += r.load.burst) {
        for (let b = 0; b < r.load.burst && i + b < r.load.perProposer; b++) this.at(t, { k: "propose", ring: r.id, node: p, inc: 0 });
        t += this.rng.int(r.load.gapUs / 2, (3 * r.load.gapUs) / 2);
        if (t > 300_000) break;
      }
    }
  }

  private dispatch(ev: Ev): void {
    switch (ev.k) {
      case "msg": {
        const n = this.nodes.get(ev.to);
        if (!n?.alive) return;
        n.hosts.get(ev.ring)?.driver.input({ k: "msg", from: ev.from, msg: ev.msg }, this.localNow());
        return;
      }
      case "tick": {
        const n = this.nodes.get(ev.node);
        if (!n?.alive || n.inc !== ev.inc) return;
        for (const [ring, h] of n.hosts) {
          this.reportApplied(n, ring, h);
          h.driver.input({ k: "tick" }, this.localNow());
        }
        const lag = n.merge ? n.lags?.check(n.merge, this.localNow()) : null;
        if (lag) n.hosts.get(lag.ring)?.driver.input({ k: "msg", from: n.id, msg: lag.msg }, this.localNow());
        this.at(this.now + TICK_US, { k: "tick", node: n.id, inc: n.inc });
        return;
      }
      case "propose": {
        const n = this.nodes.get(ev.node);
        const h = n?.hosts.get(ev.ring);
        if (!n?.alive || !h || n.inc !== ev.inc) return;
        const payload = this.payload();
        (this.checkers.get(ev.ring) as Checker).propose({ pid: payloadId(payload) as number, node: n.id, incarnation: n.inc, payload });
        h.driver.input({ k: "propose", payload }, this.localNow());
        return;
      }
      case "crash": {
        const n = this.nodes.get(ev.node);
        if (n) n.alive = false;
        return;
      }
      case "restart": {
        const n = this.nodes.get(ev.node);
        if (!n || n.alive) return;
        const fresh = this.boot(n.id, n.inc + 1, n);
        this.nodes.set(n.id, fresh);
        this.at(this.now, { k: "tick", node: n.id, inc: fresh.inc });
        return;
      }
    }
  }

  private send(ring: RingId, from: NodeId, env: Envelope): void {
    this.messages++;
    const r = this.ringById.get(ring) as RingPlanSim;
    if ("to" in env.dest) this.transmit(ring, from, env.dest.to, env.msg);
    else for (const to of r.group) this.transmit(ring, from, to, env.msg);
  }

  private transmit(ring: RingId, from: NodeId, to: NodeId, msg: Msg): void {
    if (from === to) {
      this.at(this.now, { k: "msg", ring, from, to, msg });
      return;
    }
    const faulty = this.now < this.sc.healAt;
    if (faulty && this.rng.chance(this.sc.loss)) return;
    const copies = faulty && this.rng.chance(this.sc.dup) ? 2 : 1;
    const [lo, hi] = this.sc.delayUs;
    for (let c = 0; c < copies; c++) this.at(this.now + this.rng.int(lo, hi), { k: "msg", ring, from, to, msg });
  }

  /** After the run: acyclic order of the merged sequences, and liveness of every live proposer's values. */
  private finalChecks(): void {
    const seqs = new Map<NodeId, readonly number[]>();
    for (const n of this.nodes.values()) if (n.merge) seqs.set(n.id, n.merged);
    for (const v of acyclicOrderViolations(seqs)) this.extra.push({ kind: "total-order", detail: v });
    for (const [ring, checker] of this.checkers)
      for (const p of checker.allProposals()) {
        const owner = this.nodes.get(p.node);
        if (!owner?.alive || owner.inc !== p.incarnation) continue;
        for (const [l, subs] of this.sc.subscriptions) {
          if (!subs.includes(ring) || (this.nodes.get(l)?.merged ?? []).includes(p.pid)) continue;
          this.extra.push({ kind: "liveness", detail: `value ${p.pid} of ring ${ring} (node ${p.node}) not merged by learner ${l} ${(this.sc.endAt - this.sc.healAt) / 1000} ms after healing` });
          return;
        }
      }
  }

  private localNow(): number {
    return Math.floor(this.now / TICK_US);
  }

  private payload(): Uint8Array {
    const p = new Uint8Array(PID_BYTES + this.rng.int(0, 64));
    new DataView(p.buffer).setFloat64(0, this.nextPid++);
    for (let i = PID_BYTES; i < p.length; i++) p[i] = this.rng.u32() & 0xff;
    return p;
  }

  private at(time: number, body: EvBody): void {
    this.events.push({ ...body, time, seq: this.seq++ } as Ev);
  }
}

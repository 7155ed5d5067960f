import { InvariantError, invariant } from "../core/assert.ts";
import { createProcess } from "../core/factory.ts";
import type { RingProcess } from "../core/process.ts";
import type { Envelope, Input, LedgerRecord, Msg, NodeId } from "../core/types.ts";
import { Driver, type Sink } from "../driver/driver.ts";
import { RamLedger, type Ledger } from "../ledger/ledger.ts";
import { Checker, PID_BYTES, type Violation } from "./checker.ts";
import { EventHeap } from "./heap.ts";
import { Prng } from "./prng.ts";
import { drawScenario, TICK_US, type Partition, type Scenario, type SimOptions } from "./scenario.ts";
import { formatTrace } from "../obs/message-trace.ts";
import { TraceBuffer } from "./trace.ts";
import { SimKvLayer } from "./kv-layer.ts";
import { gcQuorum } from "../core/gc.ts";

type Ev = { readonly time: number; readonly seq: number } & (
  | { readonly k: "msg"; readonly from: NodeId; readonly to: NodeId; readonly msg: Msg }
  | { readonly k: "tick" | "propose"; readonly node: NodeId; readonly inc: number }
  | { readonly k: "sync"; readonly node: NodeId; readonly inc: number; readonly fn: () => void }
  | { readonly k: "crash" | "restart" | "lead" | "step-down" | "die"; readonly node: NodeId }
  | { readonly k: "partition"; readonly p: Partition; readonly on: boolean }
  | { readonly k: "heal" | "check" }
);
type EvBody = Ev extends infer E ? (E extends Ev ? Omit<E, "time" | "seq"> : never) : never;

export interface SimResult {
  readonly seed: number;
  readonly variant: string;
  readonly violations: readonly Violation[];
  readonly proposed: number;
  readonly deliveredValues: number;
  readonly messages: number;
  /** Value messages that carried a pack (core/pack.ts): learners split those. */
  readonly packsSent: number;
  /** Records that reached a disk though unsynced when their node crashed (torn writes). */
  readonly tornRecords: number;
  /** The live process whose coordinator leads in the highest round at the end (null: none). */
  readonly leader: NodeId | null;
  readonly virtualMs: number;
  /** The last events before the end, for a failing seed. */
  readonly trace: readonly string[];
  readonly scenario: string;
  /** With --app kv: log items the replicas applied, and state transfers. */
  readonly kv: { readonly applied: number; readonly transfers: number } | null;
}

/**
 * A simulated write-ahead log that survives crashes: records become durable syncUs after they
 * are written (in write order). A crash loses what was not yet synced, or, with torn writes, keeps
 * a prefix of it: records that reached the disk though no reply depending on them ever left.
 */
class SimLedger implements Ledger {
  readonly records: LedgerRecord[] = [];
  private unsynced: (readonly LedgerRecord[])[] = [];
  constructor(
    private readonly sim: Simulation,
    private readonly node: NodeId,
  ) {}
  append(records: readonly LedgerRecord[], durable: () => void): void {
    this.unsynced.push(records);
    this.sim.sync(this.node, () => {
      invariant(this.unsynced[0] === records, "simulated syncs complete in write order");
      this.unsynced.shift();
      for (const r of records) this.records.push(r);
      durable();
    });
  }
  /** The crash: what was written but not synced is lost, except the first `keep` records with torn writes. Returns how many survived. */
  crash(keep: (written: number) => number): number {
    const written = this.unsynced.flat();
    const k = written.length === 0 ? 0 : keep(written.length);
    for (const r of written.slice(0, k)) this.records.push(r);
    this.unsynced = [];
    return k;
  }
  recover(): readonly LedgerRecord[] {
    return this.records;
  }
}

interface SimNode {
  readonly id: NodeId;
  inc: number;
  alive: boolean;
  proc: RingProcess;
  driver: Driver;
  ledger: Ledger;
  /** Whether its coordinator is active, as its steps' outputs last told. */
  leading: boolean;
}

/** Bound on simulated events per run: a runaway protocol is reported, not left spinning. */
export const MAX_EVENTS = 3_000_000;
const CHECK_EVERY_US = 20_000;

/**
 * One deterministic run: the real protocol cores behind the real driver, on a simulated
 * network and simulated ledgers, in virtual time, with faults drawn from the seed.
 */
export class Simulation {
  readonly sc: Scenario;
  private readonly rng: Prng;
  /** Storage faults draw from their own stream: the rest of a seed's run is as it was without them. */
  private readonly storageRng: Prng;
  private readonly events = new EventHeap<Ev>();
  private seq = 0;
  private now = 0;
  private readonly nodes = new Map<NodeId, SimNode>();
  private readonly active = new Set<Partition>();
  private healed = false;
  private done = false;
  private loss: number;
  private mcastLoss: number;
  private dup: number;
  private nextPid = 1;
  private messages = 0;
  private packsSent = 0;
  private tornRecords = 0;
  /** Processes that died for good: no restart brings them back. */
  private readonly dead = new Set<NodeId>();
  /** Ledger writes per node, for crashes triggered by a write. */
  private readonly writeCounts = new Map<NodeId, number>();
  /** Sends per "node/type", for crashes triggered by a send. */
  private readonly sendCounts = new Map<string, number>();
  private proposed = 0;
  readonly checker = new Checker();
  /** The key-value service above the replicas' learners (sim --app kv), or null. */
  private readonly kv: SimKvLayer | null;
  private readonly trace = new TraceBuffer(Number(process.env["PAXOS_SIM_TRACE"] ?? 80));

  constructor(opts: SimOptions) {
    this.sc = drawScenario(opts);
    this.rng = new Prng(opts.seed).fork();
    this.storageRng = new Prng(opts.seed ^ 0x5ca1ab1e);
    this.loss = this.sc.loss;
    this.mcastLoss = this.sc.mcastLoss;
    this.dup = this.sc.dup;
    this.kv = opts.app === "kv" ? new SimKvLayer(this.kvHost(), gcQuorum(this.sc.cfg).replicas, opts.kvBugs) : null;
  }

  run(): SimResult {
    const sc = this.sc;
    for (const id of sc.cfg.processes) {
      this.nodes.set(id, this.boot(id, 0, null));
      this.kv?.started(id);
    }
    this.at(0, { k: "lead", node: sc.cfg.coordinator });
    for (const id of sc.cfg.processes) this.at(this.rng.int(0, TICK_US - 1), { k: "tick", node: id, inc: 0 });
    for (const p of sc.cfg.proposers)
      for (let k = 0; k < sc.valuesPerClient; k++) this.at(this.rng.int(0, sc.proposeUntil), { k: "propose", node: p, inc: -1 });
    for (const c of sc.crashes) {
      this.at(c.at, { k: "crash", node: c.node });
      if (c.restartAt !== null) this.at(c.restartAt, { k: "restart", node: c.node });
    }
    for (const p of sc.partitions) {
      this.at(p.at, { k: "partition", p, on: true });
      this.at(p.until, { k: "partition", p, on: false });
    }
    for (const u of sc.usurpers) {
      this.at(u.at, { k: "lead", node: u.node });
      this.at(u.until, { k: "step-down", node: u.node });
    }
    if (sc.coordinatorDiesAt !== null) this.at(sc.coordinatorDiesAt, { k: "die", node: sc.cfg.coordinator });
    this.at(sc.healAt, { k: "heal" });

    let count = 0;
    while (!this.done) {
      const ev = this.events.pop();
      if (!ev || ev.time > sc.endAt) break;
      this.now = ev.time;
      if (++count > MAX_EVENTS) {
        this.checker.fail("liveness", `more than ${MAX_EVENTS} events`);
        break;
      }
      try {
        this.dispatch(ev);
        this.checkLeases();
      } catch (e) {
        if (!(e instanceof InvariantError)) throw e;
        this.checker.fail("invariant", e.message);
        break;
      }
      if (this.checker.violations.length > 0) break;
    }
    if (this.checker.violations.length === 0 && !this.done) this.checkLiveness(true);
    const failed = this.checker.violations.length > 0;
    return {
      seed: sc.options.seed,
      variant: sc.cfg.variant,
      violations: this.checker.violations,
      proposed: this.proposed,
      deliveredValues: this.checker.deliveredValues,
      messages: this.messages,
      packsSent: this.packsSent,
      tornRecords: this.tornRecords,
      leader: this.finalLeader(),
      virtualMs: Math.round(this.now / 1000),
      trace: failed ? this.trace.lines() : [],
      scenario: describe(sc),
      kv: this.kv ? { ...this.kv.counters } : null,
    };
  }

  /** Called by simulated ledgers: `fn` makes records durable after the scenario's sync delay. */
  sync(node: NodeId, fn: () => void): void {
    const n = this.nodes.get(node);
    if (this.sc.writeCrashes.length > 0 && !this.healed) {
      const count = (this.writeCounts.get(node) ?? 0) + 1;
      this.writeCounts.set(node, count);
      for (const c of this.sc.writeCrashes)
        if (c.node === node && c.nth === count) {
          // Halfway through the write's sync: it is on its way to the disk, not yet durable.
          this.at(this.now + Math.floor(this.sc.syncUs / 2), { k: "crash", node });
          this.at(Math.min(this.sc.healAt, this.now + c.downUs), { k: "restart", node });
        }
    }
    if (!n || this.sc.syncUs === 0) return fn();
    this.at(this.now + this.sc.syncUs, { k: "sync", node, inc: n.inc, fn });
  }

  /** What the key-value layer may do in the simulation: its syncs and timers die with its node's incarnation. */
  private kvHost(): ConstructorParameters<typeof SimKvLayer>[0] {
    const later = (node: NodeId, us: number, fn: () => void) => {
      const n = this.nodes.get(node);
      if (n) this.at(this.now + us, { k: "sync", node, inc: n.inc, fn });
    };
    return {
      sync: (node, fn) => later(node, this.sc.syncUs, fn),
      later,
      applied: (node, upTo) => {
        const n = this.nodes.get(node);
        if (n?.alive) this.input(n, { k: "applied", upTo });
      },
      alive: (node) => this.nodes.get(node)?.alive === true,
      fail: (kind, detail) => this.checker.fail(kind, detail),
      note: (node, text) => this.trace.note(this.now, node, text),
    };
  }

  private at(time: number, body: EvBody): void {
    this.events.push({ ...body, time, seq: this.seq++ } as Ev);
  }

  private boot(id: NodeId, inc: number, previous: SimNode | null): SimNode {
    const sc = this.sc;
    const durable = sc.ledger === "durable" && sc.cfg.acceptors.includes(id);
    const ledger: Ledger = durable ? (previous?.ledger ?? new SimLedger(this, id)) : new RamLedger();
    const kvFrom = this.kv?.isReplica(id) ? this.kv.boot(id) : null;
    const proc = createProcess(id, sc.cfg, { recovered: ledger.recover(), clientId: id * 1000 + inc, ...(kvFrom !== null ? { learnFrom: { instance: kvFrom } } : {}) });
    // A replica resumed from its durable state: what its earlier incarnations applied is not delivered again (nor filtered against).
    if (kvFrom !== null && kvFrom > 0) this.checker.onLost(id, inc, 0, kvFrom, false);
    const node: SimNode = { id, inc, alive: true, proc, ledger, driver: undefined as unknown as Driver, leading: false };
    node.driver = new Driver(proc, ledger, this.sink(node));
    return node;
  }

  private sink(node: SimNode): Sink {
    const inc = node.inc;
    return {
      send: (from, env) => this.send(from, env),
      deliver: (id, d) => {
        this.checker.onDeliver(id, inc, d);
        this.kv?.deliver(id, d);
      },
      lost: (id, r) => {
        this.checker.onLost(id, inc, r.from, r.to, r.exact);
        this.kv?.lost(id, r.to);
      },
      decided: (id, d) => this.checker.onDecided(id, d),
      acked: (id, a) => this.checker.onAcked(id, a),
      // Nothing in the simulator forges messages: conflicting input is a bug in some core.
      conflict: (id, c) => this.checker.fail("conflict", `node ${id} dropped input from node ${c.from}: ${c.what}`),
      leadership: (_id, l) => {
        if (l) node.leading = l.active;
      },
    };
  }

  /** A process' own clock, in ticks: virtual time at the process' clock rate. */
  private localNow(n: SimNode): number {
    return Math.floor((this.now * (this.sc.clockRates.get(n.id) ?? 1)) / TICK_US);
  }

  private input(n: SimNode, input: Input): void {
    n.driver.input(input, this.localNow(n));
  }

  private dispatch(ev: Ev): void {
    switch (ev.k) {
      case "msg": {
        const n = this.nodes.get(ev.to);
        if (!n?.alive) return;
        this.trace.push(this.now, ev.to, ev.from, ev.msg);
        this.input(n, { k: "msg", from: ev.from, msg: ev.msg });
        return;
      }
      case "tick": {
        const n = this.nodes.get(ev.node);
        if (!n?.alive || n.inc !== ev.inc) return;
        this.input(n, { k: "tick" });
        this.at(this.now + TICK_US, { k: "tick", node: ev.node, inc: ev.inc });
        return;
      }
      case "sync": {
        const n = this.nodes.get(ev.node);
        if (n?.alive && n.inc === ev.inc) ev.fn(); // a crash loses what was not yet synced
        return;
      }
      case "propose": {
        const n = this.nodes.get(ev.node);
        if (!n?.alive) return;
        const payload = this.payload();
        this.checker.propose({ pid: payloadIdOf(payload), node: n.id, incarnation: n.inc, payload });
        this.proposed++;
        this.trace.note(this.now, n.id, `propose value ${payloadIdOf(payload)} (${payload.byteLength} B)`);
        this.input(n, { k: "propose", payload });
        return;
      }
      case "crash": {
        const n = this.nodes.get(ev.node);
        if (!n?.alive) return;
        n.alive = false;
        n.inc++;
        this.kv?.crash(n.id);
        const torn = n.ledger instanceof SimLedger ? n.ledger.crash((w) => (this.sc.tornWrites ? this.storageRng.int(0, w) : 0)) : 0;
        this.tornRecords += torn;
        this.trace.note(this.now, n.id, torn > 0 ? `crash (${torn} unsynced records reached the disk)` : "crash");
        return;
      }
      case "die": {
        const n = this.nodes.get(ev.node);
        if (!n) return;
        this.dead.add(n.id);
        if (!n.alive) return;
        n.alive = false;
        n.inc++;
        this.kv?.crash(n.id);
        this.trace.note(this.now, n.id, "dies (for good)");
        return;
      }
      case "restart": {
        const n = this.nodes.get(ev.node);
        if (!n || n.alive || this.dead.has(n.id)) return;
        const fresh = this.boot(n.id, n.inc, n);
        this.nodes.set(n.id, fresh);
        this.kv?.started(n.id);
        // A decision record that reached the disk is a claim this node acts on (its learner may
        // deliver from it) even when the crash kept the step's outputs from leaving: it counts as
        // this node's decision, checked against every other one.
        for (const r of fresh.ledger.recover()) if (r.k === "decision") this.checker.onDecided(n.id, { instance: r.instance, vid: r.vid });
        this.trace.note(this.now, n.id, `restart (incarnation ${fresh.inc}, ${fresh.ledger.recover().length} records recovered)`);
        this.at(this.now + this.rng.int(0, TICK_US - 1), { k: "tick", node: n.id, inc: fresh.inc });
        if (n.id === this.sc.cfg.coordinator) this.input(fresh, { k: "lead" });
        return;
      }
      case "lead":
      case "step-down": {
        const n = this.nodes.get(ev.node);
        if (!n?.alive) return;
        this.trace.note(this.now, n.id, ev.k);
        this.input(n, { k: ev.k });
        return;
      }
      case "partition":
        if (ev.on && !this.healed) this.active.add(ev.p);
        else this.active.delete(ev.p);
        this.trace.note(this.now, -1, `partition ${ev.p.kind} [${ev.p.sideA}] / [${ev.p.sideB}] ${ev.on ? "on" : "off"}`);
        return;
      case "heal":
        this.healed = true;
        this.active.clear();
        this.loss = this.mcastLoss = this.dup = 0;
        this.trace.note(this.now, -1, "heal");
        this.at(this.now + CHECK_EVERY_US, { k: "check" });
        return;
      case "check":
        if (this.checkLiveness(false)) this.done = true;
        else this.at(this.now + CHECK_EVERY_US, { k: "check" });
        return;
    }
  }

  private send(from: NodeId, env: Envelope): void {
    this.messages++;
    if (env.msg.t === "value" && env.msg.v.packed !== undefined) this.packsSent++;
    if (this.sc.sendCrashes.length > 0 && !this.healed) this.crashOnSend(from, env.msg.t);
    if ("to" in env.dest) this.transmit(from, env.dest.to, env.msg, this.loss);
    else for (const to of this.sc.group) this.transmit(from, to, env.msg, this.mcastLoss);
  }

  private crashOnSend(from: NodeId, t: Msg["t"]): void {
    const key = `${from}/${t}`;
    const n = (this.sendCounts.get(key) ?? 0) + 1;
    this.sendCounts.set(key, n);
    for (const c of this.sc.sendCrashes)
      if (c.node === from && c.msgType === t && c.nth === n) {
        // After this step's outputs are out: the crash event is queued behind them.
        this.at(this.now, { k: "crash", node: from });
        this.at(Math.min(this.sc.healAt, this.now + c.downUs), { k: "restart", node: from });
      }
  }

  private transmit(from: NodeId, to: NodeId, msg: Msg, loss: number): void {
    if (from === to) {
      this.at(this.now, { k: "msg", from, to, msg });
      return;
    }
    if (this.blocked(from, to) || this.rng.chance(loss)) return;
    const copies = this.rng.chance(this.dup) ? 2 : 1;
    const [lo, hi] = this.sc.delayUs;
    for (let c = 0; c < copies; c++) {
      const delay = this.rng.int(lo, hi) + (this.rng.chance(this.sc.reorder) ? this.rng.int(0, 5000) : 0);
      this.at(this.now + delay, { k: "msg", from, to, msg });
    }
  }

  private blocked(from: NodeId, to: NodeId): boolean {
    for (const p of this.active) {
      const ab = p.sideA.includes(from) && p.sideB.includes(to);
      const ba = p.sideB.includes(from) && p.sideA.includes(to);
      if (ab || (p.kind !== "one-way" && ba)) return true;
    }
    return false;
  }

  private payload(): Uint8Array {
    const [lo, hi] = this.sc.valueBytes;
    const p = new Uint8Array(Math.max(PID_BYTES, this.rng.int(lo, hi)));
    new DataView(p.buffer).setFloat64(0, this.nextPid++);
    for (let i = PID_BYTES; i < p.length; i++) p[i] = this.rng.u32() & 0xff;
    return p;
  }

  private finalLeader(): NodeId | null {
    let best: { readonly id: NodeId; readonly round: number } | null = null;
    for (const n of this.nodes.values()) {
      const c = n.alive ? n.proc.status(this.localNow(n)).coordinator : null;
      if (c?.active && (!best || c.round > best.round)) best = { id: n.id, round: c.round };
    }
    return best?.id ?? null;
  }

  /** Leases: at no time do two coordinators each believe they hold one (each by its own clock). */
  private checkLeases(): void {
    let holder: SimNode | null = null;
    for (const n of this.nodes.values()) {
      // Only a coordinator its outputs said active can hold a lease: the others need no snapshot.
      const c = n.alive && n.leading ? n.proc.status(this.localNow(n)).coordinator : null;
      if (!c?.active || !c.lease) continue;
      if (holder) this.checker.fail("lease", `nodes ${holder.id} and ${n.id} both hold a lease at ${this.now / 1000} ms`);
      holder = n;
    }
  }

  /**
   * A learner incarnation that restarted without its state and needs an instance whose decision
   * no live process knows: live acceptors hold votes for it but none learned the decision (they
   * were down, or its messages were lost), and every replica that delivered it lost its state
   * since. No later round re-proposes it while the coordinator stays, so that learner waits: a
   * limit of the protocol, not of garbage collection. Instances every live acceptor trimmed are
   * no excuse: the learner must give them up as lost (reported) and go on.
   */
  private isStranded(id: NodeId): boolean {
    const n = this.nodes.get(id);
    return n !== undefined && this.stranded(n);
  }

  private stranded(l: SimNode): boolean {
    const next = l.proc.status(this.localNow(l)).learner?.nextInstance ?? 0;
    let value = false;
    let decision = false;
    let trimmedEverywhere = true;
    for (const p of this.nodes.values()) {
      if (!p.alive) continue;
      if (p.proc.learner?.retains(next)) return false;
      if (!p.proc.acceptor || p.proc.acceptor.trimmedBelow > next) continue;
      trimmedEverywhere = false;
      const c = p.proc.acceptor.catchup(next, 1);
      value ||= c.entries.length + c.votes.length > 0;
      decision ||= c.entries.length + c.decisions.length > 0;
    }
    return !trimmedEverywhere && value && !decision;
  }

  /**
   * A learner that waits at the end of the log (no live process knows of its next instance), or is
   * stranded: the notices a proposer waits for may never come from it when the instance that held
   * its value is one it gave up as lost (its earlier incarnation delivered it).
   */
  private quiet(l: SimNode): boolean {
    if (this.stranded(l)) return true;
    const next = l.proc.status(this.localNow(l)).learner?.nextInstance ?? 0;
    for (const p of this.nodes.values()) {
      if (!p.alive) continue;
      if (p.proc.learner?.retains(next)) return false;
      if (p.proc.acceptor && p.proc.acceptor.trimmedBelow <= next && p.proc.acceptor.catchup(next, 1).votes.length + p.proc.acceptor.catchup(next, 1).entries.length > 0) return false;
    }
    return true;
  }

  /**
   * Liveness: every value proposed by a process incarnation still alive has been delivered by
   * every learner alive now (but stranded ones, see above). With `final`, a shortfall is a violation.
   */
  private checkLiveness(final: boolean): boolean {
    const learners = this.sc.cfg.learners.map((l) => this.nodes.get(l)).filter((n): n is SimNode => !!n?.alive && !this.stranded(n));
    // Every live replica applied the same log to the same state (state transfer included).
    if (this.kv && !this.kv.converged((id) => this.isStranded(id), final)) return false;
    for (const p of this.checker.allProposals()) {
      const owner = this.nodes.get(p.node);
      if (!owner?.alive || owner.inc !== p.incarnation) continue;
      for (const l of learners) {
        if (this.checker.deliveredBy(l.id, l.inc).has(p.pid) || this.checker.lostTo(l.id, l.inc, p.pid)) continue;
        if (final)
          this.checker.fail(
            "liveness",
            `value ${p.pid} of node ${p.node} not delivered by node ${l.id} ${(this.sc.endAt - this.sc.healAt) / TICK_US} ticks after healing`,
          );
        return false;
      }
    }
    const proposerOf = (n: SimNode) => (n.alive ? n.proc.status(this.localNow(n)).proposer : null);
    for (const n of this.nodes.values())
      if ((proposerOf(n)?.refused ?? 0) > 0) {
        this.checker.fail("liveness", `node ${n.id}'s proposer refused values`);
        return false;
      }
    // Every live proposer was told of each of its values, by its own learner or by the notices of
    // a learner (unless every learner it can follow is down or stranded, see above).
    const healthy = (id: NodeId): boolean => learners.some((x) => x.id === id && !this.quiet(x));
    const canFollow = (n: SimNode): boolean => (n.proc.learner !== null ? healthy(n.id) : this.sc.cfg.learners.some((l) => l !== n.id && healthy(l)));
    for (const n of this.nodes.values()) {
      const waiting = proposerOf(n)?.inFlight ?? 0;
      if (waiting > 0 && canFollow(n)) {
        if (final) this.checker.fail("liveness", `node ${n.id}'s proposer still waits for ${waiting} value(s) to be reported delivered`);
        return false;
      }
    }
    return true;
  }
}

function payloadIdOf(p: Uint8Array): number {
  return new DataView(p.buffer, p.byteOffset, PID_BYTES).getFloat64(0);
}

function describe(sc: Scenario): string {
  const c = sc.cfg;
  return [
    `${c.variant} acceptors=${c.acceptors.length} processes=${c.processes.length} proposers=[${c.proposers}] learners=[${c.learners}]`,
    `ledger=${sc.ledger}${sc.tornWrites ? " (torn writes)" : ""} window=${c.window} batch=${c.batchBytes}B delay=${c.batchDelayTicks}t values=${sc.valuesPerClient}/client of ${sc.valueBytes[0]}-${sc.valueBytes[1]}B`,
    `loss=${pct(sc.loss)} mcast-loss=${pct(sc.mcastLoss)} dup=${pct(sc.dup)} reorder=${pct(sc.reorder)} sync=${sc.syncUs}us`,
    `send-crashes=${sc.sendCrashes.map((c) => `${c.node}after#${c.nth}${c.msgType}(+${c.downUs / 1000}ms)`).join(",") || "none"}` +
      (sc.writeCrashes.length > 0 ? ` write-crashes=${sc.writeCrashes.map((c) => `${c.node}during-write#${c.nth}(+${c.downUs / 1000}ms)`).join(",")}` : ""),
    `crashes=${sc.crashes.map((x) => `${x.node}@${x.at / 1000}ms${x.restartAt === null ? "(permanent)" : `->${x.restartAt / 1000}ms`}`).join(",") || "none"}`,
    `partitions=${sc.partitions.map((p) => `${p.kind}[${p.sideA}|${p.sideB}]@${p.at / 1000}-${p.until / 1000}ms`).join(",") || "none"}`,
    `usurpers=${sc.usurpers.map((u) => `${u.node}@${u.at / 1000}-${u.until / 1000}ms`).join(",") || "none"}` +
      (sc.coordinatorDiesAt !== null ? ` coordinator-dies@${sc.coordinatorDiesAt / 1000}ms` : ""),
    `election: heartbeat=${c.heartbeatTicks}t lease=${c.leaseTicks}t suspect=${c.suspectTicks}t stagger=${c.staggerTicks}t; clocks=${[...sc.clockRates].map(([id, r]) => `${id}:${r.toFixed(4)}`).join(" ")}`,
    `gc: applied every ${c.appliedTicks}t, retain ${c.retainInstances}, max unapplied ${c.maxUnappliedInstances}; flow: backlog ${c.flowBacklogInstances}, notice ${c.flowNoticeTicks}t`,
  ].join("\n");
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

export { formatTrace };

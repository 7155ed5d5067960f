/** Shared builders for the core unit tests (not a test file itself). */
import { DEFAULT_TIMING, type PlantedBugs, type ProtocolConfig, type Variant } from "../../src/core/config.ts";
import { createProcess } from "../../src/core/factory.ts";
import type { RingProcess } from "../../src/core/process.ts";
import type { Batch, ClientValue, Delivery, Envelope, Input, LedgerRecord, LostRange, Msg, NodeId, Output } from "../../src/core/types.ts";

export const MAX_NODES = 16;

export interface CfgParts {
  readonly variant?: Variant;
  readonly processes: readonly NodeId[];
  readonly acceptors: readonly NodeId[];
  readonly learners?: readonly NodeId[];
  readonly proposers?: readonly NodeId[];
  readonly coordinator: NodeId;
  readonly bugs?: PlantedBugs;
  readonly timing?: Partial<Omit<ProtocolConfig, "variant" | "maxNodes" | "processes" | "acceptors" | "learners" | "proposers" | "coordinator" | "bugs">>;
}

/** A small ProtocolConfig: DEFAULT_TIMING with maxNodes 16 and the given membership. */
export function makeCfg(p: CfgParts): ProtocolConfig {
  const base: ProtocolConfig = {
    ...DEFAULT_TIMING,
    ...p.timing,
    variant: p.variant ?? "mring",
    maxNodes: MAX_NODES,
    processes: p.processes,
    acceptors: p.acceptors,
    learners: p.learners ?? p.processes,
    proposers: p.proposers ?? [],
    coordinator: p.coordinator,
  };
  return p.bugs === undefined ? base : { ...base, bugs: p.bugs };
}

/** Round `counter` of `node` (counter * 16 + node). */
export function rnd(counter: number, node: NodeId): number {
  return counter * MAX_NODES + node;
}

export function cv(client: number, seq: number, bytes = 4): ClientValue {
  return { client, seq, payload: new Uint8Array(bytes).fill(seq & 0xff) };
}

export function batch(vid: string, ...values: ClientValue[]): Batch {
  return { vid, values };
}

export type MsgOf<T extends Msg["t"]> = Extract<Msg, { t: T }>;

export function isMsg<T extends Msg["t"]>(m: Msg, t: T): m is MsgOf<T> {
  return m.t === t;
}

/** Where an envelope goes: a node id, or "mc" for ip-multicast. */
export function destOf(e: Envelope): NodeId | "mc" {
  return "to" in e.dest ? e.dest.to : "mc";
}

export interface Sent<T extends Msg["t"]> {
  readonly to: NodeId | "mc";
  readonly msg: MsgOf<T>;
}

/** The messages of type `t` an output sends, in order. */
export function sent<T extends Msg["t"]>(out: Output, t: T): Sent<T>[] {
  const r: Sent<T>[] = [];
  for (const e of out.send) if (isMsg(e.msg, t)) r.push({ to: destOf(e), msg: e.msg });
  return r;
}

/** Exactly one message of type `t`, or the test fails. */
export function only<T extends Msg["t"]>(out: Output, t: T): Sent<T> {
  const all = sent(out, t);
  if (all.length !== 1) throw new Error(`expected exactly one ${t}, got ${all.length}: ${JSON.stringify(out.send.map((e) => e.msg.t))}`);
  return all[0] as Sent<T>;
}

/** Message types and destinations of an output, compactly, for order assertions. */
export function trafficOf(out: Output): string[] {
  return out.send.map((e) => `${e.msg.t}->${destOf(e)}`);
}

export interface InFlightMsg {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly msg: Msg;
}

/**
 * A minimal lossless, FIFO, synchronous network of processes (records count as durable at once).
 * ip-multicast reaches every acceptor and learner, the sender included. `drop` lets a test lose
 * chosen messages; `down` holds crashed processes.
 */
export class Net {
  readonly procs = new Map<NodeId, RingProcess>();
  readonly queue: InFlightMsg[] = [];
  readonly deliveries = new Map<NodeId, Delivery[]>();
  /** Instance ranges each learner gave up as lost (Output.lost). */
  readonly lost = new Map<NodeId, LostRange[]>();
  readonly log: InFlightMsg[] = [];
  readonly down = new Set<NodeId>();
  /** Every record each process persisted (a durable ledger). */
  readonly ledgers = new Map<NodeId, LedgerRecord[]>();
  drop: (m: InFlightMsg) => boolean = () => false;
  now = 0;

  constructor(readonly cfg: ProtocolConfig) {
    for (const id of cfg.processes) this.procs.set(id, createProcess(id, cfg));
  }

  /** A new incarnation of `id` that recovers from its ledger. */
  restart(id: NodeId): RingProcess {
    const p = createProcess(id, this.cfg, { recovered: this.ledgers.get(id) ?? [] });
    this.procs.set(id, p);
    this.down.delete(id);
    return p;
  }

  proc(id: NodeId): RingProcess {
    const p = this.procs.get(id);
    if (!p) throw new Error(`no process ${id}`);
    return p;
  }

  delivered(id: NodeId): Delivery[] {
    return this.deliveries.get(id) ?? [];
  }

  /** Feeds one input to a process and queues what it sends. */
  input(id: NodeId, input: Input): Output {
    const out = this.proc(id).step(input, this.now);
    const ledger = this.ledgers.get(id) ?? [];
    ledger.push(...out.persist);
    this.ledgers.set(id, ledger);
    const mine = this.deliveries.get(id) ?? [];
    mine.push(...out.deliver);
    this.deliveries.set(id, mine);
    if (out.lost.length > 0) this.lost.set(id, [...(this.lost.get(id) ?? []), ...out.lost]);
    const group = [...new Set([...this.cfg.acceptors, ...this.cfg.learners])];
    for (const e of out.send) {
      if ("to" in e.dest) this.queue.push({ from: id, to: e.dest.to, msg: e.msg });
      else for (const g of group) this.queue.push({ from: id, to: g, msg: e.msg });
    }
    return out;
  }

  /** Delivers queued messages in FIFO order until none is left. */
  run(maxSteps = 10_000): void {
    for (let i = 0; i < maxSteps; i++) {
      const m = this.queue.shift();
      if (!m) return;
      if (this.down.has(m.to) || this.drop(m)) continue;
      this.log.push(m);
      this.input(m.to, { k: "msg", from: m.from, msg: m.msg });
    }
    throw new Error("network did not quiesce");
  }

  /** Advances time one tick at a time, ticking every live process and running the network. */
  tickUntil(t: number): void {
    while (this.now < t) {
      this.now++;
      for (const id of this.procs.keys()) if (!this.down.has(id)) this.input(id, { k: "tick" });
      this.run();
    }
  }
}

/** Feeds one message to a process, as if it came from `from`. */
export function msg(p: RingProcess, from: NodeId, m: Msg, now = 0): Output {
  return p.step({ k: "msg", from, msg: m }, now);
}

/** The process with this id, or the test fails. */
export function get(ps: ReadonlyMap<NodeId, RingProcess>, id: NodeId): RingProcess {
  const p = ps.get(id);
  if (!p) throw new Error(`no process ${id}`);
  return p;
}

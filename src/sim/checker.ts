import type { Ack, DecisionId, Delivery, Instance, NodeId, Vid } from "../core/types.ts";
import { sameBytes } from "../wire/bytes.ts";

export interface Violation {
  readonly kind: "agreement" | "integrity" | "total-order" | "decision-changed" | "undecided-delivery" | "liveness" | "invariant" | "lease" | "rsvp" | "conflict" | "kv-agreement" | "kv-liveness";
  readonly detail: string;
}

/** A value the simulation proposed, identified by the 8-byte id its payload starts with. */
export interface Proposal {
  readonly pid: number;
  readonly node: NodeId;
  readonly incarnation: number;
  readonly payload: Uint8Array;
}

/** The delivery log of one learner incarnation (a restarted learner starts a new one). */
interface LearnerLog {
  readonly node: NodeId;
  readonly incarnation: number;
  nextInstance: Instance;
  readonly pids: number[];
  readonly seen: Set<number>;
  /** Instance ranges this incarnation gave up as lost; with any, its value sequence has a gap. */
  readonly lost: [Instance, Instance][];
  /** It gave instances up without another learner's duplicate filter: it may deliver a re-sent copy again. */
  loose: boolean;
}

export const MAX_VIOLATIONS = 16;

/**
 * Safety checkers, fed online with every decision and delivery:
 * - decision-changed: two processes decided different ids for one instance;
 * - undecided-delivery: a learner delivered an id no process had decided;
 * - agreement: two learners delivered different batches at one instance;
 * - integrity: a delivered value was never proposed, differs from what was proposed, or is delivered twice;
 * - total-order: the delivered value sequences of all learners are prefixes of one sequence;
 * - rsvp: a proposer was told its value is decided at an instance other than the one where
 *   learners deliver it (the first instance whose batch holds it; a later copy is filtered out).
 * Liveness is checked once faults are healed (see Simulation).
 */
export class Checker {
  readonly violations: Violation[] = [];
  private readonly decided = new Map<Instance, Vid>();
  private readonly deliveredVid = new Map<Instance, Vid>();
  private readonly logs = new Map<string, LearnerLog>();
  private readonly proposals = new Map<number, Proposal>();
  /** The longest delivered value sequence so far; every learner's must be a prefix of it. */
  private readonly reference: number[] = [];
  /** "client:seq" -> the instance where learners deliver it; and acks still waiting for that. */
  private readonly deliveredAt = new Map<string, Instance>();
  private readonly ackedAt = new Map<string, { readonly node: NodeId; readonly instance: Instance }>();
  /** The instance where each value (by pid) was first delivered (by learners with an exact filter). */
  private readonly pidInstance = new Map<number, Instance>();
  /** "client:seq" -> instances where a loose learner (see LearnerLog.loose) delivered a copy. */
  private readonly looseAt = new Map<string, Set<Instance>>();
  /** Instances where loose learners delivered each value (by pid). */
  private readonly pidLoose = new Map<number, Set<Instance>>();
  deliveredValues = 0;

  propose(p: Proposal): void {
    this.proposals.set(p.pid, p);
  }

  proposal(pid: number): Proposal | undefined {
    return this.proposals.get(pid);
  }

  allProposals(): Iterable<Proposal> {
    return this.proposals.values();
  }

  onDecided(node: NodeId, d: DecisionId): void {
    const prev = this.decided.get(d.instance);
    if (prev === undefined) this.decided.set(d.instance, d.vid);
    else if (prev !== d.vid)
      this.fail("decision-changed", `instance ${d.instance}: node ${node} decided ${d.vid}, earlier ${prev}`);
  }

  onDeliver(node: NodeId, incarnation: number, d: Delivery): void {
    const key = `${node}/${incarnation}`;
    let log = this.logs.get(key);
    if (!log) this.logs.set(key, (log = newLog(node, incarnation)));
    if (d.instance !== log.nextInstance)
      this.fail("total-order", `node ${node} delivered instance ${d.instance}, expected ${log.nextInstance}`);
    log.nextInstance = d.instance + 1;
    const decided = this.decided.get(d.instance);
    if (decided !== d.vid)
      this.fail("undecided-delivery", `node ${node} delivered ${d.vid} at instance ${d.instance}; decided: ${decided ?? "nothing"}`);
    const other = this.deliveredVid.get(d.instance);
    if (other === undefined) this.deliveredVid.set(d.instance, d.vid);
    else if (other !== d.vid) this.fail("agreement", `instance ${d.instance}: node ${node} delivered ${d.vid}, another learner ${other}`);
    for (const v of d.values) {
      this.deliveredValues++;
      const pid = payloadId(v.payload);
      const p = pid === null ? undefined : this.proposals.get(pid);
      if (pid === null || !p || !sameBytes(p.payload, v.payload)) {
        this.fail("integrity", `node ${node} delivered a value never proposed (client ${v.client}, seq ${v.seq})`);
        continue;
      }
      if (log.seen.has(pid)) {
        this.fail("integrity", `node ${node} delivered value ${pid} twice`);
        continue;
      }
      log.seen.add(pid);
      if (log.loose) {
        this.noteLoose(`${v.client}:${v.seq}`, d.instance);
        this.loosePid(pid, d.instance);
        continue;
      }
      const first = this.pidInstance.get(pid);
      if (first === undefined) this.pidInstance.set(pid, d.instance);
      else if (first !== d.instance) this.fail("integrity", `node ${node} delivered value ${pid} at instance ${d.instance}, first delivered at ${first}`);
      this.noteDeliveredAt(`${v.client}:${v.seq}`, d.instance);
      // After a gap a learner's sequence lines up with the others' by instance only (checked above).
      if (log.lost.length > 0) continue;
      const at = log.pids.length;
      log.pids.push(pid);
      if (at < this.reference.length) {
        if (this.reference[at] !== pid)
          this.fail("total-order", `node ${node}'s value #${at} is ${pid}, another learner's is ${this.reference[at]}`);
      } else this.reference.push(pid);
    }
  }

  /**
   * A learner incarnation gave instances [from, to) up as lost. It must be where its deliveries
   * stand: a skip is never silent (a gap without this report is a total-order violation).
   */
  onLost(node: NodeId, incarnation: number, from: Instance, to: Instance, exact: boolean): void {
    const key = `${node}/${incarnation}`;
    let log = this.logs.get(key);
    if (!log) this.logs.set(key, (log = newLog(node, incarnation)));
    if (from !== log.nextInstance || to <= from) this.fail("total-order", `node ${node} gave up instances [${from}, ${to}), its next was ${log.nextInstance}`);
    log.nextInstance = to;
    log.lost.push([from, to]);
    log.loose = !exact;
  }

  /** Whether the value `pid` was delivered (by anyone) at an instance this learner incarnation gave up as lost. */
  lostTo(node: NodeId, incarnation: number, pid: number): boolean {
    const log = this.logs.get(`${node}/${incarnation}`);
    if (log === undefined) return false;
    const i = this.pidInstance.get(pid);
    const within = (x: Instance) => log.lost.some(([a, b]) => x >= a && x < b);
    // Where only loose learners delivered it (a resumed or restarted replica's), any of their instances counts.
    return (i !== undefined && within(i)) || [...(this.pidLoose.get(pid) ?? [])].some(within);
  }

  private loosePid(pid: number, instance: Instance): void {
    let at = this.pidLoose.get(pid);
    if (!at) this.pidLoose.set(pid, (at = new Set()));
    at.add(instance);
  }

  /** A proposer at `node` was told (client, seq) is decided at `instance`. */
  onAcked(node: NodeId, a: Ack): void {
    // Decided, its place lost to the proposer's learner (see Ack): nothing to hold it to.
    if (a.instance === null) return;
    const key = `${a.client}:${a.seq}`;
    const at = this.deliveredAt.get(key);
    if (at === undefined) this.ackedAt.set(key, { node, instance: a.instance });
    else if (at !== a.instance && !this.looseAt.get(key)?.has(a.instance)) this.fail("rsvp", `node ${node}'s proposer was told ${key} is decided at instance ${a.instance}; learners deliver it at ${at}`);
  }

  private noteDeliveredAt(key: string, instance: Instance): void {
    if (this.deliveredAt.has(key)) return;
    this.deliveredAt.set(key, instance);
    const a = this.ackedAt.get(key);
    if (a === undefined) return;
    this.ackedAt.delete(key);
    if (a.instance !== instance && !this.looseAt.get(key)?.has(a.instance)) this.fail("rsvp", `node ${a.node}'s proposer was told ${key} is decided at instance ${a.instance}; learners deliver it at ${instance}`);
  }

  /** A loose learner delivered "client:seq" at `instance`: truly decided there (a re-sent copy), so a notice naming it is no lie. */
  private noteLoose(key: string, instance: Instance): void {
    let at = this.looseAt.get(key);
    if (!at) this.looseAt.set(key, (at = new Set()));
    at.add(instance);
  }

  /** Values (by pid) delivered by the given learner incarnation. */
  deliveredBy(node: NodeId, incarnation: number): ReadonlySet<number> {
    return this.logs.get(`${node}/${incarnation}`)?.seen ?? new Set();
  }

  fail(kind: Violation["kind"], detail: string): void {
    if (this.violations.length < MAX_VIOLATIONS) this.violations.push({ kind, detail });
  }
}

function newLog(node: NodeId, incarnation: number): LearnerLog {
  return { node, incarnation, nextInstance: 0, pids: [], seen: new Set(), lost: [], loose: false };
}

export const PID_BYTES = 8;

export function payloadId(p: Uint8Array): number | null {
  if (p.byteLength < PID_BYTES) return null;
  return new DataView(p.buffer, p.byteOffset, PID_BYTES).getFloat64(0);
}


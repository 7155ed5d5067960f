import type { ProtocolConfig } from "../core/config.ts";
import { describeCause, STALL_TICKS, type LeadershipChange } from "../core/election.ts";
import { createProcess } from "../core/factory.ts";
import type { RingProcess } from "../core/process.ts";
import type { LearnFrom } from "../core/learner.ts";
import type { Ack, Conflict, DecisionId, Delivery, Envelope, Input, LeadingState, LostRange, Msg, NodeId, ReadIndex } from "../core/types.ts";
import { Driver } from "../driver/driver.ts";
import { RamLedger, type Ledger } from "../ledger/ledger.ts";

/** What the runtime needs from the network: unicast to a node, ip-multicast, and incoming messages. */
export interface Network {
  send(to: NodeId, msg: Msg): void;
  multicast(msg: Msg): void;
  /** Incoming, already decoded and validated. */
  onMessage(handler: (from: NodeId, msg: Msg) => void): void;
  /**
   * This process' coordinator now leads an established round (true: it is active and completed
   * Phase 1) or no longer does. A multicast network may stop receiving the group while leading:
   * only a coordinator multicasts, so all a leader would receive is its own datagrams, which the
   * runtime hands itself anyway (see NodeRuntime). A candidate still in Phase 1 keeps receiving:
   * it may well lose, and must then follow the winner's 2A multicasts.
   */
  leading?(active: boolean): void;
  close(): Promise<void>;
}

export interface RuntimeEvents {
  /** This process' coordinator started or stopped leading (election, stand-down). */
  leadership?(active: boolean, round: number): void;
  /** Every change of leadership this process sees (its own coordinator's, or the leader it follows), with its cause. */
  leaderChange?(c: LeadershipEvent): void;
  deliver?(d: Delivery): void;
  decided?(d: DecisionId): void;
  acked?(a: Ack): void;
  /** This learner gave instances [from, to) up as lost: no process holds them any more. */
  lost?(range: LostRange): void;
  /** The core dropped network input that conflicts with what it knows (forged, or a broken peer). */
  conflict?(c: Conflict): void;
  /** A read index this process asked for (input "read-index") came back. */
  readIndex?(r: ReadIndex): void;
}

export interface RuntimeOptions {
  readonly id: NodeId;
  readonly cfg: ProtocolConfig;
  readonly tickMs: number;
  readonly network: Network;
  readonly ledger?: Ledger;
  readonly clientId?: number;
  readonly learnFrom?: LearnFrom;
  readonly events?: RuntimeEvents;
  /** Milliseconds, monotonic (performance.now by default). */
  readonly clock?: () => number;
}

/** Bound: messages a process sent to itself, waiting for the next turn of the event loop. */
export const MAX_LOCAL_QUEUE = 1 << 20;

/** A leadership change as the node logs it: one line, `message`, with the new leader, round and reason. */
export interface LeadershipEvent {
  readonly kind: LeadershipChange["kind"];
  readonly leader: NodeId;
  readonly round: number;
  readonly reason: string;
  readonly message: string;
}

export const LEADERSHIP_MESSAGES: Record<LeadershipChange["kind"], string> = {
  leading: "leading: Phase 1 in a new round",
  "stood-down": "stood down as coordinator",
  following: "following a new leader",
};

/**
 * One process of a real cluster: the pure core behind the driver ("persist, then send"), fed by
 * the network and a periodic tick. Messages a process sends to itself (and the multicasts it is a
 * member of) are handed back on the next turn of the event loop, never re-entrantly.
 */
export class NodeRuntime {
  readonly proc: RingProcess;
  private readonly driver: Driver;
  private readonly start: number;
  private readonly clock: () => number;
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly local: Msg[] = [];
  private localScheduled = false;
  private closed = false;
  /** What the network was last told: this process' coordinator leads an established round. */
  private established = false;
  /** Whether this process' coordinator was active at the last change the core told. */
  private active = false;
  /** A "flush" input is due at the end of this turn (see propose). */
  private flushScheduled = false;
  /** What the last proposal's step told (see propose). */
  private proposal: { readonly client: number; readonly seq: number } | null = null;
  /** Clock reading at the last timer callback, and whether a tick waits for queued input (see onTimer). */
  private lastTimerAt = 0;
  private draining = false;
  readonly counters = { leadershipChanges: 0, ticksDeferred: 0, inputs: 0, sent: 0, multicast: 0, delivered: 0, deliveredBytes: 0, localDropped: 0, dropped_conflicting: 0, lost_instances: 0 };

  constructor(private readonly o: RuntimeOptions) {
    const clock = o.clock ?? (() => performance.now());
    this.clock = clock;
    this.start = clock();
    const ledger = o.ledger ?? new RamLedger();
    this.proc = createProcess(o.id, o.cfg, {
      recovered: ledger.recover(),
      ...(o.clientId !== undefined ? { clientId: o.clientId } : {}),
      ...(o.learnFrom ? { learnFrom: o.learnFrom } : {}),
    });
    const inGroup = o.cfg.acceptors.includes(o.id) || o.cfg.learners.includes(o.id);
    this.driver = new Driver(this.proc, ledger, {
      send: (_from, env: Envelope) => {
        if ("to" in env.dest) {
          if (env.dest.to === o.id) this.toSelf(env.msg);
          else {
            this.counters.sent++;
            o.network.send(env.dest.to, env.msg);
          }
        } else {
          this.counters.multicast++;
          o.network.multicast(env.msg);
          if (inGroup) this.toSelf(env.msg);
        }
      },
      deliver: (_n, d) => {
        this.counters.delivered += d.values.length;
        for (const v of d.values) this.counters.deliveredBytes += v.payload.byteLength;
        o.events?.deliver?.(d);
      },
      decided: (_n, d) => o.events?.decided?.(d),
      acked: (_n, a) => o.events?.acked?.(a),
      readIndex: (_n, r) => o.events?.readIndex?.(r),
      lost: (_n, r) => {
        this.counters.lost_instances += r.to - r.from;
        o.events?.lost?.(r);
      },
      conflict: (_n, c) => {
        this.counters.dropped_conflicting++;
        o.events?.conflict?.(c);
      },
      proposal: (_n, taken) => {
        this.proposal = taken;
      },
      leadership: (_n, leading, change) => {
        if (leading) this.leadingChanged(leading);
        if (change) this.leaderChanged(change);
      },
    });
    o.network.onMessage((from, msg) => {
      if (from !== o.id) this.input({ k: "msg", from, msg });
    });
  }

  /** Ticks since start. */
  now(): number {
    return Math.floor((this.clock() - this.start) / this.o.tickMs);
  }

  startTicking(): void {
    if (this.timer || this.closed) return;
    this.lastTimerAt = this.clock();
    this.timer = setInterval(() => this.onTimer(), this.o.tickMs);
  }

  /**
   * The periodic tick, which drives every timeout of the core. After a stall (a timer callback
   * more than STALL_TICKS tick periods after the previous one: the process was not running) the
   * event loop runs this overdue timer before it polls the sockets, so the tick would act on a
   * silence that input already queued for this process ends: an acceptor resumed after SIGSTOP
   * stood as a candidate before reading its leader's heartbeats. Such a tick waits for a
   * zero-delay timer instead, which Node and Bun both run after the I/O poll (measured; not
   * setImmediate: Bun runs immediates before I/O); the ticks due meanwhile are skipped (the core
   * reads the time from the clock, so none is lost). Without a stall nothing changes.
   */
  private onTimer(): void {
    const at = this.clock();
    const gap = at - this.lastTimerAt;
    this.lastTimerAt = at;
    if (this.draining) return;
    if (gap <= STALL_TICKS * this.o.tickMs) {
      this.input({ k: "tick" });
      return;
    }
    this.counters.ticksDeferred++;
    this.draining = true;
    setTimeout(() => {
      this.draining = false;
      this.input({ k: "tick" });
    }, 0);
  }

  input(input: Input): void {
    if (this.closed) return;
    this.counters.inputs++;
    this.driver.input(input, this.now());
  }

  private leadingChanged(l: LeadingState): void {
    if (l.active !== this.active) {
      this.active = l.active;
      this.counters.leadershipChanges++;
      this.o.events?.leadership?.(l.active, l.round);
    }
    if (l.established !== this.established) {
      this.established = l.established;
      this.o.network.leading?.(l.established);
    }
  }

  private leaderChanged(c: LeadershipChange): void {
    const reason = describeCause(c.cause, this.o.tickMs);
    this.o.events?.leaderChange?.({ kind: c.kind, leader: c.leader, round: c.round, reason, message: LEADERSHIP_MESSAGES[c.kind] });
  }

  /** Proposes `payload` (Multi-Ring: to `group`) through this process' proposer: the (client, seq) it took, or null (refused, full; or closed). */
  propose(payload: Uint8Array, group?: number): { readonly client: number; readonly seq: number } | null {
    this.proposal = null;
    // Held until the end of this turn of the event loop: the values proposed in one turn go as one pack.
    this.input(group ? { k: "propose", payload, group, hold: true } : { k: "propose", payload, hold: true });
    if (this.proposal !== null && !this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => {
        this.flushScheduled = false;
        if (!this.closed) this.input({ k: "flush" });
      });
    }
    return this.proposal;
  }

  private toSelf(msg: Msg): void {
    if (this.local.length >= MAX_LOCAL_QUEUE) {
      this.counters.localDropped++;
      return;
    }
    this.local.push(msg);
    if (this.localScheduled) return;
    this.localScheduled = true;
    queueMicrotask(() => {
      this.localScheduled = false;
      const batch = this.local.splice(0);
      for (const m of batch) this.input({ k: "msg", from: this.o.id, msg: m });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.o.network.close();
  }
}

import type { ProtocolConfig } from "../core/config.ts";
import { createProcess } from "../core/factory.ts";
import type { RingProcess } from "../core/process.ts";
import type { LearnFrom } from "../core/learner.ts";
import type { Conflict, DecisionId, Delivery, Envelope, Input, LostRange, Msg, NodeId } from "../core/types.ts";
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
  deliver?(d: Delivery): void;
  decided?(d: DecisionId): void;
  acked?(a: { client: number; seq: number; instance: number }): void;
  /** This learner gave instances [from, to) up as lost: no process holds them any more. */
  lost?(range: LostRange): void;
  /** The core dropped network input that conflicts with what it knows (forged, or a broken peer). */
  conflict?(c: Conflict): void;
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
  readonly counters = { leadershipChanges: 0, inputs: 0, sent: 0, multicast: 0, delivered: 0, deliveredBytes: 0, localDropped: 0, dropped_conflicting: 0, lost_instances: 0 };

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
      lost: (_n, r) => {
        this.counters.lost_instances += r.to - r.from;
        o.events?.lost?.(r);
      },
      conflict: (_n, c) => {
        this.counters.dropped_conflicting++;
        o.events?.conflict?.(c);
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
    this.timer = setInterval(() => this.input({ k: "tick" }), this.o.tickMs);
  }

  input(input: Input): void {
    if (this.closed) return;
    this.counters.inputs++;
    const c = this.proc.coordinator;
    const was = c?.isActive ?? false;
    this.driver.input(input, this.now());
    if (!c) return;
    if (c.isActive !== was) {
      this.counters.leadershipChanges++;
      this.o.events?.leadership?.(c.isActive, c.round);
    }
    const established = c.isActive && c.ring !== null;
    if (established !== this.established) {
      this.established = established;
      this.o.network.leading?.(established);
    }
  }

  propose(payload: Uint8Array): void {
    this.input({ k: "propose", payload });
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

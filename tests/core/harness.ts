import type { ProtocolConfig } from "../../src/core/config.ts";
import { createProcess } from "../../src/core/factory.ts";
import type { RingProcess } from "../../src/core/process.ts";
import type { Input, LedgerRecord, Msg, NodeId, Output } from "../../src/core/types.ts";

export interface InFlight {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly msg: Msg;
}

/**
 * A hand-driven network for scripted scenarios: every send is queued, and the test decides
 * which messages arrive (in order), which are lost, and when processes tick or restart.
 * Records each process persisted are kept as its durable ledger.
 */
export class ScriptedNet {
  readonly procs = new Map<NodeId, RingProcess>();
  readonly ledgers = new Map<NodeId, LedgerRecord[]>();
  queue: InFlight[] = [];
  readonly outputs: { id: NodeId; out: Output }[] = [];
  now = 0;

  constructor(
    readonly cfg: ProtocolConfig,
    readonly group: readonly NodeId[] = [...new Set([...cfg.acceptors, ...cfg.learners])],
  ) {
    for (const id of cfg.processes) this.boot(id);
  }

  boot(id: NodeId): RingProcess {
    const p = createProcess(id, this.cfg, { recovered: this.ledgers.get(id) ?? [] });
    this.procs.set(id, p);
    return p;
  }

  proc(id: NodeId): RingProcess {
    const p = this.procs.get(id);
    if (!p) throw new Error(`no process ${id}`);
    return p;
  }

  input(id: NodeId, input: Input): Output {
    const out = this.proc(id).step(input, this.now);
    this.outputs.push({ id, out });
    const ledger = this.ledgers.get(id) ?? [];
    ledger.push(...out.persist);
    this.ledgers.set(id, ledger);
    for (const e of out.send) {
      if ("to" in e.dest) this.queue.push({ from: id, to: e.dest.to, msg: e.msg });
      else for (const to of this.group) this.queue.push({ from: id, to, msg: e.msg });
    }
    return out;
  }

  tick(id: NodeId, ticks = 1): void {
    for (let i = 0; i < ticks; i++) {
      this.now++;
      this.input(id, { k: "tick" });
    }
  }

  /** Delivers queued messages that match, in queue order (including those their delivery sends), up to `limit`. */
  deliver(match: (m: InFlight) => boolean, limit = 10_000): number {
    let n = 0;
    for (;;) {
      const i = this.queue.findIndex(match);
      if (i < 0 || n >= limit) return n;
      const [m] = this.queue.splice(i, 1) as [InFlight];
      this.input(m.to, { k: "msg", from: m.from, msg: m.msg });
      n++;
    }
  }

  /** Drops queued messages that match (they are lost). */
  drop(match: (m: InFlight) => boolean): number {
    const before = this.queue.length;
    this.queue = this.queue.filter((m) => !match(m));
    return before - this.queue.length;
  }

  sent(match: (m: InFlight) => boolean): InFlight[] {
    return this.queue.filter(match);
  }
}

export const is =
  (t: Msg["t"], opts: { from?: NodeId; to?: NodeId } = {}) =>
  (m: InFlight): boolean =>
    m.msg.t === t && (opts.from === undefined || m.from === opts.from) && (opts.to === undefined || m.to === opts.to);

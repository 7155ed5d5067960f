/**
 * What `paxos node` adds for a node with a `kv` section: the replica's durable store in `kv.dir`,
 * the replica above the learner (it starts the learner at its saved cursor, applies each turn's
 * deliveries in one durable step, then tells the learner how far it applied, which is what the
 * garbage-collection reports carry), and the HTTP API beside /status.
 */
import { mkdirSync } from "node:fs";
import process from "node:process";
import { join } from "node:path";
import type { NodeEntry } from "../../config/schema.ts";
import type { NodeRuntime, RuntimeEvents } from "../../node/runtime.ts";
import type { AppRoutes } from "../../obs/http.ts";
import { SqliteKvStore, StoreError } from "../store/sqlite-store.ts";
import { KvApi } from "./http-api.ts";
import { KvReplica } from "./replica.ts";

export const STORE_FILE = "kv.sqlite";
/** Bound: read indexes asked of the leader at once (more: those reads go through the log). */
export const MAX_READ_INDEX_ASKS = 10_000;

export interface KvStatus {
  readonly store: string;
  readonly sqlite: string;
  readonly keys: number;
  /** The next instance to apply (everything below is applied and durable). */
  readonly appliedUpTo: number;
  readonly commandsApplied: number;
  readonly badCommands: number;
}

export class KvHostError extends Error {}

/** The planted stale-read bug (tests only: it proves the linearizability test can fail). */
export const PLANTED_BUG_ENV = "PAXOS_KV_PLANTED_BUG";
export function plantedLocalReads(): boolean {
  return process.env[PLANTED_BUG_ENV] === "local-reads";
}

export class KvHost {
  readonly replica: KvReplica;
  private readonly store: SqliteKvStore;
  private runtime: NodeRuntime | null = null;
  private scheduled = false;
  /** Read indexes asked of the leader and not answered yet, by id (bounded: MAX_READ_INDEX_ASKS). */
  private readonly asks = new Map<number, (index: number | null) => void>();
  private nextAsk = 0;

  /** Opens the store; a KvHostError naming `nodes[i].kv.dir` when it cannot. */
  constructor(entry: NodeEntry, index: number) {
    const dir = entry.kv?.dir;
    if (dir === undefined) throw new KvHostError(`node ${entry.id} has no kv section`);
    try {
      mkdirSync(dir, { recursive: true });
      this.store = new SqliteKvStore(join(dir, STORE_FILE));
    } catch (e) {
      const why = e instanceof StoreError ? e.message : `${(e as NodeJS.ErrnoException).code ?? ""} ${(e as Error).message}`.trim();
      throw new KvHostError(`nodes[${index}].kv.dir: ${why}`);
    }
    this.replica = new KvReplica(this.store);
  }

  /** Where the learner starts: the instance after the last one the store holds. */
  get resumeFrom(): number {
    return this.replica.resumeFrom;
  }

  /** The runtime's events: deliveries (queued, applied once this turn's are in) and read indexes. */
  readonly events: RuntimeEvents = {
    deliver: (d) => {
      this.replica.deliver(d);
      if (this.scheduled) return;
      this.scheduled = true;
      queueMicrotask(() => this.applyPending());
    },
    readIndex: (r) => {
      const done = this.asks.get(r.id);
      this.asks.delete(r.id);
      done?.(r.index);
    },
  };

  /**
   * A read index from the leader (the instance below which every write completed before now
   * lies), or null: no leader answered within `timeoutMs` with one (no lease, an election, too
   * many asks at once): the caller reads through the log instead.
   */
  readIndex(timeoutMs: number): Promise<number | null> {
    const runtime = this.runtime;
    if (runtime === null || this.asks.size >= MAX_READ_INDEX_ASKS) return Promise.resolve(null);
    const id = (this.nextAsk = (this.nextAsk + 1) >>> 0);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.asks.delete(id);
        resolve(null);
      }, timeoutMs);
      this.asks.set(id, (index) => {
        clearTimeout(timer);
        resolve(index);
      });
      runtime.input({ k: "read-index", id });
    });
  }

  /** The HTTP routes, proposing through `runtime`; also binds the applied reports to it. */
  routes(runtime: NodeRuntime): AppRoutes {
    this.bind(runtime);
    return new KvApi({ replica: this.replica, propose: (bytes) => runtime.propose(bytes) !== null, readIndex: (ms) => this.readIndex(ms), plantedLocalReads: plantedLocalReads() });
  }

  /** From now on the learner's applied reports say what the store holds, not what was delivered. */
  bind(runtime: NodeRuntime): void {
    if (this.runtime === runtime) return;
    this.runtime = runtime;
    runtime.input({ k: "applied", upTo: this.replica.resumeFrom });
  }

  status(): KvStatus {
    const c = this.replica.counters;
    return { store: this.store.path, sqlite: this.store.binding, keys: this.replica.keys, appliedUpTo: this.replica.resumeFrom, commandsApplied: c.applied, badCommands: c.badCommands };
  }

  close(): void {
    this.replica.close();
  }

  private applyPending(): void {
    this.scheduled = false;
    const upTo = this.replica.applyPending();
    if (upTo !== null) this.runtime?.input({ k: "applied", upTo });
  }
}

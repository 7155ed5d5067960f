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
import type { Delivery, Instance } from "../../core/types.ts";
import { type Logger, nullLogger } from "../../obs/log.ts";
import type { NodeRuntime, RuntimeEvents } from "../../node/runtime.ts";
import type { NodeStatus } from "../../node/status.ts";
import type { AppRoutes } from "../../obs/http.ts";
import { SqliteKvStore, StoreError } from "../store/sqlite-store.ts";
import { KvApi } from "./http-api.ts";
import { KvReplica } from "./replica.ts";
import { type SnapshotInfo, snapshotNow } from "./snapshot.ts";
import { SnapshotServer } from "./snapshot-server.ts";
import { RingTransferTarget, type TransferReport, TransferRunner } from "./state-transfer.ts";
import { ReadIndexAsker } from "./read-index.ts";

export const STORE_FILE = "kv.sqlite";
/** How long applied batches wait for their group's fsync (the applied report follows it). */
export const SYNC_MS = 10;

/** The replica's section of the node's /status (its shape is the node's: NodeStatus.kv). */
export type KvStatus = NonNullable<NodeStatus["kv"]>;

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
  private syncTimer: ReturnType<typeof setTimeout> | null = null;
  /** The leader's read indexes, asked through this node's core. */
  private readonly reads = new ReadIndexAsker((id) => {
    this.runtime?.input({ k: "read-index", id });
    return this.runtime !== null;
  });

  /** Opens the store; a KvHostError naming `nodes[i].kv.dir` when it cannot. */
  private readonly key: string;

  /** Serves this replica's snapshots to the others. */
  private readonly snapshots: SnapshotServer;
  /** State transfers (one under way: this replica holds its learner's deliveries instead of applying them). */
  private readonly transfers: TransferRunner<RingTransferTarget>;
  /** The instance after the last one the learner delivered (or gave up as lost): applied reports never pass it. */
  private deliveredUpTo: Instance;
  private log: Logger | null = null;

  /**
   * @param peers base URLs (http://host:port) of the other replicas, whose snapshots this one
   *   fetches when its learner loses instances.
   */
  constructor(
    entry: NodeEntry,
    index: number,
    private readonly peers: readonly string[] = [],
  ) {
    this.key = `nodes[${index}].kv`;
    const { store, dir } = openReplicaStore(entry, index);
    this.store = store;
    this.replica = new KvReplica(this.store);
    this.deliveredUpTo = this.replica.resumeFrom;
    this.snapshots = new SnapshotServer(join(dir, "snapshots"), { take: (path) => this.snapshot(path) });
    this.transfers = new TransferRunner({
      peers,
      dir: join(dir, "transfer"),
      log: () => this.log ?? nullLogger,
      installed: (target, report) => this.transferred(target, report),
      failed: (why) => this.onStranded(`${this.key}.dir: the state transfer failed: ${why}`),
    });
  }

  /** A snapshot of the state now, read on a connection of its own while this replica goes on applying; null while it receives one itself. */
  private snapshot(path: string): Promise<SnapshotInfo | null> {
    return this.transfers.target !== null ? Promise.resolve(null) : snapshotNow(this.store, path);
  }

  /** Where the learner starts: the instance after the last one the store holds. */
  get resumeFrom(): number {
    return this.replica.resumeFrom;
  }

  /**
   * Told when this replica cannot go on: its learner lost instances and no other replica is
   * configured to take a snapshot from (the node should stop, saying what to do).
   */
  onStranded: (line: string) => void = () => {};

  /** The runtime's events: deliveries (queued, applied once this turn's are in), read indexes, lost instances. */
  readonly events: RuntimeEvents = {
    lost: (r) => this.lost(r.from, r.to),
    deliver: (d) => this.delivered(d),
    readIndex: (r) => this.reads.answered(r.id, r.index),
  };

  private delivered(d: Delivery): void {
    this.deliveredUpTo = d.instance + 1;
    const transfer = this.transfers.target;
    if (transfer !== null) return transfer.buffer.push(d);
    // Below an installed snapshot's cursor: already in the state.
    if (d.instance < this.replica.resumeFrom) return;
    this.replica.deliver(d);
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => this.applyPending());
  }

  /** Instances [from, to) were trimmed everywhere while this replica was away: it takes another replica's state. */
  private lost(from: Instance, to: Instance): void {
    this.deliveredUpTo = to;
    const transfer = this.transfers.target;
    if (transfer !== null) return transfer.buffer.restartAt(to);
    if (this.peers.length === 0) {
      return this.onStranded(
        `${this.key}: this replica is behind what every acceptor retains (instances ${from}..${to - 1} were trimmed while it was away) and no other replica is configured to take a snapshot from: ` +
          `stop this node, copy a stopped replica's kv.dir over this one's, and start it again`,
      );
    }
    this.log?.warn("this replica lost instances every acceptor trimmed: fetching another replica's snapshot (state transfer)", { from, to, peers: this.peers });
    this.transfers.start(new RingTransferTarget(this.replica, to));
  }

  /** The deliveries held during the transfer from the snapshot's cursor on are applied after it. */
  private transferred(target: RingTransferTarget, report: TransferReport): void {
    const held = target.buffer;
    for (const d of held.heldFrom(Math.max(report.instance, held.from))) this.replica.deliver(d);
    this.applyPending();
    this.reportApplied(this.replica.sync());
  }

  /** True once this replica applied up to the leader's read index; false: no read index within `askMs`. */
  private async readBarrier(askMs: number, timeoutMs: number): Promise<boolean> {
    const index = await this.reads.readIndex(askMs);
    if (index === null) return false;
    await this.replica.whenApplied(index, timeoutMs);
    return true;
  }

  /** The HTTP routes (the API, snapshots), proposing through `runtime`; also binds the applied reports to it. */
  routes(runtime: NodeRuntime, log: Logger): AppRoutes {
    this.log = log;
    this.bind(runtime);
    const api = new KvApi({ replica: this.replica, propose: (bytes) => runtime.propose(bytes) !== null, readBarrier: (_key, askMs, timeoutMs) => this.readBarrier(askMs, timeoutMs), plantedLocalReads: plantedLocalReads() });
    return routesOf([api, this.snapshots]);
  }

  /** From now on the learner's applied reports say what the store holds, not what was delivered. */
  bind(runtime: NodeRuntime): void {
    if (this.runtime === runtime) return;
    this.runtime = runtime;
    this.reportApplied(this.replica.resumeFrom);
  }

  /** The learner's applied reports say `upTo`, never beyond what it delivered (an installed snapshot may stand beyond it). */
  private reportApplied(upTo: Instance): void {
    this.runtime?.input({ k: "applied", upTo: Math.min(upTo, this.deliveredUpTo) });
  }

  /** The replica's SQLite file. */
  get storePath(): string {
    return this.store.path;
  }

  status(): KvStatus {
    const c = this.replica.counters;
    return {
      store: this.store.path,
      sqlite: this.store.binding,
      keys: this.replica.keys,
      appliedUpTo: this.replica.resumeFrom,
      commandsApplied: c.applied,
      badCommands: c.badCommands,
      ...this.transfers.status(),
      snapshotsTaken: this.snapshots.counters.taken,
    };
  }

  close(): void {
    this.transfers.close();
    if (this.syncTimer !== null) clearTimeout(this.syncTimer);
    this.syncTimer = null;
    this.reads.close();
    this.replica.close();
  }

  private applyPending(): void {
    this.scheduled = false;
    if (this.replica.applyPending() === null || this.syncTimer !== null) return;
    // Group commit: one fsync for what the next SYNC_MS apply, then the applied report.
    this.syncTimer = setTimeout(() => {
      this.syncTimer = null;
      this.reportApplied(this.replica.sync());
    }, SYNC_MS);
  }
}

/** The replica store in `nodes[index].kv.dir` (made if absent); a KvHostError naming the key when it cannot be opened. */
export function openReplicaStore(entry: NodeEntry, index: number): { store: SqliteKvStore; dir: string } {
  const dir = entry.kv?.dir;
  if (dir === undefined) throw new KvHostError(`node ${entry.id} has no kv section`);
  try {
    mkdirSync(dir, { recursive: true });
    return { store: new SqliteKvStore(join(dir, STORE_FILE)), dir };
  } catch (e) {
    const why = e instanceof StoreError ? e.message : `${(e as NodeJS.ErrnoException).code ?? ""} ${(e as Error).message}`.trim();
    throw new KvHostError(`nodes[${index}].kv.dir: ${why}`);
  }
}

/** A node's HTTP base URL (its `http` port on its host). */
export function httpBase(n: Pick<NodeEntry, "host" | "http">): string {
  return `http://${n.host.includes(":") ? `[${n.host}]` : n.host}:${n.http}`;
}

/** One AppRoutes of several (the first that handles a path answers it). */
export function routesOf(all: readonly AppRoutes[]): AppRoutes {
  return {
    handles: (path) => all.some((r) => r.handles(path)),
    handle: (req, res, url) => all.find((r) => r.handles(url.pathname))?.handle(req, res, url),
    close: () => {
      for (const r of all) r.close?.();
    },
  };
}

/**
 * What `paxos node` adds for a node with a `kv` section in a `rings` configuration: a replica of
 * the partitions it subscribes to (see partitions.ts), applying the merge of their rings and the
 * global group's ring. It saves the merge cursor with the state it applied; restarted, its rings'
 * learners and its merge start at that cursor. Acceptors trim a ring only below what the replica
 * made durable (MultiRingNode's resume: the host reports applied), also while its partitions are
 * idle: the merge moving over skip instances is saved too (every CHECKPOINT_MS, well within the
 * maxUnappliedInstances a ring's coordinator lets its skips run ahead).
 *
 * A replica whose ring trimmed instances it missed takes the state of a replica with the same
 * subscriptions (the same rings and partitions: their snapshots, rows and merge cursor, are
 * interchangeable): its node holds the merge (MultiRingNode.hold) while the snapshot downloads,
 * installs it, and resumes the merge at its cursor with what its rings delivered meanwhile.
 *
 * Not yet: watches across replicas of different partitions (a watch sees the keys of this
 * replica's partitions).
 */
import { join } from "node:path";
import type { ClusterConfig, NodeEntry } from "../../config/schema.ts";
import { ringOfGroup, subscriptions } from "../../config/rings.ts";
import { multiRingParams } from "../../config/ring-topology.ts";
import type { ClientValue } from "../../core/types.ts";
import { invariant } from "../../core/assert.ts";
import type { Merged, MergeCursor, RingId } from "../../multiring/merge.ts";
import type { MultiRingNode } from "../../node/multi-ring-node.ts";
import type { RuntimeEvents } from "../../node/runtime.ts";
import type { NodeStatus } from "../../node/status.ts";
import type { AppRoutes } from "../../obs/http.ts";
import { type Logger, nullLogger } from "../../obs/log.ts";
import type { StoreRow } from "../store/kv-store.ts";
import { sameBytes } from "../../wire/bytes.ts";
import type { SqliteKvStore } from "../store/sqlite-store.ts";
import type { Command } from "./command.ts";
import { httpBase, KvHostError, openReplicaStore, routesOf, SYNC_MS } from "./host.ts";
import { KvApi, type KvRouting } from "./http-api.ts";
import type { LogItem } from "./kv-machine.ts";
import { decodeMergeCursor, encodeMergeCursor, KvPartitions, MAX_MERGED_VALUES, mergedRevision, parseMergeCursor, type RevisionPlan, revisionFloor } from "./partitions.ts";
import { ReadIndexAsker } from "./read-index.ts";
import { KvReplica } from "./replica.ts";
import { type SnapshotInfo, snapshotNow } from "./snapshot.ts";
import { SnapshotServer } from "./snapshot-server.ts";
import { type TransferTarget, TransferRunner } from "./state-transfer.ts";

/** How often an idle replica saves how far its merge moved (skip instances), so acceptors can trim. */
export const CHECKPOINT_MS = 50;

/** The replica's section of the node's /status (NodeStatus.kvPartitions). */
export type PartitionedKvStatus = NonNullable<NodeStatus["kvPartitions"]>;

export class PartitionedKvHost {
  readonly replica: KvReplica;
  readonly partitions: KvPartitions;
  private readonly store: SqliteKvStore;
  private readonly held: Set<number>;
  private readonly plan: RevisionPlan;
  private readonly rings: readonly RingId[];
  private readonly resumeCursor: MergeCursor | null;
  private node: MultiRingNode | null = null;
  private pending: LogItem[] = [];
  private scheduled = false;
  /** The cursor saved with the state last applied, and its bytes (what the checkpoint compares). */
  private applied: MergeCursor | null;
  private appliedBytes: Uint8Array | null;
  private syncTimer: ReturnType<typeof setTimeout> | null = null;
  private checkpoint: ReturnType<typeof setInterval> | null = null;
  private readonly asks = new Map<RingId, ReadIndexAsker>();
  private valuesBeyondRevisions = 0;
  private readonly routing: KvRouting;
  private readonly key: string;
  /** Replicas with this one's subscriptions (base URLs): where it takes a snapshot from. */
  private readonly peers: readonly string[];
  private readonly snapshots: SnapshotServer;
  /** State transfers (one under way: the node holds the merge). */
  private readonly transfers: TransferRunner<TransferTarget>;
  private log: Logger = nullLogger;

  constructor(config: ClusterConfig, entry: NodeEntry, index: number) {
    this.key = `nodes[${index}].kv`;
    const kv = config.kv;
    if (kv === undefined) throw new KvHostError(`${this.key}: with rings, the configuration names its partitions in a top-level kv section`);
    const ringOf = new Map([...kv.partitions, kv.global].map((g) => [g, ringOfGroup(config, g) as RingId]));
    this.partitions = new KvPartitions({ partitions: kv.partitions, global: kv.global, ringOfGroup: ringOf });
    const subs = subscriptions(config, entry.id);
    this.held = this.partitions.served(subs.map((s) => s.group));
    this.rings = [...new Set(subs.map((s) => s.ring))].sort((a, b) => a - b);
    const all = [...new Set((config.rings ?? []).map((r) => r.id))].sort((a, b) => a - b);
    this.plan = { rings: all.length, rankOf: new Map(all.map((r, i) => [r, i])), m: multiRingParams(config).m };
    const { store, dir } = openReplicaStore(entry, index);
    this.store = store;
    const mine = (entry.subscribe ?? []).toSorted((a, b) => a - b).join(",");
    this.peers = config.nodes.filter((n) => n !== entry && n.kv !== undefined && n.http !== undefined && (n.subscribe ?? []).toSorted((a, b) => a - b).join(",") === mine).map(httpBase);
    this.snapshots = new SnapshotServer(join(dir, "snapshots"), { take: (path) => this.snapshot(path) });
    this.transfers = new TransferRunner({
      peers: this.peers,
      dir: join(dir, "transfer"),
      log: () => this.log,
      installed: () => this.transferred(),
      failed: (why) => this.onStranded(`${this.key}.dir: the state transfer failed: ${why}`),
    });
    this.resumeCursor = this.savedCursor();
    this.applied = this.resumeCursor;
    this.appliedBytes = store.cursor();
    this.replica = new KvReplica(store, null, { scope: { partitions: this.partitions.count, held: this.held }, merged: true });
    this.routing = routingOf(config, this.partitions, this.held);
  }

  /** The cursor in the store, checked against the rings this replica merges now (another set: a store of another layout). */
  private savedCursor(): MergeCursor | null {
    const bytes = this.store.cursor();
    if (bytes === null) return null;
    const c = decodeMergeCursor(bytes);
    const saved = [...c.next.keys()].sort((a, b) => a - b);
    if (saved.join(",") !== this.rings.join(",")) {
      this.store.close();
      throw new KvHostError(`${this.key}.dir: this store holds a replica of rings ${saved.join(", ")}, and this node now merges rings ${this.rings.join(", ")}: give it a new kv.dir`);
    }
    return c;
  }

  /** What MultiRingNode resumes from (see MultiRingNodeOptions.resume). */
  get resume(): { readonly cursor: MergeCursor | null } {
    return { cursor: this.resumeCursor };
  }

  /** Told when this replica cannot go on (a ring lost instances it needs): the node should stop, saying what to do. */
  onStranded: (line: string) => void = () => {};

  /** Each ring's events: read indexes, lost instances. */
  ringEvents(ring: RingId): RuntimeEvents {
    return {
      readIndex: (r) => this.asks.get(ring)?.answered(r.id, r.index),
      lost: (r) => this.lost(ring, r.from, r.to),
    };
  }

  /** A ring trimmed what this replica missed (its node holds the merge): it takes another replica's state. */
  private lost(ring: RingId, from: number, to: number): void {
    if (this.transfers.target !== null) return; // the node's held run of that ring starts again at `to`
    if (this.peers.length === 0) {
      return this.onStranded(
        `${this.key}: ring ${ring} trimmed instances ${from}..${to - 1} while this replica was away, and no other replica has its subscriptions to take a snapshot from: ` +
          `stop this node, copy a stopped replica's kv.dir with the same subscriptions over this one's, and start it again`,
      );
    }
    this.log.warn("this replica lost instances its ring trimmed: fetching the state of a replica with its subscriptions (state transfer)", { ring, from, to, peers: this.peers });
    this.transfers.start(this.transferTarget());
  }

  /** Installs a peer's snapshot whose cursor the held deliveries reach, and resumes the merge there. */
  private transferTarget(): TransferTarget {
    const node = this.node as MultiRingNode;
    const parse = (bytes: Uint8Array) => parseMergeCursor(bytes, this.rings, this.plan.m);
    return {
      reaches: (hex) => {
        const c = /^([0-9a-f]{2})+$/.test(hex) ? parse(Buffer.from(hex, "hex")) : null;
        return c !== null && node.reaches(c);
      },
      install: (rows: Iterable<StoreRow>, cursor: Uint8Array) => {
        const c = parse(cursor) as MergeCursor; // reaches() checked the same bytes, as hex
        this.pending = [];
        this.replica.replaceState(rows, cursor, revisionFloor(this.plan, c));
        this.applied = c;
        this.appliedBytes = cursor;
        node.resumeAt(c);
      },
      installedAt: () => this.applied?.next.get(this.partitions.route(null).ring) ?? 0,
    };
  }

  private transferred(): void {
    // What the merge released from the held deliveries waited for the transfer to end.
    if (this.pending.length > 0) this.apply();
    else if (this.syncTimer === null) this.syncTimer = setTimeout(() => this.sync(), SYNC_MS);
  }

  /** A snapshot of the state now, read on a connection of its own while this replica goes on applying; null while it receives one itself. */
  private snapshot(path: string): Promise<SnapshotInfo | null> {
    return this.transfers.target !== null ? Promise.resolve(null) : snapshotNow(this.store, path);
  }

  /** The merge's deliveries: queued, applied together once this turn's are in. */
  readonly merged = (m: Merged<ClientValue>): void => {
    // By each value's place in its instance (see Delivery.positions), the same at every replica.
    m.values.forEach((v, i) => {
      const place = m.positions?.[i] ?? i;
      if (place >= MAX_MERGED_VALUES) return void this.valuesBeyondRevisions++;
      this.pending.push({ revision: mergedRevision(this.plan, m.ring, m.slot, place), bytes: v.payload });
    });
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => this.apply());
  };

  /** Binds the host to its node: proposals, read indexes and applied reports go through it from now on. */
  bind(node: MultiRingNode): void {
    this.node = node;
    for (const r of this.rings) this.asks.set(r, new ReadIndexAsker((id) => askReadIndex(node, r, id)));
    if (this.applied) for (const r of this.rings) node.reportApplied(r, this.applied.next.get(r) ?? 0);
    this.checkpoint = setInterval(() => this.saveProgress(), CHECKPOINT_MS);
  }

  /** The HTTP routes: the API, proposing each command to its partition's group (a batch: the global group), and snapshots for other replicas. */
  routes(log: Logger): AppRoutes {
    this.log = log;
    log.info("key-value partitions", { partitions: this.partitions.count, held: [...this.held], rings: this.rings, snapshotPeers: this.peers });
    return routesOf([this.api(), this.snapshots]);
  }

  private api(): KvApi {
    return new KvApi({ replica: this.replica, propose: (bytes, c) => this.propose(bytes, c), readBarrier: (key, askMs, timeoutMs) => this.readBarrier(key, askMs, timeoutMs), routing: this.routing });
  }

  private propose(bytes: Uint8Array, c: Command): boolean {
    const p = c.op === "batch" ? null : c.op === "range" ? (c.partition ?? null) : this.partitions.partitionOf(c.key);
    const { group, ring } = this.partitions.route(p);
    if (this.node === null) return false;
    return this.node.propose(ring, bytes, group) !== null;
  }

  /**
   * Linearizable reads of `key`: the read indexes of its partition's ring and of the global ring
   * (a batch may write it too), then the wait until this replica's merge applied below both.
   */
  private async readBarrier(key: Uint8Array, askMs: number, timeoutMs: number): Promise<boolean> {
    const rings = [...new Set([this.partitions.route(this.partitions.partitionOf(key)).ring, this.partitions.route(null).ring])];
    const indexes = await Promise.all(rings.map((r) => this.asks.get(r)?.readIndex(askMs) ?? Promise.resolve(null)));
    if (indexes.some((i) => i === null)) return false;
    const done = () => rings.every((r, k) => (this.applied?.next.get(r) ?? 0) >= (indexes[k] as number));
    await this.replica.whenTrue(done, timeoutMs, `rings ${rings.join(", ")} up to their read indexes ${indexes.join(", ")}`);
    return true;
  }

  private apply(): void {
    this.scheduled = false;
    if (this.pending.length === 0 || this.node === null || this.transfers.target !== null) return;
    const items = this.pending;
    this.pending = [];
    this.save(items);
  }

  /** Applies `items` (maybe none) with the merge's cursor now, and schedules the fsync after which it is reported applied. */
  private save(items: readonly LogItem[]): void {
    const cursor = (this.node as MultiRingNode).mergeCursor();
    invariant(cursor !== null, "a replica's node merges its rings");
    const bytes = encodeMergeCursor(cursor);
    this.replica.applyItems(items, bytes);
    this.applied = cursor;
    this.appliedBytes = bytes;
    if (this.syncTimer !== null) return;
    this.syncTimer = setTimeout(() => this.sync(), SYNC_MS);
  }

  private sync(): void {
    this.syncTimer = null;
    const cursor = this.applied;
    this.replica.sync();
    if (cursor === null || this.node === null) return;
    for (const r of this.rings) this.node.reportApplied(r, cursor.next.get(r) ?? 0);
  }

  /** The merge moved over instances without values of this replica's groups: saves the cursor, so acceptors may trim them. */
  private saveProgress(): void {
    if (this.transfers.target !== null || this.node?.holding) return;
    const cursor = this.node?.mergeCursor();
    if (!cursor || this.pending.length > 0) return;
    const bytes = encodeMergeCursor(cursor);
    if (this.appliedBytes !== null && sameBytes(bytes, this.appliedBytes)) return;
    this.save([]);
  }

  status(): PartitionedKvStatus {
    const c = this.replica.counters;
    return {
      store: this.store.path,
      keys: this.replica.keys,
      partitions: this.partitions.count,
      held: [...this.held].sort((a, b) => a - b),
      appliedUpTo: Object.fromEntries(this.rings.map((r) => [String(r), this.applied?.next.get(r) ?? 0])),
      commandsApplied: c.applied,
      badCommands: c.badCommands,
      valuesBeyondRevisions: this.valuesBeyondRevisions,
      ...this.transfers.status(),
      snapshotsTaken: this.snapshots.counters.taken,
    };
  }

  close(): void {
    this.transfers.close();
    if (this.checkpoint !== null) clearInterval(this.checkpoint);
    if (this.syncTimer !== null) clearTimeout(this.syncTimer);
    this.syncTimer = null;
    this.checkpoint = null;
    for (const a of this.asks.values()) a.close();
    this.replica.close();
  }
}

/** Sends read-index ask `id` to ring `ring`'s core here (false: this node has none). */
function askReadIndex(node: MultiRingNode, ring: RingId, id: number): boolean {
  const rt = node.runtimes.get(ring);
  rt?.input({ k: "read-index", id });
  return rt !== undefined;
}

/** The routing a replica's API answers with: which partitions it holds, who holds the others. */
function routingOf(config: ClusterConfig, partitions: KvPartitions, held: ReadonlySet<number>): KvRouting {
  const replicas = partitions.groups.map((g) => config.nodes.filter((n) => n.kv !== undefined && n.http !== undefined && (n.subscribe ?? []).includes(g)).map(httpBase));
  return {
    partitions: partitions.count,
    partitionOf: (key) => partitions.partitionOf(key),
    holds: (p) => held.has(p),
    replicasOf: (p) => replicas[p] ?? [],
    describe: () => ({ partitions: partitions.count, hash: "fnv1a-32", groups: partitions.groups, global: partitions.global, replicas }),
  };
}

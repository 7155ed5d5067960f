/**
 * The key-value service in the simulator (`paxos sim --app kv`): every replica's learner has a
 * KvReplica above it, as `paxos node` hosts one, with the same machine, client table and state
 * transfer, over a store whose durable part survives crashes:
 *
 * - each value the simulation proposes is read as a key-value command (deterministically from its
 *   bytes: put, insert, cas or delete of one of a few hot keys), so replicas apply a real mix;
 * - a replica makes what it applied durable after the scenario's sync delay, and only then reports
 *   it applied (the garbage-collection reports); a crash loses what was not synced, and the
 *   restarted replica's learner starts at its durable cursor;
 * - a learner that gave instances up as lost takes a live replica's state (a snapshot: its rows
 *   and cursor) and applies the deliveries held meanwhile from that cursor on.
 *
 * Checked: every replica computes the same reply to each log item (keyed by its revision: a state
 * that diverged, or a restart that applied a command twice, answers differently), and, for
 * liveness, every live replica ends at the same cursor with the same state digest.
 */
import { createHash } from "node:crypto";
import type { Delivery, Instance, NodeId } from "../core/types.ts";
import { encodeRequest, type Command } from "../app/kv/command.ts";
import { MAX_VALUES_PER_BATCH, revisionOf } from "../app/kv/kv-machine.ts";
import { KvReplica } from "../app/kv/replica.ts";
import { encodeReply, type Reply } from "../app/kv/reply.ts";
import { DeliveryBuffer } from "../app/kv/state-transfer.ts";
import type { StoreRow } from "../app/store/kv-store.ts";
import { MemoryKvStore } from "../app/store/memory-store.ts";

/** Virtual time a state transfer takes (and between attempts while no replica can give one). */
export const TRANSFER_US = 5_000;
const HOT_KEYS = 4;
const CLIENTS = 3;

/** Planted bugs of the key-value layer (tests only: they prove its checks can fail). */
export interface KvBugs {
  /** After installing a snapshot, the deliveries held meanwhile are dropped, not applied. */
  readonly dropHeldAfterTransfer?: boolean;
  /** A replica that lost instances never fetches a state (it waits, as replicas did before state transfer). */
  readonly neverTransfers?: boolean;
  /** A sync makes the new cursor durable but not the state applied since the last one (a store that commits them apart). */
  readonly cursorWithoutState?: boolean;
}

/** What the layer needs of the simulation. */
export interface KvLayerHost {
  /** Runs `fn` after the scenario's sync delay, unless `node` crashes first. */
  sync(node: NodeId, fn: () => void): void;
  /** Runs `fn` after `us` of virtual time, unless `node` crashes first. */
  later(node: NodeId, us: number, fn: () => void): void;
  /** Tells `node`'s core that its host applied every instance below `upTo`. */
  applied(node: NodeId, upTo: Instance): void;
  alive(node: NodeId): boolean;
  fail(kind: "kv-agreement" | "kv-liveness", detail: string): void;
  note(node: NodeId, text: string): void;
}

interface Durable {
  readonly rows: readonly StoreRow[];
  readonly cursor: Uint8Array | null;
}

/** One replica's incarnation: its store, its replica, and a transfer under way. */
interface Hosted {
  readonly store: MemoryKvStore;
  readonly replica: KvReplica;
  transfer: DeliveryBuffer | null;
  syncing: boolean;
  /** The instance after the last one its learner delivered or gave up: applied reports never pass it. */
  deliveredUpTo: Instance;
}

export class SimKvLayer {
  private readonly durable = new Map<NodeId, Durable>();
  private readonly hosted = new Map<NodeId, Hosted>();
  /** Each log item's reply, by revision, as the first replica to apply it computed it. */
  private readonly replies = new Map<number, string>();
  readonly counters = { transfers: 0, applied: 0 };

  constructor(
    private readonly host: KvLayerHost,
    readonly replicaIds: readonly NodeId[],
    private readonly bugs: KvBugs = {},
  ) {}

  isReplica(node: NodeId): boolean {
    return this.replicaIds.includes(node);
  }

  /** A replica (re)starts from its durable state: the instance its learner starts at. */
  boot(node: NodeId): Instance {
    const d = this.durable.get(node);
    const store = new MemoryKvStore();
    if (d?.cursor) store.replaceAll(d.rows, d.cursor);
    const replica = new KvReplica(store, (revision, reply) => this.check(node, revision, reply));
    this.hosted.set(node, { store, replica, transfer: null, syncing: false, deliveredUpTo: replica.resumeFrom });
    return replica.resumeFrom;
  }

  /** After the node's core exists: its applied reports say what the store holds. */
  started(node: NodeId): void {
    const h = this.hosted.get(node);
    if (h) this.host.applied(node, h.replica.resumeFrom);
  }

  crash(node: NodeId): void {
    this.hosted.delete(node);
  }

  deliver(node: NodeId, d: Delivery): void {
    const h = this.hosted.get(node);
    if (!h) return;
    h.deliveredUpTo = d.instance + 1;
    if (h.transfer) return h.transfer.push(d);
    if (d.instance < h.replica.resumeFrom) return; // below an installed snapshot's cursor
    this.apply(node, h, [d]);
  }

  /** The learner gave [from, to) up as lost: take a live replica's state. */
  lost(node: NodeId, to: Instance): void {
    const h = this.hosted.get(node);
    if (!h) return;
    h.deliveredUpTo = to;
    if (h.transfer) return h.transfer.restartAt(to);
    h.transfer = new DeliveryBuffer(to);
    this.host.note(node, `kv: instances below ${to} lost: state transfer`);
    if (this.bugs.neverTransfers) return;
    this.host.later(node, TRANSFER_US, () => this.transfer(node));
  }

  /**
   * Liveness: every live replica (but `exempt` ones) stands at the same cursor with the same
   * state, none in a transfer. With `final`, a shortfall is a violation.
   */
  converged(exempt: (node: NodeId) => boolean, final: boolean): boolean {
    const live = [...this.hosted].filter(([id]) => this.host.alive(id) && !exempt(id));
    let first: { id: NodeId; at: Instance; digest: string } | null = null;
    for (const [id, h] of live) {
      const at = h.replica.resumeFrom;
      const digest = stateDigest(h.store);
      const why = h.transfer ? `node ${id} is still in a state transfer` : first && first.at !== at ? `node ${id} applied up to ${at}, node ${first.id} up to ${first.at}` : first && first.digest !== digest ? `nodes ${first.id} and ${id} hold different states at instance ${at}` : null;
      if (why !== null) {
        if (final) this.host.fail("kv-liveness", why);
        return false;
      }
      first ??= { id, at, digest };
    }
    return true;
  }

  private apply(node: NodeId, h: Hosted, ds: readonly Delivery[]): void {
    for (const d of ds) h.replica.deliver({ ...d, values: d.values.map((v) => ({ ...v, payload: commandBytes(v.payload) })) });
    h.replica.applyPending();
    this.scheduleSync(node, h);
  }

  /** A reply must be the one every other replica computed for that revision. */
  private check(node: NodeId, revision: number, reply: Reply): void {
    this.counters.applied++;
    const mine = Buffer.from(encodeReply(reply)).toString("hex");
    const theirs = this.replies.get(revision);
    if (theirs === undefined) this.replies.set(revision, mine);
    else if (theirs !== mine) this.host.fail("kv-agreement", `node ${node} answered revision ${revision} (instance ${Math.floor(revision / MAX_VALUES_PER_BATCH)}) differently from another replica`);
  }

  /** One sync at a time: when it completes, what was applied before it is durable and reported. */
  private scheduleSync(node: NodeId, h: Hosted): void {
    if (h.syncing) return;
    h.syncing = true;
    const rows = this.bugs.cursorWithoutState ? (this.durable.get(node)?.rows ?? []) : [...h.store.rows()];
    const cursor = h.store.cursor();
    const upTo = h.replica.resumeFrom;
    this.host.sync(node, () => {
      if (this.hosted.get(node) !== h) return;
      h.syncing = false;
      this.durable.set(node, { rows, cursor: cursor?.slice() ?? null });
      this.host.applied(node, Math.min(upTo, h.deliveredUpTo));
      if (h.replica.resumeFrom > upTo) this.scheduleSync(node, h);
    });
  }

  /**
   * Takes the state of the live replica furthest ahead that reaches the held deliveries (else tries
   * again later), and installs it TRANSFER_US later, as a download would: the learner goes on
   * delivering meanwhile, and what it delivered from the snapshot's cursor on is applied after it.
   */
  private transfer(node: NodeId): void {
    const h = this.hosted.get(node);
    if (!h?.transfer) return;
    const held = h.transfer;
    let source: Hosted | null = null;
    for (const [id, o] of this.hosted) {
      if (id === node || o.transfer || !this.host.alive(id) || o.replica.resumeFrom < held.from || o.store.cursor() === null) continue;
      if (!source || o.replica.resumeFrom > source.replica.resumeFrom) source = o;
    }
    if (!source) return this.host.later(node, TRANSFER_US, () => this.transfer(node));
    const rows = [...source.store.rows()];
    const cursor = source.store.cursor() as Uint8Array;
    const at = source.replica.resumeFrom;
    this.host.later(node, TRANSFER_US, () => {
      if (this.hosted.get(node) !== h || h.transfer !== held) return;
      // The held run moved past the snapshot (it overflowed, or another loss restarted it): a newer one is needed.
      if (at < held.from) return this.transfer(node);
      h.replica.replaceState(rows, cursor);
      h.transfer = null;
      this.counters.transfers++;
      this.host.note(node, `kv: installed a snapshot at instance ${at}`);
      this.apply(node, h, this.bugs.dropHeldAfterTransfer ? [] : held.heldFrom(at));
    });
  }
}

/** The command a simulated value stands for: its bytes pick the client, the operation and a hot key; the value is the bytes themselves. */
export function commandBytes(payload: Uint8Array): Uint8Array {
  const b = (i: number) => payload[i % Math.max(1, payload.byteLength)] ?? 0;
  const key = new TextEncoder().encode(`k${b(9) % HOT_KEYS}`);
  const seq = Math.floor(new DataView(payload.buffer, payload.byteOffset, Math.min(8, payload.byteLength)).getFloat64(0));
  const ops: Command[] = [
    { op: "put", key, value: payload },
    { op: "insert", key, value: payload },
    { op: "cas", key, expected: revisionOf(b(11) % 64, 0), value: payload },
    { op: "delete", key },
  ];
  return encodeRequest({ client: 1 + (b(8) % CLIENTS), seq: Math.max(1, seq), command: ops[b(10) % ops.length] as Command });
}

function stateDigest(store: MemoryKvStore): string {
  const h = createHash("sha256");
  for (const r of store.rows()) h.update(JSON.stringify(r, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString("hex") : v)));
  return h.digest("hex");
}

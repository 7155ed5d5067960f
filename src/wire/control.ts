/**
 * Layouts of the control messages: 1a, 1b, nack, catchup, catchup-reply, hello, ring, decided-value,
 * heartbeats, applied, slow-down, lagging, subscribe, delivered, state-ask, state.
 *
 * These are hand-written too rather than CBOR: 1b and catchup-reply carry whole batches, which
 * then reuse the hot-path batch layout (and its zero-copy payloads and bounds), and a fixed
 * layout leaves nothing to validate but the fields themselves. (Field layouts: see fields.ts.)
 *
 * | type          | body                                                                          |
 * |---------------|-------------------------------------------------------------------------------|
 * | 1a            | u53 rnd, u53 from                                                             |
 * | 1b            | u53 rnd, u53 from, u8 acceptor (0/1), u32 count (<= MAX_LIST),                |
 * |               |   count x (u53 instance, u53 vrnd, u8 decided (0/1), batch), u53 trimmed      |
 * | nack          | u53 rnd, u53 promised                                                         |
 * | catchup       | u53 from, u32 count                                                           |
 * | catchup-reply | u53 rnd, entries, decisions, votes (entries: u32 count, count x (u53          |
 * |               |   instance, batch)), u53 floor                                                |
 * | hello         | (empty)                                                                       |
 * | ring          | u53 rnd, ring                                                                 |
 * | decided-value | u32 client, u53 seq, u53 instance                                             |
 * | heartbeat     | u53 rnd, u53 seq                                                              |
 * | heartbeat-ack | u53 rnd, u53 seq                                                              |
 * | applied       | u53 upTo                                                                      |
 * | slow-down     | u32 backlog, u32 hops                                                         |
 * | lagging       | u53 at, u32 slots, u32 hops                                                   |
 * | read-index    | u32 id                                                                        |
 * | read-index-reply | u32 id, u8 has (0/1), u53 index (0 when has is 0)                         |
 * | subscribe     | u32 client, u32 count (<= MAX_LIST), count x u53 seq                          |
 * | delivered     | u32 client, u32 count (<= MAX_LIST), count x (u53 seq, u53 instance),         |
 * |               |   u32 count (<= MAX_LIST), count x u53 unplaced seq                             |
 * | state-ask     | (empty)                                                                       |
 * | state         | u53 next, u8 exact (0/1), u32 count (<= MAX_LIST), count x (u32 client,       |
 * |               |   u53 low + 1, u32 count (<= MAX_LIST), count x u53 seq)                       |
 *
 * Optional instance fields (1b trimmed, catchup-reply floor) travel as 0 when absent.
 */
import type { CatchupEntry, ClientFilter, VoteReport } from "../core/types.ts";
import type { BodyCodec, MsgOf } from "./body.ts";
import { checkBool, checkList, checkU32, checkU53 } from "./check.ts";
import { DecodeError, EncodeError } from "./errors.ts";
import {
  MIN_BATCH_BYTES,
  measureBatch,
  measureDecisions,
  measureNodes,
  readBatch,
  readDecisions,
  readNodes,
  writeBatch,
  writeDecisions,
  writeNodes,
} from "./fields.ts";
import type { Reader } from "./reader.ts";
import type { Writer } from "./writer.ts";
import { MAX_LIST } from "./limits.ts";

export const phase1aCodec: BodyCodec<MsgOf<"1a">> = {
  measure: (m) => checkU53(m.rnd, "1a.rnd") + checkU53(m.from, "1a.from"),
  write(w, m) {
    w.u53(m.rnd);
    w.u53(m.from);
  },
  read(r) {
    const rnd = r.u53("1a.rnd");
    return { t: "1a", rnd, from: r.u53("1a.from") };
  },
};

const MIN_VOTE_BYTES = 8 + 8 + 1 + MIN_BATCH_BYTES;

export const phase1bCodec: BodyCodec<MsgOf<"1b">> = {
  measure(m) {
    if (!Array.isArray(m.votes)) throw new EncodeError("1b.votes: not an array");
    checkList(m.votes.length, MAX_LIST, "1b.votes");
    let size = checkU53(m.rnd, "1b.rnd") + checkU53(m.from, "1b.from") + checkBool(m.acceptor, "1b.acceptor") + 4 + checkU53(m.trimmed ?? 0, "1b.trimmed");
    for (const v of m.votes)
      size +=
        checkU53(v.instance, "1b.vote.instance") +
        checkU53(v.vrnd, "1b.vote.vrnd") +
        checkBool(v.decided, "1b.vote.decided") +
        measureBatch(v.batch, "1b.vote.batch");
    return size;
  },
  write(w, m) {
    w.u53(m.rnd);
    w.u53(m.from);
    w.bool(m.acceptor);
    w.u32(m.votes.length);
    for (const v of m.votes) {
      w.u53(v.instance);
      w.u53(v.vrnd);
      w.bool(v.decided);
      writeBatch(w, v.batch);
    }
    w.u53(m.trimmed ?? 0);
  },
  read(r) {
    const rnd = r.u53("1b.rnd");
    const from = r.u53("1b.from");
    const acceptor = r.bool("1b.acceptor");
    const n = r.count(MAX_LIST, MIN_VOTE_BYTES, "1b.votes");
    const votes: VoteReport[] = [];
    for (let i = 0; i < n; i++) {
      const instance = r.u53("1b.vote.instance");
      const vrnd = r.u53("1b.vote.vrnd");
      const decided = r.bool("1b.vote.decided");
      votes.push({ instance, vrnd, batch: readBatch(r, "1b.vote.batch"), decided });
    }
    const trimmed = r.u53("1b.trimmed");
    return { t: "1b", rnd, from, acceptor, votes, ...(trimmed > 0 ? { trimmed } : {}) };
  },
};

export const nackCodec: BodyCodec<MsgOf<"nack">> = {
  measure: (m) => checkU53(m.rnd, "nack.rnd") + checkU53(m.promised, "nack.promised"),
  write(w, m) {
    w.u53(m.rnd);
    w.u53(m.promised);
  },
  read(r) {
    const rnd = r.u53("nack.rnd");
    return { t: "nack", rnd, promised: r.u53("nack.promised") };
  },
};

export const catchupCodec: BodyCodec<MsgOf<"catchup">> = {
  measure: (m) => checkU53(m.from, "catchup.from") + checkU32(m.count, "catchup.count"),
  write(w, m) {
    w.u53(m.from);
    w.u32(m.count);
  },
  read(r) {
    const from = r.u53("catchup.from");
    return { t: "catchup", from, count: r.u32("catchup.count") };
  },
};

const MIN_ENTRY_BYTES = 8 + MIN_BATCH_BYTES;

/** Catch-up entries: u32 count, then (instance u53, batch) each. `what` names them in errors. */
function measureEntries(es: readonly CatchupEntry[], what: string): number {
  const list = what === "catchup-reply" ? `${what}.entries` : what;
  if (!Array.isArray(es)) throw new EncodeError(`${list}: not an array`);
  checkList(es.length, MAX_LIST, list);
  let size = 4;
  for (const e of es) size += checkU53(e.instance, `${what}.instance`) + measureBatch(e.batch, `${what}.batch`);
  return size;
}

function writeEntries(w: Writer, es: readonly CatchupEntry[]): void {
  w.u32(es.length);
  for (const e of es) {
    w.u53(e.instance);
    writeBatch(w, e.batch);
  }
}

function readEntries(r: Reader, what: string): CatchupEntry[] {
  const n = r.count(MAX_LIST, MIN_ENTRY_BYTES, what === "catchup-reply" ? `${what}.entries` : what);
  const entries: CatchupEntry[] = [];
  for (let i = 0; i < n; i++) {
    const instance = r.u53(`${what}.instance`);
    entries.push({ instance, batch: readBatch(r, `${what}.batch`) });
  }
  return entries;
}

export const catchupReplyCodec: BodyCodec<MsgOf<"catchup-reply">> = {
  measure(m) {
    if (!Array.isArray(m.entries)) throw new EncodeError("catchup-reply.entries: not an array");
    checkList(m.entries.length, MAX_LIST, "catchup-reply.entries");
    return (
      checkU53(m.rnd, "catchup-reply.rnd") +
      measureEntries(m.entries, "catchup-reply") +
      measureDecisions(m.decisions ?? [], "catchup-reply.decisions") +
      measureEntries(m.votes ?? [], "catchup-reply.votes") +
      checkU53(m.floor ?? 0, "catchup-reply.floor")
    );
  },
  write(w, m) {
    w.u53(m.rnd);
    writeEntries(w, m.entries);
    writeDecisions(w, m.decisions ?? []);
    writeEntries(w, m.votes ?? []);
    w.u53(m.floor ?? 0);
  },
  read(r) {
    const rnd = r.u53("catchup-reply.rnd");
    const entries = readEntries(r, "catchup-reply");
    const decisions = readDecisions(r, "catchup-reply.decisions");
    const votes = readEntries(r, "catchup-reply.votes");
    const floor = r.u53("catchup-reply.floor");
    // Empty lists (and a 0 floor) are left out, as the cores write them.
    return {
      t: "catchup-reply",
      rnd,
      entries,
      ...(decisions.length > 0 ? { decisions } : {}),
      ...(votes.length > 0 ? { votes } : {}),
      ...(floor > 0 ? { floor } : {}),
    };
  },
};

export const decidedValueCodec: BodyCodec<MsgOf<"decided-value">> = {
  measure: (m) =>
    checkU32(m.client, "decided-value.client") + checkU53(m.seq, "decided-value.seq") + checkU53(m.instance, "decided-value.instance"),
  write(w, m) {
    w.u32(m.client);
    w.u53(m.seq);
    w.u53(m.instance);
  },
  read(r) {
    const client = r.u32("decided-value.client");
    const seq = r.u53("decided-value.seq");
    return { t: "decided-value", client, seq, instance: r.u53("decided-value.instance") };
  },
};

export const helloCodec: BodyCodec<MsgOf<"hello">> = {
  measure: () => 0,
  write: () => {},
  read: () => ({ t: "hello" }),
};

export const ringCodec: BodyCodec<MsgOf<"ring">> = {
  measure: (m) => checkU53(m.rnd, "ring.rnd") + measureNodes(m.ring, "ring.ring"),
  write(w, m) {
    w.u53(m.rnd);
    writeNodes(w, m.ring);
  },
  read(r) {
    const rnd = r.u53("ring.rnd");
    return { t: "ring", rnd, ring: readNodes(r, "ring.ring") };
  },
};

type RoundSeq = { readonly rnd: number; readonly seq: number };

const measureRoundSeq = (m: RoundSeq, what: string): number => checkU53(m.rnd, `${what}.rnd`) + checkU53(m.seq, `${what}.seq`);

function writeRoundSeq(w: Writer, m: RoundSeq): void {
  w.u53(m.rnd);
  w.u53(m.seq);
}

function readRoundSeq(r: Reader, what: string): RoundSeq {
  const rnd = r.u53(`${what}.rnd`);
  return { rnd, seq: r.u53(`${what}.seq`) };
}

export const heartbeatCodec: BodyCodec<MsgOf<"heartbeat">> = {
  measure: (m) => measureRoundSeq(m, "heartbeat"),
  write: writeRoundSeq,
  read: (r) => ({ t: "heartbeat", ...readRoundSeq(r, "heartbeat") }),
};

export const heartbeatAckCodec: BodyCodec<MsgOf<"heartbeat-ack">> = {
  measure: (m) => measureRoundSeq(m, "heartbeat-ack"),
  write: writeRoundSeq,
  read: (r) => ({ t: "heartbeat-ack", ...readRoundSeq(r, "heartbeat-ack") }),
};

export const appliedCodec: BodyCodec<MsgOf<"applied">> = {
  measure: (m) => checkU53(m.upTo, "applied.upTo"),
  write: (w, m) => w.u53(m.upTo),
  read: (r) => ({ t: "applied", upTo: r.u53("applied.upTo") }),
};

export const slowDownCodec: BodyCodec<MsgOf<"slow-down">> = {
  measure: (m) => checkU32(m.backlog, "slow-down.backlog") + checkU32(m.hops, "slow-down.hops"),
  write(w, m) {
    w.u32(m.backlog);
    w.u32(m.hops);
  },
  read(r) {
    const backlog = r.u32("slow-down.backlog");
    return { t: "slow-down", backlog, hops: r.u32("slow-down.hops") };
  },
};

export const laggingCodec: BodyCodec<MsgOf<"lagging">> = {
  measure: (m) => checkU53(m.at, "lagging.at") + checkU32(m.slots, "lagging.slots") + checkU32(m.hops, "lagging.hops"),
  write(w, m) {
    w.u53(m.at);
    w.u32(m.slots);
    w.u32(m.hops);
  },
  read(r) {
    const at = r.u53("lagging.at");
    const slots = r.u32("lagging.slots");
    return { t: "lagging", at, slots, hops: r.u32("lagging.hops") };
  },
};

export const readIndexCodec: BodyCodec<MsgOf<"read-index">> = {
  measure: (m) => checkU32(m.id, "read-index.id"),
  write(w, m) {
    w.u32(m.id);
  },
  read(r) {
    return { t: "read-index", id: r.u32("read-index.id") };
  },
};

export const readIndexReplyCodec: BodyCodec<MsgOf<"read-index-reply">> = {
  measure: (m) => checkU32(m.id, "read-index-reply.id") + checkBool(m.index !== null, "read-index-reply.has") + checkU53(m.index ?? 0, "read-index-reply.index"),
  write(w, m) {
    w.u32(m.id);
    w.bool(m.index !== null);
    w.u53(m.index ?? 0);
  },
  read(r) {
    const id = r.u32("read-index-reply.id");
    const has = r.bool("read-index-reply.has");
    const index = r.u53("read-index-reply.index");
    // One encoding per message: without an index the field is 0.
    if (!has && index !== 0) throw new DecodeError("body", `read-index-reply.index: ${index} without an index (has = 0)`);
    return { t: "read-index-reply", id, index: has ? index : null };
  },
};

function measureSeqs(seqs: readonly number[], what: string): number {
  if (!Array.isArray(seqs)) throw new EncodeError(`${what}: not an array`);
  checkList(seqs.length, MAX_LIST, what);
  let size = 4;
  for (const q of seqs) size += checkU53(q, what);
  return size;
}

function writeSeqs(w: Writer, seqs: readonly number[]): void {
  w.u32(seqs.length);
  for (const q of seqs) w.u53(q);
}

function readSeqs(r: Reader, what: string): number[] {
  const n = r.count(MAX_LIST, 8, what);
  const seqs: number[] = [];
  for (let i = 0; i < n; i++) seqs.push(r.u53(what));
  return seqs;
}

export const subscribeCodec: BodyCodec<MsgOf<"subscribe">> = {
  measure: (m) => checkU32(m.client, "subscribe.client") + measureSeqs(m.seqs, "subscribe.seqs"),
  write(w, m) {
    w.u32(m.client);
    writeSeqs(w, m.seqs);
  },
  read(r) {
    const client = r.u32("subscribe.client");
    return { t: "subscribe", client, seqs: readSeqs(r, "subscribe.seqs") };
  },
};

export const deliveredCodec: BodyCodec<MsgOf<"delivered">> = {
  measure(m) {
    if (!Array.isArray(m.seqs) || !Array.isArray(m.instances)) throw new EncodeError("delivered.seqs, .instances: not arrays");
    if (m.seqs.length !== m.instances.length) throw new EncodeError(`delivered: ${m.seqs.length} seqs but ${m.instances.length} instances`);
    checkList(m.seqs.length, MAX_LIST, "delivered.seqs");
    let size = checkU32(m.client, "delivered.client") + 4 + measureSeqs(m.unplaced, "delivered.unplaced");
    for (let k = 0; k < m.seqs.length; k++) size += checkU53(m.seqs[k] as number, "delivered.seq") + checkU53(m.instances[k] as number, "delivered.instance");
    return size;
  },
  write(w, m) {
    w.u32(m.client);
    w.u32(m.seqs.length);
    for (let k = 0; k < m.seqs.length; k++) {
      w.u53(m.seqs[k] as number);
      w.u53(m.instances[k] as number);
    }
    writeSeqs(w, m.unplaced);
  },
  read(r) {
    const client = r.u32("delivered.client");
    const n = r.count(MAX_LIST, 16, "delivered.seqs");
    const seqs: number[] = [];
    const instances: number[] = [];
    for (let i = 0; i < n; i++) {
      seqs.push(r.u53("delivered.seq"));
      instances.push(r.u53("delivered.instance"));
    }
    return { t: "delivered", client, seqs, instances, unplaced: readSeqs(r, "delivered.unplaced") };
  },
};

export const stateAskCodec: BodyCodec<MsgOf<"state-ask">> = {
  measure: () => 0,
  write: () => {},
  read: () => ({ t: "state-ask" }),
};

export const stateCodec: BodyCodec<MsgOf<"state">> = {
  measure(m) {
    if (!Array.isArray(m.clients)) throw new EncodeError("state.clients: not an array");
    checkList(m.clients.length, MAX_LIST, "state.clients");
    let size = checkU53(m.next, "state.next") + checkBool(m.exact, "state.exact") + 4;
    for (const c of m.clients) size += checkU32(c.client, "state.client") + checkU53(c.low + 1, "state.low") + measureSeqs(c.above, "state.above");
    return size;
  },
  write(w, m) {
    w.u53(m.next);
    w.bool(m.exact);
    w.u32(m.clients.length);
    for (const c of m.clients) {
      w.u32(c.client);
      w.u53(c.low + 1);
      writeSeqs(w, c.above);
    }
  },
  read(r) {
    const next = r.u53("state.next");
    const exact = r.bool("state.exact");
    const n = r.count(MAX_LIST, 16, "state.clients");
    const clients: ClientFilter[] = [];
    for (let i = 0; i < n; i++) {
      const client = r.u32("state.client");
      const low = r.u53("state.low") - 1;
      clients.push({ client, low, above: readSeqs(r, "state.above") });
    }
    return { t: "state", next, exact, clients };
  },
};

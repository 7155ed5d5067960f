/**
 * Hand-written layouts of the hot-path messages: value, 2a, 2b, 2ab, decision, udecision.
 * (Field layouts: see fields.ts; u53 = safe integer >= 0 as two big-endian u32 words.)
 *
 * | type      | body                                                                     |
 * |-----------|--------------------------------------------------------------------------|
 * | value     | u32 hops, u8 has-origin (0/1), [u16 origin], u32 client, u53 seq,         |
 * |           |   u32 length, payload                                                     |
 * | 2a        | u53 rnd, u53 instance, ring, decision ids, batch                          |
 * | 2b        | u53 rnd, u53 instance, vid, ring, voters                                  |
 * | decision  | decision ids                                                              |
 * | 2ab       | u53 rnd, u53 instance, ring, voters, batch                                |
 * | udecision | u53 rnd, u53 instance, vid, ring, u8 has-batch (0/1), [batch]             |
 */
import { checkNodeId, checkU32, checkU53, checkVid } from "./check.ts";
import { EncodeError } from "./errors.ts";
import {
  measureBatch,
  measureDecisions,
  measureNodes,
  measureValue,
  readBatch,
  readDecisions,
  readNodes,
  readValue,
  writeBatch,
  writeDecisions,
  writeNodes,
  writeValue,
} from "./fields.ts";
import type { BodyCodec, MsgOf } from "./body.ts";

export const valueCodec: BodyCodec<MsgOf<"value">> = {
  measure: (m) =>
    checkU32(m.hops, "value.hops") +
    1 +
    (m.origin === undefined ? 0 : checkNodeId(m.origin, "value.origin")) +
    measureValue(m.v, "value.v"),
  write(w, m) {
    w.u32(m.hops);
    w.bool(m.origin !== undefined);
    if (m.origin !== undefined) w.u16(m.origin);
    writeValue(w, m.v);
  },
  read(r) {
    const hops = r.u32("value.hops");
    const origin = r.bool("value.has-origin") ? r.u16("value.origin") : undefined;
    const v = readValue(r, "value.v");
    // exactOptionalPropertyTypes: no `origin` key at all when there is none.
    return origin === undefined ? { t: "value", v, hops } : { t: "value", v, hops, origin };
  },
};

export const phase2aCodec: BodyCodec<MsgOf<"2a">> = {
  measure: (m) =>
    checkU53(m.rnd, "2a.rnd") +
    checkU53(m.instance, "2a.instance") +
    measureNodes(m.ring, "2a.ring") +
    measureDecisions(m.decisions, "2a.decisions") +
    measureBatch(m.batch, "2a.batch"),
  write(w, m) {
    w.u53(m.rnd);
    w.u53(m.instance);
    writeNodes(w, m.ring);
    writeDecisions(w, m.decisions);
    writeBatch(w, m.batch);
  },
  read(r) {
    const rnd = r.u53("2a.rnd");
    const instance = r.u53("2a.instance");
    const ring = readNodes(r, "2a.ring");
    const decisions = readDecisions(r, "2a.decisions");
    return { t: "2a", rnd, instance, batch: readBatch(r, "2a.batch"), ring, decisions };
  },
};

export const phase2bCodec: BodyCodec<MsgOf<"2b">> = {
  measure: (m) =>
    checkU53(m.rnd, "2b.rnd") +
    checkU53(m.instance, "2b.instance") +
    checkVid(m.vid, "2b.vid") +
    measureNodes(m.ring, "2b.ring") +
    measureNodes(m.voters, "2b.voters"),
  write(w, m) {
    w.u53(m.rnd);
    w.u53(m.instance);
    w.vid(m.vid);
    writeNodes(w, m.ring);
    writeNodes(w, m.voters);
  },
  read(r) {
    const rnd = r.u53("2b.rnd");
    const instance = r.u53("2b.instance");
    const vid = r.vid("2b.vid");
    const ring = readNodes(r, "2b.ring");
    return { t: "2b", rnd, instance, vid, ring, voters: readNodes(r, "2b.voters") };
  },
};

export const decisionCodec: BodyCodec<MsgOf<"decision">> = {
  measure: (m) => measureDecisions(m.decisions, "decision.decisions"),
  write: (w, m) => writeDecisions(w, m.decisions),
  read: (r) => ({ t: "decision", decisions: readDecisions(r, "decision.decisions") }),
};

export const phase2abCodec: BodyCodec<MsgOf<"2ab">> = {
  measure: (m) =>
    checkU53(m.rnd, "2ab.rnd") +
    checkU53(m.instance, "2ab.instance") +
    measureNodes(m.ring, "2ab.ring") +
    measureNodes(m.voters, "2ab.voters") +
    measureBatch(m.batch, "2ab.batch"),
  write(w, m) {
    w.u53(m.rnd);
    w.u53(m.instance);
    writeNodes(w, m.ring);
    writeNodes(w, m.voters);
    writeBatch(w, m.batch);
  },
  read(r) {
    const rnd = r.u53("2ab.rnd");
    const instance = r.u53("2ab.instance");
    const ring = readNodes(r, "2ab.ring");
    const voters = readNodes(r, "2ab.voters");
    return { t: "2ab", rnd, instance, batch: readBatch(r, "2ab.batch"), ring, voters };
  },
};

export const udecisionCodec: BodyCodec<MsgOf<"udecision">> = {
  measure(m) {
    if (m.batch !== null && typeof m.batch !== "object") throw new EncodeError("udecision.batch: neither a batch nor null");
    return (
      checkU53(m.rnd, "udecision.rnd") +
      checkU53(m.instance, "udecision.instance") +
      checkVid(m.vid, "udecision.vid") +
      measureNodes(m.ring, "udecision.ring") +
      1 +
      (m.batch === null ? 0 : measureBatch(m.batch, "udecision.batch"))
    );
  },
  write(w, m) {
    w.u53(m.rnd);
    w.u53(m.instance);
    w.vid(m.vid);
    writeNodes(w, m.ring);
    w.bool(m.batch !== null);
    if (m.batch !== null) writeBatch(w, m.batch);
  },
  read(r) {
    const rnd = r.u53("udecision.rnd");
    const instance = r.u53("udecision.instance");
    const vid = r.vid("udecision.vid");
    const ring = readNodes(r, "udecision.ring");
    const batch = r.bool("udecision.has-batch") ? readBatch(r, "udecision.batch") : null;
    return { t: "udecision", instance, vid, batch, ring, rnd };
  },
};

import { MAX_INSTANCE, MAX_ROUND } from "./round.ts";
import type { Msg } from "./types.ts";
import { MAX_SKIP_SLOTS } from "./coordinator/skip-pacer.ts";

/** Rounds and instances within the bounds a correct process can reach (see round.ts). */
export function plausible(m: Msg): boolean {
  const inst = (i: number) => i <= MAX_INSTANCE;
  switch (m.t) {
    case "1a":
      return m.rnd <= MAX_ROUND && inst(m.from);
    case "1b":
      return m.rnd <= MAX_ROUND && inst(m.from) && inst(m.trimmed ?? 0) && m.votes.every((v) => inst(v.instance) && v.vrnd <= MAX_ROUND);
    case "applied":
      return inst(m.upTo);
    case "slow-down":
      return true;
    case "lagging":
      return inst(m.at) && m.slots >= 1 && m.slots <= MAX_SKIP_SLOTS;
    case "read-index":
      return true;
    case "read-index-reply":
      return m.index === null || inst(m.index);
    case "nack":
      return m.rnd <= MAX_ROUND && m.promised <= MAX_ROUND;
    case "2a":
      return m.rnd <= MAX_ROUND && inst(m.instance) && m.decisions.every((d) => inst(d.instance));
    case "2b":
    case "2ab":
      return m.rnd <= MAX_ROUND && inst(m.instance);
    case "udecision":
      return m.rnd <= MAX_ROUND && inst(m.instance);
    case "decision":
      return m.decisions.every((d) => inst(d.instance));
    case "catchup":
      return inst(m.from);
    case "catchup-reply":
      return m.rnd <= MAX_ROUND && inst(m.floor ?? 0) && m.entries.every((e) => inst(e.instance)) && (m.votes ?? []).every((e) => inst(e.instance)) && (m.decisions ?? []).every((d) => inst(d.instance));
    case "ring":
    case "heartbeat":
    case "heartbeat-ack":
      return m.rnd <= MAX_ROUND;
    case "decided-value":
      return inst(m.instance);
    case "delivered":
      return m.seqs.length === m.instances.length && m.instances.every(inst);
    case "state":
      return inst(m.next);
    case "subscribe":
    case "value":
    case "hello":
    case "state-ask":
      return true;
  }
}

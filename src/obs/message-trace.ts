import type { Msg } from "../core/types.ts";

/*
 * Here, not in the simulator, because production uses it too: a node's PAXOS_TRACE lines (the
 * socket network) and the simulator's failure traces print messages the same way.
 */

/** One line per message, with the fields that matter when reading a failure. */
export function formatTrace(m: Msg): string {
  switch (m.t) {
    case "value":
      return `value c=${m.v.client} s=${m.v.seq} hops=${m.hops}${m.origin === undefined ? "" : ` origin=${m.origin}`}`;
    case "1a":
      return `1a r=${m.rnd} from=${m.from}`;
    case "1b":
      return `1b r=${m.rnd} votes=[${m.votes.map((v) => `${v.instance}:${v.batch.vid}@${v.vrnd}${v.decided ? "!" : ""}`).join(" ")}]${m.trimmed ? ` trimmed=${m.trimmed}` : ""}`;
    case "nack":
      return `nack r=${m.rnd} promised=${m.promised}`;
    case "2a":
      return `2a r=${m.rnd} i=${m.instance} vid=${m.batch.vid} n=${m.batch.values.length} ring=[${m.ring}] dec=[${m.decisions.map((d) => `${d.instance}:${d.vid}`).join(" ")}]`;
    case "2b":
      return `2b r=${m.rnd} i=${m.instance} vid=${m.vid} ring=[${m.ring}] voters=[${m.voters}]`;
    case "decision":
      return `decision [${m.decisions.map((d) => `${d.instance}:${d.vid}`).join(" ")}]`;
    case "2ab":
      return `2ab r=${m.rnd} i=${m.instance} vid=${m.batch.vid} ring=[${m.ring}] voters=[${m.voters}]`;
    case "udecision":
      return `udecision i=${m.instance} vid=${m.vid} ${m.batch ? "+batch" : "id-only"} ring=[${m.ring}]`;
    case "catchup":
      return `catchup from=${m.from} count=${m.count}`;
    case "catchup-reply":
      return (
        `catchup-reply r=${m.rnd} [${m.entries.map((e) => `${e.instance}:${e.batch.vid}`).join(" ")}]` +
        (m.decisions ? ` decisions=[${m.decisions.map((d) => `${d.instance}:${d.vid}`).join(" ")}]` : "") +
        (m.votes ? ` votes=[${m.votes.map((e) => `${e.instance}:${e.batch.vid}`).join(" ")}]` : "") +
        (m.floor ? ` floor=${m.floor}` : "")
      );
    case "hello":
      return "hello";
    case "decided-value":
      return `decided-value c=${m.client} s=${m.seq} i=${m.instance}`;
    case "ring":
      return `ring r=${m.rnd} [${m.ring}]`;
    case "heartbeat":
    case "heartbeat-ack":
      return `${m.t} r=${m.rnd} seq=${m.seq}`;
    case "applied":
      return `applied upTo=${m.upTo}`;
    case "slow-down":
      return `slow-down backlog=${m.backlog} hops=${m.hops}`;
    case "lagging":
      return `lagging at=${m.at} slots=${m.slots} hops=${m.hops}`;
    case "read-index":
      return `read-index id=${m.id}`;
    case "read-index-reply":
      return `read-index-reply id=${m.id} index=${m.index ?? "none"}`;
    case "subscribe":
      return `subscribe c=${m.client} seqs=[${m.seqs}]`;
    case "delivered":
      return `delivered c=${m.client} [${m.seqs.map((q, k) => `${q}@${m.instances[k]}`).join(" ")}]${m.unplaced.length > 0 ? ` unplaced=[${m.unplaced}]` : ""}`;
    case "state-ask":
      return "state-ask";
    case "state":
      return `state next=${m.next} exact=${m.exact} clients=${m.clients.length}`;
  }
}

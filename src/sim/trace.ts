import type { Msg, NodeId } from "../core/types.ts";

type Entry = { readonly time: number; readonly node: NodeId; readonly from: NodeId; readonly msg: Msg | null; readonly note: string };

/** The last `size` events of a run, kept cheaply and formatted only when a seed fails. */
export class TraceBuffer {
  private readonly buf: Entry[] = [];
  private head = 0;

  constructor(private readonly size: number) {}

  push(time: number, node: NodeId, from: NodeId, msg: Msg): void {
    this.add({ time, node, from, msg, note: "" });
  }

  note(time: number, node: NodeId, note: string): void {
    this.add({ time, node, from: -1, msg: null, note });
  }

  private add(e: Entry): void {
    if (this.buf.length < this.size) this.buf.push(e);
    else {
      this.buf[this.head] = e;
      this.head = (this.head + 1) % this.size;
    }
  }

  lines(): string[] {
    const ordered = [...this.buf.slice(this.head), ...this.buf.slice(0, this.head)];
    return ordered.map((e) => {
      const t = `t=${(e.time / 1000).toFixed(3)}ms`;
      const who = e.node < 0 ? "sim" : `n${e.node}`;
      return e.msg ? `${t} ${who} <- n${e.from} ${formatTrace(e.msg)}` : `${t} ${who} ${e.note}`;
    });
  }
}

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

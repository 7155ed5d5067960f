import type { Msg, NodeId } from "../core/types.ts";
import { formatTrace } from "../obs/message-trace.ts";

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

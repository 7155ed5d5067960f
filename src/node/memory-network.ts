import type { Msg, NodeId } from "../core/types.ts";
import type { Network } from "./runtime.ts";

/**
 * An in-process network joining several runtimes (tests and single-process demos): unicast and
 * multicast are delivered on a later turn of the event loop, optionally losing a fraction.
 */
export class MemoryHub {
  private readonly handlers = new Map<NodeId, (from: NodeId, msg: Msg) => void>();
  /** Nodes that receive multicasts. */
  readonly group = new Set<NodeId>();
  delivered = 0;

  constructor(private readonly lose: (from: NodeId, to: NodeId, msg: Msg) => boolean = () => false) {}

  network(id: NodeId, inGroup: boolean): Network {
    if (inGroup) this.group.add(id);
    return {
      send: (to, msg) => this.post(id, to, msg),
      multicast: (msg) => {
        for (const to of this.group) if (to !== id) this.post(id, to, msg);
      },
      onMessage: (h) => void this.handlers.set(id, h),
      close: async () => {
        this.handlers.delete(id);
        this.group.delete(id);
      },
    };
  }

  private post(from: NodeId, to: NodeId, msg: Msg): void {
    if (this.lose(from, to, msg)) return;
    setTimeout(() => {
      const h = this.handlers.get(to);
      if (!h) return;
      this.delivered++;
      h(from, msg);
    }, 0);
  }
}

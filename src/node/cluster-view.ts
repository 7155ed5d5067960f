import { roundOwner } from "../core/round.ts";
import type { Msg, NodeId } from "../core/types.ts";
import type { Network } from "./runtime.ts";

/**
 * What this process has seen of the cluster's leadership, from the messages it receives: the
 * highest round carried by Phase 2 traffic, decisions, rings and heartbeats (its owner leads), the
 * ring of that round, and when the leader was last heard of. The cores keep the same knowledge
 * for routing but do not expose it for every role; this observer serves /status, /ready and the
 * HTML page without touching them.
 */
export class ClusterView {
  private round = -1;
  private ringOfRound: readonly NodeId[] | null = null;
  private heardAt = -Infinity;

  constructor(
    private readonly maxNodes: number,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /** Updates the view from one received message (cheap: most messages carry no round). */
  see(msg: Msg): void {
    switch (msg.t) {
      case "2a":
      case "2b":
      case "2ab":
      case "udecision":
      case "ring":
        this.hear(msg.rnd, msg.ring);
        return;
      case "heartbeat":
        this.hear(msg.rnd, null);
        return;
      default:
        return;
    }
  }

  private hear(rnd: number, ring: readonly NodeId[] | null): void {
    if (rnd < this.round) return;
    if (rnd > this.round) this.ringOfRound = null;
    this.round = rnd;
    if (ring !== null) this.ringOfRound = ring;
    this.heardAt = this.clock();
  }

  /** The owner of the highest round seen, or null before any. */
  get leader(): NodeId | null {
    return this.round < 0 ? null : roundOwner(this.round, this.maxNodes);
  }

  /** The ring of that round, once a message carrying it arrived. */
  get ring(): readonly NodeId[] | null {
    return this.ringOfRound;
  }

  /** Milliseconds since the leader's round was last heard of (Infinity: never). */
  silenceMs(): number {
    return this.clock() - this.heardAt;
  }

  /** `network`, reporting every message it delivers to this view first. */
  observe(network: Network): Network {
    return {
      send: (to, msg) => network.send(to, msg),
      multicast: (msg) => network.multicast(msg),
      onMessage: (handler) =>
        network.onMessage((from, msg) => {
          this.see(msg);
          handler(from, msg);
        }),
      leading: (active) => network.leading?.(active),
      close: () => network.close(),
    };
  }
}

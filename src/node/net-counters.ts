/**
 * The socket network's counters, by name, shared by its parts (transport, codec gate, group
 * membership) so that /status and /metrics see them as one set. Keys are a fixed handful plus one
 * per drop reason the wire codec knows, so the record stays small.
 */
export class NetCounters {
  /** Present from the start (zero), so /metrics shows them before the first packet. */
  readonly values: Record<string, number> = {
    tcp_frames_in: 0,
    tcp_frames_out: 0,
    tcp_frames_dropped_queue_full: 0,
    udp_datagrams_in: 0,
    udp_datagrams_out: 0,
    udp_datagrams_refused: 0,
  };

  count(key: string): void {
    this.values[key] = (this.values[key] ?? 0) + 1;
  }

  /** Something dropped for `reason` (a DecodeReason, or e.g. "no-such-peer"): counted as `dropCounter(reason)`. */
  drop(reason: string): void {
    this.count(dropCounter(reason));
  }

  set(key: string, value: number): void {
    this.values[key] = value;
  }
}

/** The counter a drop `reason` is counted under: dropped_<reason>, punctuation as underscores. */
export function dropCounter(reason: string): string {
  return `dropped_${reason.replace(/[^a-z0-9]+/g, "_")}`;
}

/** A receiver that failed to reopen (after this process stood down as coordinator) is retried this often. */
export const RECEIVER_RETRY_MS = 1000;

/** The socket that receives the group; closing it is how this process leaves (see below). */
export interface GroupReceiver {
  close(): Promise<void>;
}

/** Counted by the membership (the names /status and /metrics have always shown). */
export type MembershipEvent = "udp_receiver_closed" | "udp_receiver_reopened" | "udp_receiver_reopen_failed";

export interface MembershipOptions<R extends GroupReceiver> {
  /** Opens a receiver that has joined the group (to join again after leading). */
  readonly open: () => Promise<R>;
  /**
   * Whether this process sends from a socket of its own (it may coordinate): only then can it
   * leave the group while it leads, since its receiver is not also its sender.
   */
  readonly separateSender: boolean;
  readonly count: (event: MembershipEvent) => void;
  /** Delay before a failed reopening is tried again (default RECEIVER_RETRY_MS). */
  readonly retryMs?: number;
}

/**
 * Whether this process receives one M-Ring ring's group, decided from one plain input: whether its
 * coordinator of that ring leads (the caller, NodeRuntime through Network.leading, decides when
 * that changes). One instance per ring whose group the process uses (SocketTransport): leading
 * one ring leaves that ring's group only.
 *
 * The rule: a leader with a sender of its own leaves the group, and joins again when it stands
 * down. Only a coordinator multicasts, so a leader would receive nothing but its own datagrams
 * (the runtime hands itself those): one receiver in five on a loopback cluster, the host's own
 * copy of every value on a real network. Leaving means closing the receiver, not just dropping
 * the membership: on Linux a socket bound to the group's address and port goes on receiving while
 * any other socket on the host is a member (IP_MULTICAST_ALL; checked). What a stood-down leader
 * misses before it hears of the new round is ordinary loss, which retransmission covers.
 *
 * Changes run one at a time, each doing what the latest input asks, so quick flips settle on the
 * last one (and at most one waits: see `waiting`); a reopening that fails is retried every
 * `retryMs` while still wanted.
 */
export class MulticastMembership<R extends GroupReceiver> {
  private current: R | null;
  private leading = false;
  private closed = false;
  /** The change in progress (or the last one): changes are chained, never concurrent. */
  private switching: Promise<void> = Promise.resolve();
  /**
   * A change waits behind the running one. Bound: one waiting at most, since it does what the
   * latest input asks when its turn comes; the chain never grows with the inputs.
   */
  private waiting = false;
  private retry: ReturnType<typeof setTimeout> | null = null;

  /** `joined`: the receiver opened at start-up (whose failure stops the start, not this class). */
  constructor(
    joined: R,
    private readonly o: MembershipOptions<R>,
  ) {
    this.current = joined;
  }

  /** The receiver now, or null while this process is out of the group. */
  get receiver(): R | null {
    return this.current;
  }

  get receiving(): boolean {
    return this.current !== null;
  }

  /** Whether this process' coordinator leads an established round. Acts on changes only. */
  setLeading(leading: boolean): void {
    if (!this.o.separateSender || leading === this.leading) return;
    this.leading = leading;
    this.schedule();
  }

  /** Leaves the group for good once the change in progress (if any) is done. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.retry !== null) clearTimeout(this.retry);
    this.retry = null;
    await this.switching;
    const r = this.current;
    this.current = null;
    await r?.close();
  }

  private schedule(): void {
    if (this.waiting) return;
    this.waiting = true;
    this.switching = this.switching.then(() => {
      this.waiting = false;
      return this.apply();
    });
  }

  /** Brings the receiver in line with the latest input. */
  private async apply(): Promise<void> {
    if (this.closed) return;
    const wanted = !this.leading;
    if (!wanted && this.current) {
      const r = this.current;
      this.current = null;
      this.o.count("udp_receiver_closed");
      await r.close();
    } else if (wanted && !this.current) {
      try {
        this.current = await this.o.open();
        this.o.count("udp_receiver_reopened");
      } catch {
        this.o.count("udp_receiver_reopen_failed");
        this.retryLater();
      }
    }
  }

  private retryLater(): void {
    if (this.closed || this.retry !== null) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      this.schedule();
    }, this.o.retryMs ?? RECEIVER_RETRY_MS);
    // A pending retry must not keep the process alive (close() clears it anyway).
    this.retry.unref?.();
  }
}

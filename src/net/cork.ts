/**
 * Corking by event-loop turn, shared by the TCP links and the native UDP sender: the first thing
 * queued in a turn is flushed at once (no added latency when traffic is light), and whatever is
 * queued after it during the turn is flushed together at the turn's end (setImmediate), once the
 * turn's I/O callbacks have run.
 */
export class TurnCork {
  private pending = false;

  constructor(private readonly flush: () => void) {}

  /** Something was queued: flush now if it is the turn's first, else leave it to the turn's end. */
  queued(): void {
    if (this.pending) return;
    this.flush();
    this.pending = true;
    setImmediate(this.atTurnEnd);
  }

  private readonly atTurnEnd = (): void => {
    this.pending = false;
    this.flush();
  };
}

/**
 * A process slowed for a while: a learner (thesis Fig. 3.14, flow control over time) or an
 * acceptor (thesis ch. 7, heterogeneous acceptors). Between two moments it runs `runPercent` of
 * every period and is stopped (SIGSTOP) the rest, as if it had that share of a CPU; messages sent
 * to it meanwhile wait in its socket buffers. Portable where signals are (no cgroup needed), and
 * always resumed (SIGCONT) when stopped or when the run ends.
 */

/** The period of the duty cycle: short enough that the learner looks evenly slow, long enough for signals to cost nothing. */
export const DUTY_PERIOD_MS = 100;

export interface SlowSpell {
  /** Seconds after the measurement starts. */
  readonly fromS: number;
  readonly toS: number;
  /** The share of each period the process runs, 1..99. */
  readonly runPercent: number;
  /** The period of the duty cycle (default DUTY_PERIOD_MS). */
  readonly periodMs?: number;
}

export function checkSlowSpell(s: SlowSpell): void {
  if (!(s.fromS >= 0 && s.toS > s.fromS)) throw new RangeError(`a slow spell runs from fromS to a later toS, got ${s.fromS}..${s.toS}`);
  if (!(s.runPercent >= 1 && s.runPercent <= 99)) throw new RangeError(`runPercent is 1..99, got ${s.runPercent}`);
  if (s.periodMs !== undefined && !(s.periodMs >= 10)) throw new RangeError(`periodMs is at least 10, got ${s.periodMs}`);
}

/** Runs the spell on a process through `signal`, starting `delayMs` from now; returns a stop that resumes it at once. */
export function slowSpell(signal: (sig: "SIGSTOP" | "SIGCONT") => void, s: SlowSpell, delayMs: number): () => void {
  checkSlowSpell(s);
  const periodMs = s.periodMs ?? DUTY_PERIOD_MS;
  const runMs = (periodMs * s.runPercent) / 100;
  let period: ReturnType<typeof setInterval> | null = null;
  let pause: ReturnType<typeof setTimeout> | null = null;
  let stopped = false;
  const cycle = () => {
    signal("SIGCONT");
    pause = setTimeout(() => signal("SIGSTOP"), runMs);
  };
  const stop = () => {
    if (stopped) return;
    stopped = true;
    clearTimeout(begin);
    clearTimeout(end);
    if (period) clearInterval(period);
    if (pause) clearTimeout(pause);
    signal("SIGCONT");
  };
  const begin = setTimeout(() => {
    cycle();
    period = setInterval(cycle, periodMs);
  }, delayMs + s.fromS * 1000);
  const end = setTimeout(stop, delayMs + s.toS * 1000);
  return stop;
}

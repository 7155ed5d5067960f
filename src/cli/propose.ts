import { checkValueSizes, configPath, type NodeCliOptions } from "./node.ts";
import { UsageError } from "./errors.ts";
import { loadConfig } from "../config/load.ts";
import { ringOfGroup } from "../config/rings.ts";
import { openTarget } from "./propose-target.ts";

export interface ProposeCliOptions extends NodeCliOptions {
  /** The values, or `["-"]`: one value per line of `stdin`. */
  readonly values: readonly string[];
  /** Give up once no value was decided for this long while some wait. */
  readonly timeoutMs: number;
  /** Where `-` reads from (default process.stdin). */
  readonly stdin?: AsyncIterable<Uint8Array | string>;
  /** Multi-Ring: the group the values go to (required with a `rings` configuration). */
  readonly group?: number;
}

/** Bound: bytes of one line read from standard input (a value larger than this cannot be proposed anyway). */
export const MAX_LINE_BYTES = 64 * 1024 * 1024;

/**
 * The lines of a byte stream, without their "\n" (or "\r\n"); empty lines are skipped. Pulls a
 * chunk only when asked for the next line, so a producer piping into `paxos propose -` is held
 * back by the proposer's back-pressure instead of filling this process' memory. A line longer
 * than `maxLineBytes` is a usage error (its length is all that is buffered).
 */
export async function* readLines(chunks: AsyncIterable<Uint8Array | string>, maxLineBytes = MAX_LINE_BYTES): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let partial = "";
  let lineNo = 0;
  const tooLong = (): UsageError => new UsageError(`propose -: line ${lineNo + 1} of standard input is longer than ${maxLineBytes} bytes`);
  for await (const chunk of chunks) {
    const parts = (partial + (typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true }))).split("\n");
    partial = parts.pop() ?? "";
    for (const p of parts) {
      const line = p.endsWith("\r") ? p.slice(0, -1) : p;
      if (Buffer.byteLength(line) > maxLineBytes) throw tooLong();
      lineNo++;
      if (line !== "") yield line;
    }
    if (Buffer.byteLength(partial) > maxLineBytes) throw tooLong();
  }
  const last = (partial + decoder.decode()).replace(/\r$/, "");
  if (last !== "") yield last;
}

/** The values to propose: the command line's, or standard input's lines for `-`. */
function valueSource(o: ProposeCliOptions): AsyncIterator<string> {
  if (o.values.length === 0) throw new UsageError("propose: give at least one VALUE, or - to read one value per line from standard input");
  if (o.values.includes("-")) {
    if (o.values.length > 1) throw new UsageError("propose: - reads the values from standard input: give it alone");
    return readLines(o.stdin ?? process.stdin)[Symbol.asyncIterator]();
  }
  const config = loadConfig(configPath(o.config));
  const ring = config.rings !== undefined && o.group !== undefined ? (ringOfGroup(config, o.group) ?? undefined) : undefined;
  checkValueSizes(
    o,
    o.values.map((v) => Buffer.byteLength(v)),
    ring,
  );
  return (async function* () {
    yield* o.values;
  })();
}

/** Resolves the waiters of the moment each time it is notified (room freed, a value decided, the end). */
class Signal {
  private waiters: (() => void)[] = [];
  wait(): Promise<void> {
    return new Promise((r) => this.waiters.push(r));
  }
  notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const r of w) r();
  }
}

/**
 * `paxos propose VALUE…` / `paxos propose -`: runs this host's client node just long enough to
 * submit the values and learn that each is decided, printing "instance N: VALUE" per value. Values
 * are handed to the proposer only while its queue has room (`protocol.proposerQueue`): the rest
 * wait here (the command line's in argv, standard input's in the pipe), so any number of values
 * gets through. Exit 0 when all are decided; 1 when none was decided for `timeoutMs` while some waited.
 */
export async function runProposeCommand(o: ProposeCliOptions, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const source = valueSource(o);
  const pending = new Map<number, string>();
  const progress = new Signal();
  let decided = 0;
  let timedOut = false;
  const idle = new IdleTimer(o.timeoutMs, () => {
    timedOut = true;
    progress.notify();
  });
  const where = o.group === undefined ? "" : `group ${o.group} `;
  const node = await openTarget(o, (a) => {
    const v = pending.get(a.seq);
    if (v === undefined) return;
    pending.delete(a.seq);
    decided++;
    out(a.instance === null ? `decided (its instance is lost to this client's learner): ${v}\n` : `${where}instance ${a.instance}: ${v}\n`);
    // The idle clock runs while values wait, from the last decision.
    if (pending.size > 0) idle.restart();
    else idle.stop();
    progress.notify();
  });
  try {
    // Values in the proposer (queued or in flight) stay below its queue's bound: none is refused.
    const capacity = node.capacity;
    let submitted = 0;
    let largest = 0;
    const submit = (v: string): void => {
      const bytes = new TextEncoder().encode(v);
      // Standard input's values are checked as they come (a longer one than any before only).
      if (bytes.byteLength > largest && o.values[0] === "-") node.checkSize(bytes.byteLength);
      largest = Math.max(largest, bytes.byteLength);
      const taken = node.propose(bytes);
      if (taken === null) throw new Error("propose: the proposer refused a value below its queue's bound");
      pending.set(taken.seq, v);
      submitted++;
    };
    for (;;) {
      if (timedOut) break;
      if (node.inFlight() >= capacity) {
        await progress.wait();
        continue;
      }
      const next = await source.next();
      if (next.done) break;
      submit(next.value);
      idle.start();
    }
    while (!timedOut && pending.size > 0) await progress.wait();
    if (submitted === 0) throw new UsageError("propose -: no values on standard input");
    if (timedOut) {
      err(`paxos: ${pending.size} of ${submitted} values submitted were not decided: none decided for ${o.timeoutMs} ms (${decided} decided)\n`);
      return 1;
    }
    return 0;
  } finally {
    idle.stop();
    await source.return?.();
    await node.close();
  }
}

/** Fires once `ms` pass after it was started or last restarted (unless stopped). */
class IdleTimer {
  private timer: ReturnType<typeof setTimeout> | undefined;
  constructor(
    private readonly ms: number,
    private readonly fire: () => void,
  ) {}
  /** Starts the wait unless it is already running. */
  start(): void {
    this.timer ??= setTimeout(this.fire, this.ms);
  }
  restart(): void {
    this.stop();
    this.start();
  }
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

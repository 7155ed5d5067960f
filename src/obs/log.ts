/**
 * Structured logging on pino, without worker-thread transports (they do not work in a binary
 * built with `bun build --compile`): lines are written synchronously to one destination (stderr
 * by default). Every line written also goes into a bounded ring of recent events, which is the
 * `events()` half of a node's StatusSource.
 *
 * Two formats. "json" (pino's), one object per line:
 *   {"level":"info","time":"2026-01-01T00:00:00.000Z","pid":1,"hostname":"h","node":3,"msg":"…","peer":2}
 * (`level` is the label, `time` ISO 8601 UTC; bindings and the call's fields follow).
 * "console", for people: the same line as `time LEVEL msg key=value …`:
 *   2026-01-01T00:00:00.000Z INFO  peer connected node=3 peer=2 addr=127.0.0.1:7000
 * The default is console when the destination is a terminal, json otherwise (a pipe, a file, a
 * log collector).
 */
import { isatty } from "node:tty";
import pino from "pino";
import type { NodeEvent } from "../node/status.ts";

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";
export type EventLevel = NodeEvent["level"];
export const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error", "silent"];

/** How many recent events a logger keeps in memory (the oldest are dropped first). */
export const MAX_EVENTS = 500;

export type LogFields = Readonly<Record<string, unknown>>;

/** What callers log through; they never depend on pino. */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger whose lines also carry `bindings`; it shares the destination and the event ring. */
  child(bindings: LogFields): Logger;
  /** Whether a line of this level would be written (to skip building expensive fields). */
  isLevelEnabled(level: EventLevel): boolean;
}

/** The root logger of a node: a Logger that also serves the node's recent events. */
export interface NodeLogger extends Logger {
  readonly level: LogLevel;
  readonly format: LogFormat;
  /** Recent log events, oldest first, newest last, at most MAX_EVENTS. */
  events(): readonly NodeEvent[];
}

/** Anything a line (a string ending in "\n") can be written to synchronously. */
export interface LogDestination {
  write(line: string): unknown;
}

export interface LoggerOptions {
  /** "debug" | "info" | "warn" | "error" | "silent"; default "info". Anything else throws. */
  level?: string;
  /** A file descriptor (written synchronously) or a destination object; default 2 (stderr). */
  destination?: number | LogDestination;
  /** Fields added to every line, e.g. `{ node: 3 }`. */
  bindings?: LogFields;
  /** "json" or "console"; default: defaultLogFormat(destination). */
  format?: LogFormat;
}

export type LogFormat = "json" | "console";
export const LOG_FORMATS: readonly LogFormat[] = ["json", "console"];

/** Console for a terminal, JSON lines for anything else (a file, a pipe, a collector, an object). */
export function defaultLogFormat(destination: number | LogDestination = 2): LogFormat {
  return typeof destination === "number" && isatty(destination) ? "console" : "json";
}

export function isLogLevel(s: string): s is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(s);
}

/** Parses a level name (case-insensitive, surrounding blanks ignored); throws a RangeError otherwise. */
export function parseLogLevel(s: string): LogLevel {
  const t = s.trim().toLowerCase();
  if (!isLogLevel(t)) throw new RangeError(`unknown log level "${s}" (expected one of ${LOG_LEVELS.join(", ")})`);
  return t;
}

/** A fixed-capacity ring of events: pushing beyond capacity drops the oldest. */
export class EventRing {
  private readonly buf: (NodeEvent | undefined)[];
  private start = 0;
  private count = 0;

  constructor(readonly capacity: number = MAX_EVENTS) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`event ring capacity must be a positive integer, got ${capacity}`);
    this.buf = new Array<NodeEvent | undefined>(capacity).fill(undefined);
  }

  get size(): number {
    return this.count;
  }

  push(e: NodeEvent): void {
    if (this.count < this.capacity) {
      this.buf[(this.start + this.count) % this.capacity] = e;
      this.count++;
    } else {
      this.buf[this.start] = e;
      this.start = (this.start + 1) % this.capacity;
    }
  }

  /** A copy, oldest first, newest last. */
  events(): NodeEvent[] {
    const out: NodeEvent[] = [];
    for (let i = 0; i < this.count; i++) {
      const e = this.buf[(this.start + i) % this.capacity];
      if (e !== undefined) out.push(e);
    }
    return out;
  }

  clear(): void {
    this.buf.fill(undefined);
    this.start = 0;
    this.count = 0;
  }
}

/** Keys pino writes itself; a field with one of these names is written as `field_<name>`. */
const RESERVED = new Set(["level", "time", "msg", "pid", "hostname"]);

function cleanFields(fields: LogFields | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (fields === undefined) return out;
  for (const [k, v] of Object.entries(fields)) out[RESERVED.has(k) ? `field_${k}` : k] = v;
  return out;
}

/** State shared by a root logger and its children. */
interface Shared {
  readonly ring: EventRing;
  /** The ISO time of the line being written: the ring entry and the line carry the same time. */
  now: string;
}

class PinoLogger implements Logger {
  constructor(
    protected readonly p: pino.Logger,
    protected readonly shared: Shared,
  ) {}

  debug(msg: string, fields?: LogFields): void {
    this.log("debug", msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.log("info", msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.log("warn", msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.log("error", msg, fields);
  }

  isLevelEnabled(level: EventLevel): boolean {
    return this.p.isLevelEnabled(level);
  }

  child(bindings: LogFields): Logger {
    return new PinoLogger(this.p.child(cleanFields(bindings)), this.shared);
  }

  private log(level: EventLevel, msg: string, fields: LogFields | undefined): void {
    if (!this.p.isLevelEnabled(level)) return;
    const text = String(msg);
    const at = new Date().toISOString();
    this.shared.now = at;
    this.shared.ring.push({ at, level, msg: text });
    try {
      this.p[level](cleanFields(fields), text);
    } catch {
      // Logging never throws into the caller (a closed stderr, an unserialisable field, …).
    }
  }
}

class RootLogger extends PinoLogger implements NodeLogger {
  constructor(
    p: pino.Logger,
    shared: Shared,
    readonly level: LogLevel,
    readonly format: LogFormat,
  ) {
    super(p, shared);
  }

  events(): readonly NodeEvent[] {
    return this.shared.ring.events();
  }
}

/** A synchronous destination on a file descriptor whose write errors never surface as exceptions. */
function fdDestination(fd: number): LogDestination {
  const d = pino.destination({ fd, sync: true });
  d.on("error", () => {
    // e.g. EPIPE once the reader of stderr has gone: the line is lost, the node keeps running.
  });
  return d;
}

/**
 * Creates a node's root logger. Lines at or above `level` are written synchronously to the
 * destination, and recorded (time, level, message) in a ring of the last MAX_EVENTS events.
 */
export function createLogger(options: LoggerOptions = {}): NodeLogger {
  const level = parseLogLevel(options.level ?? "info");
  const format = options.format ?? defaultLogFormat(options.destination);
  if (!(LOG_FORMATS as readonly string[]).includes(format)) throw new RangeError(`unknown log format "${String(format)}" (expected one of ${LOG_FORMATS.join(", ")})`);
  const destination: LogDestination =
    typeof options.destination === "number" ? fdDestination(options.destination) : (options.destination ?? fdDestination(2));
  const shared: Shared = { ring: new EventRing(MAX_EVENTS), now: "" };
  const sink: pino.DestinationStream = {
    write(line: string): void {
      try {
        destination.write(format === "console" ? consoleLine(line) : line);
      } catch {
        // see fdDestination
      }
    },
  };
  const root = pino(
    {
      level,
      formatters: { level: (label: string) => ({ level: label }) },
      timestamp: () => `,"time":"${shared.now === "" ? new Date().toISOString() : shared.now}"`,
    },
    sink,
  );
  const bound = options.bindings === undefined ? root : root.child(cleanFields(options.bindings));
  return new RootLogger(bound, shared, level, format);
}

/** pino's own keys: the console format puts time, level and msg in front and drops pid and hostname. */
const CONSOLE_SKIP = new Set(["level", "time", "msg", "pid", "hostname"]);

/** A bare word stays as it is; anything a reader could misparse (blanks, =, quotes, empty) is JSON-quoted. */
function consoleValue(v: unknown): string {
  if (typeof v === "string") return /^[^\s="\\]+$/.test(v) ? v : JSON.stringify(v);
  if (typeof v === "object" && v !== null && "message" in v && "stack" in v) return JSON.stringify(String((v as { message: unknown }).message)); // a serialised Error
  return JSON.stringify(v) ?? String(v);
}

/** One pino JSON line as `time LEVEL msg key=value …` (one line: newlines in the message are escaped). */
export function consoleLine(jsonLine: string): string {
  const o = JSON.parse(jsonLine) as Record<string, unknown>;
  const msg = String(o["msg"] ?? "").replace(/\r?\n/g, "\\n");
  let line = `${String(o["time"] ?? "")} ${String(o["level"] ?? "").toUpperCase().padEnd(5)} ${msg}`;
  for (const [k, v] of Object.entries(o)) if (!CONSOLE_SKIP.has(k)) line += ` ${k}=${consoleValue(v)}`;
  return `${line}\n`;
}

/** A logger that writes nothing and records nothing (for tests and library defaults). */
export const nullLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return nullLogger;
  },
  isLevelEnabled() {
    return false;
  },
};

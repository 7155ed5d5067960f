import { afterEach, describe, expect, test } from "bun:test";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { existsSync } from "node:fs";
import { createLogger, defaultLogFormat, EventRing, isLogLevel, LOG_LEVELS, MAX_EVENTS, nullLogger, parseLogLevel, type LogDestination } from "../../src/obs/log.ts";

function capture(): { lines: string[]; destination: LogDestination } {
  const lines: string[] = [];
  return { lines, destination: { write: (l: string) => lines.push(l) } };
}

function parsed(lines: readonly string[]): Record<string, unknown>[] {
  return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe("log lines", () => {
  test("each line is one JSON object with level, ISO time, msg, bindings and the fields passed", () => {
    const { lines, destination } = capture();
    const log = createLogger({ level: "debug", destination, bindings: { node: 3 } });
    log.info("peer connected", { peer: 2, addr: "127.0.0.1:7000", nested: { a: [1, 2] } });
    log.debug("tick");
    log.warn("slow fsync", { ms: 12.5 });
    log.error("frame rejected", { reason: "crc" });
    expect(lines).toHaveLength(4);
    for (const l of lines) {
      expect(l.endsWith("\n")).toBe(true);
      expect(l.indexOf("\n")).toBe(l.length - 1); // exactly one line
    }
    const [a, b, c, d] = parsed(lines);
    expect(a).toMatchObject({ level: "info", msg: "peer connected", node: 3, peer: 2, addr: "127.0.0.1:7000", nested: { a: [1, 2] } });
    expect(b).toMatchObject({ level: "debug", msg: "tick", node: 3 });
    expect(c).toMatchObject({ level: "warn", msg: "slow fsync", ms: 12.5 });
    expect(d).toMatchObject({ level: "error", msg: "frame rejected", reason: "crc" });
    for (const o of [a, b, c, d]) {
      const t = o?.["time"];
      expect(typeof t).toBe("string");
      expect(new Date(t as string).toISOString()).toBe(t as string);
    }
  });

  test("the ring records the same time, level and message as the line", () => {
    const { lines, destination } = capture();
    const log = createLogger({ level: "info", destination });
    log.info("one", { x: 1 });
    log.error("two");
    const evs = log.events();
    const objs = parsed(lines);
    expect(evs).toEqual([
      { at: objs[0]?.["time"] as string, level: "info", msg: "one" },
      { at: objs[1]?.["time"] as string, level: "error", msg: "two" },
    ]);
  });

  test("child loggers add their bindings and share the destination and the ring", () => {
    const { lines, destination } = capture();
    const log = createLogger({ destination, bindings: { node: 1 } });
    const net = log.child({ component: "net" });
    net.info("listening", { port: 7000 });
    net.child({ peer: 4 }).warn("reconnect");
    const objs = parsed(lines);
    expect(objs[0]).toMatchObject({ node: 1, component: "net", port: 7000, msg: "listening" });
    expect(objs[1]).toMatchObject({ node: 1, component: "net", peer: 4, msg: "reconnect", level: "warn" });
    expect(log.events().map((e) => e.msg)).toEqual(["listening", "reconnect"]);
  });

  test("fields named like pino's own keys cannot overwrite level, time or msg", () => {
    const { lines, destination } = capture();
    const log = createLogger({ destination });
    log.info("real message", { level: "bogus", msg: "fake", time: 0 });
    const o = parsed(lines)[0];
    expect(o).toMatchObject({ level: "info", msg: "real message", field_level: "bogus", field_msg: "fake", field_time: 0 });
    expect(typeof o?.["time"]).toBe("string");
    expect(log.events()[0]).toMatchObject({ level: "info", msg: "real message" });
  });

  test("Error fields are serialised with message and stack", () => {
    const { lines, destination } = capture();
    createLogger({ destination }).error("failed", { err: new Error("disk full") });
    const err = parsed(lines)[0]?.["err"] as Record<string, unknown>;
    expect(err["message"]).toBe("disk full");
    expect(typeof err["stack"]).toBe("string");
  });

  test("a throwing destination never makes logging throw; the event is still recorded", () => {
    const log = createLogger({
      destination: {
        write() {
          throw new Error("EPIPE");
        },
      },
    });
    expect(() => log.error("still here")).not.toThrow();
    expect(log.events().map((e) => e.msg)).toEqual(["still here"]);
  });

  test("an unserialisable field (a cycle) does not throw", () => {
    const { lines, destination } = capture();
    const log = createLogger({ destination });
    const cyc: Record<string, unknown> = { a: 1 };
    cyc["self"] = cyc;
    expect(() => log.info("cycle", { cyc })).not.toThrow();
    expect(lines).toHaveLength(1);
    expect(parsed(lines)[0]).toMatchObject({ msg: "cycle" });
  });
});

describe("file-descriptor destination", () => {
  let dir = "";
  afterEach(() => {
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
    dir = "";
  });

  test("lines are on disk as soon as the call returns (synchronous writes)", () => {
    dir = mkdtempSync(join(tmpdir(), "paxos-obs-log-"));
    const file = join(dir, "log.jsonl");
    const fd = openSync(file, "w");
    try {
      const log = createLogger({ destination: fd });
      log.info("written synchronously", { n: 1 });
      log.debug("filtered out");
      const text = readFileSync(file, "utf8");
      const lines = text.split("\n").filter((l) => l !== "");
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0] ?? "")).toMatchObject({ level: "info", msg: "written synchronously", n: 1 });
    } finally {
      closeSync(fd);
    }
  });
});

describe("the ring of recent events", () => {
  test(`keeps only the newest MAX_EVENTS (${MAX_EVENTS}), newest last`, () => {
    expect(MAX_EVENTS).toBe(500);
    const { lines, destination } = capture();
    const log = createLogger({ destination });
    const extra = 137;
    for (let i = 0; i < MAX_EVENTS + extra; i++) log.info(`m${i}`);
    expect(lines).toHaveLength(MAX_EVENTS + extra); // every line is written
    const evs = log.events();
    expect(evs).toHaveLength(MAX_EVENTS);
    expect(evs[0]?.msg).toBe(`m${extra}`);
    expect(evs[MAX_EVENTS - 1]?.msg).toBe(`m${MAX_EVENTS + extra - 1}`);
    expect(evs.map((e) => e.msg)).toEqual(Array.from({ length: MAX_EVENTS }, (_, i) => `m${i + extra}`));
  });

  test("events() is a snapshot: later logging does not change an earlier result", () => {
    const { destination } = capture();
    const log = createLogger({ destination });
    log.info("a");
    const before = log.events();
    log.info("b");
    expect(before.map((e) => e.msg)).toEqual(["a"]);
    expect(log.events().map((e) => e.msg)).toEqual(["a", "b"]);
  });

  test("EventRing wraps around at its capacity", () => {
    const r = new EventRing(3);
    const ev = (m: string) => ({ at: "2026-01-01T00:00:00.000Z", level: "info" as const, msg: m });
    expect(r.events()).toEqual([]);
    for (const m of ["a", "b"]) r.push(ev(m));
    expect(r.events().map((e) => e.msg)).toEqual(["a", "b"]);
    for (const m of ["c", "d", "e", "f", "g"]) r.push(ev(m));
    expect(r.size).toBe(3);
    expect(r.events().map((e) => e.msg)).toEqual(["e", "f", "g"]);
    r.clear();
    expect(r.events()).toEqual([]);
    expect(() => new EventRing(0)).toThrow(RangeError);
  });
});

describe("levels", () => {
  test("lines below the level are neither written nor recorded", () => {
    const { lines, destination } = capture();
    const log = createLogger({ level: "warn", destination });
    expect(log.level).toBe("warn");
    log.debug("d");
    log.info("i");
    log.warn("w");
    log.error("e");
    expect(parsed(lines).map((o) => o["msg"])).toEqual(["w", "e"]);
    expect(log.events().map((e) => `${e.level}:${e.msg}`)).toEqual(["warn:w", "error:e"]);
    expect(log.isLevelEnabled("info")).toBe(false);
    expect(log.isLevelEnabled("error")).toBe(true);
  });

  test("info is the default; debug lines are dropped", () => {
    const { lines, destination } = capture();
    const log = createLogger({ destination });
    log.debug("d");
    log.info("i");
    expect(parsed(lines).map((o) => o["msg"])).toEqual(["i"]);
  });

  test("debug lets everything through", () => {
    const { lines, destination } = capture();
    const log = createLogger({ level: "debug", destination });
    log.debug("d");
    log.info("i");
    expect(parsed(lines).map((o) => o["level"])).toEqual(["debug", "info"]);
  });

  test("silent writes and records nothing", () => {
    const { lines, destination } = capture();
    const log = createLogger({ level: "silent", destination });
    log.error("e");
    log.child({ a: 1 }).error("e2");
    expect(lines).toEqual([]);
    expect(log.events()).toEqual([]);
  });

  test("level names are parsed strictly (case and blanks aside)", () => {
    expect(LOG_LEVELS).toEqual(["debug", "info", "warn", "error", "silent"]);
    expect(parseLogLevel(" WARN ")).toBe("warn");
    expect(isLogLevel("error")).toBe(true);
    expect(isLogLevel("trace")).toBe(false);
    expect(() => parseLogLevel("verbose")).toThrow(/unknown log level "verbose"/);
    expect(() => createLogger({ level: "fatal", destination: capture().destination })).toThrow(RangeError);
  });

  test("nullLogger accepts everything and does nothing", () => {
    expect(() => nullLogger.child({ a: 1 }).error("x", { y: 2 })).not.toThrow();
    expect(nullLogger.isLevelEnabled("error")).toBe(false);
  });
});

describe("formats", () => {
  const TIME = "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z";

  test("console: one human-readable line per event, `time LEVEL msg key=value`, bindings first", () => {
    const { lines, destination } = capture();
    const log = createLogger({ level: "debug", destination, format: "console", bindings: { node: 3 } });
    log.info("peer connected", { peer: 2, addr: "127.0.0.1:7000", nested: { a: [1, 2] }, note: "two words", empty: "" });
    log.child({ component: "net" }).warn("line one\nline two");
    log.error("failed", { err: new Error("disk full") });
    expect(log.format).toBe("console");
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(new RegExp(`^${TIME} INFO  peer connected node=3 peer=2 addr=127\\.0\\.0\\.1:7000 nested=\\{"a":\\[1,2\\]\\} note="two words" empty=""\\n$`));
    expect(lines[1]).toMatch(new RegExp(`^${TIME} WARN  line one\\\\nline two node=3 component=net\\n$`));
    expect(lines[2]).toMatch(new RegExp(`^${TIME} ERROR failed node=3 err="disk full"\\n$`));
    // The ring of events is the same whatever the format.
    expect(log.events().map((e) => e.msg)).toEqual(["peer connected", "line one\nline two", "failed"]);
    expect(log.events()[0]?.at).toBe(lines[0]?.slice(0, 24) as string);
  });

  test("json: pino's one object per line, as before", () => {
    const { lines, destination } = capture();
    createLogger({ destination, format: "json" }).info("hello", { a: 1 });
    expect(parsed(lines)[0]).toMatchObject({ level: "info", msg: "hello", a: 1 });
  });

  test("default: json for anything but a terminal (objects, files, pipes), console for a terminal", () => {
    expect(createLogger({ destination: capture().destination }).format).toBe("json");
    const dir = mkdtempSync(join(tmpdir(), "paxos-log-"));
    const fd = openSync(join(dir, "log"), "w");
    try {
      expect(defaultLogFormat(fd)).toBe("json");
      expect(createLogger({ destination: fd }).format).toBe("json");
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
    if (!existsSync("/dev/ptmx")) return; // no pseudo-terminals on this host
    const tty = openSync("/dev/ptmx", "r+");
    try {
      expect(defaultLogFormat(tty)).toBe("console");
    } finally {
      closeSync(tty);
    }
  });

  test("an unknown format is refused", () => {
    expect(() => createLogger({ destination: capture().destination, format: "xml" as "json" })).toThrow(RangeError);
  });
});

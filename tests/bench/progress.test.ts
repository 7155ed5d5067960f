import { describe, expect, test } from "bun:test";
import { Writable } from "node:stream";
import { benchProgress } from "../../src/bench/progress.ts";

/** A stand-in terminal: what a TTY stream offers cli-progress, recording everything written. */
function fakeTty(): { stream: Writable; written: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  Object.assign(stream, { isTTY: true, columns: 120 });
  return { stream, written: () => chunks.join("") };
}

/** The bar's last drawing: cursor-to-column moves start a new frame, other escape sequences dropped. */
function lastFrame(s: string): string {
  const plain = s.replace(/\x1b\[\d*G/g, "\r").replace(/\x1b(\[[?\d;]*[A-Za-z]|[78])/g, "");
  return plain.split(/[\r\n]/).filter((l) => l.trim() !== "").at(-1) ?? "";
}

describe("bench progress", () => {
  test("not a terminal: one plain line per update, nothing on stop", () => {
    const lines: string[] = [];
    const p = benchProgress(10, { write: (s) => void lines.push(s) });
    p.update(1.2, 1234.4);
    p.update(2.9, 40_000);
    p.stop();
    expect(lines).toEqual(["bench: 1/10 s, learner 1,234 values/s\n", "bench: 3/10 s, learner 40,000 values/s\n"]);
  });

  test("a terminal: a bar with elapsed/duration and the learner's values/s; stop ends the line once", () => {
    const tty = fakeTty();
    const plain: string[] = [];
    const p = benchProgress(10, { tty: tty.stream, write: (s) => void plain.push(s) });
    p.update(5.4, 2345);
    p.stop();
    p.stop();
    p.update(7, 1); // after stop: ignored
    expect(plain).toEqual([]);
    const out = tty.written();
    const frame = lastFrame(out);
    expect(frame).toContain("5/10 s");
    expect(frame).toContain("learner 2,345 values/s");
    // Half the bar is full: 15 of 30 cells.
    expect(frame).toContain(`[${"\u2588".repeat(15)}${"\u2591".repeat(15)}]`);
    expect(out.endsWith("\n")).toBe(true);
    expect(out.split("\n")).toHaveLength(2);
  });

  test("a terminal: nothing is drawn when the run ends before its first update (e.g. a refused option)", () => {
    const tty = fakeTty();
    const p = benchProgress(10, { tty: tty.stream, write: () => {} });
    p.stop();
    p.update(1, 1);
    expect(tty.written()).toBe("");
  });

  test("a terminal: elapsed time past the duration (clients start late, drain) stays at a full bar", () => {
    const tty = fakeTty();
    const p = benchProgress(2, { tty: tty.stream, write: () => {} });
    p.update(3.7, 10);
    p.stop();
    expect(lastFrame(tty.written())).toContain("2/2 s");
  });
});

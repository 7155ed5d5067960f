import { describe, expect, test } from "bun:test";
import { Buffer as NodeBuffer } from "node:buffer";
import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { PassThrough } from "node:stream";
import { join } from "node:path";
import { DeliveryWriter, openOutputFile, OutputFileError, planResume, resumePointOf, RESUME_TAIL_LINES } from "../../src/node/output.ts";
import { tempDir } from "../support/temp-dir.ts";

test("one JSON line per delivered value, base64 payload, in delivery order; no-ops write nothing", async () => {
  const file = join(tempDir("paxos-out-"), "log.jsonl");
  const w = new DeliveryWriter(file);
  const bytes = new Uint8Array([0, 1, 2, 250, 255]);
  w.write({ instance: 0, vid: "32.0", values: [{ client: 7, seq: 0, payload: bytes.subarray(1, 4) }, { client: 8, seq: 3, payload: new TextEncoder().encode("hi") }] });
  w.write({ instance: 1, vid: "32.1", values: [] });
  w.write({ instance: 2, vid: "32.2", values: [{ client: 7, seq: 1, payload: new Uint8Array() }] });
  await w.close();
  const lines = readFileSync(file, "utf8").trimEnd().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(lines).toEqual([
    { instance: 0, client: 7, seq: 0, value: Buffer.from([1, 2, 250]).toString("base64") },
    { instance: 0, client: 8, seq: 3, value: Buffer.from("hi").toString("base64") },
    { instance: 2, client: 7, seq: 1, value: "" },
  ]);
  expect(w.lines).toBe(3);
});

const line = (instance: number, client: number, seq: number): string => `${JSON.stringify({ instance, client, seq, value: "aGk=" })}\n`;
const tmpFile = (content: string): string => {
  const f = join(tempDir("paxos-resume-"), "out.jsonl");
  writeFileSync(f, content);
  return f;
};

describe("resuming an --output file", () => {
  test("a whole file resumes after its last instance, remembering the (client, seq) of its tail", () => {
    const text = line(0, 7, 0) + line(0, 8, 0) + line(2, 7, 1);
    expect(planResume(NodeBuffer.from(text), 0)).toEqual({ next: 3, delivered: [{ client: 7, seq: 0 }, { client: 8, seq: 0 }, { client: 7, seq: 1 }], cutTo: null, cutBytes: 0 });
  });

  test("an empty file, or one holding only a torn line, has no resume point (and the torn line is cut)", () => {
    expect(planResume(NodeBuffer.alloc(0), 0)).toEqual({ next: null, delivered: [], cutTo: null, cutBytes: 0 });
    expect(planResume(NodeBuffer.from('{"instance":4,"cli'), 0)).toEqual({ next: null, delivered: [], cutTo: 0, cutBytes: 18 });
  });

  test("a torn last write: the torn line and the last instance's complete lines go, and that instance is delivered again", () => {
    const keep = line(0, 7, 0) + line(1, 7, 1);
    const text = keep + line(5, 7, 2) + line(5, 8, 1) + '{"instance":5,"client":9,"se';
    const plan = planResume(NodeBuffer.from(text), 0);
    expect(plan).toEqual({ next: 5, delivered: [{ client: 7, seq: 0 }, { client: 7, seq: 1 }], cutTo: keep.length, cutBytes: text.length - keep.length });
  });

  test("reads backwards in chunks until it has the tail's lines; only the last RESUME_TAIL_LINES are remembered", () => {
    let text = "";
    for (let i = 0; i < 50; i++) text += line(i, 1, i);
    const f = tmpFile(`${text}{"instance":50,"cl`);
    const fd = openSync(f, "r");
    try {
      const plan = resumePointOf(fd, 10, 64);
      expect(plan.next).toBe(49);
      expect(plan.delivered).toEqual(Array.from({ length: 10 }, (_, k) => ({ client: 1, seq: 39 + k })));
      expect(plan.cutTo).toBe(text.length - line(49, 1, 49).length);
    } finally {
      closeSync(fd);
    }
    expect(RESUME_TAIL_LINES).toBe(4096);
  });

  test("openOutputFile cuts the torn tail off the file and the writer appends after it", async () => {
    const f = tmpFile(line(0, 1, 0) + line(1, 1, 1) + '{"instance":2');
    const { fd, resume } = openOutputFile(f);
    expect(resume.next).toBe(1);
    expect(readFileSync(f, "utf8")).toBe(line(0, 1, 0));
    const w = new DeliveryWriter(fd);
    w.write({ instance: 1, vid: "1.1", values: [{ client: 1, seq: 1, payload: new TextEncoder().encode("hi") }] });
    await w.close();
    expect(readFileSync(f, "utf8")).toBe(line(0, 1, 0) + line(1, 1, 1));
  });

  test("a file of other content, a missing directory, a directory: one-line errors naming the path", () => {
    expect(() => openOutputFile(tmpFile("hello\n"))).toThrow(/--output .*out\.jsonl: line at byte 0 is not a delivery line/);
    const dir = tempDir("paxos-resume-");
    expect(() => openOutputFile(join(dir, "no", "such", "out.jsonl"))).toThrow(new OutputFileError(`--output ${join(dir, "no", "such", "out.jsonl")}: directory ${join(dir, "no", "such")} does not exist (ENOENT)`));
    mkdirSync(join(dir, "d"));
    expect(() => openOutputFile(join(dir, "d"))).toThrow(/is a directory \(EISDIR\)/);
    if (process.getuid?.() !== 0) {
      chmodSync(dir, 0o500);
      expect(() => openOutputFile(join(dir, "x.jsonl"))).toThrow(/not writable \(EACCES\)/);
    }
  });
});

describe("a broken output", () => {
  test("a write error (the reader went away: EPIPE) is reported once, later writes are dropped, close resolves", async () => {
    const out = new PassThrough();
    const seen: string[] = [];
    const w = new DeliveryWriter("-", (e) => seen.push(e.code ?? "?"), out);
    const d = { instance: 0, vid: "1.0", values: [{ client: 1, seq: 0, payload: new Uint8Array([1]) }] };
    w.write(d);
    const epipe = Object.assign(new Error("write EPIPE"), { code: "EPIPE" });
    out.emit("error", epipe);
    out.emit("error", epipe);
    w.write(d);
    await w.close();
    expect(seen).toEqual(["EPIPE"]);
    expect(w.lines).toBe(1);
    expect(w.failure).toBe(epipe);
  });
});

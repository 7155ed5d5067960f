import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readTimeline, TimelineWriter, wallClockMs, type ClientReport } from "../../src/cli/client.ts";
import { LocalCluster } from "../../src/bench/cluster.ts";

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "paxos-client-test-"));
}

describe("client --timeline", () => {
  test("TimelineWriter buffers lines until a flush, then readTimeline gives them back in order", () => {
    const dir = tempDir();
    try {
      const file = join(dir, "t.jsonl");
      const w = new TimelineWriter(file);
      w.record(1_700_000_000_000.1234, 1500.4);
      w.record(1_700_000_000_001.5, 2);
      expect(readFileSync(file, "utf8")).toBe(""); // nothing written before a flush
      w.flush();
      expect(readFileSync(file, "utf8")).toBe('{"t":1700000000000.123,"us":1500}\n{"t":1700000000001.500,"us":2}\n');
      w.record(1_700_000_000_010, 7);
      w.close(); // close flushes the rest
      expect(w.lines).toBe(3);
      expect(readTimeline(file)).toEqual([
        { t: 1_700_000_000_000.123, us: 1500 },
        { t: 1_700_000_000_001.5, us: 2 },
        { t: 1_700_000_000_010, us: 7 },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("readTimeline leaves out a torn last line and lines of another shape", () => {
    const dir = tempDir();
    try {
      const file = join(dir, "t.jsonl");
      writeFileSync(file, '{"t":5,"us":10}\n{"x":1}\n{"t":6,"us":11}\n{"t":7,"u');
      expect(readTimeline(file)).toEqual([
        { t: 5, us: 10 },
        { t: 6, us: 11 },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("wallClockMs is the wall clock, with sub-millisecond resolution", () => {
    const before = Date.now();
    const t = wallClockMs();
    const after = Date.now();
    expect(t).toBeGreaterThanOrEqual(before - 2);
    expect(t).toBeLessThanOrEqual(after + 2);
  });

  test(
    "a client run writes one line per value delivered to it, on the wall clock, with the latencies it reports",
    async () => {
      const c = await LocalCluster.start({ variant: "mring", acceptors: 3, learners: 1, clients: 1 });
      const file = join(c.dir, "timeline.jsonl");
      try {
        const from = Date.now();
        const r = await c.run(["client", "--config", c.configFile, "--id", String(c.ids("client")[0]), "--rate", "200", "--window", "64", "--value-size", "256", "--duration", "1.5", "--warmup", "0", "--json", "--timeline", file]);
        const to = Date.now();
        expect(r.code).toBe(0);
        const report = JSON.parse(r.out.trim()) as ClientReport;
        const t = readTimeline(file);
        // Every value acked during the run is there; the drain after it may add a few more, never more than proposed.
        expect(report.acked).toBeGreaterThan(150);
        expect(t.length).toBeGreaterThanOrEqual(report.acked);
        expect(t.length).toBeLessThanOrEqual(report.proposed);
        for (let i = 0; i < t.length; i++) {
          const e = t[i] as { t: number; us: number };
          expect(e.t).toBeGreaterThanOrEqual(from);
          expect(e.t).toBeLessThanOrEqual(to);
          expect(e.us).toBeGreaterThan(0);
          if (i > 0) expect(e.t).toBeGreaterThanOrEqual((t[i - 1] as { t: number }).t);
        }
        // The same latencies as the histogram (warm-up 0: every acked value is in both): the medians agree within 10 %.
        const sorted = t.slice(0, report.acked).map((e) => e.us).sort((a, b) => a - b);
        const p50 = sorted[Math.floor((sorted.length - 1) / 2)] as number;
        expect(Math.abs(p50 - report.latencyUs.p50)).toBeLessThanOrEqual(Math.max(50, report.latencyUs.p50 * 0.1));
      } finally {
        await c.stop();
      }
    },
    { timeout: 60_000 },
  );
});

import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readTimeline, TimelineWriter, wallClockMs, type ClientReport } from "../../src/cli/client.ts";
import { spawn } from "node:child_process";
import { clusterConfig, LocalCluster } from "../../src/bench/cluster.ts";
import { childEnv, selfCommand } from "../../src/bench/self.ts";

/** Runs `paxos ARGS…` as a process of its own (no cluster needed). */
function runPaxos(args: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  const self = selfCommand();
  return new Promise((resolve) => {
    const p = spawn(self.cmd, [...self.args, ...args], { stdio: ["ignore", "pipe", "pipe"], env: childEnv() });
    let out = "";
    let err = "";
    p.stdout.on("data", (b: Buffer) => (out += b.toString()));
    p.stderr.on("data", (b: Buffer) => (err += b.toString()));
    p.once("exit", (code) => resolve({ code: code ?? -1, out, err }));
  });
}

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

describe("client: what it measures and when it fails", () => {
  test(
    "runs the warm-up, then measures exactly --duration after it: the window, its throughput and its latency",
    async () => {
      const c = await LocalCluster.start({ variant: "mring", acceptors: 1, learners: 1, clients: 1 });
      try {
        const from = Date.now();
        const r = await c.run(["client", "--config", c.configFile, "--id", String(c.clientIds()[0]), "--rate", "200", "--value-size", "256", "--duration", "1", "--warmup", "0.6", "--json"]);
        const to = Date.now();
        expect(r.code).toBe(0);
        const report = JSON.parse(r.out.trim()) as ClientReport;
        // The window is the second of measuring that follows the 0.6 s of warm-up, both within the process' life.
        expect(report.measuredTo - report.measuredFrom).toBe(report.durationMs);
        expect(report.durationMs).toBeGreaterThanOrEqual(1000);
        expect(report.durationMs).toBeLessThan(1400); // timers run late on a loaded host
        expect(report.measuredFrom).toBeGreaterThanOrEqual(from + 600);
        expect(report.measuredTo).toBeLessThanOrEqual(to);
        expect(to - from).toBeGreaterThanOrEqual(1600);
        // 200 values/s over that second, counted in the window only (the warm-up's 120 are not in it).
        const expected = (200 * report.durationMs) / 1000;
        expect(report.acked).toBeGreaterThan(expected * 0.6);
        expect(report.acked).toBeLessThan(expected * 1.25);
        expect(Math.abs(report.valuesPerSec - report.acked / (report.durationMs / 1000))).toBeLessThanOrEqual(1);
        expect(report.proposed).toBeGreaterThan(report.acked + 60);
        expect(report.latencyUs.count).toBeLessThanOrEqual(report.acked + 1);
        expect(report.latencyUs.count).toBeGreaterThan(expected * 0.6);
      } finally {
        await c.stop();
      }
    },
    { timeout: 60_000 },
  );

  test(
    "with the cluster down, nothing is delivered: the report, then one line saying so, exit 1",
    async () => {
      const dir = tempDir();
      try {
        const { nodes, config } = await clusterConfig({ variant: "mring", acceptors: 3, learners: 1, clients: 1 });
        const file = join(dir, "cluster.json");
        writeFileSync(file, JSON.stringify(config));
        const id = String(nodes.at(-1)?.id);
        for (const mode of [["--window", "4"], ["--rate", "100"]]) {
          const r = await runPaxos(["client", "--config", file, "--id", id, "--duration", "0.3", "--warmup", "0", "--value-size", "64", ...mode]);
          expect(r.code).toBe(1);
          expect(r.out).toMatch(/values delivered, 0 values\/s/);
          // The node's start-up warnings (JSON log lines), then the one line of the failure.
          const plain = r.err.split("\n").filter((l) => l !== "" && !l.startsWith("{"));
          expect(plain).toHaveLength(1);
          expect(plain[0]).toMatch(/^paxos: client: no value was delivered in the 0\.3 s measured \(\d+ proposed, 0 delivered in all\): is the cluster up\?$/);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    { timeout: 30_000 },
  );
});

import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BenchInterrupted } from "../../src/bench/run.ts";
import { Eta, RESULTS_FILE, runExperiment, TABLE_FILE, type ExperimentResults } from "../../src/experiment/harness.ts";
import type { Params } from "../../src/experiment/spec.ts";
import { fakeExperiment } from "./fake.ts";
import { tempDir } from "../support/temp-dir.ts";

const HOST = { cpus: 2, cpuModel: "test cpu", kernel: "Linux test", memoryMb: 1024, runtime: "bun test", paxos: "0 (commit test)" };

describe("experiment harness", () => {
  test("runs every point `repeat` times, one pass over all points after another, and writes results, table and plots", async () => {
    const dir = tempDir("paxos-experiment-");
    const log: Params[] = [];
    const seen: string[] = [];
    const r = await runExperiment(fakeExperiment({ log }), { quick: false }, dir, { host: HOST, hostCpu: () => null, progress: { run: (i, total) => void seen.push(`${i}/${total}`), stop: () => void seen.push("stop") } });
    expect(log.length).toBe(18);
    // interleaved: the first six runs are the six points once each
    expect(log.slice(0, 6)).toEqual(log.slice(6, 12));
    expect(new Set(log.slice(0, 6).map((p) => `${p["variant"]}${p["size"]}`)).size).toBe(6);
    expect(seen[0]).toBe("0/18");
    expect(seen.at(-1)).toBe("stop");
    const a1 = r.summary.find((s) => s.point["variant"] === "a" && s.point["size"] === 1);
    // runs 0, 6 and 12 of point a/1: throughput 10, 16, 22
    expect(a1?.metrics["tput"]?.median).toBe(16);
    expect(a1?.metrics["tput"]?.ci95).not.toBeNull();
    expect(a1?.runs).toBe(3);
    const onDisk = JSON.parse(readFileSync(join(dir, RESULTS_FILE), "utf8")) as ExperimentResults;
    expect(onDisk.finishedAt).not.toBeNull();
    expect(onDisk.runs.length).toBe(18);
    expect(onDisk.host).toEqual(HOST);
    // each run's configuration beside its figures
    expect(onDisk.runs[0]?.config).toEqual({ size: onDisk.runs[0]?.point["size"], durationS: 1 });
    const table = readFileSync(join(dir, TABLE_FILE), "utf8");
    expect(table).toContain("| variant | size | throughput (units/s) | latency (µs) | runs |");
    expect(table).toMatch(/\| a \| 1 \| 16\.0 \[\d+\.\d, \d+\.\d\] \| 100 \[100, 100\] \| 3 \|/);
    const svg = readFileSync(join(dir, "tput.svg"), "utf8");
    expect(svg).toContain("<svg");
    expect(svg).toContain("Throughput");
  });

  test("a failed run is recorded with its error and the others go on", async () => {
    const dir = tempDir("paxos-experiment-");
    const e = fakeExperiment({ fail: (p, n) => (p["variant"] === "b" && p["size"] === 2 && n < 12 ? new Error("cluster did not start") : null) });
    const r = await runExperiment(e, { quick: false }, dir, { host: HOST, hostCpu: () => null });
    const b2 = r.summary.find((s) => s.point["variant"] === "b" && s.point["size"] === 2);
    expect(b2?.failed).toBe(2);
    expect(b2?.runs).toBe(1);
    expect(b2?.metrics["tput"]?.ci95).toBeNull();
    expect(r.runs.filter((x) => x.error === "cluster did not start").length).toBe(2);
    expect(readFileSync(join(dir, TABLE_FILE), "utf8")).toContain("1 (2 failed)");
  });

  test("an interrupted run stops the experiment and keeps what the finished runs measured", async () => {
    const dir = tempDir("paxos-experiment-");
    const e = fakeExperiment({ fail: (_p, n) => (n === 3 ? new BenchInterrupted("interrupted") : null) });
    await expect(runExperiment(e, { quick: false }, dir, { host: HOST, hostCpu: () => null })).rejects.toThrow(BenchInterrupted);
    const partial = JSON.parse(readFileSync(join(dir, RESULTS_FILE), "utf8")) as ExperimentResults;
    expect(partial.runs.length).toBe(3);
    expect(partial.finishedAt).toBeNull();
    expect(existsSync(join(dir, TABLE_FILE))).toBe(false);
  });

  test("host CPU and steal are recorded per run from the readings around it", async () => {
    const dir = tempDir("paxos-experiment-");
    let t = 0;
    // each reading: 100 more jiffies, 50 of them busy and 10 stolen
    const cpu = () => ({ busy: (t += 1) * 50, steal: t * 10, total: t * 100 });
    const r = await runExperiment(fakeExperiment(), { quick: true }, dir, { host: HOST, hostCpu: cpu });
    expect(r.runs[0]?.hostBusyPct).toBe(50);
    expect(r.runs[0]?.stealPct).toBe(10);
    expect(r.summary[0]?.maxStealPct).toBe(10);
  });

  test("the time left scales the estimates by how long the finished runs took", () => {
    const eta = new Eta([10, 10, 10, 10]);
    expect(eta.leftS(0)).toBe(40);
    eta.done(0, 20); // twice the estimate
    expect(eta.leftS(1)).toBe(60);
    eta.done(1, 10);
    expect(eta.leftS(2)).toBe(30);
  });
});

describe("experiment harness: steal", () => {
  test("a run with too much steal is kept, marked discarded, left out of the summary, and run again; the last attempt counts", async () => {
    const dir = tempDir("paxos-experiment-");
    // Readings around each run: the first two runs see 50 % steal, then none.
    let reading = 0;
    let stealSoFar = 0;
    const cpu = () => {
      reading++;
      if (reading % 2 === 0 && reading <= 4) stealSoFar += 50;
      return { busy: reading * 50, steal: stealSoFar, total: reading * 100 };
    };
    const r = await runExperiment(fakeExperiment(), { quick: true }, dir, { host: HOST, hostCpu: cpu, maxStealPct: 10, stealRetries: 2 });
    expect(r.runs.length).toBe(3);
    expect(r.runs[0]?.discarded).toContain("50.0 %");
    expect(r.runs[1]?.discarded).toBeDefined();
    expect(r.runs[2]?.discarded).toBeUndefined();
    expect(r.summary[0]?.runs).toBe(1);
    expect(r.summary[0]?.discarded).toBe(2);
    // run 2's throughput: size 1 x 10 + run number 2
    expect(r.summary[0]?.metrics["tput"]?.median).toBe(12);
    expect(readFileSync(join(dir, TABLE_FILE), "utf8")).toContain("1 (2 run again for steal)");
  });

  test("after the retries the last attempt counts, steal or not", async () => {
    const dir = tempDir("paxos-experiment-");
    let reading = 0;
    const cpu = () => ({ busy: ++reading * 50, steal: reading * 30, total: reading * 100 });
    const r = await runExperiment(fakeExperiment(), { quick: true }, dir, { host: HOST, hostCpu: cpu, maxStealPct: 10, stealRetries: 1 });
    expect(r.runs.map((x) => x.discarded === undefined)).toEqual([false, true]);
    expect(r.summary[0]?.runs).toBe(1);
  });
});

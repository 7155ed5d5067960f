import { describe, expect, test } from "bun:test";
import { formatLimits, LIMIT_DEFAULTS, measureLimits, type Limits } from "../../src/bench/limits.ts";
import { limitFractions, type BenchResult } from "../../src/bench/run.ts";
import { runCli } from "../../src/cli/program.ts";

describe("paxos bench --limits: what the runtime moves on this host", () => {
  test(
    "a short measurement gives every limit, from child processes that forward, receive and echo for real",
    async () => {
      const said: string[] = [];
      const l = await measureLimits({ ...LIMIT_DEFAULTS, ringProcesses: 3, receivers: 2, stepMs: 300 }, (s) => said.push(s));
      // Blocks went round the ring (a broken forwarder gives 0), with both socket kinds under Bun.
      expect(l.tcpRing.nodeNetMBps).toBeGreaterThan(1);
      expect(l.tcpRing.bunNativeMBps ?? 0).toBeGreaterThan(1);
      // Loopback multicast takes at least the lowest rate tried without loss on any host CI runs on.
      expect(l.multicast.losslessDatagramsPerSec).toBeGreaterThanOrEqual(5000);
      expect(l.multicast.losslessMBps).toBeCloseTo((l.multicast.losslessDatagramsPerSec * 8192) / 1e6, 1);
      expect(l.pingPong.rttP50Us).toBeGreaterThan(0);
      expect(l.pingPong.rttP50Us).toBeLessThan(50_000);
      expect(l.pingPong.oneHopUs).toBe(Math.round(l.pingPong.rttP50Us / 2));
      expect(l.fdatasync.perSec).toBeGreaterThan(0);
      expect(said.length).toBe(5);
      expect(formatLimits(l)).toContain("TCP ring, 3 processes forwarding 32 KB blocks");
    },
    60_000,
  );

  test("the run's figures as fractions: M-Ring of the multicast limit, U-Ring of the faster ring, latency of a hop with one value in flight", () => {
    const limits: Limits = {
      options: LIMIT_DEFAULTS,
      tcpRing: { nodeNetMBps: 400, bunNativeMBps: 500 },
      multicast: { losslessDatagramsPerSec: 40_000, losslessMBps: 327.68 },
      pingPong: { rttP50Us: 60, oneHopUs: 30 },
      fdatasync: { perSec: 1000, p50Us: 900 },
    };
    const run = (variant: "mring" | "uring", window: number): BenchResult =>
      ({
        options: { variant, window },
        learners: [{ id: 3, valuesPerSec: 1, mbPerSec: 250 }],
        clients: [{ latencyUs: { p50: 90 } }],
        processes: [],
        timeline: [],
      }) as unknown as BenchResult;
    expect(limitFractions(run("mring", 256), limits)).toEqual(["this run against them:", "  learner 250.0 MB/s = 0.76 of the multicast fan-out limit"]);
    expect(limitFractions(run("uring", 1), limits)).toEqual([
      "this run against them:",
      "  learner 250.0 MB/s = 0.50 of the TCP ring limit (the faster of the two socket kinds)",
      "  client p50 90 µs = 3.00 one-hop floors (ping-pong)",
    ]);
  });

  test("--limits is refused with --app kv", async () => {
    let err = "";
    const code = await runCli(["bench", "--app", "kv", "--limits"], { out: () => {}, err: (s) => void (err += s) });
    expect(code).toBe(2);
    expect(err).toContain("--limits: measured for the log's benchmark, not with --app kv");
  });
});

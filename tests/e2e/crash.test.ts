/**
 * Crash test of the write-ahead-log ledger with real processes: a WAL cluster (sync fsync) of
 * 3 acceptors, 1 learner-only process and 2 clients runs `paxos propose` loops from both clients
 * while acceptors 1 and 2 (never the coordinator, node 0: election comes later) are killed with
 * SIGKILL at random moments and restarted from their logs after a short random pause, one at a
 * time (f = 1). In U-Ring every acceptor is a learner too: each incarnation re-learns from the
 * beginning into an output file of its own.
 *
 * Asserted after the load stops and every learner caught up:
 * - every learner incarnation's delivered sequence is a prefix of one reference sequence (the
 *   longest), and the learner-only process (never killed) and the last incarnation of every
 *   learner hold all of it: no two learners ever delivered different values at one position;
 * - every value a `propose` call was told is decided appears in the reference exactly once, at the
 *   instance it was told; every delivered value was proposed; no stream holds a value twice;
 * - every `propose` call succeeded (timeouts long enough to ride out a crashed acceptor);
 * - every acceptor's log passes `inspectWal(dir, verify)` after the stop (no corruption, clean
 *   tail), and each restart recovered records (N > 0, never fewer than the restart before, more
 *   at the last restart than at the first);
 * - no node ends but by this test's kills, and every node exits 0 on the final SIGTERM.
 *
 * The kill schedule comes from a seeded xorshift32: CRASH_SEED=<seed> picks it (the seed is
 * printed at the start and with every failure), CRASH_CYCLES changes the kill/restart cycles per
 * variant. Process scheduling still varies from run to run, so a seed replays the schedule, not
 * the interleaving.
 */
import { describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { LocalCluster } from "../../src/bench/cluster.ts";
import { inspectWal, type WalSummary } from "../../src/ledger/inspect.ts";
import { walDir } from "../../src/ledger/open.ts";

const SEED = (Number(process.env["CRASH_SEED"] ?? Math.floor(Math.random() * 0xffff_ffff)) >>> 0 || 1) >>> 0;
const CYCLES = Number(process.env["CRASH_CYCLES"] ?? 20);
/** Values per `paxos propose` call. */
const VALUES_PER_CALL = 50;
/** A propose call must ride out a crash and the coordinator's new round: far longer than that takes. */
const PROPOSE_TIMEOUT_MS = 20_000;
/** Load running between a restart and the next kill, and the crashed node's time down (ms). */
const UP_MS: readonly [number, number] = [200, 700];
const DOWN_MS: readonly [number, number] = [20, 400];
/** How long the learners get to catch up once the load stopped. */
const CATCH_UP_MS = 20_000;

/** xorshift32: the kill schedule. */
class XorShift32 {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 1;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + (this.next() % (hi - lo + 1));
  }
}

interface Delivered {
  readonly instance: number;
  readonly client: number;
  readonly seq: number;
  readonly value: string;
}

interface Stream {
  readonly node: number;
  readonly incarnation: number;
  readonly values: readonly Delivered[];
}

interface Restart {
  readonly node: number;
  readonly incarnation: number;
  readonly downMs: number;
  /** From the "node started" line: `N records recovered`, or null if the line does not say. */
  readonly recovered: number | null;
  readonly startedLine: string;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function parseStream(node: number, incarnation: number, lines: readonly string[]): Stream {
  const values = lines.map((l) => {
    const o = JSON.parse(l) as { instance: number; client: number; seq: number; value: string };
    return { instance: o.instance, client: o.client, seq: o.seq, value: Buffer.from(o.value, "base64").toString() };
  });
  return { node, incarnation, values };
}

function same(a: Delivered, b: Delivered): boolean {
  return a.instance === b.instance && a.client === b.client && a.seq === b.seq && a.value === b.value;
}

describe.each(["mring", "uring"] as const)("%s WAL cluster under SIGKILL of acceptors", (variant) => {
  test(
    `learners agree and no decided value is lost across ${CYCLES} kill/restart cycles`,
    async () => {
      const t0 = Date.now();
      const rng = new XorShift32(SEED ^ (variant === "mring" ? 0 : 0x9e37_79b9));
      const c = await LocalCluster.start(
        // Every U-Ring incarnation re-learns from instance 0 (learners keep no state): garbage
        // collection must leave the whole run's history at the acceptors.
        { variant, acceptors: 3, learners: 1, clients: 2, window: 16, ledger: { kind: "wal", sync: "fsync" }, protocol: { retainInstances: 1_000_000 } },
        { outputs: true },
      );
      const coordinator = c.ids("coordinator")[0] as number;
      const victims = c.ids("acceptor").filter((id) => id !== coordinator);
      const learners = c.ids("learner");
      const learnerOnly = c.nodes.filter((n) => n.roles.length === 1 && n.roles[0] === "learner").map((n) => n.id);
      const clients = c.ids("client");
      /** Incarnations started per node, and the logs of those that ended (a restart replaces c.logs). */
      const incarnations = new Map<number, number>(c.nodes.map((n) => [n.id, 0]));
      const oldLogs: { node: number; incarnation: number; lines: readonly string[] }[] = [];
      const restarts: Restart[] = [];
      const unexpectedExits: string[] = [];
      /** value -> instance the proposing client was told. */
      const told = new Map<string, number>();
      const toldTwice: string[] = [];
      const proposed = new Set<string>();
      const failedCalls: { client: number; round: number; code: number; err: string }[] = [];
      let calls = 0;
      let slowestCallMs = 0;
      let stopLoad = false;
      let diagnostics = `seed ${SEED} (CRASH_SEED=${SEED}), variant ${variant}`;
      console.log(`crash test ${variant}: ${diagnostics}`);
      try {
        const load = clients.map(async (id) => {
          for (let round = 0; !stopLoad; round++) {
            const values = Array.from({ length: VALUES_PER_CALL }, (_, i) => `c${id}-r${round}-v${i}`);
            for (const v of values) proposed.add(v);
            calls++;
            const callStart = Date.now();
            const r = await c.run(["propose", "--config", c.configFile, "--id", String(id), "--timeout-ms", String(PROPOSE_TIMEOUT_MS), ...values]);
            slowestCallMs = Math.max(slowestCallMs, Date.now() - callStart);
            for (const line of r.out.split("\n")) {
              const m = /^instance (\d+): (.*)$/.exec(line);
              if (!m) continue;
              const v = m[2] as string;
              if (told.has(v)) toldTwice.push(v);
              told.set(v, Number(m[1]));
            }
            if (r.code !== 0) failedCalls.push({ client: id, round, code: r.code, err: r.err.trim().split("\n").slice(-3).join(" | ") });
          }
        });

        // Let the load get going before the first crash.
        await sleep(500);
        for (let cycle = 0; cycle < CYCLES; cycle++) {
          await sleep(rng.int(UP_MS[0], UP_MS[1]));
          const victim = victims[rng.int(0, victims.length - 1)] as number;
          const downMs = rng.int(DOWN_MS[0], DOWN_MS[1]);
          // Nothing but this test's kills may end a node.
          for (const [id, p] of c.procs) if (p.exitCode !== null || p.signalCode !== null) unexpectedExits.push(`node ${id}.${incarnations.get(id)}: ${p.exitCode ?? p.signalCode}`);
          await c.kill(victim, "SIGKILL");
          oldLogs.push({ node: victim, incarnation: incarnations.get(victim) as number, lines: c.logs.get(victim) ?? [] });
          await sleep(downMs);
          const incarnation = (incarnations.get(victim) as number) + 1;
          incarnations.set(victim, incarnation);
          await c.restart(victim);
          const startedLine = (c.logs.get(victim) ?? []).find((l) => l.includes("node started")) ?? "";
          const m = /(\d+) records recovered/.exec(startedLine);
          restarts.push({ node: victim, incarnation, downMs, recovered: m ? Number(m[1]) : null, startedLine });
        }
        stopLoad = true;
        await Promise.all(load);
        const loadDone = Date.now();

        // Every learner's current incarnation catches up with the longest stream, and stays there.
        const current = () => learners.map((id) => c.outputOf(id, incarnations.get(id) as number).length);
        let stableSince = Date.now();
        let last = current();
        while (Date.now() - loadDone < CATCH_UP_MS) {
          await sleep(100);
          const now = current();
          if (now.some((n, i) => n !== last[i])) stableSince = Date.now();
          last = now;
          if (Math.min(...now) === Math.max(...now) && Date.now() - stableSince >= 300) break;
        }
        const caughtUpMs = Date.now() - loadDone;
        await c.stop({ keepDir: true });

        const streams: Stream[] = [];
        for (const id of learners)
          for (let inc = 0; inc <= (incarnations.get(id) as number); inc++) streams.push(parseStream(id, inc, c.outputOf(id, inc)));
        const reference = streams.reduce((a, b) => (b.values.length > a.values.length ? b : a));
        const wals = new Map<number, WalSummary | string>();
        for (const id of c.ids("acceptor")) {
          try {
            wals.set(id, inspectWal(walDir(join(c.dir, "wal"), id), true));
          } catch (e) {
            wals.set(id, `${(e as Error).name}: ${(e as Error).message}`);
          }
        }
        const summary = {
          seed: SEED,
          variant,
          cycles: restarts.length,
          killsPerNode: Object.fromEntries(victims.map((v) => [v, restarts.filter((r) => r.node === v).length])),
          proposeCalls: calls,
          failedCalls: failedCalls.length,
          slowestCallMs,
          valuesTold: told.size,
          referenceLength: reference.values.length,
          referenceFrom: `node ${reference.node} incarnation ${reference.incarnation}`,
          streams: streams.map((s) => `${s.node}.${s.incarnation}:${s.values.length}`).join(" "),
          recovered: restarts.map((r) => `${r.node}.${r.incarnation}:${r.recovered}`).join(" "),
          catchUpMs: caughtUpMs,
          wallMs: Date.now() - t0,
        };
        diagnostics += `\n${JSON.stringify(summary)}`;
        console.log(`crash test ${variant}: ${JSON.stringify(summary)}`);

        // Agreement: every stream is a prefix of the reference.
        for (const s of streams) {
          const k = s.values.findIndex((d, i) => {
            const r = reference.values[i];
            return r === undefined || !same(d, r);
          });
          expect({ stream: `${s.node}.${s.incarnation}`, firstDifference: k, mine: s.values[k] ?? null, reference: reference.values[k] ?? null }).toEqual({
            stream: `${s.node}.${s.incarnation}`,
            firstDifference: -1,
            mine: null,
            reference: null,
          });
        }
        // The never-killed learner, and the last incarnation of every learner, hold all of it.
        for (const id of learnerOnly) expect({ node: id, length: c.outputOf(id).length }).toEqual({ node: id, length: reference.values.length });
        for (const id of learners)
          expect({ node: id, incarnation: incarnations.get(id), length: c.outputOf(id, incarnations.get(id) as number).length }).toEqual({
            node: id,
            incarnation: incarnations.get(id),
            length: reference.values.length,
          });
        // Integrity: no value twice in a stream, every delivered value was proposed.
        for (const s of streams) {
          const seen = new Set<string>();
          const twice = s.values.filter((d) => (seen.has(d.value) ? true : (seen.add(d.value), false))).map((d) => d.value);
          expect({ stream: `${s.node}.${s.incarnation}`, twice }).toEqual({ stream: `${s.node}.${s.incarnation}`, twice: [] });
          expect(s.values.filter((d) => !proposed.has(d.value)).map((d) => d.value)).toEqual([]);
        }
        // Every value a client was told is decided is in the reference once, at the instance it was told.
        expect(toldTwice).toEqual([]);
        const where = new Map<string, number[]>();
        for (const d of reference.values) where.set(d.value, [...(where.get(d.value) ?? []), d.instance]);
        const wrong = [...told].filter(([v, inst]) => {
          const w = where.get(v);
          return w === undefined || w.length !== 1 || w[0] !== inst;
        });
        expect(wrong.slice(0, 10).map(([v, inst]) => ({ value: v, told: inst, delivered: where.get(v) ?? [] }))).toEqual([]);
        expect(told.size).toBeGreaterThan(0);
        expect(failedCalls).toEqual([]);
        expect(proposed.size).toBe(calls * VALUES_PER_CALL);
        // The crashes happened, and each restart recovered the node's log.
        expect(restarts).toHaveLength(CYCLES);
        expect(unexpectedExits).toEqual([]);
        for (const r of restarts) expect({ node: r.node, incarnation: r.incarnation, recovered: r.recovered !== null && r.recovered > 0, line: r.startedLine }).toMatchObject({ recovered: true });
        for (const v of victims) {
          const counts = restarts.filter((r) => r.node === v).map((r) => r.recovered ?? 0);
          for (let i = 1; i < counts.length; i++) expect({ node: v, restart: i, grew: (counts[i] as number) >= (counts[i - 1] as number), counts }).toMatchObject({ grew: true });
          if (counts.length >= 2) expect((counts.at(-1) as number) > (counts[0] as number)).toBe(true);
        }
        // Every log reads back, checksums verified, with a clean tail after the final stop.
        for (const [id, w] of wals) {
          expect({ node: id, ok: typeof w !== "string", error: typeof w === "string" ? w : null }).toEqual({ node: id, ok: true, error: null });
          if (typeof w === "string") continue;
          expect({ node: id, tornTail: w.tornTail }).toEqual({ node: id, tornTail: null });
          expect(w.records.vote).toBeGreaterThan(0);
          const total = w.records.promise + w.records.vote + w.records.decision + w.records.trim + w.records.checkpoint;
          const lastRecovered = restarts.filter((r) => r.node === id).at(-1)?.recovered ?? 0;
          expect(total).toBeGreaterThanOrEqual(lastRecovered);
        }
        for (const [id, p] of c.procs) expect({ node: id, code: p.exitCode, signal: p.signalCode }).toEqual({ node: id, code: 0, signal: null });
      } catch (e) {
        // The socket-buffer warnings every node prints at start say nothing here.
        const tail = (lines: readonly string[]) => lines.filter((l) => !/SO_(RCV|SND)BUF/.test(l)).slice(-8);
        const logs = [
          ...oldLogs.map((o) => ({ ...o, lines: tail(o.lines) })),
          ...[...c.logs].map(([node, lines]) => ({ node, incarnation: incarnations.get(node) as number, lines: tail(lines) })),
        ];
        console.error(
          `crash test FAILED: ${diagnostics}\nrestarts: ${JSON.stringify(restarts.map((r) => [r.node, r.incarnation, r.downMs, r.recovered]))}\n` +
            `failed propose calls: ${JSON.stringify(failedCalls.slice(0, 5))}\n` +
            `logs (last lines of every incarnation):\n${logs.map((l) => `  node ${l.node}.${l.incarnation}:\n${l.lines.map((x) => `    ${x}`).join("\n")}`).join("\n")}\n` +
            `cluster directory kept: ${c.dir}`,
        );
        stopLoad = true;
        await c.stop({ keepDir: true });
        throw e;
      } finally {
        stopLoad = true;
      }
      rmSync(c.dir, { recursive: true, force: true });
    },
    { timeout: 60_000 },
  );
});

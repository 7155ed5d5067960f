import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { deleteStaleNamespaces, ip, Lab, labUnavailable, nftUnavailable, type LabPort, type LabProc } from "../../src/bench/netns-lab.ts";
import { clusterConfig, type NodeSpec } from "../../src/bench/cluster.ts";
import { childEnv, selfCommand } from "../../src/bench/self.ts";
import { PLANTED_BUG_ENV } from "../../src/app/kv/host.ts";
import type { NodeStatus } from "../../src/node/status.ts";
import { historyJson, randomClient, recorder, type Recorder } from "../support/kv-history.ts";
import { checkHistory, type CheckResult, type Operation } from "../support/linearizability.ts";

/**
 * Jepsen-style, on real processes on several "hosts": 3 acceptors (WAL ledgers) and 3 durable
 * key-value replicas, each `paxos node` in a network namespace of its own on a bridge
 * (src/bench/netns-lab.ts), and this process, the clients' host, joined to the bridge too. Concurrent
 * clients do get/put/cas on a few hot keys through every replica while a nemesis partitions the
 * network with nftables rules on the bridge (the leader cut off from everyone; then a replica cut
 * off from the cluster but not from its clients, the case where a stale read would show) and kills
 * the leader and a replica with SIGKILL and restarts them. Every operation's call and return is
 * recorded (a timeout or 503: outcome unknown). Once healed: the history must be linearizable, no
 * acknowledged write may be lost (final reads on every replica see the last acknowledged write of
 * each key or a later one), and every replica must end with the same state digest. The same
 * checks must catch a planted replica that answers reads from its own state (PAXOS_KV_PLANTED_BUG=
 * local-reads) while it is partitioned from the cluster and its clients still reach it.
 *
 * Needs root, iproute2 and nftables; skipped otherwise (with the reason printed).
 */

/** Namespaces of this test are named pxk<pid>-…; netns.test.ts's pxn…, the lab's default pxs…. */
const NS_PREFIX = "pxk";
/** A subnet of its own: this test adds a route to it in the root namespace (Lab.attachHere). */
const SUBNET = "10.79.0";
const ACCEPTORS = [0, 1, 2];
const REPLICAS = [3, 4, 5];
const KEYS = ["x", "y", "z"];
/** Clients per replica. */
const CLIENTS_PER_REPLICA = 2;
/** A client's pause between operations: ~40-60 operations/s each, so a history the checker goes through in a second or two. */
const PAUSE_MS = 10;
/** A replica's wait for a command before it answers 503 (see recorder): a cut-off replica's clients go on. */
const SERVER_TIMEOUT_MS = 1000;
/** How long the clients run; the nemesis' steps (below) take ~18 s of it, the rest is calm. */
const WORKLOAD_MS = 21_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const unavailable = labUnavailable() ?? nftUnavailable();
if (unavailable !== null) console.warn(`kv-netns-linearizability.test.ts: skipping: network namespaces or nftables unavailable (${unavailable})`);
else deleteStaleNamespaces(NS_PREFIX);

/** The cluster on the lab: its configuration and each node's current process. */
class NetCluster {
  readonly procs = new Map<number, LabProc>();

  constructor(
    readonly lab: Lab,
    readonly here: LabPort,
    readonly nodes: readonly NodeSpec[],
    readonly configFile: string,
  ) {}

  url(id: number): string {
    const n = this.nodes.find((x) => x.id === id);
    if (n?.http === undefined) throw new Error(`node ${id} has no HTTP port`);
    return `http://${n.host}:${n.http}`;
  }

  /** Starts a node (again) in its namespace; resolves once it logged "node started". */
  async start(id: number): Promise<void> {
    const self = selfCommand();
    const p = this.lab.spawn(id, self.cmd, [...self.args, "node", "--config", this.configFile, "--id", String(id)], { env: childEnv() });
    this.procs.set(id, p);
    const t0 = Date.now();
    while (!p.lines.some((l) => l.includes('"node started"'))) {
      if (p.child.exitCode !== null || p.child.signalCode !== null || Date.now() - t0 > 15_000) throw new Error(`node ${id} did not start:${this.tails([id])}`);
      await sleep(20);
    }
  }

  /** A crash: SIGKILL (`ip netns exec` execs the node, so the child is the node itself). */
  async kill(id: number): Promise<void> {
    const p = this.procs.get(id);
    if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
    p.child.kill("SIGKILL");
    await p.exited;
  }

  /** Nodes that are not running (none should be, unless the nemesis has one down). */
  dead(): number[] {
    return [...this.procs].filter(([, p]) => p.child.exitCode !== null || p.child.signalCode !== null).map(([id]) => id);
  }

  async status(id: number): Promise<NodeStatus | null> {
    try {
      const r = await fetch(`${this.url(id)}/status`, { signal: AbortSignal.timeout(1000) });
      return r.ok ? ((await r.json()) as NodeStatus) : null;
    } catch {
      return null;
    }
  }

  /** The acceptor that leads now (the active coordinator of the highest round), null if none answers as one. */
  async leader(): Promise<number | null> {
    let best: { id: number; round: number } | null = null;
    for (const s of await Promise.all(ACCEPTORS.map((id) => this.status(id)))) {
      const c = s?.coordinator;
      if (s && c?.active && (best === null || c.round > best.round)) best = { id: s.id, round: c.round };
    }
    return best?.id ?? null;
  }

  /** Resolves once every node answers /ready with 200 (a leader, caught up); false after `ms`. */
  async allReady(ms: number): Promise<boolean> {
    const ready = async (id: number) => (await fetch(`${this.url(id)}/ready`, { signal: AbortSignal.timeout(1000) }).catch(() => null))?.status === 200;
    const t0 = Date.now();
    while (Date.now() - t0 < ms) {
      if ((await Promise.all(this.nodes.map((n) => ready(n.id)))).every(Boolean)) return true;
      await sleep(200);
    }
    return false;
  }

  tails(ids: readonly number[] = this.nodes.map((n) => n.id), n = 6): string {
    return ids.map((id) => `\n  node ${id}: ${(this.procs.get(id)?.lines ?? []).slice(-n).map((l) => l.slice(0, 400)).join(" | ")}`).join("");
  }

  /** Each node's error-level log lines, for the report (the nemesis' faults cause some). */
  errorLines(): string[] {
    return [...this.procs].flatMap(([id, p]) => p.lines.filter((l) => l.includes('"level":"error"')).map((l) => `node ${id}: ${l.slice(0, 300)}`));
  }
}

/** The topology, the configuration (one file: each node names its own multicast interface) and the first start of every node. */
async function startCluster(lab: Lab, dir: string): Promise<NetCluster> {
  lab.build([...ACCEPTORS, ...REPLICAS], null);
  const here = lab.attachHere();
  const made = await clusterConfig({ variant: "mring", acceptors: ACCEPTORS.length, learners: REPLICAS.length, clients: 0, kv: true, http: true });
  const nodes: NodeSpec[] = made.nodes.map((n) => ({ ...n, host: lab.host(n.id).addr, ...(REPLICAS.includes(n.id) ? { kv: { dir: join(dir, `kv-${n.id}`) } } : {}) }));
  const { interface: _loopback, ...multicast } = made.config["multicast"] as Record<string, unknown>;
  const config = {
    ...made.config,
    nodes: nodes.map((n) => ({ ...n, multicastInterface: n.host })),
    multicast,
    ledger: { kind: "wal", sync: "none", dir: join(dir, "wal") },
  };
  const file = join(dir, "cluster.json");
  writeFileSync(file, JSON.stringify(config, null, 2));
  const c = new NetCluster(lab, here, nodes, file);
  await Promise.all(nodes.map((n) => c.start(n.id)));
  return c;
}

/** What the nemesis did (with times), and who led while the first leader was cut off. */
interface NemesisReport {
  readonly events: string[];
  readonly cutLeader: number;
  readonly leaderWhileCut: number | null;
}

/**
 * The faults, one after another: the leader partitioned from everyone for ~3 s; a replica
 * partitioned from the cluster (its clients still reach it) for 3 s; the leader killed and
 * restarted 2 s later; a replica killed and restarted 2 s later.
 */
async function nemesis(c: NetCluster, t0: number): Promise<NemesisReport> {
  const events: string[] = [];
  const note = (what: string) => events.push(`${((performance.now() - t0) / 1000).toFixed(1)}s ${what}`);
  await sleep(2000);
  const cutLeader = (await c.leader()) ?? 0;
  c.lab.isolate(cutLeader);
  note(`leader ${cutLeader} partitioned from everyone`);
  await sleep(2500);
  // Asked of the acceptors this side reaches: the cut one does not answer (1 s timeout).
  const leaderWhileCut = await c.leader();
  c.lab.heal();
  note(`healed (${leaderWhileCut} led meanwhile)`);
  await sleep(1000);
  const cut = REPLICAS[2] as number;
  c.lab.isolate(cut, [c.here.port]);
  note(`replica ${cut} partitioned from the cluster (its clients still reach it)`);
  await sleep(3000);
  c.lab.heal();
  note("healed");
  await sleep(1000);
  await crash(c, (await c.leader()) ?? 0, "leader", note);
  await sleep(1000);
  await crash(c, REPLICAS[1] as number, "replica", note);
  return { events, cutLeader, leaderWhileCut };
}

async function crash(c: NetCluster, id: number, what: string, note: (s: string) => void): Promise<void> {
  await c.kill(id);
  note(`${what} ${id} killed (SIGKILL)`);
  await sleep(2000);
  await c.start(id);
  note(`${what} ${id} restarted`);
}

/** One linearizable get of every key on every replica, recorded in the history (clients 100, 101, …). */
async function finalReads(c: NetCluster, rec: Recorder): Promise<Operation[]> {
  const before = rec.history.length;
  await Promise.all(
    REPLICAS.map(async (id, i) => {
      let seq = 0;
      for (const key of KEYS) await rec.run(100 + i, ++seq, c.url(id), key, { op: "get" });
    }),
  );
  return rec.history.slice(before);
}

/**
 * Acknowledged writes that the final reads do not account for: a read of a key must see a revision
 * at least that of every acknowledged write of it (revisions grow along the log: a higher one is
 * a later write), and when it names an acknowledged write's revision, that write's value.
 */
function lostWrites(history: readonly Operation[], finals: readonly Operation[]): string[] {
  const problems: string[] = [];
  for (const key of KEYS) {
    const acked = new Map<number, string>();
    for (const o of history) if (o.key === key && o.output?.ok && "value" in o.input) acked.set(o.output.revision, o.input.value);
    const newest = Math.max(0, ...acked.keys());
    for (const f of finals.filter((o) => o.key === key)) {
      const rev = f.output?.ok ? f.output.revision : 0;
      const value = f.output?.ok ? f.output.value : undefined;
      if (rev < newest) problems.push(`${key}: client ${f.client} read revision ${rev}, below the acknowledged write of revision ${newest} (${acked.get(newest)})`);
      if (acked.has(rev) && acked.get(rev) !== value) problems.push(`${key}: client ${f.client} read ${value} at revision ${rev}, written as ${acked.get(rev)}`);
    }
  }
  return problems;
}

/** Each replica's state digest (GET /v1/snapshot), null where it gives none. */
async function digests(c: NetCluster): Promise<(string | null)[]> {
  return Promise.all(
    REPLICAS.map(async (id) => {
      try {
        const r = await fetch(`${c.url(id)}/v1/snapshot`, { signal: AbortSignal.timeout(2000) });
        return r.ok ? ((await r.json()) as { stateSha256: string }).stateSha256 : null;
      } catch {
        return null;
      }
    }),
  );
}

/** Polls the digests until every replica gives the same one (a replica serves one snapshot for 2 s: REUSE_MS). */
async function converged(c: NetCluster, ms: number): Promise<{ same: boolean; digests: (string | null)[]; afterMs: number }> {
  const t0 = Date.now();
  let d = await digests(c);
  while (!(d[0] !== null && d.every((x) => x === d[0])) && Date.now() - t0 < ms) {
    await sleep(500);
    d = await digests(c);
  }
  return { same: d[0] !== null && d.every((x) => x === d[0]), digests: d, afterMs: Date.now() - t0 };
}

/** Our namespaces and the root namespace's interface still present (should be none after the test). */
function leftovers(): string[] {
  const tag = `${NS_PREFIX}${process.pid}-`;
  const names = ip("netns", "list")
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .filter((n) => n.startsWith(tag));
  const links = ip("-o", "link", "show")
    .split("\n")
    .filter((l) => l.includes(tag));
  return [...names, ...links];
}

let lab: Lab | null = null;
afterAll(() => lab?.reapSync());

/** A fresh lab and cluster (every node ready) for `run`; everything reaped after, and checked gone. */
async function withCluster(name: string, run: (c: NetCluster) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "paxos-kv-netns-"));
  lab = new Lab(name, SUBNET, NS_PREFIX);
  let started: NetCluster | null = null;
  try {
    started = await startCluster(lab, dir);
    expect(await started.allReady(20_000)).toBe(true);
    await run(started);
  } catch (e) {
    if (started) console.log(`kv netns: the nodes' last log lines:${started.tails()}`);
    throw e;
  } finally {
    await lab.destroy();
    lab = null;
    rmSync(dir, { recursive: true, force: true });
  }
  expect(leftovers()).toEqual([]);
}

/**
 * Random clients for `ms`, CLIENTS_PER_REPLICA bound to each replica (as Jepsen binds a client to
 * a node), with `faults` run meanwhile; waits for both. Bound, because a client free to pick any
 * replica soon waits out a timeout on the one cut off or down, and then all of them do at once:
 * the others' load, against which that replica's answers are checked, stops.
 */
async function workload<T>(c: NetCluster, rec: Recorder, ms: number, faults: (t0: number) => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const clients = REPLICAS.flatMap((id, r) => Array.from({ length: CLIENTS_PER_REPLICA }, (_, i) => randomClient(1 + r * CLIENTS_PER_REPLICA + i, rec, [c.url(id)], KEYS, t0 + ms, PAUSE_MS)));
  try {
    return await faults(t0);
  } finally {
    await Promise.all(clients);
  }
}

/** The history's linearizability, with the history kept in a file when it is not. */
function check(history: readonly Operation[], log: boolean): CheckResult & { ms: number } {
  const t0 = performance.now();
  const result = { ...checkHistory(history), ms: Math.round(performance.now() - t0) };
  if (!result.ok && log) {
    const file = join(tmpdir(), `kv-netns-history-${process.pid}.json`);
    writeFileSync(file, historyJson(history));
    console.log(`kv netns: not linearizable on ${result.failedKeys.join(", ")}; history in ${file}`);
  }
  return result;
}

/** After the faults: every replica answers, the history is linearizable, nothing acknowledged is lost, the replicas converge. */
async function checkHealed(c: NetCluster, rec: Recorder): Promise<void> {
  expect(await c.allReady(10_000)).toBe(true);
  const finals = await finalReads(c, rec);
  expect(finals.filter((o) => o.output === null).map((o) => `client ${o.client} get ${o.key}`)).toEqual([]);
  const result = check(rec.history, true);
  expect(result.failedKeys).toEqual([]);
  expect(lostWrites(rec.history, finals)).toEqual([]);
  const conv = await converged(c, 10_000);
  const transfers = (await Promise.all(REPLICAS.map((id) => c.status(id)))).map((s, i) => `${REPLICAS[i]}: ${s?.kv?.transfers ?? "?"}`);
  console.log(`kv netns: checker explored ${result.explored} states in ${result.ms} ms; state digests ${conv.same ? `equal after ${conv.afterMs} ms` : `differ: ${conv.digests.join(", ")}`}; snapshots installed, by replica: ${transfers.join(", ")}`);
  const errors = c.errorLines();
  if (errors.length > 0) console.log(`kv netns: ${errors.length} error lines in the nodes' logs:\n  ${errors.slice(0, 8).join("\n  ")}`);
  expect(conv.same).toBe(true);
  expect(c.dead()).toEqual([]);
}

const describeIfNetns = unavailable === null ? describe : describe.skip;

describeIfNetns("paxos kv linearizability across network namespaces (partitions and crashes)", () => {
  test(
    "get/put/cas on hot keys through 3 replicas while the leader and a replica are partitioned, then killed and restarted: linearizable, no acknowledged write lost, replicas converge",
    async () => {
      await withCluster("kv", async (c) => {
        const rec = recorder({ serverTimeoutMs: SERVER_TIMEOUT_MS });
        let healedAt = Infinity;
        const faults = await workload(c, rec, WORKLOAD_MS, async (t0) => {
          const r = await nemesis(c, t0);
          healedAt = performance.now();
          return r;
        });
        const known = rec.history.filter((o) => o.output !== null);
        console.log(`kv netns: ${rec.history.length} operations, ${known.length} with a known outcome (${known.filter((o) => o.input.op === "get").length} reads); nemesis: ${faults.events.join("; ")}`);
        // The partition bit: the acceptors on the majority's side chose another leader meanwhile.
        expect(faults.leaderWhileCut).not.toBeNull();
        expect(faults.leaderWhileCut).not.toBe(faults.cutLeader);
        expect(c.dead()).toEqual([]);
        expect(known.length).toBeGreaterThan(300);
        // Healed, the service answers again: writes acknowledged after the last fault.
        expect(known.filter((o) => o.call > healedAt && o.input.op !== "get").length).toBeGreaterThan(10);
        await checkHealed(c, rec);
      });
    },
    { timeout: 120_000 },
  );

  test(
    "the checker catches a planted replica that answers reads from its own state while partitioned from the cluster",
    async () => {
      process.env[PLANTED_BUG_ENV] = "local-reads";
      try {
        await withCluster("kvp", async (c) => {
          // The cut-off replica's clients read at once but wait out each write (then rest 500 ms):
          // a short server timeout and 4 s of partition give them several reads, each one stale.
          const rec = recorder({ serverTimeoutMs: 300 });
          await workload(c, rec, 7000, async () => {
            await sleep(1500);
            c.lab.isolate(REPLICAS[2] as number, [c.here.port]);
            await sleep(4000);
            c.lab.heal();
          });
          expect(rec.history.filter((o) => o.output !== null).length).toBeGreaterThan(100);
          const result = check(rec.history, false);
          console.log(`kv netns, planted local reads: ${rec.history.length} operations, not linearizable on [${result.failedKeys.join(", ")}]`);
          expect(result.ok).toBe(false);
        });
      } finally {
        delete process.env[PLANTED_BUG_ENV];
      }
    },
    { timeout: 60_000 },
  );
});

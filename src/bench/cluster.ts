/** A cluster of `paxos node` processes on loopback, for `paxos bench` and the process-level tests. */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { childEnv, selfCommand } from "./self.ts";
import { CLIENT_NODE } from "../config/identity.ts";
import type { Role } from "../config/schema.ts";
import type { NodeStatus } from "../node/status.ts";
import { generateKeyText } from "../security/keys.ts";
import { multiRingLayout, type MultiRingLayout } from "./multiring-layout.ts";
import type { MergeWaitFigures } from "../multiring/merge-wait.ts";

export interface ClusterSpec {
  readonly variant: "mring" | "uring";
  /** Acceptors (M-Ring: f+1 of them on the ring, the rest spares; U-Ring: all on the ring). */
  readonly acceptors: number;
  /** Learner-only processes. */
  readonly learners: number;
  readonly clients: number;
  /**
   * Clients learn every value themselves (role client, the default), or follow a learner's
   * delivery notices and receive no multicast (false: role proposer).
   */
  readonly clientsLearn?: boolean;
  readonly window?: number;
  readonly batchBytes?: number;
  /** M-Ring: the multicast datagram limit (default: the configuration's default). */
  readonly maxDatagram?: number;
  /**
   * The socket buffers asked for: M-Ring's multicast sockets' receive and send buffers (default:
   * the configuration's, 16 MB; Linux caps at net.core.rmem_max); U-Ring's TCP connections' (the
   * `tcp` section; default: the kernel's autotuning).
   */
  readonly socketBufferBytes?: number;
  readonly extraNodeArgs?: readonly string[];
  /** The acceptors' ledger (default RAM); a write-ahead log lives under the cluster's directory. */
  readonly ledger?: { readonly kind: "wal"; readonly sync: "fsync" | "none"; readonly segmentBytes?: number };
  /** More `protocol` settings of the configuration (see config/schema.ts). */
  readonly protocol?: Readonly<Record<string, number>>;
  /** Give every node but the clients an HTTP port (`/status`, `/metrics`): see LocalCluster.status. */
  readonly http?: boolean;
  /** Authenticated traffic: a fresh cluster key (`cluster.key` in the cluster's directory) in security.keyFile. */
  readonly auth?: boolean;
  /** Multi-Ring Paxos: this layout's rings, acceptors, learners and clients (`acceptors`, `learners` and `clients` are then unused). */
  readonly multiRing?: MultiRingLayout;
  /** The learners host key-value replicas (roles learner and proposer, an HTTP port, a store under the cluster's directory). */
  readonly kv?: boolean;
  /**
   * A partitioned key-value service (with `kv`): 3 acceptors serving one ring per partition (ids
   * 1..P) and the global ring (P + 1), each its own group; replica i holds the partitions
   * `replicas[i]` (and learns the global group). `acceptors`, `learners` and `clients` are unused.
   */
  readonly kvPartitions?: { readonly partitions: number; readonly replicas: readonly (readonly number[])[] };
}

export interface NodeSpec {
  readonly id: number;
  readonly host: string;
  readonly port: number;
  readonly roles: Role[];
  readonly http?: number;
  /** Multi-Ring: the groups a learner learns. */
  readonly subscribe?: number[];
  /** Multi-Ring: the group a client proposes to (not part of the configuration). */
  readonly group?: number;
  /** A key-value replica's store directory. */
  readonly kv?: { readonly dir: string };
}

export interface StatsLine {
  readonly id: number;
  readonly t: number;
  readonly delivered: number;
  readonly deliveredBytes: number;
  readonly cpuUserUs: number;
  readonly cpuSystemUs: number;
  readonly rss: number;
  /** The JS heap in use and the bytes of ArrayBuffers (payloads, socket chunks), for where RSS goes. */
  readonly heapUsed?: number;
  readonly arrayBuffers?: number;
  /** Coordinator: window in use and flow-control cuts; acceptor: garbage collection; learner: backlog, notices sent. */
  readonly window?: number;
  readonly lowestWindow?: number;
  readonly windowCuts?: number;
  readonly ring?: readonly number[] | null;
  readonly slowRelayouts?: number;
  readonly trimmedBelow?: number;
  readonly heldInstances?: number;
  readonly backlog?: number;
  readonly slowDowns?: number;
  /** Wall clock when the line was made (ms since the epoch): lines up with other processes' times. */
  readonly wall?: number;
  /** Multi-Ring: per ring, what its learner here delivered and the merge's backlog of it (see multiRingStatsLine). */
  readonly rings?: Readonly<Record<string, { readonly delivered: number; readonly deliveredBytes: number; readonly backlog: number | null; readonly skippedSlots?: number; readonly window?: number }>>;
  /** Multi-Ring: how long the instances released since the previous line waited in the merge. */
  readonly mergeWait?: MergeWaitFigures | null;
}

/** A free TCP port on 127.0.0.1 (bound, then released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      const port = typeof a === "object" && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Distinct free ports: the OS may hand the same just-released port out twice. */
export async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

/** A multicast group address derived from a free port (distinct ports give distinct groups). */
function groupOf(port: number): string {
  return `239.${(port >> 8) % 250}.${port % 250}.${1 + (port % 200)}`;
}

/** The configuration of a Multi-Ring layout on loopback: every ring with its own multicast group (M-Ring). */
async function multiRingConfig(spec: ClusterSpec, layout: MultiRingLayout): Promise<{ nodes: NodeSpec[]; config: Record<string, unknown> }> {
  const plan = multiRingLayout(layout);
  const http = (roles: readonly Role[]) => spec.http === true && !CLIENT_NODE.test(roles);
  const ports = await freePorts(plan.nodes.length + plan.rings.length + plan.nodes.filter((n) => http(n.roles)).length);
  const take = (): number => ports.pop() as number;
  const nodes: NodeSpec[] = plan.nodes.map((n) => ({ ...n, host: "127.0.0.1", port: take(), ...(http(n.roles) ? { http: take() } : {}) }));
  const multicast = (port: number) => ({ group: groupOf(port), port, interface: "127.0.0.1", ttl: 1, ...(spec.maxDatagram ? { maxDatagram: spec.maxDatagram } : {}) });
  return {
    nodes,
    config: {
      cluster: 4242,
      variant: spec.variant,
      nodes: nodes.map(({ group: _group, ...n }) => n),
      rings: plan.rings.map((r) => ({ ...r, ...(spec.variant === "mring" ? { multicast: multicast(take()) } : {}) })),
      groups: plan.rings.map((r) => ({ id: r.id, ring: r.id })),
      multiRing: { lambdaPerSecond: layout.lambdaPerSecond, deltaMs: layout.deltaMs, m: layout.m },
      protocol: { window: spec.window ?? 32, ...(spec.batchBytes ? { batchBytes: spec.batchBytes } : {}), ...spec.protocol },
    },
  };
}

/** The configuration of a partitioned key-value service on loopback (ClusterSpec.kvPartitions). */
async function kvPartitionedConfig(spec: ClusterSpec, layout: NonNullable<ClusterSpec["kvPartitions"]>): Promise<{ nodes: NodeSpec[]; config: Record<string, unknown> }> {
  const rings = Array.from({ length: layout.partitions + 1 }, (_, i) => i + 1);
  const ports = await freePorts(3 * 2 + layout.replicas.length * 2 + rings.length);
  const take = (): number => ports.pop() as number;
  const nodes: NodeSpec[] = [0, 1, 2].map((id) => ({ id, host: "127.0.0.1", port: take(), http: take(), roles: [...(rings.some((r) => (r - 1) % 3 === id) ? (["coordinator"] as const) : []), "acceptor"] }));
  layout.replicas.forEach((held, i) => nodes.push({ id: 3 + i, host: "127.0.0.1", port: take(), http: take(), roles: ["learner", "proposer"], subscribe: [...held.map((p) => p + 1), rings.length] }));
  return {
    nodes,
    config: {
      cluster: 4242,
      variant: "mring",
      nodes,
      rings: rings.map((id) => ({ id, acceptors: [0, 1, 2], coordinator: (id - 1) % 3, multicast: { group: groupOf(ports[ports.length - 1] as number), port: take(), interface: "127.0.0.1", ttl: 1 } })),
      groups: rings.map((id) => ({ id, ring: id })),
      kv: { partitions: rings.slice(0, -1), global: rings.length },
      multiRing: { lambdaPerSecond: 1000, deltaMs: 5, m: 1 },
      protocol: { window: spec.window ?? 32, batchDelayMs: 1, ...spec.protocol },
    },
  };
}

export async function clusterConfig(spec: ClusterSpec): Promise<{ nodes: NodeSpec[]; config: Record<string, unknown> }> {
  if (spec.multiRing) return multiRingConfig(spec, spec.multiRing);
  if (spec.kvPartitions) return kvPartitionedConfig(spec, spec.kvPartitions);
  const ports = await freePorts(spec.acceptors + spec.learners + spec.clients + 1 + (spec.http ? spec.acceptors : 0) + (spec.http || spec.kv ? spec.learners : 0));
  const freePort = async (): Promise<number> => ports.pop() as number;
  const nodes: NodeSpec[] = [];
  let id = 0;
  const http = async (): Promise<{ http?: number }> => (spec.http ? { http: await freePort() } : {});
  for (let a = 0; a < spec.acceptors; a++)
    nodes.push({
      id: id++,
      host: "127.0.0.1",
      port: await freePort(),
      roles: [...(a === 0 ? (["coordinator"] as const) : []), "acceptor", ...(spec.variant === "uring" ? (["learner"] as const) : [])],
      ...(await http()),
    });
  for (let l = 0; l < spec.learners; l++)
    nodes.push({ id: id++, host: "127.0.0.1", port: await freePort(), roles: spec.kv ? ["learner", "proposer"] : ["learner"], ...(spec.kv ? { http: await freePort() } : await http()) });
  const clientRole = spec.clientsLearn === false ? "proposer" : "client";
  for (let c = 0; c < spec.clients; c++) nodes.push({ id: id++, host: "127.0.0.1", port: await freePort(), roles: [clientRole] });
  const mport = await freePort();
  return {
    nodes,
    config: {
      cluster: 4242,
      variant: spec.variant,
      nodes,
      ...(spec.variant === "mring"
        ? {
            multicast: {
              group: groupOf(mport),
              port: mport,
              interface: "127.0.0.1",
              ttl: 1,
              ...(spec.maxDatagram ? { maxDatagram: spec.maxDatagram } : {}),
              ...(spec.socketBufferBytes ? { recvBufferBytes: spec.socketBufferBytes, sendBufferBytes: spec.socketBufferBytes } : {}),
            },
          }
        : spec.socketBufferBytes
          ? { tcp: { sendBufferBytes: spec.socketBufferBytes, recvBufferBytes: spec.socketBufferBytes } }
          : {}),
      protocol: { window: spec.window ?? 32, ...(spec.batchBytes ? { batchBytes: spec.batchBytes } : {}), ...spec.protocol },
    },
  };
}

/** Bound: stderr lines kept per process (the last ones, for error reports). */
const MAX_LOG_LINES = 2000;

export class LocalCluster {
  readonly procs = new Map<number, ChildProcess>();
  readonly logs = new Map<number, string[]>();
  readonly stats = new Map<number, StatsLine[]>();
  private stopping: Promise<void> | null = null;

  private constructor(
    readonly spec: ClusterSpec,
    readonly dir: string,
    readonly configFile: string,
    readonly nodes: readonly NodeSpec[],
  ) {}

  /** Writes the configuration and starts every node but the clients; resolves once all are up. */
  static async start(spec: ClusterSpec, opts: { statsMs?: number; outputs?: boolean } = {}): Promise<LocalCluster> {
    const dir = mkdtempSync(join(tmpdir(), "paxos-cluster-"));
    const made = await clusterConfig(spec);
    const { config } = made;
    const nodes = spec.kv ? made.nodes.map((n) => (n.roles.includes("learner") && n.roles.includes("proposer") ? { ...n, kv: { dir: join(dir, `kv-${n.id}`) } } : n)) : made.nodes;
    if (spec.kv) config["nodes"] = nodes;
    if (spec.ledger) config["ledger"] = { ...spec.ledger, dir: join(dir, "wal") };
    if (spec.auth) {
      const keyFile = join(dir, "cluster.key");
      writeFileSync(keyFile, generateKeyText(), { mode: 0o600 });
      config["security"] = { keyFile };
    }
    const file = join(dir, "cluster.json");
    writeFileSync(file, JSON.stringify(config, null, 2));
    const c = new LocalCluster(spec, dir, file, nodes);
    LIVE.add(c);
    c.opts = opts;
    // Clients run as commands of their own (see run), not as nodes.
    const clients = new Set(c.clientIds());
    for (const n of nodes) if (!clients.has(n.id)) c.launch(n.id);
    await c.ready(nodes.filter((n) => !clients.has(n.id)).map((n) => n.id));
    return c;
  }

  private opts: { statsMs?: number; outputs?: boolean } = {};
  /** Incarnation of each node: a restarted node writes its deliveries to a file of its own. */
  private readonly incarnations = new Map<number, number>();

  /** The --output file of a node's incarnation (0: the first). */
  outputFile(id: number, incarnation = 0): string {
    return join(this.dir, incarnation === 0 ? `out-${id}.jsonl` : `out-${id}.${incarnation}.jsonl`);
  }

  /** Waits until every given node logged "node started" (since its last launch). */
  private async ready(ids: readonly number[]): Promise<void> {
    const t0 = Date.now();
    while (!ids.every((id) => (this.logs.get(id) ?? []).some((x) => x.includes("node started")))) {
      const dead = [...this.procs].find(([id, p]) => ids.includes(id) && p.exitCode !== null);
      if (dead || Date.now() - t0 > 15000) {
        const why = dead ? `node ${dead[0]} exited with ${dead[1].exitCode}` : "timed out";
        await this.stop();
        throw new Error(`cluster did not start (${why}): ${[...this.logs].map(([id, l]) => `\n  node ${id}: ${l.slice(-3).join(" | ")}`).join("")}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Sends a signal to a running node without waiting for anything (SIGSTOP, SIGCONT); false when it is not running. */
  signal(id: number, signal: NodeJS.Signals): boolean {
    const p = this.procs.get(id);
    return p !== undefined && p.exitCode === null && p.signalCode === null && p.kill(signal);
  }

  /** Kills one node with a signal (SIGKILL: a crash) and waits until it is gone. */
  async kill(id: number, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const p = this.procs.get(id);
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once("exit", () => resolve());
      p.kill(signal);
    });
  }

  /** Starts a node again (after kill) as a new incarnation; resolves once it is up. */
  async restart(id: number): Promise<void> {
    const p = this.procs.get(id);
    if (p && p.exitCode === null && p.signalCode === null) throw new Error(`node ${id} is still running`);
    this.launch(id);
    await this.ready([id]);
  }

  private launch(id: number): void {
    const self = selfCommand();
    const inc = this.incarnations.has(id) ? (this.incarnations.get(id) as number) + 1 : 0;
    this.incarnations.set(id, inc);
    const args = [...self.args, "node", "--config", this.configFile, "--id", String(id)];
    // Only learners deliver: `paxos node` refuses --output on any other node.
    if (this.opts.outputs && this.nodes.find((n) => n.id === id)?.roles.includes("learner")) args.push("--output", this.outputFile(id, inc));
    if (this.opts.statsMs) args.push("--stats-ms", String(this.opts.statsMs));
    args.push(...(this.spec.extraNodeArgs ?? []));
    const p = spawn(self.cmd, args, { stdio: ["ignore", "ignore", "pipe"], env: childEnv() });
    const lines: string[] = [];
    const stats: StatsLine[] = [];
    let partial = "";
    p.stderr?.on("data", (b: Buffer) => {
      const parts = (partial + b.toString()).split("\n");
      partial = parts.pop() ?? "";
      for (const l of parts) {
        if (l.startsWith('{"level":"stats"')) {
          try {
            stats.push(JSON.parse(l) as StatsLine);
          } catch {
            /* a torn line: skip */
          }
        } else if (l) {
          lines.push(l);
          if (lines.length > MAX_LOG_LINES) lines.shift();
        }
      }
    });
    this.procs.set(id, p);
    this.logs.set(id, lines);
    this.stats.set(id, stats);
  }

  outputOf(id: number, incarnation = 0): string[] {
    const f = this.outputFile(id, incarnation);
    return existsSync(f) ? readFileSync(f, "utf8").split("\n").filter(Boolean) : [];
  }

  /** A node's `/status` (the cluster must have been started with `http: true`); null when it does not answer within 1 s. */
  async status(id: number): Promise<NodeStatus | null> {
    const port = this.nodes.find((n) => n.id === id)?.http;
    if (port === undefined) throw new Error(`node ${id} has no HTTP port (start the cluster with http: true)`);
    try {
      const r = await fetch(`http://127.0.0.1:${port}/status`, { signal: AbortSignal.timeout(1000) });
      return r.ok ? ((await r.json()) as NodeStatus) : null;
    } catch {
      return null;
    }
  }

  ids(role: Role): number[] {
    return this.nodes.filter((n) => n.roles.includes(role)).map((n) => n.id);
  }

  /** The client nodes: role client, or proposer alone (see ClusterSpec.clientsLearn). */
  clientIds(): number[] {
    return this.nodes.filter((n) => CLIENT_NODE.test(n.roles)).map((n) => n.id);
  }

  /** Runs a CLI command of this program (e.g. a client) to completion. */
  run(args: readonly string[], opts: { readonly killAfterMs?: number } = {}): Promise<{ code: number; out: string; err: string }> {
    const self = selfCommand();
    return new Promise((resolve) => {
      const p = spawn(self.cmd, [...self.args, ...args], { stdio: ["ignore", "pipe", "pipe"], env: childEnv() });
      CHILDREN.add(p);
      // A process that is to die mid-run (seed 000's workload C): SIGKILL, no goodbye.
      const killer = opts.killAfterMs === undefined ? null : setTimeout(() => p.kill("SIGKILL"), opts.killAfterMs);
      p.once("exit", () => {
        if (killer) clearTimeout(killer);
      });
      let out = "";
      let err = "";
      p.stdout?.on("data", (b: Buffer) => (out += b.toString()));
      p.stderr?.on("data", (b: Buffer) => (err += b.toString()));
      p.once("exit", (code) => {
        CHILDREN.delete(p);
        resolve({ code: code ?? -1, out, err });
      });
    });
  }

  /** SIGTERM every node (SIGKILL after 5 s); resolves when all exited. Every call waits for the same end. */
  stop(opts: { keepDir?: boolean } = {}): Promise<void> {
    this.stopping ??= this.stopAll(opts);
    return this.stopping;
  }

  private async stopAll(opts: { keepDir?: boolean }): Promise<void> {
    await Promise.all(
      [...this.procs.values()].map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.exitCode !== null || p.signalCode !== null) return resolve();
            const kill = setTimeout(() => p.kill("SIGKILL"), 5000);
            p.once("exit", () => {
              clearTimeout(kill);
              resolve();
            });
            p.kill("SIGTERM");
          }),
      ),
    );
    LIVE.delete(this);
    if (!opts.keepDir) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Every cluster and client still running: reaped on exit, on error and on Ctrl-C. */
const LIVE = new Set<LocalCluster>();
const CHILDREN = new Set<ChildProcess>();

export function killEverything(): void {
  for (const c of LIVE) for (const p of c.procs.values()) if (p.exitCode === null) p.kill("SIGKILL");
  for (const p of CHILDREN) if (p.exitCode === null) p.kill("SIGKILL");
}

process.once("exit", killEverything);

/**
 * One Ring Paxos cluster on a capped network (thesis §3.5, Table 3.2: efficiency per learner): one
 * process per network namespace (netns-lab.ts), every host's egress shaped by `tc … tbf` to the
 * same rate, 3 acceptors, L learners and one closed-loop client. A learner's efficiency is what it
 * delivers (payload bytes a second) over what one link carries (the cap): a protocol that sends
 * each value once over the busiest link, with little besides, gets close to 1.
 *
 * Needs root, iproute2 and a kernel with namespaces, veth, bridges and tbf (labUnavailable says
 * why not). M-Ring's multicast leaves through each host's capped eth0, with the datagram size of
 * the configuration's default (12 KB: fragmented at the veth's 1500-byte MTU, as in the thesis'
 * 8 KB datagrams on Ethernet).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ClientReport } from "../cli/client.ts";
import { clusterConfig, type NodeSpec, type StatsLine } from "./cluster.ts";
import { readHostCpu, type CpuReading } from "./host-cpu.ts";
import { Lab, labUnavailable, QUERIER_DELAY_MS, type LabProc, type LinkCounters } from "./netns-lab.ts";
import { childEnv, selfCommand } from "./self.ts";
import { LEADERSHIP_MESSAGES } from "../node/runtime.ts";
import { measuredLines, rate } from "./stats-window.ts";

export interface CappedRunOptions {
  readonly variant: "mring" | "uring";
  /** Every host's egress rate, Mbit/s (10^6 bits/s). */
  readonly capMbit: number;
  readonly learners: number;
  readonly valueSize: number;
  /** Values the client keeps in flight, and instances the coordinator does. */
  readonly window: number;
  readonly instances: number;
  readonly durationS: number;
  readonly warmupS: number;
}

export interface CappedRunResult {
  /** The cap in MB/s (10^6 bytes). */
  readonly capMBps: number;
  /** Each measured learner's delivered payload, MB/s, and that over the cap. */
  readonly learners: readonly { readonly id: number; readonly mbPerSec: number; readonly efficiency: number }[];
  /** Bytes a second the busiest host sent (its egress, headers included) over the cap: how full the fullest link was. */
  readonly busiestLinkUse: number;
  /** Each host's egress over the cap, with its roles ("0 coordinator+acceptor": 0.97). */
  readonly linkUse: Readonly<Record<string, number>>;
  readonly client: ClientReport;
  /** The host's CPU busy over the measured window, % of all its cores. */
  readonly hostBusyPct: number | null;
  /** Processes that took the leadership during the client's run (a leader suspected: its heartbeats were late). */
  readonly leaderChanges: number;
}

const NODE_PORT = 7000;
const MCAST_PORT = 7100;
const STATS_MS = 250;
const TBF_BURST_BYTES = 256 * 1024;
/**
 * What a capped link queues before it drops (320 ms at 100 Mbit/s, 32 ms at 1 Gbit/s). With 20 ms
 * of its rate instead, M-Ring's multicast bursts overflowed it: 3 learners at 100 Mbit/s fell from
 * 0.76 to 0.16 of the link, with 10 % of the values re-sent (M-Ring does not pace its 2As).
 */
const TBF_LIMIT_BYTES = 4 * 1024 * 1024;
/** Bound: how long the nodes may take to start. */
const START_TIMEOUT_MS = 30_000;

export async function runCapped(o: CappedRunOptions): Promise<CappedRunResult> {
  const why = labUnavailable();
  if (why !== null) throw new Error(`a capped run needs network namespaces: ${why}`);
  const { nodes, config } = await labConfig(o);
  const lab = new Lab(`cap${o.variant[0]}${o.learners}`, "10.79.0");
  const dir = mkdtempSync(join(tmpdir(), "paxos-capped-"));
  try {
    lab.build(nodes.map((n) => n.id), { rateMbit: o.capMbit, burstBytes: TBF_BURST_BYTES, limitBytes: TBF_LIMIT_BYTES });
    const hosted = relocate(config, nodes, lab);
    const configFile = join(dir, "cluster.json");
    writeFileSync(configFile, JSON.stringify(hosted, null, 2));
    // clusterConfig puts the one client last.
    const client = nodes.at(-1) as NodeSpec;
    const leading = { count: 0 };
    const stats = await startNodes(lab, configFile, nodes.filter((n) => n !== client), leading);
    const leadersAtStart = leading.count;
    const quiet = lab.querierSince + QUERIER_DELAY_MS + 200 - Date.now();
    if (quiet > 0) await new Promise((r) => setTimeout(r, quiet));
    const samples: Sample[] = [];
    const sample = (): void => void samples.push({ cpu: readHostCpu(), ports: lab.portCounters(), at: Date.now() });
    sample();
    const sampler = setInterval(sample, STATS_MS);
    let report: ClientReport;
    try {
      report = await runClient(lab, configFile, client.id, o);
    } finally {
      clearInterval(sampler);
    }
    sample();
    await new Promise((r) => setTimeout(r, STATS_MS * 2));
    return { ...figures(o, nodes, stats, report, measuredSamples(samples, report)), leaderChanges: leading.count - leadersAtStart };
  } finally {
    await lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The bench's cluster (3 acceptors, the learners, one client) as a configuration; addresses are set by relocate. */
async function labConfig(o: CappedRunOptions): Promise<{ nodes: NodeSpec[]; config: Record<string, unknown> }> {
  return clusterConfig({ variant: o.variant, acceptors: 3, learners: o.learners, clients: 1, clientsLearn: o.variant === "uring", window: o.instances, ...(o.variant === "uring" ? { batchBytes: 32 * 1024 } : {}) });
}

/** The configuration with every node at its lab host's address, multicast leaving through that host's eth0. */
function relocate(config: Record<string, unknown>, nodes: readonly NodeSpec[], lab: Lab): Record<string, unknown> {
  const hosted = nodes.map((n) => ({ id: n.id, host: lab.host(n.id).addr, port: NODE_PORT, roles: n.roles, multicastInterface: lab.host(n.id).addr }));
  const multicast = config["multicast"] === undefined ? {} : { multicast: { group: "239.79.0.1", port: MCAST_PORT, ttl: 1 } };
  return { ...config, nodes: hosted, ...multicast };
}

/** Starts a node per host and waits until each said it started; returns where their stats lines go. */
async function startNodes(lab: Lab, configFile: string, nodes: readonly NodeSpec[], leading: { count: number }): Promise<Map<number, StatsLine[]>> {
  const self = selfCommand();
  const env = childEnv();
  const stats = new Map<number, StatsLine[]>();
  const procs: LabProc[] = [];
  const started = new Set<number>();
  for (const n of nodes) {
    const lines: StatsLine[] = [];
    stats.set(n.id, lines);
    const onLine = (l: string): void => {
      if (l.includes("node started")) started.add(n.id);
      if (l.includes(LEADERSHIP_MESSAGES.leading)) leading.count++;
      if (!l.startsWith('{"level":"stats"')) return;
      try {
        lines.push(JSON.parse(l) as StatsLine);
      } catch {
        // a torn line: one stats period fewer
      }
    };
    procs.push(lab.spawn(n.id, self.cmd, [...self.args, "node", "--config", configFile, "--id", String(n.id), "--stats-ms", String(STATS_MS)], { env, onLine }));
  }
  const t0 = Date.now();
  while (started.size < nodes.length) {
    const dead = procs.find((p) => p.child.exitCode !== null || p.child.signalCode !== null);
    if (dead) throw new Error(`capped run: node ${dead.id} exited at start (${dead.child.exitCode ?? dead.child.signalCode})`);
    if (Date.now() - t0 > START_TIMEOUT_MS) throw new Error(`capped run: the nodes did not start within ${START_TIMEOUT_MS / 1000} s`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return stats;
}

async function runClient(lab: Lab, configFile: string, id: number, o: CappedRunOptions): Promise<ClientReport> {
  const self = selfCommand();
  const shape = ["--window", String(o.window), "--value-size", String(o.valueSize), "--duration", String(o.durationS), "--warmup", String(o.warmupS)];
  const p = lab.spawn(id, self.cmd, [...self.args, "client", "--config", configFile, "--id", String(id), ...shape, "--json"], { env: childEnv(), keepStdout: true });
  const exit = await p.exited;
  const last = p.out.trim().split("\n").at(-1) ?? "";
  if (exit.code !== 0 || !last.startsWith("{")) throw new Error(`capped run: the client failed (exit ${exit.code ?? exit.signal}): ${p.lines.slice(-3).join(" | ")}`);
  return JSON.parse(last) as ClientReport;
}

type Sample = { readonly cpu: CpuReading; readonly ports: Map<number, LinkCounters>; readonly at: number };

/** The samples that bound the client's measured window (the first at or after its start, the last at or before its end), or the outermost ones. */
function measuredSamples(samples: readonly Sample[], c: ClientReport): [Sample, Sample] {
  const inside = samples.filter((s) => s.at >= c.measuredFrom && s.at <= c.measuredTo);
  return inside.length >= 2 ? [inside[0] as Sample, inside.at(-1) as Sample] : [samples[0] as Sample, samples.at(-1) as Sample];
}

function figures(o: CappedRunOptions, nodes: readonly NodeSpec[], stats: Map<number, StatsLine[]>, client: ClientReport, [before, after]: [Sample, Sample]): Omit<CappedRunResult, "leaderChanges"> {
  const capMBps = o.capMbit / 8;
  const window = { from: client.measuredFrom, to: client.measuredTo };
  const learnerIds = nodes.filter((n) => n.roles.includes("learner") && (o.variant === "mring" || !n.roles.includes("acceptor"))).map((n) => n.id);
  const measured = learnerIds.length > 0 ? learnerIds : nodes.filter((n) => n.roles.includes("learner")).map((n) => n.id);
  const learners = measured.flatMap((id) => {
    const s = stats.get(id) ?? [];
    if (s.length < 2) return [];
    const [a, b] = measuredLines(s, window);
    const mbPerSec = rate(a, b).bytes / 1e6;
    return [{ id, mbPerSec: round(mbPerSec), efficiency: round(mbPerSec / capMBps, 3) }];
  });
  const dt = (after.at - before.at) / 1000;
  let busiest = 0;
  const linkUse: Record<string, number> = {};
  for (const [id, c] of after.ports) {
    const b = before.ports.get(id);
    if (!b || dt <= 0) continue;
    const mbps = (c.txBytes - b.txBytes) / dt / 1e6;
    busiest = Math.max(busiest, mbps);
    linkUse[`${id} ${nodes.find((n) => n.id === id)?.roles.join("+") ?? "?"}`] = round(mbps / capMBps, 3);
  }
  const busy = before.cpu && after.cpu && after.cpu.total > before.cpu.total ? round(((after.cpu.busy - before.cpu.busy) / (after.cpu.total - before.cpu.total)) * 100, 1) : null;
  return { capMBps, learners, busiestLinkUse: round(busiest / capMBps, 3), linkUse, client, hostBusyPct: busy };
}

function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

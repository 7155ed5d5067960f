import { readFileSync } from "node:fs";
import type { z } from "zod";
import { DEFAULT_TIMING, defaultBatchBytes, PHASE2A_HEADROOM_BYTES, validateProtocolConfig, type ProtocolConfig } from "../core/config.ts";
import { isMulticastGroup } from "../net/udp.ts";
import { ConfigSchema, type ClusterConfig, type NodeEntry, type Role } from "./schema.ts";

/** A configuration that cannot work: every problem, one line each, naming the key path. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(
    readonly problems: readonly string[],
    readonly source: string,
  ) {
    super(`${source}: invalid configuration\n${problems.map((p) => `  ${p}`).join("\n")}`);
  }
}

function pathOf(path: readonly PropertyKey[]): string {
  let s = "";
  for (const p of path) s += typeof p === "number" ? `[${p}]` : s === "" ? String(p) : `.${String(p)}`;
  return s === "" ? "(root)" : s;
}

function describeIssue(i: z.core.$ZodIssue): string {
  return `${pathOf(i.path)}: ${i.message}`;
}

/** Parses and validates a configuration given as text (JSON). */
export function parseConfig(text: string, source = "config"): ClusterConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError([`not valid JSON: ${(e as Error).message}`], source);
  }
  const r = ConfigSchema.safeParse(raw);
  if (!r.success) throw new ConfigError(r.error.issues.map(describeIssue), source);
  const problems = crossCheck(r.data);
  if (problems.length > 0) throw new ConfigError(problems, source);
  return r.data;
}

export function loadConfig(file: string): ClusterConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError([code === "ENOENT" ? "no such file" : `cannot read: ${(e as Error).message}`], file);
  }
  return parseConfig(text, file);
}

/** Rules that involve several keys. */
function crossCheck(c: ClusterConfig): string[] {
  const problems: string[] = [];
  const seenId = new Map<number, number>();
  const seenAddr = new Map<string, string>();
  c.nodes.forEach((n, i) => {
    const prev = seenId.get(n.id);
    if (prev !== undefined) problems.push(`nodes[${i}].id: ${n.id} is already the id of nodes[${prev}]`);
    seenId.set(n.id, i);
    for (const [what, p] of [
      ["port", n.port],
      ["http", n.http],
    ] as const) {
      if (p === undefined) continue;
      const key = `${n.host}:${p}`;
      const other = seenAddr.get(key);
      if (other !== undefined) problems.push(`nodes[${i}].${what}: ${key} is already used by ${other}`);
      else seenAddr.set(key, `nodes[${i}].${what}`);
    }
    if (new Set(n.roles).size !== n.roles.length) problems.push(`nodes[${i}].roles: a role is listed twice`);
    if (n.roles.includes("coordinator") && !n.roles.includes("acceptor"))
      problems.push(`nodes[${i}].roles: the coordinator must also be an acceptor (it votes on its own ring)`);
  });
  if (c.multicast) {
    if (c.nodes.some((n) => n.port === c.multicast?.port || n.http === c.multicast?.port))
      problems.push(`multicast.port: ${c.multicast.port} is also a node's TCP or HTTP port`);
    if (!isMulticastGroup(c.multicast.group))
      problems.push(`multicast.group: ${c.multicast.group} is not an IPv4 multicast address (224.0.0.0/4)`);
  }
  const acceptors = c.nodes.filter((n) => n.roles.includes("acceptor"));
  const coordinators = c.nodes.filter((n) => n.roles.includes("coordinator"));
  const learners = c.nodes.filter((n) => hasLearner(n.roles));
  if (acceptors.length === 0) problems.push("nodes: no node has the role acceptor");
  else if (acceptors.length % 2 === 0)
    problems.push(
      `nodes: ${acceptors.length} acceptors: an even number tolerates no more failures than ${acceptors.length - 1} and has no tie rule; use an odd number`,
    );
  if (coordinators.length !== 1)
    problems.push(`nodes: exactly one node must have the role coordinator (found ${coordinators.length})`);
  if (learners.length === 0) problems.push("nodes: no node has the role learner (or client)");
  if (c.variant === "mring" && !c.multicast) problems.push("multicast: required for variant mring (the coordinator ip-multicasts Phase 2A)");
  if (c.variant === "mring" && c.multicast) {
    const batch = c.protocol.batchBytes ?? defaultBatchBytes("mring");
    if (batch + PHASE2A_HEADROOM_BYTES > c.multicast.maxDatagram)
      problems.push(
        `protocol.batchBytes: ${batch} plus ${PHASE2A_HEADROOM_BYTES} bytes of Phase 2A headroom exceeds multicast.maxDatagram (${c.multicast.maxDatagram}); lower the batch or raise the datagram`,
      );
  }
  const p = c.protocol;
  if (p.heartbeatMs >= p.leaseMs) problems.push(`protocol.heartbeatMs: ${p.heartbeatMs} must be below protocol.leaseMs (${p.leaseMs}): a lease is renewed by heartbeats`);
  if (p.maxUnappliedInstances !== undefined && p.maxUnappliedInstances !== 0 && p.maxUnappliedInstances < p.window)
    problems.push(`protocol.maxUnappliedInstances: ${p.maxUnappliedInstances} must be 0 (no bound) or at least protocol.window (${p.window})`);
  if (p.leaseMs >= p.suspectMs) problems.push(`protocol.suspectMs: ${p.suspectMs} must be above protocol.leaseMs (${p.leaseMs}): a candidate waits out the lease`);
  return problems;
}

function hasLearner(roles: readonly Role[]): boolean {
  return roles.includes("learner") || roles.includes("client");
}

function hasProposer(roles: readonly Role[]): boolean {
  return roles.includes("proposer") || roles.includes("client");
}

/** Default bound on instances proposed beyond what replicas applied: room for several windows. */
function defaultMaxUnapplied(window: number): number {
  return Math.max(DEFAULT_TIMING.maxUnappliedInstances, 4 * window);
}

/** Milliseconds to ticks, at least 1 when the duration is not 0. */
function ticks(ms: number, tickMs: number): number {
  return ms === 0 ? 0 : Math.max(1, Math.round(ms / tickMs));
}

/** The pure cores' configuration for this cluster. */
export function protocolConfig(c: ClusterConfig): ProtocolConfig {
  const p = c.protocol;
  const ids = (f: (n: NodeEntry) => boolean) => c.nodes.filter(f).map((n) => n.id);
  const coordinator = c.nodes.find((n) => n.roles.includes("coordinator"));
  if (!coordinator) throw new ConfigError(["nodes: exactly one node must have the role coordinator (found 0)"], "config");
  const cfg: ProtocolConfig = {
    variant: c.variant,
    maxNodes: 256,
    processes: c.nodes.map((n) => n.id),
    acceptors: ids((n) => n.roles.includes("acceptor")),
    learners: ids((n) => hasLearner(n.roles)),
    proposers: ids((n) => hasProposer(n.roles)),
    coordinator: coordinator.id,
    window: p.window,
    batchBytes: p.batchBytes ?? defaultBatchBytes(c.variant),
    batchDelayTicks: ticks(p.batchDelayMs, p.tickMs),
    maxPendingValues: p.maxPendingValues,
    retransmitTicks: ticks(p.retransmitMs, p.tickMs),
    retriesBeforeNewRound: p.retriesBeforeNewRound,
    phase1GraceTicks: ticks(p.phase1GraceMs, p.tickMs),
    catchupTicks: ticks(p.catchupMs, p.tickMs),
    catchupBatch: p.catchupBatch,
    learnerBufferInstances: p.learnerBufferInstances,
    proposerTimeoutTicks: ticks(p.proposerTimeoutMs, p.tickMs),
    proposerWindow: p.proposerWindow,
    proposerQueue: p.proposerQueue,
    helloTicks: ticks(p.helloMs, p.tickMs),
    heartbeatTicks: ticks(p.heartbeatMs, p.tickMs),
    leaseTicks: ticks(p.leaseMs, p.tickMs),
    suspectTicks: ticks(p.suspectMs, p.tickMs),
    staggerTicks: ticks(p.staggerMs, p.tickMs),
    replicas: ids((n) => n.roles.includes("learner")),
    appliedTicks: ticks(p.appliedMs, p.tickMs),
    gcSuspectTicks: ticks(p.gcSuspectMs, p.tickMs),
    catchupGiveUpTicks: ticks(p.catchupGiveUpMs, p.tickMs),
    retainInstances: p.retainInstances,
    maxUnappliedInstances: p.maxUnappliedInstances ?? defaultMaxUnapplied(p.window),
    learnerRetainInstances: p.learnerRetainInstances,
    flowBacklogInstances: p.flowBacklogInstances,
    flowNoticeTicks: ticks(p.flowNoticeMs, p.tickMs),
    slowAcceptorTicks: ticks(p.slowAcceptorMs, p.tickMs),
  };
  validateProtocolConfig(cfg);
  return cfg;
}

/**
 * Rules that involve several keys (duplicate ids and ports, exactly one coordinator, the multicast
 * group, timing relations, …). They run on a lenient view of the configuration, built key by key,
 * so that they are reported in the same run as the schema's own problems: an operator fixes every
 * problem at once instead of one per attempt. A rule only looks at keys that are well-formed by
 * themselves (a malformed key is already reported by the schema), and rules that count roles run
 * only when every node's roles are well-formed (a typo in a role must not also read as "no
 * coordinator").
 */
import { isIPv4 } from "node:net";
import type { z } from "zod";
import { defaultBatchBytes, PHASE2A_HEADROOM_BYTES } from "../core/config.ts";
import { isMulticastGroup } from "../net/udp.ts";
import { ConfigSchema, MulticastSchema, NodeSchema, ProtocolSchema, type Role } from "./schema.ts";

/** One node as far as its keys are well-formed. */
export interface NodeView {
  readonly index: number;
  readonly id?: number;
  readonly host?: string;
  readonly port?: number;
  readonly http?: number;
  readonly multicastInterface?: string;
  readonly roles?: readonly Role[];
}


/** The configuration as far as it is well-formed, key by key (defaults applied where keys are absent). */
export interface ConfigView {
  readonly variant?: "mring" | "uring";
  readonly nodes: readonly NodeView[];
  /** Every node's roles are well-formed, so counts of roles mean something. */
  readonly rolesComplete: boolean;
  /** null: no multicast section. */
  readonly multicast: Fields<typeof MulticastSchema.shape> | null;
  readonly protocol: Fields<typeof ProtocolSchema.shape>;
  /** protocol keys that are present but malformed (so their default must not stand in for them). */
  readonly protocolMalformed: ReadonlySet<string>;
}

/** The value if it is valid by itself (with the schema's default when absent), else undefined. */
function field<T extends z.ZodType>(schema: T, value: unknown): z.output<T> | undefined {
  const r = schema.safeParse(value);
  return r.success ? r.data : undefined;
}

function record(v: unknown): Record<string, unknown> | null {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

/** The well-formed keys of an object schema's shape. */
type Fields<S extends Record<string, z.ZodType>> = { [K in keyof S]?: Exclude<z.output<S[K]>, undefined> };

/** Each well-formed key of `raw` through its own schema (absent keys take their default, if any). */
function fields<S extends Record<string, z.ZodType>>(shape: S, raw: Record<string, unknown>): Fields<S> {
  const out: Fields<S> = {};
  for (const k of Object.keys(shape) as (keyof S & string)[]) {
    const v = field(shape[k] as S[typeof k], raw[k]);
    if (v !== undefined) out[k] = v as Exclude<z.output<S[typeof k]>, undefined>;
  }
  return out;
}

function malformed(shape: Record<string, z.ZodType>, raw: Record<string, unknown>): Set<string> {
  return new Set(Object.keys(shape).filter((k) => raw[k] !== undefined && !shape[k]?.safeParse(raw[k]).success));
}

export function viewOf(raw: unknown): ConfigView {
  const top = record(raw) ?? {};
  const variant = field(ConfigSchema.shape.variant, top["variant"]);
  const rawProtocol = record(top["protocol"]) ?? {};
  const rawNodes = Array.isArray(top["nodes"]) ? (top["nodes"] as unknown[]) : [];
  const nodes = rawNodes.map((n, index): NodeView => ({ index, ...fields(NodeSchema.shape, record(n) ?? {}) }));
  const rawMulticast = record(top["multicast"]);
  return {
    ...(variant !== undefined ? { variant } : {}),
    nodes,
    rolesComplete: Array.isArray(top["nodes"]) && nodes.every((n) => n.roles !== undefined),
    // A multicast section that is no object is the schema's problem, not also a missing section.
    multicast: top["multicast"] === undefined ? null : rawMulticast === null ? {} : fields(MulticastSchema.shape, rawMulticast),
    protocol: fields(ProtocolSchema.shape, rawProtocol),
    protocolMalformed: malformed(ProtocolSchema.shape, rawProtocol),
  };
}

/** Every rule that involves several keys; one line per problem, each naming its key path. */
export function crossCheck(v: ConfigView): string[] {
  return [...checkNodeIds(v), ...checkAddresses(v), ...checkNodeRoles(v), ...checkRoleCounts(v), ...checkMulticast(v), ...checkBatch(v), ...checkTiming(v)];
}

function checkNodeIds(v: ConfigView): string[] {
  const problems: string[] = [];
  const seen = new Map<number, number>();
  for (const n of v.nodes) {
    if (n.id === undefined) continue;
    const prev = seen.get(n.id);
    if (prev !== undefined) problems.push(`nodes[${n.index}].id: ${n.id} is already the id of nodes[${prev}]`);
    else seen.set(n.id, n.index);
  }
  return problems;
}

/** Two sockets of the same host cannot listen on one port. */
function checkAddresses(v: ConfigView): string[] {
  const problems: string[] = [];
  const seen = new Map<string, string>();
  for (const n of v.nodes) {
    if (n.host === undefined) continue;
    for (const [what, p] of [
      ["port", n.port],
      ["http", n.http],
    ] as const) {
      if (p === undefined) continue;
      const key = `${n.host}:${p}`;
      const other = seen.get(key);
      if (other !== undefined) problems.push(`nodes[${n.index}].${what}: ${key} is already used by ${other}`);
      else seen.set(key, `nodes[${n.index}].${what}`);
    }
  }
  return problems;
}

function checkNodeRoles(v: ConfigView): string[] {
  const problems: string[] = [];
  for (const n of v.nodes) {
    if (n.roles === undefined) continue;
    if (new Set(n.roles).size !== n.roles.length) problems.push(`nodes[${n.index}].roles: a role is listed twice`);
    if (n.roles.includes("coordinator") && !n.roles.includes("acceptor"))
      problems.push(`nodes[${n.index}].roles: the coordinator must also be an acceptor (it votes on its own ring)`);
  }
  return problems;
}

function checkRoleCounts(v: ConfigView): string[] {
  if (!v.rolesComplete || v.nodes.length === 0) return [];
  const problems: string[] = [];
  const count = (f: (r: readonly Role[]) => boolean) => v.nodes.filter((n) => f(n.roles ?? [])).length;
  const acceptors = count((r) => r.includes("acceptor"));
  const coordinators = count((r) => r.includes("coordinator"));
  if (acceptors === 0) problems.push("nodes: no node has the role acceptor");
  else if (acceptors % 2 === 0)
    problems.push(`nodes: ${acceptors} acceptors: an even number tolerates no more failures than ${acceptors - 1} and has no tie rule; use an odd number`);
  if (coordinators !== 1) problems.push(`nodes: exactly one node must have the role coordinator (found ${coordinators})`);
  if (count((r) => r.includes("learner") || r.includes("client")) === 0) problems.push("nodes: no node has the role learner (or client)");
  return problems;
}

function checkMulticast(v: ConfigView): string[] {
  const problems: string[] = [];
  for (const n of v.nodes)
    if (n.multicastInterface !== undefined && !isIPv4(n.multicastInterface))
      problems.push(`nodes[${n.index}].multicastInterface: ${JSON.stringify(n.multicastInterface)} is not an IPv4 address`);
  const m = v.multicast;
  if (m === null) {
    if (v.variant === "mring") problems.push("multicast: required for variant mring (the coordinator ip-multicasts Phase 2A)");
    return problems;
  }
  if (m.port !== undefined && v.nodes.some((n) => n.port === m.port || n.http === m.port))
    problems.push(`multicast.port: ${m.port} is also a node's TCP or HTTP port`);
  if (m.group !== undefined && !isMulticastGroup(m.group))
    problems.push(`multicast.group: ${m.group} is not an IPv4 multicast address (224.0.0.0/4)`);
  if (m.interface !== undefined && !isIPv4(m.interface)) problems.push(`multicast.interface: ${JSON.stringify(m.interface)} is not an IPv4 address`);
  return problems;
}

/** An M-Ring batch travels in one Phase 2A datagram. */
function checkBatch(v: ConfigView): string[] {
  const max = v.multicast?.maxDatagram;
  if (v.variant !== "mring" || max === undefined || v.protocolMalformed.has("batchBytes")) return [];
  const batch = v.protocol.batchBytes ?? defaultBatchBytes("mring");
  if (batch + PHASE2A_HEADROOM_BYTES <= max) return [];
  return [
    `protocol.batchBytes: ${batch} plus ${PHASE2A_HEADROOM_BYTES} bytes of Phase 2A headroom exceeds multicast.maxDatagram (${max}); lower the batch or raise the datagram`,
  ];
}

/** Leases and elections rely on heartbeat < lease < suspicion, in ticks as the cores see them. */
function checkTiming(v: ConfigView): string[] {
  const problems: string[] = [];
  const { heartbeatMs, leaseMs, suspectMs, suspectMaxMs, tickMs, window, maxUnappliedInstances } = v.protocol;
  const t = (ms: number) => (tickMs === undefined ? ms : ms === 0 ? 0 : Math.max(1, Math.round(ms / tickMs)));
  const per = tickMs !== undefined && tickMs > 1 ? ` (in ticks of protocol.tickMs ${tickMs})` : "";
  if (heartbeatMs !== undefined && leaseMs !== undefined && t(heartbeatMs) >= t(leaseMs))
    problems.push(`protocol.heartbeatMs: ${heartbeatMs} must be below protocol.leaseMs (${leaseMs})${per}: a lease is renewed by heartbeats`);
  if (leaseMs !== undefined && suspectMs !== undefined && t(leaseMs) >= t(suspectMs))
    problems.push(`protocol.suspectMs: ${suspectMs} must be above protocol.leaseMs (${leaseMs})${per}: a candidate waits out the lease`);
  if (suspectMs !== undefined && suspectMaxMs !== undefined && t(suspectMs) > t(suspectMaxMs))
    problems.push(`protocol.suspectMaxMs: ${suspectMaxMs} must be at least protocol.suspectMs (${suspectMs})${per}: it bounds the suspicion timeout from above`);
  if (maxUnappliedInstances !== undefined && maxUnappliedInstances !== 0 && window !== undefined && maxUnappliedInstances < window)
    problems.push(`protocol.maxUnappliedInstances: ${maxUnappliedInstances} must be 0 (no bound) or at least protocol.window (${window})`);
  return problems;
}

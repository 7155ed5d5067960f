/**
 * Rules that involve several keys (duplicate ids and ports, exactly one coordinator, the multicast
 * group, timing relations, and with `rings` each ring's members, groups and subscriptions, …).
 * They run on a lenient view of the configuration, built key by key,
 * so that they are reported in the same run as the schema's own problems: an operator fixes every
 * problem at once instead of one per attempt. A rule only looks at keys that are well-formed by
 * themselves (a malformed key is already reported by the schema), and rules that count roles run
 * only when every node's roles are well-formed (a typo in a role must not also read as "no
 * coordinator").
 */
import { isIPv4 } from "node:net";
import type { z } from "zod";
import { defaultBatchBytes, PHASE2A_HEADROOM_BYTES } from "../core/config.ts";
import { quorumProblem } from "../core/quorum.ts";
import { isMulticastGroup } from "../net/udp.ts";
import { MAX_RING } from "../wire/limits.ts";
import {
  ConfigSchema,
  DEFAULT_DATAGRAM,
  GroupSchema,
  MAX_GROUPS,
  MAX_RINGS,
  KvPartitionsSchema,
  MulticastSchema,
  NodeSchema,
  ProtocolSchema,
  RingMulticastSchema,
  RingProtocolSchema,
  RingSchema,
  type Role,
} from "./schema.ts";

/** One node as far as its keys are well-formed. */
export interface NodeView {
  readonly index: number;
  readonly id?: number;
  readonly host?: string;
  readonly port?: number;
  readonly http?: number;
  readonly multicastInterface?: string;
  readonly roles?: readonly Role[];
  readonly subscribe?: readonly number[];
  readonly kv?: { readonly dir: string };
  /** The node has a `subscribe` key (well-formed or not). */
  readonly subscribeGiven: boolean;
}

/** One entry of `rings` as far as its keys are well-formed (its optional keys have no defaults). */
export interface RingView {
  readonly index: number;
  readonly id?: number;
  /** The ring's own variant; undefined when absent or malformed (see variantGiven). */
  readonly variant?: "mring" | "uring";
  readonly variantGiven: boolean;
  readonly acceptors?: readonly number[];
  readonly coordinator?: number;
  /** null: the ring has no multicast key (it takes the top-level section). */
  readonly multicast: Fields<typeof RingMulticastSchema.shape> | null;
  readonly multicastMalformed: ReadonlySet<string>;
  /** The ring's own protocol keys (absent ones come from the top-level section). */
  readonly protocol: Fields<typeof RingProtocolSchema.shape>;
  readonly protocolMalformed: ReadonlySet<string>;
}

/** One entry of `groups` as far as its keys are well-formed. */
export interface GroupView {
  readonly index: number;
  readonly id?: number;
  readonly ring?: number;
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
  /** Multi-Ring Paxos: null when the key is absent (the configuration is one ring); [] when it is no array. */
  readonly rings: readonly RingView[] | null;
  readonly groups: readonly GroupView[] | null;
  /** `rings` / `groups` is present but no array of an allowed length (the schema's problem): rules that list them wait. */
  readonly ringsMalformed: boolean;
  readonly groupsMalformed: boolean;
  readonly multiRingGiven: boolean;
  /** The top-level `kv` section (partitions), as far as it is well-formed; null: absent. */
  readonly kv: { readonly partitions?: readonly number[]; readonly global?: number } | null;
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
  const nodes = rawNodes.map((n, index): NodeView => ({ index, ...fields(NodeSchema.shape, record(n) ?? {}), subscribeGiven: record(n)?.["subscribe"] !== undefined }));
  const rawMulticast = record(top["multicast"]);
  const list = (k: string): unknown[] | null => (top[k] === undefined ? null : Array.isArray(top[k]) ? (top[k] as unknown[]) : []);
  const listMalformed = (k: string, max: number): boolean => {
    const l = top[k];
    return l !== undefined && !(Array.isArray(l) && l.length >= 1 && l.length <= max);
  };
  return {
    ...(variant !== undefined ? { variant } : {}),
    nodes,
    rolesComplete: Array.isArray(top["nodes"]) && nodes.every((n) => n.roles !== undefined),
    // A multicast section that is no object is the schema's problem, not also a missing section.
    multicast: top["multicast"] === undefined ? null : rawMulticast === null ? {} : fields(MulticastSchema.shape, rawMulticast),
    protocol: fields(ProtocolSchema.shape, rawProtocol),
    protocolMalformed: malformed(ProtocolSchema.shape, rawProtocol),
    rings: list("rings")?.map(ringView) ?? null,
    groups: list("groups")?.map((g, index): GroupView => ({ index, ...fields(GroupSchema.shape, record(g) ?? {}) })) ?? null,
    ringsMalformed: listMalformed("rings", MAX_RINGS),
    groupsMalformed: listMalformed("groups", MAX_GROUPS),
    multiRingGiven: top["multiRing"] !== undefined,
    kv: top["kv"] === undefined ? null : fields(KvPartitionsSchema.shape, record(top["kv"]) ?? {}),
  };
}

function ringView(raw: unknown, index: number): RingView {
  const r = record(raw) ?? {};
  const rawMulticast = r["multicast"] === undefined ? null : (record(r["multicast"]) ?? {});
  const rawProtocol = record(r["protocol"]) ?? {};
  const variant = field(RingSchema.shape.variant, r["variant"]);
  return {
    index,
    ...fields({ id: RingSchema.shape.id, acceptors: RingSchema.shape.acceptors, coordinator: RingSchema.shape.coordinator }, r),
    ...(variant !== undefined ? { variant } : {}),
    variantGiven: r["variant"] !== undefined,
    multicast: rawMulticast === null ? null : fields(RingMulticastSchema.shape, rawMulticast),
    multicastMalformed: rawMulticast === null ? new Set() : malformed(RingMulticastSchema.shape, rawMulticast),
    protocol: fields(RingProtocolSchema.shape, rawProtocol),
    protocolMalformed: malformed(RingProtocolSchema.shape, rawProtocol),
  };
}

/** Every rule that involves several keys; one line per problem, each naming its key path. */
export function crossCheck(v: ConfigView): string[] {
  // With `rings`, role counts, the multicast section's presence and batch sizes are rules per ring (checkRings).
  const single = v.rings === null;
  return [
    ...checkNodeIds(v),
    ...checkAddresses(v),
    ...checkNodeRoles(v),
    ...(single ? checkRoleCounts(v) : []),
    ...checkMulticast(v),
    ...(single ? checkBatch(v) : []),
    ...checkTiming(v),
    ...checkRings(v),
  ];
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
    if (n.kv !== undefined && !(n.roles.includes("learner") && n.roles.includes("proposer")))
      problems.push(`nodes[${n.index}].kv: a key-value replica needs the roles learner (it applies the log) and proposer (it submits commands); node has ${n.roles.join(", ")}`);
    if (n.kv !== undefined && n.http === undefined) problems.push(`nodes[${n.index}].kv: a key-value replica serves its API on the node's http port: set nodes[${n.index}].http`);
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
  else if (acceptors % 2 === 0 && v.protocol.phase1Quorum === undefined && v.protocol.phase2Quorum === undefined)
    problems.push(
      `nodes: ${acceptors} acceptors: an even number tolerates no more failures than ${acceptors - 1} and has no tie rule; use an odd number (or say which quorums you mean: protocol.phase1Quorum and phase2Quorum)`,
    );
  if (coordinators !== 1) problems.push(`nodes: exactly one node must have the role coordinator (found ${coordinators})`);
  if (count((r) => r.includes("learner") || r.includes("client")) === 0) problems.push("nodes: no node has the role learner (or client)");
  if (acceptors > 0) problems.push(...quorumProblems(acceptors, v.protocol, (k) => `protocol.${k}`));
  const onRing = v.variant === "uring" ? count((r) => r.length > 0) : (v.protocol.phase2Quorum ?? Math.floor(acceptors / 2) + 1);
  if (onRing > MAX_RING) problems.push(`nodes: ${ringTooLong(v.variant ?? "mring", onRing)}`);
  return problems;
}

/**
 * A ring's member list travels in messages with at most MAX_RING entries: U-Ring's ring holds
 * every process of the ring, M-Ring's a majority of its acceptors.
 */
function ringTooLong(variant: "mring" | "uring", members: number): string {
  return variant === "uring"
    ? `${members} processes on a U-Ring ring: at most ${MAX_RING} (the ring's member list on the wire)`
    : `a ring of ${members} acceptors (a majority): at most ${MAX_RING} on the wire, so at most ${2 * MAX_RING - 1} acceptors`;
}

function checkMulticast(v: ConfigView): string[] {
  const problems: string[] = [];
  for (const n of v.nodes)
    if (n.multicastInterface !== undefined && !isIPv4(n.multicastInterface))
      problems.push(`nodes[${n.index}].multicastInterface: ${JSON.stringify(n.multicastInterface)} is not an IPv4 address`);
  const m = v.multicast;
  if (m === null) {
    if (v.variant === "mring" && v.rings === null) problems.push("multicast: required for variant mring (the coordinator ip-multicasts Phase 2A)");
    return problems;
  }
  return [...problems, ...multicastSectionProblems(v, m, "multicast")];
}

/** A multicast section's own rules: its port is no node's, its group a multicast address, its interface an address. */
function multicastSectionProblems(v: ConfigView, m: { port?: number; group?: string; interface?: string }, key: string): string[] {
  const problems: string[] = [];
  if (m.port !== undefined && v.nodes.some((n) => n.port === m.port || n.http === m.port))
    problems.push(`${key}.port: ${m.port} is also a node's TCP or HTTP port`);
  if (m.group !== undefined && !isMulticastGroup(m.group))
    problems.push(`${key}.group: ${m.group} is not an IPv4 multicast address (224.0.0.0/4)`);
  if (m.interface !== undefined && !isIPv4(m.interface)) problems.push(`${key}.interface: ${JSON.stringify(m.interface)} is not an IPv4 address`);
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
  return timingProblems(v.protocol, (k) => `protocol.${k}`, () => true);
}

type TimingKey = "heartbeatMs" | "leaseMs" | "suspectMs" | "suspectMaxMs" | "tickMs" | "window" | "maxUnappliedInstances";

/**
 * The timing rules on one protocol section (the top-level one, or a ring's over it): `keyOf`
 * names where a key's value came from; a rule is checked only when `checked` holds for one of its keys.
 */
function timingProblems(p: { [K in TimingKey]?: number }, keyOf: (k: TimingKey) => string, checked: (k: TimingKey) => boolean): string[] {
  const problems: string[] = [];
  const { heartbeatMs, leaseMs, suspectMs, suspectMaxMs, tickMs, window, maxUnappliedInstances } = p;
  const t = (ms: number) => (tickMs === undefined ? ms : ms === 0 ? 0 : Math.max(1, Math.round(ms / tickMs)));
  const per = tickMs !== undefined && tickMs > 1 ? ` (in ticks of protocol.tickMs ${tickMs})` : "";
  const rule = (a: TimingKey, b: TimingKey) => checked(a) || checked(b);
  // leaseMs 0: no leases (acceptors promise any higher round at once); nothing to renew.
  if (heartbeatMs !== undefined && leaseMs !== undefined && leaseMs > 0 && rule("heartbeatMs", "leaseMs") && t(heartbeatMs) >= t(leaseMs))
    problems.push(`${keyOf("heartbeatMs")}: ${heartbeatMs} must be below ${keyOf("leaseMs")} (${leaseMs})${per}: a lease is renewed by heartbeats`);
  if (leaseMs !== undefined && suspectMs !== undefined && rule("leaseMs", "suspectMs") && t(leaseMs) >= t(suspectMs))
    problems.push(`${keyOf("suspectMs")}: ${suspectMs} must be above ${keyOf("leaseMs")} (${leaseMs})${per}: a candidate waits out the lease`);
  if (suspectMs !== undefined && suspectMaxMs !== undefined && rule("suspectMs", "suspectMaxMs") && t(suspectMs) > t(suspectMaxMs))
    problems.push(`${keyOf("suspectMaxMs")}: ${suspectMaxMs} must be at least ${keyOf("suspectMs")} (${suspectMs})${per}: it bounds the suspicion timeout from above`);
  if (
    maxUnappliedInstances !== undefined &&
    maxUnappliedInstances !== 0 &&
    window !== undefined &&
    rule("maxUnappliedInstances", "window") &&
    maxUnappliedInstances < window
  )
    problems.push(`${keyOf("maxUnappliedInstances")}: ${maxUnappliedInstances} must be 0 (no bound) or at least ${keyOf("window")} (${window})`);
  return problems;
}

const learns = (roles: readonly Role[]): boolean => roles.includes("learner") || roles.includes("client");

/** Keys of `rings[]`, `groups[]`, `multiRing` and `nodes[].subscribe` (Multi-Ring Paxos). */
function checkRings(v: ConfigView): string[] {
  if (v.rings === null) {
    // Without rings the configuration is one ring that every learner learns: nothing to subscribe to.
    const problems: string[] = [];
    if (v.groups !== null) problems.push("groups: only with rings (without rings the configuration is one ring)");
    if (v.multiRingGiven) problems.push("multiRing: only with rings (one ring is merged with nothing)");
    for (const n of v.nodes) if (n.subscribeGiven) problems.push(`nodes[${n.index}].subscribe: only with rings (without rings every learner learns the one ring)`);
    if (v.kv !== null) problems.push("kv: only with rings (partitions are groups; without rings the key-value service is one partition)");
    return problems;
  }
  const rings = v.rings;
  const kvProblems = checkKvPartitions(v);
  // Rules that refer to the list of rings wait for a well-formed one (an empty list is the schema's problem).
  if (v.ringsMalformed) return [...kvProblems, ...checkGroups(v, null), ...checkSubscriptions(v)];
  return [
    ...kvProblems,
    ...duplicateIds(rings, "rings"),
    ...checkRingMembers(v, rings),
    ...checkGroups(v, rings),
    ...checkSubscriptions(v),
    ...checkRingLearners(v, rings),
    ...checkRingMulticast(v, rings),
    ...checkRingBatch(v, rings),
    ...checkRingTiming(v, rings),
  ];
}

/**
 * `kv` (partitions) and the replicas of a rings configuration: partitions and the global group are
 * distinct groups of the configuration; each replica subscribes to the global group and to at
 * least one partition, and to nothing else; each partition has a replica.
 */
function checkKvPartitions(v: ConfigView): string[] {
  const replicas = v.nodes.filter((n) => n.kv !== undefined);
  if (v.kv === null) return replicas.map((n) => `nodes[${n.index}].kv: with rings, the configuration needs a top-level kv section naming the partitions' groups (kv.partitions, kv.global)`);
  const { partitions, global } = v.kv;
  if (partitions === undefined || global === undefined) return [];
  const problems: string[] = [];
  const groups = v.groups !== null && !v.groupsMalformed ? new Set(v.groups.map((g) => g.id)) : null;
  const seen = new Set<number>();
  const bad = new Set<number>();
  partitions.forEach((g, i) => {
    if (seen.has(g) || g === global) problems.push(`kv.partitions[${i}]: group ${g} is ${g === global ? "the global group" : "listed twice"} (each partition is a group of its own)`);
    else if (groups && !groups.has(g)) {
      problems.push(`kv.partitions[${i}]: no group has id ${g}`);
      bad.add(g);
    }
    seen.add(g);
  });
  if (groups && !groups.has(global)) problems.push(`kv.global: no group has id ${global}`);
  const served = new Set<number>();
  for (const n of replicas) {
    const subs = n.subscribe ?? [];
    for (const g of subs) if (seen.has(g)) served.add(g);
    if (!subs.includes(global)) problems.push(`nodes[${n.index}].subscribe: a key-value replica subscribes to the global group ${global} (commands on several partitions go through it)`);
    if (!subs.some((g) => seen.has(g))) problems.push(`nodes[${n.index}].subscribe: a key-value replica subscribes to at least one partition's group (kv.partitions)`);
    const other = subs.filter((g) => g !== global && !seen.has(g));
    if (other.length > 0) problems.push(`nodes[${n.index}].subscribe: a key-value replica applies every value it learns as a command: group${other.length > 1 ? "s" : ""} ${other.join(", ")} ${other.length > 1 ? "are" : "is"} no partition and not the global group`);
  }
  partitions.forEach((g, i) => {
    if (!served.has(g) && !bad.has(g) && partitions.indexOf(g) === i) problems.push(`kv.partitions[${i}]: no key-value replica subscribes to group ${g}: its keys would have no replica`);
  });
  return problems;
}

function duplicateIds(entries: readonly { index: number; id?: number }[], key: string): string[] {
  const problems: string[] = [];
  const seen = new Map<number, number>();
  for (const e of entries) {
    if (e.id === undefined) continue;
    const prev = seen.get(e.id);
    if (prev !== undefined) problems.push(`${key}[${e.index}].id: ${e.id} is already the id of ${key}[${prev}]`);
    else seen.set(e.id, e.index);
  }
  return problems;
}

/** A ring's acceptors and coordinator are nodes with those roles; every acceptor and coordinator serves a ring. */
function checkRingMembers(v: ConfigView, rings: readonly RingView[]): string[] {
  const problems: string[] = [];
  // "No node has id N" only when every node's id is well-formed (a malformed id is the schema's problem).
  const idsComplete = v.nodes.every((n) => n.id !== undefined);
  const byId = new Map<number, NodeView>();
  for (const n of v.nodes) if (n.id !== undefined && !byId.has(n.id)) byId.set(n.id, n);
  const lacks = (id: number, role: Role): boolean => {
    const roles = byId.get(id)?.roles;
    return roles !== undefined && !roles.includes(role);
  };
  for (const r of rings) {
    const at = `rings[${r.index}]`;
    if (r.acceptors !== undefined) {
      const seen = new Set<number>();
      r.acceptors.forEach((id, k) => {
        if (seen.has(id)) problems.push(`${at}.acceptors[${k}]: node ${id} is listed twice`);
        else if (!byId.has(id)) {
          if (idsComplete) problems.push(`${at}.acceptors[${k}]: no node has id ${id}`);
        } else if (lacks(id, "acceptor")) problems.push(`${at}.acceptors[${k}]: node ${id} does not have the role acceptor`);
        seen.add(id);
      });
      if (seen.size % 2 === 0)
        problems.push(`${at}.acceptors: ${seen.size} acceptors: an even number tolerates no more failures than ${seen.size - 1} and has no tie rule; use an odd number`);
      const variant = r.variant ?? v.variant ?? "mring";
      const members = variant === "uring" ? seen.size : Math.floor(seen.size / 2) + 1;
      if (members > MAX_RING) problems.push(`${at}.acceptors: ${ringTooLong(variant, members)}`);
    }
    const c = r.coordinator;
    if (c === undefined) continue;
    if (!byId.has(c)) {
      if (idsComplete) problems.push(`${at}.coordinator: no node has id ${c}`);
      continue;
    }
    if (r.acceptors !== undefined && !r.acceptors.includes(c))
      problems.push(`${at}.coordinator: node ${c} is not one of ${at}.acceptors (the coordinator votes on its own ring)`);
    if (lacks(c, "coordinator")) problems.push(`${at}.coordinator: node ${c} does not have the role coordinator`);
  }
  const coordinators = rings.every((r) => r.coordinator !== undefined) ? new Set(rings.map((r) => r.coordinator)) : null;
  const acceptors = rings.every((r) => r.acceptors !== undefined) ? new Set(rings.flatMap((r) => r.acceptors ?? [])) : null;
  for (const n of v.nodes) {
    if (n.id === undefined || n.roles === undefined) continue;
    if (coordinators && n.roles.includes("coordinator") && !coordinators.has(n.id))
      problems.push(`nodes[${n.index}].roles: node ${n.id} has the role coordinator but coordinates no ring (rings[].coordinator)`);
    if (acceptors && n.roles.includes("acceptor") && !acceptors.has(n.id))
      problems.push(`nodes[${n.index}].roles: node ${n.id} has the role acceptor but no ring lists it (rings[].acceptors)`);
  }
  return problems;
}

/** `rings`: null when that list is malformed (no group can be checked against it). */
function checkGroups(v: ConfigView, rings: readonly RingView[] | null): string[] {
  if (v.groups === null) return ["groups: required with rings (learners subscribe to groups, and each group is on a ring)"];
  const problems = duplicateIds(v.groups, "groups");
  if (rings !== null && rings.every((r) => r.id !== undefined)) {
    const ids = new Set(rings.map((r) => r.id));
    for (const g of v.groups) if (g.ring !== undefined && !ids.has(g.ring)) problems.push(`groups[${g.index}].ring: no ring has id ${g.ring}`);
  }
  return problems;
}

/** Learners subscribe to at least one group, clients may; others do not; every group subscribed to exists. */
function checkSubscriptions(v: ConfigView): string[] {
  const problems: string[] = [];
  const groups = v.groups !== null && !v.groupsMalformed && v.groups.every((g) => g.id !== undefined) ? new Set(v.groups.map((g) => g.id)) : null;
  for (const n of v.nodes) {
    const at = `nodes[${n.index}].subscribe`;
    if (n.roles !== undefined) {
      const empty = !n.subscribeGiven || n.subscribe?.length === 0;
      if (n.subscribeGiven && !learns(n.roles)) problems.push(`${at}: only learners and clients subscribe (node ${n.id ?? "?"} has the roles ${n.roles.join(", ")})`);
      else if (n.roles.includes("learner") && empty) problems.push(`${at}: a learner subscribes to at least one group`);
      else if (n.roles.includes("client") && n.subscribe?.length === 0) problems.push(`${at}: a client subscribes to at least one group (without subscribe: every group)`);
    }
    const seen = new Set<number>();
    n.subscribe?.forEach((g, k) => {
      if (seen.has(g)) problems.push(`${at}[${k}]: group ${g} is listed twice`);
      else if (groups && !groups.has(g)) problems.push(`${at}[${k}]: no group has id ${g}`);
      seen.add(g);
    });
  }
  return problems;
}

/** Every ring has a group, and a learner or client that learns it. */
function checkRingLearners(v: ConfigView, rings: readonly RingView[]): string[] {
  const groups = v.groups;
  // Counted only on well-formed groups, roles and subscriptions (a typo is not also "no learner").
  if (groups === null || v.groupsMalformed || !groups.every((g) => g.id !== undefined && g.ring !== undefined)) return [];
  if (!v.rolesComplete || !v.nodes.every((n) => !n.subscribeGiven || n.subscribe !== undefined)) return [];
  const problems: string[] = [];
  for (const r of rings) {
    if (r.id === undefined) continue;
    const mine = new Set(groups.filter((g) => g.ring === r.id).map((g) => g.id));
    if (mine.size === 0) {
      problems.push(`rings[${r.index}]: no group is on ring ${r.id} (groups[].ring): nothing can be proposed to it`);
      continue;
    }
    const learnt = v.nodes.some((n) => {
      const roles = n.roles ?? [];
      if (!learns(roles)) return false;
      const subscribed = n.subscribe ?? (roles.includes("client") ? groups.map((g) => g.id) : []);
      return subscribed.some((g) => mine.has(g));
    });
    if (!learnt) problems.push(`rings[${r.index}]: no learner or client subscribes to a group of ring ${r.id}`);
  }
  return problems;
}

/** A ring's variant: its own, else the top-level one (undefined when malformed). */
function variantOf(v: ConfigView, r: RingView): "mring" | "uring" | undefined {
  return r.variantGiven ? r.variant : v.variant;
}

/** Each M-Ring ring multicasts on a group and port of its own (its section, or the top-level one). */
function checkRingMulticast(v: ConfigView, rings: readonly RingView[]): string[] {
  const problems: string[] = [];
  const used = new Map<string, number>();
  for (const r of rings) {
    const at = `rings[${r.index}].multicast`;
    if (r.multicast !== null) problems.push(...multicastSectionProblems(v, r.multicast, at));
    if (variantOf(v, r) !== "mring") continue;
    if (r.multicast === null && v.multicast === null) {
      problems.push(`${at}: required for an M-Ring ring (the coordinator ip-multicasts Phase 2A): give it here or at the top level`);
      continue;
    }
    const m = r.multicast ?? v.multicast;
    if (m?.group === undefined || m.port === undefined) continue;
    const where = `${m.group}:${m.port}`;
    const other = used.get(where);
    if (other === undefined) used.set(where, r.index);
    else if (r.multicast !== null) problems.push(`${at}: ${where} is already the group and port of rings[${other}]; each ring multicasts on its own`);
    else problems.push(`${at}: absent, so the top-level ${where}, already the group and port of rings[${other}]; each ring multicasts on its own`);
  }
  return problems;
}

/** An M-Ring ring's batch travels in one Phase 2A datagram of its group. */
function checkRingBatch(v: ConfigView, rings: readonly RingView[]): string[] {
  const problems: string[] = [];
  for (const r of rings) {
    if (variantOf(v, r) !== "mring" || r.protocolMalformed.has("batchBytes") || r.multicastMalformed.has("maxDatagram")) continue;
    if (r.protocol.batchBytes === undefined && v.protocolMalformed.has("batchBytes")) continue;
    if (r.multicast === null && v.multicast === null) continue; // no section at all: reported by checkRingMulticast
    const own = r.multicast?.maxDatagram;
    const max = own ?? (v.multicast === null ? DEFAULT_DATAGRAM : v.multicast.maxDatagram);
    if (max === undefined) continue;
    const batch = r.protocol.batchBytes ?? v.protocol.batchBytes ?? defaultBatchBytes("mring");
    if (batch + PHASE2A_HEADROOM_BYTES <= max) continue;
    const batchKey = r.protocol.batchBytes !== undefined ? `rings[${r.index}].protocol.batchBytes` : "protocol.batchBytes";
    // The key that sets the datagram: the ring's own, the top-level one, else (a default) the ring's own section.
    const maxKey = own !== undefined || (v.multicast === null && r.multicast !== null) ? `rings[${r.index}].multicast.maxDatagram` : "multicast.maxDatagram";
    problems.push(
      `${batchKey}: ${batch} plus ${PHASE2A_HEADROOM_BYTES} bytes of Phase 2A headroom exceeds ${maxKey} (${max}) of ring ${r.id ?? "?"}; lower the batch or raise the datagram`,
    );
  }
  return problems;
}

/** A ring's protocol keys over the top-level ones keep the timing rules; its clock is every ring's. */
/** Flexible quorums against `acceptors` acceptors: each within 1..n, and every two intersecting (q1 + q2 > n). */
function quorumProblems(acceptors: number, p: { phase1Quorum?: number | undefined; phase2Quorum?: number | undefined }, keyOf: (k: "phase1Quorum" | "phase2Quorum") => string): string[] {
  if (p.phase1Quorum === undefined && p.phase2Quorum === undefined) return [];
  const majority = Math.floor(acceptors / 2) + 1;
  const problem = quorumProblem(acceptors, p.phase1Quorum ?? majority, p.phase2Quorum ?? majority);
  if (problem === null) return [];
  return [`${keyOf(p.phase1Quorum !== undefined ? "phase1Quorum" : "phase2Quorum")}: ${problem}`];
}

function checkRingTiming(v: ConfigView, rings: readonly RingView[]): string[] {
  const problems: string[] = [];
  for (const r of rings) {
    const at = `rings[${r.index}].protocol`;
    const quorums = { phase1Quorum: r.protocol.phase1Quorum ?? v.protocol.phase1Quorum, phase2Quorum: r.protocol.phase2Quorum ?? v.protocol.phase2Quorum };
    if (r.acceptors !== undefined && r.acceptors.length > 0)
      problems.push(...quorumProblems(r.acceptors.length, quorums, (k) => (r.protocol[k] !== undefined ? `${at}.${k}` : `protocol.${k}`)));
    if (r.protocol.tickMs !== undefined) problems.push(`${at}.tickMs: a process has one clock for all its rings: set protocol.tickMs at the top level`);
    const own = (k: TimingKey): boolean => r.protocol[k] !== undefined;
    const p: { [K in TimingKey]?: number } = {};
    for (const k of ["heartbeatMs", "leaseMs", "suspectMs", "suspectMaxMs", "window", "maxUnappliedInstances"] as const) {
      const value = own(k) ? r.protocol[k] : r.protocolMalformed.has(k) ? undefined : v.protocol[k];
      if (value !== undefined) p[k] = value;
    }
    if (v.protocol.tickMs !== undefined) p.tickMs = v.protocol.tickMs;
    problems.push(...timingProblems(p, (k) => (own(k) ? `${at}.${k}` : `protocol.${k}`), own));
  }
  return problems;
}

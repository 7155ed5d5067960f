import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { ConfigError, parseConfig, protocolConfig } from "../../src/config/load.ts";
import { multicastGroup } from "../../src/config/multicast-group.ts";
import { multiRingParams } from "../../src/config/ring-topology.ts";
import { ringOfGroup, ringPlans, subscriptions } from "../../src/config/rings.ts";
import type { ClusterConfig, NodeEntry } from "../../src/config/schema.ts";

const configsDir = new URL("../../configs/", import.meta.url);

interface RawRing {
  id: number;
  variant?: string;
  acceptors: number[];
  coordinator: number;
  multicast?: Record<string, unknown>;
  protocol?: Record<string, unknown>;
}
interface RawConfig {
  variant: string;
  nodes: { id: number; host: string; port: number; roles: string[]; subscribe?: number[] }[];
  rings?: RawRing[];
  groups?: { id: number; ring: number }[];
  multiRing?: Record<string, unknown>;
  multicast?: Record<string, unknown>;
  protocol?: Record<string, unknown>;
}

/**
 * Two M-Ring rings sharing processes: node 1 is an acceptor of ring 1 and the coordinator of
 * ring 2; learner 4 learns both rings, learner 5 only ring 2 (through both of its groups);
 * client 6 learns ring 1, client 7 (no subscribe) every group.
 */
const twoRings = (): RawConfig => ({
  variant: "mring",
  nodes: [
    { id: 0, host: "127.0.0.1", port: 7000, roles: ["coordinator", "acceptor"] },
    { id: 1, host: "127.0.0.1", port: 7001, roles: ["coordinator", "acceptor"] },
    { id: 2, host: "127.0.0.1", port: 7002, roles: ["acceptor"] },
    { id: 3, host: "127.0.0.1", port: 7003, roles: ["acceptor"] },
    { id: 4, host: "127.0.0.1", port: 7004, roles: ["learner"], subscribe: [1, 2] },
    { id: 5, host: "127.0.0.1", port: 7005, roles: ["learner"], subscribe: [2, 3] },
    { id: 6, host: "127.0.0.1", port: 7006, roles: ["client"], subscribe: [1] },
    { id: 7, host: "127.0.0.1", port: 7007, roles: ["client"] },
  ],
  rings: [
    { id: 1, acceptors: [0, 1, 2], coordinator: 0, multicast: { group: "239.7.7.31", port: 7100, interface: "127.0.0.1" } },
    { id: 2, acceptors: [1, 2, 3], coordinator: 1, multicast: { group: "239.7.7.32", port: 7101, interface: "127.0.0.1" }, protocol: { window: 16 } },
  ],
  groups: [
    { id: 1, ring: 1 },
    { id: 2, ring: 2 },
    { id: 3, ring: 2 },
  ],
});

/** A configuration without rings, as before them. */
const oneRing = (): RawConfig => ({
  variant: "mring",
  nodes: [
    { id: 0, host: "127.0.0.1", port: 7000, roles: ["coordinator", "acceptor"] },
    { id: 1, host: "127.0.0.1", port: 7001, roles: ["acceptor"] },
    { id: 2, host: "127.0.0.1", port: 7002, roles: ["acceptor"] },
    { id: 3, host: "127.0.0.1", port: 7003, roles: ["learner"] },
    { id: 4, host: "127.0.0.1", port: 7004, roles: ["client"] },
  ],
  multicast: { group: "239.1.1.1", port: 7100, interface: "127.0.0.1" },
});

function problems(json: unknown): string[] {
  try {
    parseConfig(JSON.stringify(json));
  } catch (e) {
    if (e instanceof ConfigError) return [...e.problems];
    throw e;
  }
  return [];
}

const parse = (json: unknown): ClusterConfig => parseConfig(JSON.stringify(json));
const ring = (c: RawConfig, i: number): RawRing => c.rings?.[i] as RawRing;
const node = (c: RawConfig, i: number) => c.nodes[i] as RawConfig["nodes"][number];
const entry = (c: ClusterConfig, id: number): NodeEntry => c.nodes.find((n) => n.id === id) as NodeEntry;

describe("the schema: rings, groups, multiRing, subscribe", () => {
  test("a two-ring configuration is valid; multiRing's (provisional) defaults: λ 2000/s, Δ 5 ms, M 1", () => {
    expect(problems(twoRings())).toEqual([]);
    const c = parse(twoRings());
    expect(c.rings?.map((r) => r.id)).toEqual([1, 2]);
    expect(c.groups).toEqual([
      { id: 1, ring: 1 },
      { id: 2, ring: 2 },
      { id: 3, ring: 2 },
    ]);
    expect(c.multiRing).toBeUndefined();
    expect(multiRingParams(c)).toEqual({ lambdaPerSecond: 2000, deltaMs: 5, m: 1 });
    expect(parse({ ...twoRings(), multiRing: {} }).multiRing).toEqual({ lambdaPerSecond: 2000, deltaMs: 5, m: 1 });
    expect(multiRingParams(parse({ ...twoRings(), multiRing: { lambdaPerSecond: 500.5, m: 4 } }))).toEqual({ lambdaPerSecond: 500.5, deltaMs: 5, m: 4 });
  });

  test("a ring's protocol and multicast keys are overrides: absent keys take no default of their own", () => {
    const c = parse(twoRings());
    expect(c.rings?.[1]?.protocol).toEqual({ window: 16 });
    expect(c.rings?.[0]?.multicast).toEqual({ group: "239.7.7.31", port: 7100, interface: "127.0.0.1" });
    expect(c.rings?.[0]?.protocol).toBeUndefined();
    expect(c.rings?.[0]?.variant).toBeUndefined();
  });

  test("a configuration without rings parses as before: no new keys appear", () => {
    const c = parse(oneRing());
    for (const k of ["rings", "groups", "multiRing"]) expect(k in c).toBe(false);
    for (const n of c.nodes) expect("subscribe" in n).toBe(false);
  });

  test.each([
    ["a ring id beyond 65535", (c: RawConfig) => void (ring(c, 1).id = 65536), /^rings\[1\]\.id: Too big: .*65535/],
    ["an unknown ring key", (c: RawConfig) => void ((ring(c, 0) as unknown as Record<string, unknown>)["colour"] = "red"), /^rings\[0\]: Unrecognized key: "colour"/],
    ["a ring without acceptors", (c: RawConfig) => void (ring(c, 0).acceptors = []), /^rings\[0\]\.acceptors: Too small/],
    ["a ring's multicast without a port", (c: RawConfig) => void delete ring(c, 0).multicast?.["port"], /^rings\[0\]\.multicast\.port: /],
    ["a malformed ring protocol key", (c: RawConfig) => void (ring(c, 1).protocol = { window: 0 }), /^rings\[1\]\.protocol\.window: Too small/],
    ["an unknown ring protocol key", (c: RawConfig) => void (ring(c, 1).protocol = { windw: 8 }), /^rings\[1\]\.protocol: Unrecognized key: "windw"/],
    ["a ring variant that is none", (c: RawConfig) => void (ring(c, 1).variant = "xring"), /^rings\[1\]\.variant: /],
    ["a negative λ", (c: RawConfig) => void (c.multiRing = { lambdaPerSecond: -1 }), /^multiRing\.lambdaPerSecond: Too small/],
    ["Δ of 0 ms", (c: RawConfig) => void (c.multiRing = { deltaMs: 0 }), /^multiRing\.deltaMs: Too small/],
    ["M of 0", (c: RawConfig) => void (c.multiRing = { m: 0 }), /^multiRing\.m: Too small/],
    ["a group id that is no integer", (c: RawConfig) => void (node(c, 4).subscribe = [1.5]), /^nodes\[4\]\.subscribe\[0\]: /],
    ["an empty groups list", (c: RawConfig) => void (c.groups = []), /^groups: Too small/],
    ["an empty rings list", (c: RawConfig) => void (c.rings = []), /^rings: Too small/],
    ["groups that are no list", (c: RawConfig) => void ((c as { groups: unknown }).groups = { id: 1 }), /^groups: /],
  ])("refuses %s, in one line", (_what, mutate, message) => {
    const c = twoRings();
    mutate(c);
    const p = problems(c);
    expect(p).toEqual([expect.stringMatching(message)]);
  });
});

describe("rules across keys, with rings: one line per problem naming its key path", () => {
  test.each<[string, (c: RawConfig) => void, string[]]>([
    [
      "a ring id twice",
      (c) => {
        ring(c, 1).id = 1;
        c.groups = [
          { id: 1, ring: 1 },
          { id: 2, ring: 1 },
          { id: 3, ring: 1 },
        ];
      },
      ["rings[1].id: 1 is already the id of rings[0]"],
    ],
    ["an acceptor that is no node", (c) => void (ring(c, 0).acceptors = [0, 1, 9]), ["rings[0].acceptors[2]: no node has id 9"]],
    ["an acceptor listed twice", (c) => void (ring(c, 0).acceptors = [0, 1, 2, 1]), ["rings[0].acceptors[3]: node 1 is listed twice"]],
    ["an acceptor without the role", (c) => void (node(c, 3).roles = ["proposer"]), ["rings[1].acceptors[2]: node 3 does not have the role acceptor"]],
    [
      "an even number of acceptors",
      (c) => void (ring(c, 0).acceptors = [0, 1, 2, 3]),
      ["rings[0].acceptors: 4 acceptors: an even number tolerates no more failures than 3 and has no tie rule; use an odd number"],
    ],
    [
      "a coordinator that is not one of the ring's acceptors",
      (c) => void (ring(c, 1).acceptors = [0, 2, 3]),
      ["rings[1].coordinator: node 1 is not one of rings[1].acceptors (the coordinator votes on its own ring)"],
    ],
    ["a coordinator without the role", (c) => void (node(c, 1).roles = ["acceptor"]), ["rings[1].coordinator: node 1 does not have the role coordinator"]],
    [
      "a coordinator that is no node",
      (c) => void (ring(c, 1).coordinator = 9),
      ["rings[1].coordinator: no node has id 9", "nodes[1].roles: node 1 has the role coordinator but coordinates no ring (rings[].coordinator)"],
    ],
    [
      "a node with the role coordinator that coordinates no ring",
      (c) => void (node(c, 2).roles = ["coordinator", "acceptor"]),
      ["nodes[2].roles: node 2 has the role coordinator but coordinates no ring (rings[].coordinator)"],
    ],
    [
      "a node with the role acceptor that no ring lists",
      (c) => void (ring(c, 1).acceptors = [1, 2, 0]),
      ["nodes[3].roles: node 3 has the role acceptor but no ring lists it (rings[].acceptors)"],
    ],
    ["no groups", (c) => void delete c.groups, ["groups: required with rings (learners subscribe to groups, and each group is on a ring)"]],
    [
      "a group id twice",
      (c) => {
        (c.groups?.[2] as { id: number }).id = 2;
        node(c, 5).subscribe = [2];
      },
      ["groups[2].id: 2 is already the id of groups[1]"],
    ],
    ["a group on a ring that does not exist", (c) => void ((c.groups?.[2] as { ring: number }).ring = 7), ["groups[2].ring: no ring has id 7"]],
    ["a subscription to a group that does not exist", (c) => void (node(c, 4).subscribe = [1, 9]), ["nodes[4].subscribe[1]: no group has id 9"]],
    ["a group subscribed twice", (c) => void (node(c, 4).subscribe = [1, 2, 1]), ["nodes[4].subscribe[2]: group 1 is listed twice"]],
    ["a learner without subscribe", (c) => void delete node(c, 5).subscribe, ["nodes[5].subscribe: a learner subscribes to at least one group"]],
    ["a learner subscribed to nothing", (c) => void (node(c, 5).subscribe = []), ["nodes[5].subscribe: a learner subscribes to at least one group"]],
    ["a client subscribed to nothing", (c) => void (node(c, 6).subscribe = []), ["nodes[6].subscribe: a client subscribes to at least one group (without subscribe: every group)"]],
    ["an acceptor that subscribes", (c) => void (node(c, 2).subscribe = [1]), ["nodes[2].subscribe: only learners and clients subscribe (node 2 has the roles acceptor)"]],
    [
      "a ring no group is on",
      (c) => {
        c.groups = [{ id: 1, ring: 1 }];
        node(c, 4).subscribe = [1];
        node(c, 5).subscribe = [1];
      },
      ["rings[1]: no group is on ring 2 (groups[].ring): nothing can be proposed to it"],
    ],
    [
      "a ring nobody learns",
      (c) => {
        for (const i of [4, 5, 7]) node(c, i).subscribe = [1];
      },
      ["rings[1]: no learner or client subscribes to a group of ring 2"],
    ],
    [
      "an M-Ring ring without any multicast section",
      (c) => void delete ring(c, 1).multicast,
      ["rings[1].multicast: required for an M-Ring ring (the coordinator ip-multicasts Phase 2A): give it here or at the top level"],
    ],
    [
      "two rings on one group and port",
      (c) => void (ring(c, 1).multicast = { group: "239.7.7.31", port: 7100 }),
      ["rings[1].multicast: 239.7.7.31:7100 is already the group and port of rings[0]; each ring multicasts on its own"],
    ],
    [
      "a ring that takes the top-level group another ring uses",
      (c) => {
        c.multicast = { group: "239.7.7.31", port: 7100 };
        delete ring(c, 1).multicast;
      },
      ["rings[1].multicast: absent, so the top-level 239.7.7.31:7100, already the group and port of rings[0]; each ring multicasts on its own"],
    ],
    [
      "a ring group that is no multicast address",
      (c) => void ((ring(c, 0).multicast as { group: string }).group = "10.0.0.1"),
      ["rings[0].multicast.group: 10.0.0.1 is not an IPv4 multicast address (224.0.0.0/4)"],
    ],
    ["a ring multicast port that is a node's", (c) => void ((ring(c, 0).multicast as { port: number }).port = 7003), ["rings[0].multicast.port: 7003 is also a node's TCP or HTTP port"]],
    [
      "a ring multicast interface that is no address",
      (c) => void ((ring(c, 0).multicast as { interface: string }).interface = "lo"),
      ['rings[0].multicast.interface: "lo" is not an IPv4 address'],
    ],
    [
      "a ring batch that cannot fit its datagram",
      (c) => void (ring(c, 1).protocol = { batchBytes: 11000 }),
      ["rings[1].protocol.batchBytes: 11000 plus 2048 bytes of Phase 2A headroom exceeds rings[1].multicast.maxDatagram (12288) of ring 2; lower the batch or raise the datagram"],
    ],
    [
      "the top-level batch that cannot fit a ring's datagram",
      (c) => {
        c.protocol = { batchBytes: 10500 };
        (ring(c, 0).multicast as { maxDatagram: number }).maxDatagram = 20000;
      },
      ["protocol.batchBytes: 10500 plus 2048 bytes of Phase 2A headroom exceeds rings[1].multicast.maxDatagram (12288) of ring 2; lower the batch or raise the datagram"],
    ],
    [
      "a ring heartbeat beyond the lease",
      (c) => void (ring(c, 1).protocol = { heartbeatMs: 200 }),
      ["rings[1].protocol.heartbeatMs: 200 must be below protocol.leaseMs (150): a lease is renewed by heartbeats"],
    ],
    [
      "a ring tick of its own",
      (c) => void (ring(c, 0).protocol = { tickMs: 2 }),
      ["rings[0].protocol.tickMs: a process has one clock for all its rings: set protocol.tickMs at the top level"],
    ],
    [
      "a ring the cores refuse",
      (c) => void (ring(c, 1).protocol = { heartbeatMs: 0 }),
      ["rings[1].protocol: invariant violated: heartbeats come more often than a lease lasts (leaseTicks 0: no leases)"],
    ],
  ])("refuses %s", (_what, mutate, expected) => {
    const c = twoRings();
    mutate(c);
    expect(problems(c)).toEqual(expected);
  });

  test("without rings: groups, multiRing and subscribe are refused (the configuration is one ring)", () => {
    const c = { ...oneRing(), groups: [{ id: 0, ring: 0 }], multiRing: {} };
    node(c, 3).subscribe = [0];
    expect(problems(c)).toEqual([
      "groups: only with rings (without rings the configuration is one ring)",
      "multiRing: only with rings (one ring is merged with nothing)",
      "nodes[3].subscribe: only with rings (without rings every learner learns the one ring)",
    ]);
  });

  test("a U-Ring ring with more processes than its member list carries on the wire (64) is refused, naming the ring", () => {
    const withLearners = (n: number): RawConfig => {
      const c = twoRings();
      ring(c, 1).variant = "uring";
      for (let i = 0; i < n; i++) c.nodes.push({ id: 100 + i, host: "127.0.0.1", port: 7200 + i, roles: ["learner"], subscribe: [2] });
      return c;
    };
    // Ring 2: acceptors 1, 2, 3, learners 4 and 5, the two clients (they propose to any group), and the new learners.
    expect(problems(withLearners(57))).toEqual([]);
    expect(problems(withLearners(58))).toEqual(["rings[1]: 65 processes on this U-Ring ring (its acceptors, and the learners and proposers of its groups): at most 64 (the ring's member list on the wire)"]);
  });

  test("with rings, key-value replicas need the kv section: partitions and a global group every replica learns", () => {
    const c = twoRings() as RawConfig & { kv?: unknown };
    const replica = (i: number) => {
      const n = c.nodes[i] as RawConfig["nodes"][number] & { kv?: unknown; http?: number };
      n.roles = ["learner", "proposer"];
      n.kv = { dir: `d${i}` };
      n.http = 9000 + i;
      return n;
    };
    const a = replica(4); // subscribes to 1, 2
    const b = replica(5); // subscribes to 2, 3
    expect(problems(c)).toEqual([4, 5].map((i) => `nodes[${i}].kv: with rings, the configuration needs a top-level kv section naming the partitions' groups (kv.partitions, kv.global)`));
    c.kv = { partitions: [1, 3], global: 2 };
    expect(problems(c)).toEqual([]);
    a.subscribe = [1];
    b.subscribe = [2];
    c.kv = { partitions: [1, 3, 1, 9], global: 2 };
    expect(problems(c)).toEqual([
      "kv.partitions[2]: group 1 is listed twice (each partition is a group of its own)",
      "kv.partitions[3]: no group has id 9",
      "nodes[4].subscribe: a key-value replica subscribes to the global group 2 (commands on several partitions go through it)",
      "nodes[5].subscribe: a key-value replica subscribes to at least one partition's group (kv.partitions)",
      "kv.partitions[1]: no key-value replica subscribes to group 3: its keys would have no replica",
    ]);
    delete c.kv;
    delete c.rings;
    delete c.groups;
    (c as { kv?: unknown }).kv = { partitions: [1], global: 2 };
    expect(problems(c)).toContain("kv: only with rings (partitions are groups; without rings the key-value service is one partition)");
  });

  test("with rings, several nodes have the role coordinator and no top-level multicast is needed; a U-Ring ring needs no group", () => {
    const c = twoRings();
    ring(c, 1).variant = "uring";
    delete ring(c, 1).multicast;
    expect(problems(c)).toEqual([]);
    const plans = ringPlans(parse(c));
    expect(plans.map((p) => [p.protocol.variant, p.multicast?.group ?? null])).toEqual([
      ["mring", "239.7.7.31"],
      ["uring", null],
    ]);
  });

  test("every problem in one run: schema and rules across keys, rings and the rest together", () => {
    const c = twoRings();
    node(c, 0).port = 70000; // schema
    ring(c, 0).acceptors = [0, 1, 9]; // no node 9
    node(c, 5).subscribe = [2, 2]; // twice
    (c.groups?.[0] as { ring: number }).ring = 5; // no ring 5 (and so ring 1 has no group)
    node(c, 6).subscribe = [1, 4]; // no group 4
    ring(c, 1).protocol = { heartbeatMs: 200 }; // beyond the lease
    expect(problems(c)).toEqual([
      expect.stringMatching(/^nodes\[0\]\.port: .*65535/),
      "rings[0].acceptors[2]: no node has id 9",
      "groups[0].ring: no ring has id 5",
      "nodes[5].subscribe[1]: group 2 is listed twice",
      "nodes[6].subscribe[1]: no group has id 4",
      "rings[0]: no group is on ring 1 (groups[].ring): nothing can be proposed to it",
      "rings[1].protocol.heartbeatMs: 200 must be below protocol.leaseMs (150): a lease is renewed by heartbeats",
    ]);
  });
});

describe("ringPlans, subscriptions, ringOfGroup", () => {
  test("two rings sharing processes: members, protocol overrides, multicast, skips and groups per ring", () => {
    const c = parse({ ...twoRings(), multiRing: { lambdaPerSecond: 1000, deltaMs: 10, m: 2 } });
    const plans = ringPlans(c);
    expect(plans.map((p) => p.id)).toEqual([1, 2]);
    const [one, two] = plans as [ReturnType<typeof ringPlans>[number], ReturnType<typeof ringPlans>[number]];
    expect(one.protocol).toMatchObject({
      variant: "mring",
      processes: [0, 1, 2, 4, 6, 7],
      acceptors: [0, 1, 2],
      coordinator: 0,
      learners: [4, 6, 7],
      proposers: [6, 7],
      replicas: [4],
      window: 32,
      maxUnappliedInstances: 2048,
    });
    expect(two.protocol).toMatchObject({
      variant: "mring",
      processes: [1, 2, 3, 4, 5, 6, 7],
      acceptors: [1, 2, 3],
      coordinator: 1,
      learners: [4, 5, 7],
      proposers: [6, 7],
      replicas: [4, 5],
      window: 16,
    });
    // Everything but the members and the ring's own keys is the top-level protocol's, as one ring's would be.
    const { processes: _p1, acceptors: _a1, coordinator: _c1, learners: _l1, proposers: _r1, replicas: _s1, ...rest1 } = one.protocol;
    const { processes: _p2, acceptors: _a2, coordinator: _c2, learners: _l2, proposers: _r2, replicas: _s2, window: _w2, ...rest2 } = two.protocol;
    expect(rest2).toEqual(Object.fromEntries(Object.entries(rest1).filter(([k]) => k !== "window")) as typeof rest2);
    expect(one.multicast).toMatchObject({ group: "239.7.7.31", port: 7100, key: "rings[0].multicast", interface: "127.0.0.1", interfaceKey: "rings[0].multicast.interface", maxDatagram: 12288 });
    expect(two.multicast).toMatchObject({ group: "239.7.7.32", port: 7101, key: "rings[1].multicast" });
    expect(one.skip).toEqual({ perSecond: 1000, intervalTicks: 10 });
    expect(two.skip).toEqual({ perSecond: 1000, intervalTicks: 10 });
    expect([one.groups, two.groups]).toEqual([[1], [2, 3]]);
    expect(one.tickMs).toBe(1);
  });

  test("Δ in ticks of protocol.tickMs; a ring listed later with a lower id comes first (the merge's order)", () => {
    const raw = twoRings();
    raw.protocol = { tickMs: 5, heartbeatMs: 20, leaseMs: 150, suspectMs: 250 };
    raw.rings?.reverse();
    const plans = ringPlans(parse(raw));
    expect(plans.map((p) => p.id)).toEqual([1, 2]);
    expect(plans[0]?.skip).toEqual({ perSecond: 2000, intervalTicks: 1 });
    expect(plans[0]?.tickMs).toBe(5);
    expect(plans[1]?.multicast?.key).toBe("rings[0].multicast");
  });

  test("skips only on rings some learner merges with another: learners of one ring each (and clients) make none", () => {
    const raw = twoRings();
    node(raw, 4).subscribe = [1];
    // Learner 4 learns ring 1 alone, learner 5 ring 2 alone (two groups, one ring), client 7 every group: nobody merges.
    expect(ringPlans(parse(raw)).map((p) => p.skip.perSecond)).toEqual([0, 0]);
    node(raw, 5).subscribe = [1, 3];
    expect(ringPlans(parse(raw)).map((p) => p.skip.perSecond)).toEqual([2000, 2000]);
  });

  test("subscriptions: the groups a node learns and their rings; a client without subscribe learns every group", () => {
    const c = parse(twoRings());
    expect(subscriptions(c, 4)).toEqual([
      { group: 1, ring: 1 },
      { group: 2, ring: 2 },
    ]);
    expect(subscriptions(c, 5)).toEqual([
      { group: 2, ring: 2 },
      { group: 3, ring: 2 },
    ]);
    expect(subscriptions(c, 6)).toEqual([{ group: 1, ring: 1 }]);
    expect(subscriptions(c, 7)).toEqual([
      { group: 1, ring: 1 },
      { group: 2, ring: 2 },
      { group: 3, ring: 2 },
    ]);
    for (const id of [0, 1, 2, 3, 99]) expect(subscriptions(c, id)).toEqual([]);
    expect([ringOfGroup(c, 1), ringOfGroup(c, 2), ringOfGroup(c, 3), ringOfGroup(c, 0)]).toEqual([1, 2, 2, null]);
  });

  test("multicastGroup per ring: members are the ring's acceptors and subscribed learners; the ring's coordinator sends apart", () => {
    const c = parse(twoRings());
    const g = (id: number, r: number) => multicastGroup(c, entry(c, id), r);
    // Node 1: an acceptor of ring 1, the coordinator of ring 2.
    expect(g(1, 1)).toMatchObject({ group: "239.7.7.31", separateSender: false });
    expect(g(1, 2)).toMatchObject({ group: "239.7.7.32", separateSender: true });
    expect(g(0, 1)?.separateSender).toBe(true);
    expect(g(0, 2)).toBeNull(); // no member of ring 2
    expect(g(5, 1)).toBeNull(); // learns ring 2 only
    expect(g(5, 2)?.group).toBe("239.7.7.32");
    expect(g(6, 2)).toBeNull(); // a client subscribed to ring 1 only
    expect(g(7, 2)?.group).toBe("239.7.7.32");
    expect(multicastGroup(c, entry(c, 1), 9)).toBeNull(); // no such ring
    expect(() => multicastGroup(c)).toThrow("a configuration with 2 rings has a multicast group per ring: name the ring");
  });

  test("a ring without a multicast section takes the top-level one; a ring's section takes its missing keys from it", () => {
    const raw = twoRings();
    raw.multicast = { group: "239.7.7.30", port: 7099, interface: "10.0.0.1", ttl: 3, maxDatagram: 20000 };
    delete ring(raw, 0).multicast;
    ring(raw, 1).multicast = { group: "239.7.7.32", port: 7101 };
    const c = parse(raw);
    const [one, two] = ringPlans(c);
    expect(one?.multicast).toMatchObject({ group: "239.7.7.30", port: 7099, key: "multicast", interface: "10.0.0.1", interfaceKey: "multicast.interface", ttl: 3, maxDatagram: 20000 });
    expect(two?.multicast).toMatchObject({ group: "239.7.7.32", port: 7101, key: "rings[1].multicast", interface: "10.0.0.1", interfaceKey: "multicast.interface", ttl: 3, maxDatagram: 20000 });
  });

  test("a configuration without rings is one ring, id 0, with one group, 0, that every learner and client learns", () => {
    const c = parse(oneRing());
    const plans = ringPlans(c);
    expect(plans).toHaveLength(1);
    expect(plans[0]).toMatchObject({ id: 0, groups: [0], skip: { perSecond: 0 } });
    expect(plans[0]?.protocol).toEqual(protocolConfig(c));
    expect(plans[0]?.multicast).toEqual(multicastGroup(c));
    for (const id of [3, 4]) expect(subscriptions(c, id)).toEqual([{ group: 0, ring: 0 }]);
    for (const id of [0, 1, 2]) expect(subscriptions(c, id)).toEqual([]);
    expect([ringOfGroup(c, 0), ringOfGroup(c, 1)]).toEqual([0, null]);
    expect(() => protocolConfig(parse(twoRings()))).toThrow("a configuration with rings has one ProtocolConfig per ring: see ringPlans");
  });
});

describe("shipped configurations", () => {
  const files = readdirSync(configsDir).filter((f) => f.endsWith(".json"));
  const load = (f: string): ClusterConfig => parseConfig(readFileSync(new URL(f, configsDir), "utf8"), f);
  const single = files.filter((f) => load(f).rings === undefined);

  test.each(single)("%s: its one ring plan's ProtocolConfig equals protocolConfig's", (f) => {
    const c = load(f);
    const plans = ringPlans(c);
    expect(plans).toHaveLength(1);
    expect(plans[0]?.id).toBe(0);
    expect(plans[0]?.protocol).toEqual(protocolConfig(c));
    expect(plans[0]?.multicast).toEqual(multicastGroup(c));
    for (const n of c.nodes) expect(multicastGroup(c, n, 0)).toEqual(multicastGroup(c, n));
  });

  test("configs/multiring-2-ram.json: two M-Ring rings of 3 acceptors sharing processes, overlapping subscriptions, two clients", () => {
    expect(files).toContain("multiring-2-ram.json");
    const c = load("multiring-2-ram.json");
    const plans = ringPlans(c);
    expect(plans.map((p) => ({ id: p.id, acceptors: p.protocol.acceptors, coordinator: p.protocol.coordinator, learners: p.protocol.learners, group: p.multicast?.group }))).toEqual([
      { id: 1, acceptors: [0, 1, 2], coordinator: 0, learners: [4, 6, 7], group: "239.7.7.31" },
      { id: 2, acceptors: [1, 2, 3], coordinator: 1, learners: [4, 5, 7], group: "239.7.7.32" },
    ]);
    expect(c.nodes.filter((n) => n.roles.includes("client")).map((n) => n.id)).toEqual([6, 7]);
  });
});

import { describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { checkConfigFile, ConfigError, findConfigFile, loadConfig, NoConfigError, parseConfig, protocolConfig } from "../../src/config/load.ts";
import { lineColumn, parseJsonWithPosition, syntaxErrorOffset } from "../../src/config/json.ts";
import { ringPlans } from "../../src/config/rings.ts";

const configsDir = new URL("../../configs/", import.meta.url);

function problems(json: unknown): string[] {
  try {
    parseConfig(JSON.stringify(json));
  } catch (e) {
    if (e instanceof ConfigError) return [...e.problems];
    throw e;
  }
  return [];
}

const base = () => ({
  variant: "mring",
  nodes: [
    { id: 0, host: "127.0.0.1", port: 7000, roles: ["coordinator", "acceptor"] },
    { id: 1, host: "127.0.0.1", port: 7001, roles: ["acceptor"] },
    { id: 2, host: "127.0.0.1", port: 7002, roles: ["acceptor"] },
    { id: 3, host: "127.0.0.1", port: 7003, roles: ["client"] },
  ],
  multicast: { group: "239.1.1.1", port: 7100, interface: "127.0.0.1" },
});

describe("configuration", () => {
  test("every shipped example in configs/ is valid", () => {
    const files = readdirSync(configsDir).filter((f) => f.endsWith(".json"));
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const f of files) {
      const c = parseConfig(readFileSync(new URL(f, configsDir), "utf8"), f);
      for (const plan of ringPlans(c)) expect(plan.protocol.acceptors.length % 2).toBe(1);
    }
  });

  test("a valid config maps roles onto the cores' configuration with variant defaults", () => {
    const c = parseConfig(JSON.stringify(base()));
    const p = protocolConfig(c);
    expect(p.acceptors).toEqual([0, 1, 2]);
    expect(p.coordinator).toBe(0);
    expect(p.learners).toEqual([3]);
    expect(p.proposers).toEqual([3]);
    expect(p.batchBytes).toBe(8192);
    expect(p.retransmitTicks).toBe(20);
    const u = protocolConfig(parseConfig(JSON.stringify({ ...base(), variant: "uring", multicast: undefined })));
    expect(u.batchBytes).toBe(32768);
  });

  test("one line per problem, each naming its key path", () => {
    const bad = base();
    (bad.nodes[2] as { port: number }).port = 70000;
    (bad.nodes[1] as { host: unknown }).host = 5;
    expect(problems(bad)).toEqual([
      expect.stringMatching(/^nodes\[1\]\.host: .*string/i),
      expect.stringMatching(/^nodes\[2\]\.port: .*65535/),
    ]);
  });

  test("a ring longer than its member list can carry on the wire is refused (U-Ring: processes; M-Ring: a majority of acceptors)", () => {
    const many = (variant: string, acceptors: number, clients: number) => ({
      ...base(),
      variant,
      nodes: [
        ...Array.from({ length: acceptors }, (_, i) => ({ id: i, host: "127.0.0.1", port: 7200 + i, roles: i === 0 ? ["coordinator", "acceptor"] : ["acceptor"] })),
        ...Array.from({ length: clients }, (_, i) => ({ id: 200 + i, host: "127.0.0.1", port: 9000 + i, roles: ["client"] })),
      ],
    });
    expect(problems(many("uring", 15, 1))).toEqual([]);
    expect(problems(many("uring", 63, 1))).toEqual([]);
    expect(problems(many("uring", 63, 2))).toEqual(["nodes: 65 processes on a U-Ring ring: at most 64 (the ring's member list on the wire)"]);
    expect(problems(many("mring", 127, 1))).toEqual([]);
    expect(problems(many("mring", 129, 1))).toEqual(["nodes: a ring of 65 acceptors (a majority): at most 64 on the wire, so at most 127 acceptors"]);
  });

  test("unknown keys are refused (a typo must not silently fall back to a default)", () => {
    expect(problems({ ...base(), protocl: {} })).toEqual([expect.stringContaining("protocl")]);
  });

  test.each([
    ["duplicate ids", (c: ReturnType<typeof base>) => void ((c.nodes[1] as { id: number }).id = 0), "nodes[1].id: 0 is already the id of nodes[0]"],
    ["duplicate ports", (c: ReturnType<typeof base>) => void ((c.nodes[1] as { port: number }).port = 7000), "nodes[1].port: 127.0.0.1:7000 is already used by nodes[0].port"],
    ["a group outside 224.0.0.0/4", (c: ReturnType<typeof base>) => void (c.multicast.group = "10.1.1.1"), "multicast.group: 10.1.1.1 is not an IPv4 multicast address"],
    ["an even number of acceptors", (c: ReturnType<typeof base>) => void (c.nodes[3] as { roles: string[] }).roles.push("acceptor"), "4 acceptors: an even number"],
    ["no coordinator", (c: ReturnType<typeof base>) => void ((c.nodes[0] as { roles: string[] }).roles = ["acceptor"]), "exactly one node must have the role coordinator (found 0)"],
    ["a coordinator that is no acceptor", (c: ReturnType<typeof base>) => void ((c.nodes[0] as { roles: string[] }).roles = ["coordinator"]), "the coordinator must also be an acceptor"],
    ["a key-value replica without the proposer role", (c: ReturnType<typeof base>) => void Object.assign(c.nodes[3] as object, { kv: { dir: "d" }, http: 8003 }), "nodes[3].kv: a key-value replica needs the roles learner"],
    ["a key-value replica without an http port", (c: ReturnType<typeof base>) => void Object.assign(c.nodes[3] as object, { kv: { dir: "d" }, roles: ["learner", "proposer"] }), "nodes[3].kv: a key-value replica serves its API on the node's http port"],
    ["M-Ring without multicast", (c: ReturnType<typeof base>) => void delete (c as { multicast?: unknown }).multicast, "multicast: required for variant mring"],
  ])("refuses %s", (_what, mutate, message) => {
    const c = base();
    mutate(c);
    expect(problems(c).join("\n")).toContain(message);
  });

  test("text that is not JSON, and a missing file, are one clear problem each", () => {
    expect(() => parseConfig("{ nope", "x.json")).toThrow(/x.json: invalid configuration\n  not valid JSON/);
    expect(() => loadConfig("/nonexistent/paxos.json")).toThrow(/\/nonexistent\/paxos.json: invalid configuration\n  no such file/);
  });
});

test("an M-Ring batch that cannot fit a datagram is refused", () => {
  const c = {
    variant: "mring",
    nodes: [
      { id: 0, host: "127.0.0.1", port: 7000, roles: ["coordinator", "acceptor"] },
      { id: 1, host: "127.0.0.1", port: 7001, roles: ["client"] },
    ],
    multicast: { group: "239.1.1.1", port: 7100, maxDatagram: 9216 },
    protocol: { batchBytes: 8192 },
  };
  expect(() => parseConfig(JSON.stringify(c))).toThrow(/protocol\.batchBytes: 8192 plus 2048 bytes of Phase 2A headroom exceeds multicast\.maxDatagram \(9216\)/);
  expect(() => parseConfig(JSON.stringify({ ...c, multicast: { ...c.multicast, maxDatagram: 10240 } }))).not.toThrow();
});

describe("every problem in one run", () => {
  test("schema problems and cross-field rules are reported together", () => {
    const c = base();
    (c.nodes[0] as { port: number }).port = 70000; // schema
    (c.nodes[2] as { id: number }).id = 1; // duplicate id
    (c.nodes[3] as { port: number }).port = 7001; // duplicate address
    (c.nodes[1] as { roles: string[] }).roles = ["acceptor", "coordinator"]; // a second coordinator
    c.multicast.group = "10.1.1.1"; // outside 224.0.0.0/4
    (c as { protocol?: unknown }).protocol = { window: 0, heartbeatMs: 200 }; // schema; heartbeat beyond the lease
    expect(problems(c)).toEqual([
      expect.stringMatching(/^nodes\[0\]\.port: .*65535/),
      expect.stringMatching(/^protocol\.window: /),
      "nodes[2].id: 1 is already the id of nodes[1]",
      "nodes[3].port: 127.0.0.1:7001 is already used by nodes[1].port",
      "nodes: exactly one node must have the role coordinator (found 2)",
      "multicast.group: 10.1.1.1 is not an IPv4 multicast address (224.0.0.0/4)",
      "protocol.heartbeatMs: 200 must be below protocol.leaseMs (150): a lease is renewed by heartbeats",
    ]);
  });

  test("leaseMs 0 turns leases off: no heartbeat is below it, and none has to be", () => {
    const c = base();
    (c as { protocol?: unknown }).protocol = { leaseMs: 0 };
    expect(problems(c)).toEqual([]);
    (c as { protocol?: unknown }).protocol = { leaseMs: 10 };
    expect(problems(c)).toEqual(["protocol.heartbeatMs: 20 must be below protocol.leaseMs (10): a lease is renewed by heartbeats"]);
  });

  test("flexible quorums: each within the acceptors, and the two must meet (q1 + q2 > n)", () => {
    const c = base();
    (c as { protocol?: unknown }).protocol = { phase1Quorum: 3, phase2Quorum: 1 };
    expect(problems(c)).toEqual([]);
    (c as { protocol?: unknown }).protocol = { phase1Quorum: 1 };
    expect(problems(c)).toEqual([
      "protocol.phase1Quorum: phase1Quorum 1 + phase2Quorum 2 must exceed the 3 acceptors: a Phase 1 quorum that misses a Phase 2 quorum could choose a second value",
    ]);
    (c as { protocol?: unknown }).protocol = { phase2Quorum: 4 };
    expect(problems(c)).toEqual(["protocol.phase2Quorum: phase2Quorum 4 is not within 1..3 (the acceptors)"]);
  });

  test("a malformed role is one problem, not also a missing coordinator", () => {
    const c = base();
    (c.nodes[0] as { roles: string[] }).roles = ["coordinatr", "acceptor"];
    expect(problems(c)).toEqual([expect.stringMatching(/^nodes\[0\]\.roles\[0\]: /)]);
  });

  test("multicast interfaces must be IPv4 addresses (the socket would refuse them at start)", () => {
    const c = base();
    c.multicast.interface = "eth0";
    (c.nodes[1] as { multicastInterface?: string }).multicastInterface = "10.0.0.300";
    expect(problems(c)).toEqual(['nodes[1].multicastInterface: "10.0.0.300" is not an IPv4 address', 'multicast.interface: "eth0" is not an IPv4 address']);
  });

  test("timing rules compare ticks, as the cores do: what rounds to equal ticks is refused", () => {
    const c = { ...base(), protocol: { tickMs: 100, heartbeatMs: 120, leaseMs: 140, suspectMs: 1000 } };
    expect(problems(c)).toEqual(["protocol.heartbeatMs: 120 must be below protocol.leaseMs (140) (in ticks of protocol.tickMs 100): a lease is renewed by heartbeats"]);
  });
});

describe("JSON syntax errors name the line and column", () => {
  test.each([
    ['{\n  "variant": "mring",\n  "nodes": [ nope ]\n}', 3, 14, 'unexpected "nope"'],
    ['{\r\n  "a": 1,\r\n}', 3, 1, 'unexpected "}"'],
    ['{ "a": [1, 2,] }', 1, 14, 'unexpected "]"'],
    ['{ "a": "unterminated', 1, 21, "unexpected end of input"],
    ['{ "a": 01 }', 1, 9, 'unexpected "1"'],
    ['{ "a": tru }', 1, 8, 'unexpected "tru"'],
    ['{ "a": 1 } x', 1, 12, 'unexpected "x"'],
    ['{ "a": "tab\there" }', 1, 12, "unexpected character U+0009"],
  ])("%p", (text, line, column, what) => {
    expect(() => parseJsonWithPosition(text)).toThrow(`line ${line}, column ${column}: ${what}`);
    expect(() => parseConfig(text, "c.json")).toThrow(`c.json: invalid configuration\n  not valid JSON: line ${line}, column ${column}: ${what}`);
  });

  test("the scanner accepts what JSON.parse accepts", () => {
    for (const t of ['{"a":[1,-2.5e+3,true,false,null,"x\\u00e9\\n"],"b":{}}', "[]", ' "s" ', "0", "-0.0E-1"]) {
      expect(() => JSON.parse(t)).not.toThrow();
      expect(syntaxErrorOffset(t)).toBeNull();
    }
    expect(lineColumn("ab\ncd", 4)).toEqual({ line: 2, column: 2 });
  });
});

describe("reading configuration files", () => {
  test("a file that cannot be read names the errno once, with its meaning", () => {
    const dir = mkdtempSync(join(tmpdir(), "paxos-config-"));
    try {
      expect(() => loadConfig(dir)).toThrow(`${dir}: invalid configuration\n  cannot read: EISDIR (illegal operation on a directory)`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("no --config, no PAXOS_CONFIG and no ./paxos.json: one line that says what to do", () => {
    const dir = mkdtempSync(join(tmpdir(), "paxos-config-"));
    const cwd = process.cwd();
    try {
      process.chdir(dir);
      expect(() => findConfigFile(undefined)).toThrow(NoConfigError);
      expect(() => findConfigFile(undefined)).toThrow(new Error("no configuration: pass --config FILE or set PAXOS_CONFIG (looked for ./paxos.json)"));
      expect(findConfigFile("given.json")).toBe("given.json");
      writeFileSync(join(dir, "paxos.json"), "{}");
      expect(findConfigFile(undefined)).toBe("paxos.json");
    } finally {
      process.chdir(cwd);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("host names are resolved during validation", () => {
  const withFile = async (config: unknown, f: (file: string) => Promise<void>): Promise<void> => {
    const dir = mkdtempSync(join(tmpdir(), "paxos-config-"));
    try {
      const file = join(dir, "c.json");
      writeFileSync(file, JSON.stringify(config));
      await f(file);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  test("a host that does not resolve is a problem naming nodes[i].host, reported with the others", async () => {
    const c = base();
    (c.nodes[1] as { host: string }).host = "no-such-host.invalid"; // RFC 6761: never resolves
    (c.nodes[2] as { port: number }).port = 0;
    await withFile(c, async (file) => {
      const e = (await checkConfigFile(file).catch((x: unknown) => x)) as ConfigError;
      expect(e).toBeInstanceOf(ConfigError);
      expect(e.problems).toEqual([expect.stringMatching(/^nodes\[2\]\.port: /), 'nodes[1].host: "no-such-host.invalid" does not resolve (ENOTFOUND)']);
    });
  });

  test("a resolver that never answers cannot hang validation: the lookup is bounded", async () => {
    const c = base();
    (c.nodes[3] as { host: string }).host = "slow.example";
    await withFile(c, async (file) => {
      const asked: string[] = [];
      const started = Date.now();
      const e = (await checkConfigFile(file, { timeoutMs: 50, lookup: (h) => (asked.push(h), new Promise(() => {})) }).catch((x: unknown) => x)) as ConfigError;
      expect(Date.now() - started).toBeLessThan(1000);
      expect(e.problems).toEqual(['nodes[3].host: "slow.example" did not resolve within 50 ms']);
      expect(asked).toEqual(["slow.example"]); // addresses are not looked up
    });
  });

  test("names that resolve pass; the configuration is returned", async () => {
    const c = base();
    (c.nodes[3] as { host: string }).host = "localhost";
    await withFile(c, async (file) => {
      expect((await checkConfigFile(file)).nodes[3]?.host).toBe("localhost");
    });
  });
});

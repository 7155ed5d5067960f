import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { ConfigError, loadConfig, parseConfig, protocolConfig } from "../../src/config/load.ts";

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
      expect(protocolConfig(c).acceptors.length % 2).toBe(1);
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

import { afterAll, describe, expect, test } from "bun:test";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { selfCommand } from "../../src/bench/self.ts";
import { deleteStaleNamespaces, errText, ip } from "../../src/bench/netns-lab.ts";

/**
 * Real processes on several "hosts": every `paxos node` and every `paxos propose` client runs in
 * its own Linux network namespace, with its own address on a private test subnet (10.77.x.0/24).
 * The namespaces are joined by a bridge that lives in a namespace of its own (the "hub"), so
 * nothing is added to the host's namespace: no interface, no route, no firewall rule; deleting
 * the namespaces deletes the veth pairs and the bridge with them.
 *
 *   node ns  [eth0 10.77.x.(10+id)] ── veth ── [p<id>] hub ns: bridge br-<pid>
 *
 * Each node namespace has a route for 224.0.0.0/4 through its veth, and (M-Ring) its config file
 * names its own address as the multicast interface, so the coordinator's Phase 2A ip-multicast
 * has to cross the bridge. The bridge has IGMP snooping off (it floods multicast): the test is
 * about the program, not about the bridge's snooping without a querier.
 *
 * Needs root and iproute2; skipped otherwise (with the reason printed).
 */

/** Namespaces of this test are named pxn<pid>-…; the lab's (src/bench/netns-lab.ts) pxs<pid>-…. */
const NS_PREFIX = "pxn";
const TAG = `${NS_PREFIX}${process.pid}`;
const HUB = `${TAG}-hub`;
const BRIDGE = `br-${process.pid}`.slice(0, 15);
const NODE_PORT = 7000;
const MCAST_PORT = 7100;

/** Why network namespaces cannot be used here, or null when they can. */
function namespacesUnavailable(): string | null {
  if (process.platform !== "linux") return `not Linux (${process.platform})`;
  if (typeof process.getuid !== "function" || process.getuid() !== 0) return "not root";
  try {
    ip("-V");
  } catch (e) {
    return `\`ip\` (iproute2) is not usable: ${errText(e)}`;
  }
  const probe = `${TAG}-probe`;
  try {
    ip("netns", "add", probe);
  } catch (e) {
    return `\`ip netns add\` failed: ${errText(e)}`;
  }
  try {
    ip("-n", probe, "link", "add", "pbr", "type", "bridge");
    ip("-n", probe, "link", "add", "pa", "type", "veth", "peer", "name", "pb");
    execFileSync("ip", ["netns", "exec", probe, "true"], { stdio: "ignore", timeout: 10_000 });
    return null;
  } catch (e) {
    return `cannot create a bridge / veth pair / run in a namespace: ${errText(e)}`;
  } finally {
    try {
      ip("netns", "del", probe);
    } catch {
      /* nothing to do */
    }
  }
}

const unavailable = namespacesUnavailable();
if (unavailable !== null) console.warn(`netns.test.ts: skipping the multi-host tests: network namespaces unavailable (${unavailable})`);
else deleteStaleNamespaces(NS_PREFIX);

/** Everything this file created and has not deleted yet: reaped in afterAll and on exit. */
const LIVE_NS = new Set<string>();
const LIVE_PROCS = new Set<ChildProcess>();

function deleteNamespace(ns: string): void {
  try {
    ip("netns", "del", ns);
  } catch {
    /* already gone */
  }
  LIVE_NS.delete(ns);
}

/** Synchronous last resort (also safe in an exit handler). Node namespaces first, the hub last. */
function reapEverything(): void {
  for (const p of LIVE_PROCS) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  for (const ns of [...LIVE_NS].filter((n) => n !== HUB)) deleteNamespace(ns);
  if (LIVE_NS.has(HUB)) deleteNamespace(HUB);
}
process.once("exit", reapEverything);

/** Our namespaces and links still present on the host (should be none after a test). */
function leftovers(): string[] {
  const names = ip("netns", "list")
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .filter((n) => n.startsWith(`${TAG}-`));
  const links = ip("-o", "link", "show")
    .split("\n")
    .filter((l) => l.includes(TAG) || l.includes(BRIDGE));
  return [...names, ...links];
}

interface HostNode {
  readonly id: number;
  readonly ns: string;
  readonly addr: string;
  readonly roles: string[];
}

/**
 * Creates the hub namespace with the bridge and one namespace per node, each joined to the bridge
 * by a veth pair. Registers everything in LIVE_NS before creating it, so a failure halfway is
 * cleaned up too.
 */
function buildTopology(variant: string, subnet: number, nodes: readonly { id: number; roles: string[] }[]): HostNode[] {
  LIVE_NS.add(HUB);
  ip("netns", "add", HUB);
  ip("-n", HUB, "link", "add", BRIDGE, "type", "bridge", "mcast_snooping", "0");
  ip("-n", HUB, "link", "set", BRIDGE, "up");
  const out: HostNode[] = [];
  for (const n of nodes) {
    const ns = `${TAG}-${variant}-${n.id}`;
    const addr = `10.77.${subnet}.${10 + n.id}`;
    LIVE_NS.add(ns);
    ip("netns", "add", ns);
    ip("link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", `p${n.id}`, "netns", HUB);
    ip("-n", HUB, "link", "set", `p${n.id}`, "master", BRIDGE);
    ip("-n", HUB, "link", "set", `p${n.id}`, "up");
    ip("-n", ns, "link", "set", "lo", "up");
    ip("-n", ns, "addr", "add", `${addr}/24`, "dev", "eth0");
    ip("-n", ns, "link", "set", "eth0", "up");
    ip("-n", ns, "route", "add", "224.0.0.0/4", "dev", "eth0");
    out.push({ id: n.id, ns, addr, roles: n.roles });
  }
  return out;
}

function destroyTopology(): void {
  for (const ns of [...LIVE_NS].filter((n) => n !== HUB)) deleteNamespace(ns);
  deleteNamespace(HUB);
}

/** A process started in a namespace, with its stderr lines (the last ones) kept. */
interface Proc {
  readonly id: number;
  readonly child: ChildProcess;
  readonly lines: string[];
  out: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const MAX_LINES = 2000;

/** The network counters of the node's last stats line (null without one). */
function netCounters(p: Proc): Record<string, unknown> | null {
  for (let i = p.lines.length - 1; i >= 0; i--) {
    const l = p.lines[i] ?? "";
    if (!l.startsWith('{"level":"stats"')) continue;
    try {
      return (JSON.parse(l) as { net?: Record<string, unknown> }).net ?? null;
    } catch {
      /* a torn line */
    }
  }
  return null;
}

function spawnIn(ns: string, id: number, args: readonly string[], keepStdout: boolean): Proc {
  const self = selfCommand();
  const child = spawn("ip", ["netns", "exec", ns, self.cmd, ...self.args, ...args], {
    stdio: ["ignore", keepStdout ? "pipe" : "ignore", "pipe"],
  });
  LIVE_PROCS.add(child);
  const lines: string[] = [];
  let partial = "";
  const proc: Proc = {
    id,
    child,
    lines,
    out: "",
    exited: new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        LIVE_PROCS.delete(child);
        resolve({ code, signal });
      });
    }),
  };
  child.stderr?.on("data", (b: Buffer) => {
    const parts = (partial + b.toString()).split("\n");
    partial = parts.pop() ?? "";
    for (const l of parts) {
      if (!l) continue;
      lines.push(l);
      if (lines.length > MAX_LINES) lines.shift();
    }
  });
  child.stdout?.on("data", (b: Buffer) => (proc.out += b.toString()));
  return proc;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** SIGTERM (SIGKILL after 5 s); resolves with the exit code (null if killed by a signal). */
async function stop(p: Proc): Promise<number | null> {
  if (p.child.exitCode === null && p.child.signalCode === null) {
    const kill = setTimeout(() => p.child.kill("SIGKILL"), 5000);
    p.child.kill("SIGTERM");
    const r = await p.exited;
    clearTimeout(kill);
    return r.code;
  }
  return p.child.exitCode;
}

function tail(p: Proc, n = 5): string {
  return `\n  node ${p.id}: ${p.lines.slice(-n).join(" | ")}`;
}

interface Layout {
  readonly acceptors: number;
  readonly learners: number;
  readonly clients: number;
}

const LAYOUTS: Record<"mring" | "uring", Layout & { subnet: number }> = {
  mring: { acceptors: 3, learners: 1, clients: 2, subnet: 1 },
  uring: { acceptors: 3, learners: 0, clients: 2, subnet: 2 },
};

function roleList(variant: "mring" | "uring", l: Layout): { id: number; roles: string[] }[] {
  const nodes: { id: number; roles: string[] }[] = [];
  let id = 0;
  for (let a = 0; a < l.acceptors; a++)
    nodes.push({ id: id++, roles: [...(a === 0 ? ["coordinator"] : []), "acceptor", ...(variant === "uring" ? ["learner"] : [])] });
  for (let i = 0; i < l.learners; i++) nodes.push({ id: id++, roles: ["learner"] });
  for (let c = 0; c < l.clients; c++) nodes.push({ id: id++, roles: ["client"] });
  return nodes;
}

/** The cluster's configuration as seen from `self`: M-Ring's multicast interface is its own address. */
function configFor(variant: "mring" | "uring", subnet: number, nodes: readonly HostNode[], self: HostNode): Record<string, unknown> {
  return {
    cluster: 7707,
    variant,
    nodes: nodes.map((n) => ({ id: n.id, host: n.addr, port: NODE_PORT, roles: n.roles })),
    ...(variant === "mring" ? { multicast: { group: `239.77.${subnet}.1`, port: MCAST_PORT, interface: self.addr, ttl: 1 } } : {}),
    protocol: { window: 16 },
  };
}

afterAll(() => {
  reapEverything();
});

const describeIfNetns = unavailable === null ? describe : describe.skip;

describeIfNetns.each(["mring", "uring"] as const)("%s cluster across network namespaces", (variant) => {
  test(
    "every learner on its own host writes the same ordered log holding every proposed value once",
    async () => {
      const layout = LAYOUTS[variant];
      const dir = mkdtempSync(join(tmpdir(), "paxos-netns-"));
      const running: Proc[] = [];
      const proposals: Proc[] = [];
      const exitCodes = new Map<number, number | null>();
      try {
        const nodes = buildTopology(variant, layout.subnet, roleList(variant, layout));
        const cfgFile = (id: number) => join(dir, `config-${id}.json`);
        for (const n of nodes) writeFileSync(cfgFile(n.id), JSON.stringify(configFor(variant, layout.subnet, nodes, n), null, 2));
        const outFile = (id: number) => join(dir, `out-${id}.jsonl`);
        const servers = nodes.filter((n) => !n.roles.includes("client"));
        const learners = nodes.filter((n) => n.roles.includes("learner")).map((n) => n.id);
        const clients = nodes.filter((n) => n.roles.includes("client"));
        expect(learners.length).toBe(variant === "mring" ? 1 : 3);

        for (const n of servers)
          running.push(
            spawnIn(
              n.ns,
              n.id,
              [
                "node",
                "--config",
                cfgFile(n.id),
                "--id",
                String(n.id),
                "--stats-ms",
                "100",
                ...(n.roles.includes("learner") ? ["--output", outFile(n.id)] : []),
              ],
              false,
            ),
          );
        const t0 = Date.now();
        while (!running.every((p) => p.lines.some((l) => l.includes('"node started"')))) {
          const dead = running.find((p) => p.child.exitCode !== null || p.child.signalCode !== null);
          if (dead || Date.now() - t0 > 15_000)
            throw new Error(
              `cluster did not start (${dead ? `node ${dead.id} exited with ${dead.child.exitCode ?? dead.child.signalCode}` : "timed out"}):${running.map((p) => tail(p)).join("")}`,
            );
          await sleep(20);
        }

        const perClient = 400;
        for (const c of clients)
          proposals.push(
            spawnIn(
              c.ns,
              c.id,
              ["propose", "--config", cfgFile(c.id), "--id", String(c.id), "--timeout-ms", "20000", ...Array.from({ length: perClient }, (_, i) => `h${c.id}-v${i}`)],
              true,
            ),
          );
        const results = await Promise.all(proposals.map(async (p) => ({ p, r: await p.exited })));
        for (const { p, r } of results) {
          const problems = p.lines.filter((l) => l.includes("paxos:"));
          expect({ client: p.id, code: r.code, problems }).toEqual({ client: p.id, code: 0, problems: [] });
          expect(p.out.trim().split("\n")).toHaveLength(perClient);
        }

        // Every value is decided; wait for every learner to have written all of them.
        const expected = clients.length * perClient;
        const lineCount = (id: number) => (existsSync(outFile(id)) ? readFileSync(outFile(id), "utf8").split("\n").filter(Boolean).length : 0);
        const t1 = Date.now();
        while (learners.some((l) => lineCount(l) < expected) && Date.now() - t1 < 10_000) await sleep(50);

        // M-Ring: the coordinator's 2A multicast reached every other node through the bridge; the
        // leader itself closed its receiver (it would only get its own datagrams back, through
        // IP_MULTICAST_LOOP on a real interface) and received none.
        await sleep(250);
        if (variant === "mring") {
          const seen = running.map((p) => {
            const net = netCounters(p) ?? {};
            const n = (k: string): number => (typeof net[k] === "number" ? (net[k] as number) : 0);
            return { node: p.id, leading: n("udp_receiver_closed") > n("udp_receiver_reopened"), received: n("udp_datagrams_in") > 0 };
          });
          expect(seen.filter((x) => x.leading)).toHaveLength(1);
          for (const x of seen) expect(x).toEqual({ node: x.node, leading: x.leading, received: !x.leading });
        }

        // Stop the nodes (their output is flushed on SIGTERM), then compare the final files.
        await Promise.all(running.map(async (p) => exitCodes.set(p.id, await stop(p))));
        const outputs = learners.map((l) => (existsSync(outFile(l)) ? readFileSync(outFile(l), "utf8").split("\n").filter(Boolean) : []));
        const reference = outputs[0] ?? [];
        const values = reference.map((l) => Buffer.from((JSON.parse(l) as { value: string }).value, "base64").toString());
        expect(values).toHaveLength(expected);
        expect(new Set(values).size).toBe(expected);
        const want = clients.flatMap((c) => Array.from({ length: perClient }, (_, i) => `h${c.id}-v${i}`)).sort();
        expect([...values].sort()).toEqual(want);
        outputs.forEach((o, i) => expect({ learner: learners[i], lines: o }).toEqual({ learner: learners[i], lines: reference }));
        for (const p of running) expect({ node: p.id, code: exitCodes.get(p.id) }).toEqual({ node: p.id, code: 0 });
      } finally {
        await Promise.all([...running, ...proposals].map((p) => stop(p)));
        destroyTopology();
        rmSync(dir, { recursive: true, force: true });
      }
      expect(leftovers()).toEqual([]);
    },
    { timeout: 60_000 },
  );
});

/**
 * Multi-Ring Paxos across namespaces: ring 1 (acceptors 0, 1, 2, coordinator 0) and ring 2
 * (acceptors 1, 2, 3, coordinator 3), so nodes 1 and 2 serve both rings from one process; each
 * ring multicasts to a group of its own across the bridge. Learner 4 merges both rings (groups 1
 * and 2), learner 5 learns group 2; clients 6 and 7 each propose to both groups.
 */
function multiRingConfigFor(nodes: readonly HostNode[], self: HostNode): Record<string, unknown> {
  const subscribe: Record<number, number[]> = { 4: [1, 2], 5: [2] };
  const multicast = (ring: number) => ({ group: `239.77.3.${ring}`, port: MCAST_PORT + ring, interface: self.addr, ttl: 1 });
  return {
    cluster: 7708,
    variant: "mring",
    nodes: nodes.map((n) => ({ id: n.id, host: n.addr, port: NODE_PORT, roles: n.roles, ...(subscribe[n.id] ? { subscribe: subscribe[n.id] } : {}) })),
    rings: [
      { id: 1, acceptors: [0, 1, 2], coordinator: 0, multicast: multicast(1) },
      { id: 2, acceptors: [1, 2, 3], coordinator: 3, multicast: multicast(2) },
    ],
    groups: [
      { id: 1, ring: 1 },
      { id: 2, ring: 2 },
    ],
    multiRing: { lambdaPerSecond: 1000, deltaMs: 5, m: 1 },
    protocol: { window: 16 },
  };
}

describeIfNetns("Multi-Ring Paxos across network namespaces", () => {
  test(
    "two rings, processes serving both, two learners with overlapping subscriptions: each writes its groups' values once, both in one order",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "paxos-netns-rings-"));
      const running: Proc[] = [];
      const proposals: Proc[] = [];
      try {
        const roles: { id: number; roles: string[] }[] = [
          { id: 0, roles: ["coordinator", "acceptor"] },
          { id: 1, roles: ["acceptor"] },
          { id: 2, roles: ["acceptor"] },
          { id: 3, roles: ["coordinator", "acceptor"] },
          { id: 4, roles: ["learner"] },
          { id: 5, roles: ["learner"] },
          { id: 6, roles: ["client"] },
          { id: 7, roles: ["client"] },
        ];
        const nodes = buildTopology("rings", 3, roles);
        const cfgFile = (id: number) => join(dir, `config-${id}.json`);
        for (const n of nodes) writeFileSync(cfgFile(n.id), JSON.stringify(multiRingConfigFor(nodes, n), null, 2));
        const outFile = (id: number) => join(dir, `out-${id}.jsonl`);
        for (const n of nodes.filter((x) => !x.roles.includes("client")))
          running.push(spawnIn(n.ns, n.id, ["node", "--config", cfgFile(n.id), "--id", String(n.id), "--stats-ms", "100", ...(n.roles.includes("learner") ? ["--output", outFile(n.id)] : [])], false));
        const t0 = Date.now();
        while (!running.every((p) => p.lines.some((l) => l.includes('"node started"')))) {
          const dead = running.find((p) => p.child.exitCode !== null || p.child.signalCode !== null);
          if (dead || Date.now() - t0 > 15_000) throw new Error(`cluster did not start:${running.map((p) => tail(p)).join("")}`);
          await sleep(20);
        }
        await sleep(500);
        // Each client proposes to group 1, then to group 2 (one process per node at a time).
        const perRun = 150;
        const value = (client: number, group: number, i: number) => `c${client}-g${group}-${i}`;
        for (const group of [1, 2]) {
          const runs = nodes
            .filter((n) => n.roles.includes("client"))
            .map((c) => spawnIn(c.ns, c.id, ["propose", "--config", cfgFile(c.id), "--id", String(c.id), "--group", String(group), "--timeout-ms", "20000", ...Array.from({ length: perRun }, (_, i) => value(c.id, group, i))], true));
          proposals.push(...runs);
          for (const p of runs) {
            const r = await p.exited;
            expect({ client: p.id, group, code: r.code, problems: p.lines.filter((l) => l.includes("paxos:")) }).toEqual({ client: p.id, group, code: 0, problems: [] });
          }
        }
        const want = (groups: number[]) => [6, 7].flatMap((c) => groups.flatMap((g) => Array.from({ length: perRun }, (_, i) => value(c, g, i)))).sort();
        const read = (id: number) =>
          existsSync(outFile(id))
            ? readFileSync(outFile(id), "utf8")
                .split("\n")
                .filter(Boolean)
                .map((l) => JSON.parse(l) as { ring: number; group: number; value: string })
                .map((x) => ({ ring: x.ring, group: x.group, value: Buffer.from(x.value, "base64").toString() }))
            : [];
        const t1 = Date.now();
        while ((read(4).length < want([1, 2]).length || read(5).length < want([2]).length) && Date.now() - t1 < 15_000) await sleep(100);
        await sleep(250);
        // The rings' 2A multicasts crossed the bridge to the learners (not only catch-up over TCP).
        for (const p of running.filter((x) => x.id === 4 || x.id === 5)) expect({ node: p.id, multicastIn: Number(netCounters(p)?.["udp_datagrams_in"] ?? 0) > 0 }).toEqual({ node: p.id, multicastIn: true });
        await Promise.all(running.map((p) => stop(p)));
        const l4 = read(4);
        const l5 = read(5);
        expect(l4.map((x) => x.value).sort()).toEqual(want([1, 2]));
        expect(l5.map((x) => x.value).sort()).toEqual(want([2]));
        for (const x of l4) expect(x.ring).toBe(x.group);
        // One order: learner 5's sequence is learner 4's restricted to group 2.
        expect(l5.map((x) => x.value)).toEqual(l4.filter((x) => x.group === 2).map((x) => x.value));
      } finally {
        await Promise.all([...running, ...proposals].map((p) => stop(p)));
        destroyTopology();
        rmSync(dir, { recursive: true, force: true });
      }
      expect(leftovers()).toEqual([]);
    },
    { timeout: 90_000 },
  );
});

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import dgram from "node:dgram";
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { clusterConfig, LocalCluster } from "../../src/bench/cluster.ts";
import { childEnv, selfCommand } from "../../src/bench/self.ts";
import type { NodeStatus } from "../../src/node/status.ts";
import { tempDir } from "../support/temp-dir.ts";

/** A `paxos node` process of our own (the cluster's own copy of that node killed first). */
interface Proc {
  readonly p: ChildProcess;
  err: string;
  out: string;
  readonly exited: Promise<number>;
}

function startProc(args: readonly string[], env: NodeJS.ProcessEnv = childEnv()): Proc {
  const self = selfCommand();
  const p = spawn(self.cmd, [...self.args, ...args], { stdio: ["ignore", "pipe", "pipe"], env });
  const proc: Proc = {
    p,
    err: "",
    out: "",
    exited: new Promise<number>((resolve) => p.once("exit", (code, signal) => resolve(code ?? (signal ? 128 : -1)))),
  };
  p.stderr?.on("data", (b: Buffer) => (proc.err += b.toString()));
  p.stdout?.on("data", (b: Buffer) => (proc.out += b.toString()));
  return proc;
}

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The file's complete lines, parsed (a torn last line is left out). */
function lines(file: string): { instance: number; client: number; seq: number; value: string }[] {
  if (!existsSync(file)) return [];
  const all = readFileSync(file, "utf8").split("\n");
  all.pop(); // after the last newline: "" or a torn line
  return all
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { instance: number; client: number; seq: number; value: string });
}

const text = (b64: string): string => Buffer.from(b64, "base64").toString();

/** Exit code within `ms`, or null if the process is still running (then it is killed). */
async function exitWithin(p: Proc, ms: number): Promise<number | null> {
  const code = await Promise.race([p.exited, new Promise<null>((r) => setTimeout(() => r(null), ms))]);
  if (code === null) p.p.kill("SIGKILL");
  return code;
}

/** The lines on stderr that are not JSON log lines (what an operator reads as the error). */
const plainLines = (err: string): string[] => err.split("\n").filter((l) => l !== "" && !l.startsWith("{"));

describe("a learner's --output across restarts, and its HTTP endpoints (real processes)", () => {
  let c: LocalCluster;
  const own: Proc[] = [];
  let dir: string;
  const learner = (id: number, extra: readonly string[]): Proc => {
    const p = startProc(["node", "--config", c.configFile, "--id", String(id), ...extra]);
    own.push(p);
    return p;
  };
  const propose = async (prefix: string, n: number): Promise<void> => {
    const r = await c.run(["propose", "--config", c.configFile, "--id", String(c.clientIds()[0]), ...Array.from({ length: n }, (_, i) => `${prefix}${i}`)]);
    expect(r.code).toBe(0);
  };
  const httpOf = (id: number): string => `http://127.0.0.1:${c.nodes.find((n) => n.id === id)?.http}`;

  beforeAll(async () => {
    c = await LocalCluster.start({ variant: "mring", acceptors: 3, learners: 2, clients: 1, window: 8, http: true });
    dir = tempDir("paxos-hardening-");
    for (const id of c.ids("learner")) await c.kill(id);
  }, 30_000);
  afterAll(async () => {
    for (const p of own) if (p.p.exitCode === null) p.p.kill("SIGKILL");
    await c.stop();
  });

  test(
    "a restarted learner resumes after its file's last instance: no duplicates, instances never go back, a torn last line is cut; --from-instance starts a fresh consumer",
    async () => {
      const [l1, l2] = c.ids("learner") as [number, number];
      const file = join(dir, "l1.jsonl");
      let p = learner(l1, ["--output", file]);
      await propose("a", 12);
      await waitFor("12 lines", () => lines(file).length >= 12);
      p.p.kill("SIGKILL");
      await p.exited;
      await propose("b", 12);
      // A crash in the middle of a write: the last line is torn.
      appendFileSync(file, '{"instance":9999,"client":1,"se');
      const crashed = lines(file);
      expect(crashed).toHaveLength(12);
      // The torn write may have held more of the last instance's values: that instance goes too, and is delivered again.
      const lastA = (crashed[11] as { instance: number }).instance;
      const cutBytes = 31 + crashed.filter((l) => l.instance === lastA).reduce((n, l) => n + JSON.stringify(l).length + 1, 0);
      p = learner(l1, ["--output", file]);
      await waitFor("24 lines", () => lines(file).length >= 24);
      await new Promise((r) => setTimeout(r, 300)); // anything more (a duplicate) would land now
      const got = lines(file);
      expect(got.map((l) => text(l.value)).sort()).toEqual([...Array.from({ length: 12 }, (_, i) => `a${i}`), ...Array.from({ length: 12 }, (_, i) => `b${i}`)].sort());
      for (let i = 1; i < got.length; i++) expect((got[i] as { instance: number }).instance).toBeGreaterThanOrEqual((got[i - 1] as { instance: number }).instance);
      // It says where it resumed from: in its log and in /status.
      const started = p.err.split("\n").find((l) => l.includes('"learner starts"'));
      expect(JSON.parse(started ?? "{}")).toMatchObject({ instance: lastA, from: "output", file, cutBytes, remembered: 12 - crashed.filter((l) => l.instance === lastA).length });
      const status = (await (await fetch(`${httpOf(l1)}/status`)).json()) as NodeStatus;
      expect(status.learnerStart).toEqual({ instance: lastA, source: "output", file, cutBytes });

      // A clean stop and start: nothing is written twice either.
      p.p.kill("SIGTERM");
      expect(await p.exited).toBe(0);
      p = learner(l1, ["--output", file]);
      await propose("e", 3);
      await waitFor("27 lines", () => lines(file).length >= 27);
      await new Promise((r) => setTimeout(r, 300));
      const all = lines(file);
      expect(all).toHaveLength(27);
      expect(all.slice(0, 24)).toEqual(got);
      expect(all.slice(24).map((l) => text(l.value)).sort()).toEqual(["e0", "e1", "e2"]);

      // A fresh consumer from instance K: exactly the values from K on.
      const k = (got[15] as { instance: number }).instance;
      const fresh = join(dir, "l2.jsonl");
      learner(l2, ["--output", fresh, "--from-instance", String(k)]);
      const expected = all.filter((l) => l.instance >= k);
      await waitFor("the fresh consumer's lines", () => lines(fresh).length >= expected.length);
      expect(lines(fresh)).toEqual(expected);
    },
    { timeout: 60_000 },
  );

  test("/health, /ready, /version and the page's leader, ring and rates", async () => {
    const [l1] = c.ids("learner") as [number];
    const url = httpOf(l1);
    await waitFor("learner ready", async () => (await fetch(`${url}/ready`)).status === 200);
    expect(await (await fetch(`${url}/ready`)).json()).toEqual({ ready: true, reasons: [] });
    expect((await fetch(`${url}/health`)).status).toBe(200);
    const v = (await (await fetch(`${url}/version`)).json()) as { version: string; commit: string; runtime: { name: string; version: string } };
    expect(v.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(v.commit).toMatch(/^([0-9a-f]{7,40}(-dirty)?|unknown)$/);
    expect(v.runtime.name).toBe("bun");
    await propose("c", 20);
    await new Promise((r) => setTimeout(r, 1200)); // a rate sample after the burst
    const html = await (await fetch(`${url}/`)).text();
    // The leader this learner follows, as /status says (node 0 unless a busy host made an acceptor stand as a candidate).
    const leader = ((await (await fetch(`${url}/status`)).json()) as { leadership: { leader: number } }).leadership.leader;
    expect(html).toContain(`<th>leader</th><td>node ${leader}</td>`);
    expect(html).toMatch(/<th>current ring<\/th><td>\d( → \d)+<\/td>/);
    expect(html).toMatch(/<th>delivered<\/th><td>[\d.]+ values\/s, [\d.]+ MB\/s \(over the last \d s\)<\/td>/);
    expect(html).not.toMatch(/<th>deliveredBytes<\/th><td>\d+<\/td>/);
  }, 30_000);

  test("--output - piped into a reader that goes away (head): the node stops quietly, exit 0", async () => {
    const [, l2] = c.ids("learner") as [number, number];
    const own2 = own.find((p) => p.p.spawnargs.includes(String(l2)) && p.p.exitCode === null);
    own2?.p.kill("SIGKILL");
    await own2?.exited;
    const p = learner(l2, ["--output", "-"]);
    await waitFor("3 lines on stdout", () => p.out.split("\n").length > 3);
    p.p.stdout?.destroy(); // head -n 3 exits
    await propose("d", 10);
    const code = await exitWithin(p, 10_000);
    expect(code).toBe(0);
    expect(p.err).not.toContain('"fatal"');
    expect(p.err).not.toMatch(/\n\s+at /);
    expect(plainLines(p.err)).toEqual([]);
  }, 30_000);

  test("bad --output and --from-instance are refused before start, exit 2, one line", async () => {
    const [l1] = c.ids("learner") as [number];
    const run = async (args: string[]): Promise<{ code: number | null; lines: string[] }> => {
      const p = startProc(["node", "--config", c.configFile, ...args]);
      const code = await exitWithin(p, 10_000);
      return { code, lines: plainLines(p.err) };
    };
    expect(await run(["--id", "1", "--output", join(dir, "acc.jsonl")])).toEqual({
      code: 2,
      lines: ["paxos: --output: node 1 has no learner role (its roles: acceptor); only learners deliver values"],
    });
    expect(existsSync(join(dir, "acc.jsonl"))).toBe(false);
    expect(await run(["--id", String(l1), "--output", join(dir, "missing", "x.jsonl")])).toEqual({
      code: 2,
      lines: [`paxos: --output ${join(dir, "missing", "x.jsonl")}: directory ${join(dir, "missing")} does not exist (ENOENT)`],
    });
    expect(await run(["--id", String(l1), "--output", dir])).toEqual({ code: 2, lines: [`paxos: --output ${dir}: is a directory (EISDIR)`] });
    const r = await run(["--id", String(l1), "--output", join(dir, "l1.jsonl"), "--from-instance", "3"]);
    expect(r.code).toBe(2);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toMatch(/^paxos: --from-instance: .*l1\.jsonl already holds deliveries up to instance \d+/);
  }, 30_000);
});

describe("start-up failures exit at once with one line naming the configuration key (real processes)", () => {
  const dir = tempDir("paxos-startup-");
  const fresh = async (edit: (config: Record<string, unknown>) => void = () => {}): Promise<{ file: string; config: Record<string, unknown>; node0: { port: number; http?: number } }> => {
    const { config, nodes } = await clusterConfig({ variant: "mring", acceptors: 3, learners: 1, clients: 0, http: true });
    edit(config);
    const file = join(dir, `c${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify(config));
    return { file, config, node0: nodes[0] as { port: number; http?: number } };
  };
  const startFails = async (file: string): Promise<{ code: number | null; lines: string[] }> => {
    const p = startProc(["node", "--config", file, "--id", "0"]);
    const code = await exitWithin(p, 8_000);
    return { code, lines: plainLines(p.err) };
  };
  const tcpBlocker = (port: number): Promise<Server> =>
    new Promise((resolve) => {
      const s = createServer();
      s.listen(port, "127.0.0.1", () => resolve(s));
    });

  test("the multicast port is taken", async () => {
    const { file, config } = await fresh();
    const m = config["multicast"] as { group: string; port: number };
    const blocker = dgram.createSocket({ type: "udp4" }); // no SO_REUSEADDR: the port is not shared
    await new Promise<void>((r) => blocker.bind(m.port, "0.0.0.0", () => r()));
    try {
      expect(await startFails(file)).toEqual({ code: 1, lines: [`paxos: multicast.port: ${m.group}:${m.port} is in use (EADDRINUSE)`] });
    } finally {
      blocker.close();
    }
  }, 20_000);

  test("multicast.interface is not an address of this host", async () => {
    const { file } = await fresh((c) => ((c["multicast"] as Record<string, unknown>)["interface"] = "10.255.255.1"));
    const r = await startFails(file);
    expect(r.code).toBe(1);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toMatch(/^paxos: multicast\.interface: 10\.255\.255\.1 is not an address of this host \((ENODEV|EADDRNOTAVAIL|EINVAL)\)$/);
  }, 20_000);

  test("the node's TCP port or HTTP port is taken", async () => {
    const a = await fresh();
    let s = await tcpBlocker(a.node0.port);
    try {
      expect(await startFails(a.file)).toEqual({ code: 1, lines: [`paxos: nodes[0].port: 127.0.0.1:${a.node0.port} is in use (EADDRINUSE)`] });
    } finally {
      s.close();
    }
    const b = await fresh();
    s = await tcpBlocker(b.node0.http as number);
    try {
      expect(await startFails(b.file)).toEqual({ code: 1, lines: [`paxos: nodes[0].http: 127.0.0.1:${b.node0.http} is in use (EADDRINUSE)`] });
    } finally {
      s.close();
    }
  }, 30_000);

  const python = spawnSync("python3", ["--version"]).status === 0;
  test.skipIf(!python)("Type=notify: READY=1 once the node serves, STOPPING=1 on SIGTERM (a unix datagram listener stands in for systemd)", async () => {
    const { file, node0 } = await fresh();
    const sock = join(dir, "notify.sock");
    const listener = spawn("python3", ["-u", "-c", `import socket\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\ns.bind(${JSON.stringify(sock)})\nprint("bound")\nwhile True: print(s.recv(4096).decode().replace("\\n"," "))`], { stdio: ["ignore", "pipe", "inherit"] });
    let heard = "";
    listener.stdout?.on("data", (b: Buffer) => (heard += b.toString()));
    try {
      await waitFor("the listener", () => heard.includes("bound"));
      const p = startProc(["node", "--config", file, "--id", "0"], { ...childEnv(), NOTIFY_SOCKET: sock });
      await waitFor("READY=1", () => heard.includes("READY=1"));
      // Ready means serving: the HTTP port answers by now.
      expect((await fetch(`http://127.0.0.1:${node0.http}/health`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${node0.http}/ready`)).status).toBe(503);
      expect(heard).not.toContain("STOPPING=1");
      p.p.kill("SIGTERM");
      expect(await exitWithin(p, 8_000)).toBe(0);
      await waitFor("STOPPING=1", () => heard.includes("STOPPING=1"), 3_000);
      expect(p.err).not.toContain("NOTIFY_SOCKET is set but");
    } finally {
      listener.kill("SIGKILL");
    }
  }, 30_000);
});

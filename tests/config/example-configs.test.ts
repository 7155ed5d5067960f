import { afterAll, describe, expect, test } from "bun:test";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePorts } from "../../src/bench/cluster.ts";
import { childEnv, selfCommand } from "../../src/bench/self.ts";
import { CLIENT_NODE, chooseNode } from "../../src/config/identity.ts";
import { parseConfig } from "../../src/config/load.ts";

const configsDir = new URL("../../configs/", import.meta.url);
const examples = readdirSync(configsDir).filter((f) => f.endsWith(".json"));
/**
 * The examples `paxos propose` runs with: not Multi-Ring ones (no command of these tests runs them,
 * see tests/config/rings.test.ts), nor key-value ones (their clients speak HTTP to the replicas:
 * tests/e2e/kv.test.ts).
 */
const runnable = examples.filter((f) => {
  const c = JSON.parse(readFileSync(new URL(f, configsDir), "utf8")) as { rings?: unknown; nodes: { kv?: unknown }[] };
  return c.rings === undefined && !c.nodes.some((n) => n.kv !== undefined);
});

describe("shipped example configurations", () => {
  test.each(runnable)("%s has the one client node `paxos propose` runs as", (file) => {
    const c = parseConfig(readFileSync(new URL(file, configsDir), "utf8"), file);
    const clients = c.nodes.filter((n) => CLIENT_NODE.test(n.roles));
    expect(clients).toHaveLength(1);
    // Without --id, propose picks the only client node with an address of this host.
    const local = new Set(c.nodes.map((n) => n.host));
    expect(chooseNode(c, file, { kind: CLIENT_NODE }, local).id).toBe(clients[0]?.id as number);
  });
});

const children = new Set<ChildProcess>();
afterAll(() => {
  for (const p of children) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
});

/** A node of this program, with its stderr lines collected. */
function startNode(args: readonly string[], env: NodeJS.ProcessEnv = {}): { proc: ChildProcess; lines: string[] } {
  const self = selfCommand();
  const proc = spawn(self.cmd, [...self.args, "node", ...args], { stdio: ["ignore", "ignore", "pipe"], env: { ...childEnv(), ...env } });
  children.add(proc);
  const lines: string[] = [];
  let partial = "";
  proc.stderr?.on("data", (b: Buffer) => {
    const parts = (partial + b.toString()).split("\n");
    partial = parts.pop() ?? "";
    lines.push(...parts);
  });
  return { proc, lines };
}

function runCommand(args: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  const self = selfCommand();
  return new Promise((resolve) => {
    const p = spawn(self.cmd, [...self.args, ...args], { stdio: ["ignore", "pipe", "pipe"], env: childEnv() });
    children.add(p);
    let out = "";
    let err = "";
    p.stdout?.on("data", (b: Buffer) => (out += b.toString()));
    p.stderr?.on("data", (b: Buffer) => (err += b.toString()));
    p.once("exit", (code) => resolve({ code: code ?? -1, out, err }));
  });
}

async function until(what: string, cond: () => boolean, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const kill = setTimeout(() => proc.kill("SIGKILL"), 5000);
    proc.once("exit", () => {
      clearTimeout(kill);
      resolve();
    });
    proc.kill("SIGTERM");
  });
}

describe("configs/uring-5-ram.json with real processes", () => {
  test(
    "paxos propose, without --id, submits values through its client node and every learner delivers them",
    async () => {
      const shipped = JSON.parse(readFileSync(new URL("uring-5-ram.json", configsDir), "utf8")) as {
        nodes: { id: number; port: number; http?: number; roles: string[] }[];
      };
      // The shipped file as it is, but on free ports: other tests and clusters may hold 7200-7205.
      const ports = await freePorts(shipped.nodes.length * 2);
      for (const n of shipped.nodes) {
        n.port = ports.pop() as number;
        if (n.http !== undefined) n.http = ports.pop() as number;
      }
      const dir = mkdtempSync(join(tmpdir(), "paxos-uring-example-"));
      const file = join(dir, "uring-5-ram.json");
      writeFileSync(file, JSON.stringify(shipped));
      const ids = shipped.nodes.filter((n) => !n.roles.includes("client")).map((n) => n.id);
      const out = (id: number) => join(dir, `out-${id}.jsonl`);
      // Node 0 takes its log format from the environment (PAXOS_LOG_FORMAT), the others default to JSON (stderr is a pipe).
      const nodes = ids.map((id) => startNode(["--config", file, "--id", String(id), "--output", out(id)], id === 0 ? { PAXOS_LOG_FORMAT: "console" } : {}));
      try {
        await until("every node to start", () => nodes.every((n) => n.lines.some((l) => l.includes("node started"))), 20_000);
        const r = await runCommand(["propose", "--config", file, "hello", "world"]);
        expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: "" });
        // One line per value as each is acknowledged: usually in order, but a client-only learner that
        // first sees instance 1 starts there and learns of hello (instance 0) by another way, later.
        const lines = r.out.split("\n").filter(Boolean);
        for (const l of lines) expect(l).toMatch(/^instance \d+: (hello|world)$/);
        expect(lines.map((l) => l.replace(/^instance \d+: /, "")).sort()).toEqual(["hello", "world"]);
        const delivered = (id: number): string[] =>
          existsSync(out(id))
            ? readFileSync(out(id), "utf8")
                .split("\n")
                .filter(Boolean)
                .map((l) => Buffer.from((JSON.parse(l) as { value: string }).value, "base64").toString())
            : [];
        await until("every learner to deliver both values", () => ids.every((id) => delivered(id).length >= 2), 10_000);
        for (const id of ids) expect(delivered(id)).toEqual(["hello", "world"]);
        expect(nodes[0]?.lines.find((l) => l.includes("node started"))).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z INFO {2}node started id=0 roles=\["coordinator","acceptor","learner","proposer"\] variant=uring /);
        expect(JSON.parse(nodes[1]?.lines.find((l) => l.includes("node started")) ?? "")).toMatchObject({ level: "info", msg: "node started", id: 1 });
      } finally {
        await Promise.all(nodes.map((n) => stop(n.proc)));
        rmSync(dir, { recursive: true, force: true });
      }
      for (const n of nodes) expect(n.proc.exitCode).toBe(0);
    },
    { timeout: 60_000 },
  );
});

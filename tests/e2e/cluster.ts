/** Helpers to run a real cluster of `paxos node` processes on loopback (tests and benchmarks). */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const ROOT = new URL("../../", import.meta.url).pathname;
export const BUN = join(ROOT, "node_modules/.bin/bun");
export const MAIN = join(ROOT, "main.ts");

/** A free TCP port on 127.0.0.1 (bound then released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      const port = typeof a === "object" && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface ClusterSpec {
  readonly variant: "mring" | "uring";
  readonly acceptors: number;
  readonly learners: number;
  readonly clients: number;
}

export interface Cluster {
  readonly dir: string;
  readonly configFile: string;
  readonly config: { nodes: { id: number; roles: string[] }[] };
  readonly procs: Map<number, ChildProcess>;
  readonly logs: Map<number, string[]>;
  outputOf(id: number): string[];
  learnerIds(): number[];
  clientIds(): number[];
  stop(): Promise<void>;
}

export async function writeConfig(spec: ClusterSpec, dir: string): Promise<{ file: string; config: Cluster["config"] }> {
  const nodes: { id: number; host: string; port: number; roles: string[] }[] = [];
  let id = 0;
  for (let a = 0; a < spec.acceptors; a++)
    nodes.push({
      id: id++,
      host: "127.0.0.1",
      port: await freePort(),
      roles: [...(a === 0 ? ["coordinator"] : []), "acceptor", ...(spec.variant === "uring" ? ["learner"] : [])],
    });
  for (let l = 0; l < spec.learners; l++) nodes.push({ id: id++, host: "127.0.0.1", port: await freePort(), roles: ["learner"] });
  for (let c = 0; c < spec.clients; c++) nodes.push({ id: id++, host: "127.0.0.1", port: await freePort(), roles: ["client"] });
  const mport = await freePort();
  const config = {
    cluster: 42,
    variant: spec.variant,
    nodes,
    ...(spec.variant === "mring" ? { multicast: { group: `239.9.${mport % 250}.${(mport >> 8) % 250}`, port: mport, interface: "127.0.0.1", ttl: 0 } } : {}),
    protocol: { window: 16 },
  };
  const file = join(dir, "cluster.json");
  writeFileSync(file, JSON.stringify(config, null, 2));
  return { file, config };
}

/** Starts every node except clients (they run `paxos propose` when asked). */
export async function startCluster(spec: ClusterSpec): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), "paxos-e2e-"));
  const { file, config } = await writeConfig(spec, dir);
  const procs = new Map<number, ChildProcess>();
  const logs = new Map<number, string[]>();
  for (const n of config.nodes) {
    if (n.roles.includes("client")) continue;
    const p = spawn(BUN, [MAIN, "node", "--config", file, "--id", String(n.id), "--output", join(dir, `out-${n.id}.jsonl`)], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    const lines: string[] = [];
    p.stderr?.on("data", (b: Buffer) => lines.push(...b.toString().split("\n").filter(Boolean)));
    procs.set(n.id, p);
    logs.set(n.id, lines);
  }
  // Ready when every node logged that it started.
  const t0 = Date.now();
  while (![...logs.values()].every((l) => l.some((x) => x.includes("node started")))) {
    if (Date.now() - t0 > 15000) throw new Error(`cluster did not start: ${JSON.stringify([...logs])}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    dir,
    configFile: file,
    config,
    procs,
    logs,
    outputOf: (id) => {
      const f = join(dir, `out-${id}.jsonl`);
      return existsSync(f) ? readFileSync(f, "utf8").split("\n").filter(Boolean) : [];
    },
    learnerIds: () => config.nodes.filter((n) => n.roles.includes("learner")).map((n) => n.id),
    clientIds: () => config.nodes.filter((n) => n.roles.includes("client")).map((n) => n.id),
    stop: async () => {
      await Promise.all(
        [...procs.values()].map(
          (p) =>
            new Promise<void>((resolve) => {
              if (p.exitCode !== null) return resolve();
              p.once("exit", () => resolve());
              p.kill("SIGTERM");
              setTimeout(() => p.kill("SIGKILL"), 5000);
            }),
        ),
      );
    },
  };
}

/** Runs `paxos propose` as a client node; resolves with its exit code and output. */
export function propose(configFile: string, id: number, values: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(BUN, [MAIN, "propose", "--config", configFile, "--id", String(id), ...values], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout?.on("data", (b: Buffer) => (out += b.toString()));
    p.stderr?.on("data", (b: Buffer) => (err += b.toString()));
    p.once("exit", (code) => resolve({ code: code ?? -1, out, err }));
  });
}

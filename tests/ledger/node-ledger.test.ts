import { afterEach, describe, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "../../src/bench/cluster.ts";
import { selfCommand } from "../../src/bench/self.ts";
import { runCli } from "../../src/cli/program.ts";
import { segmentName } from "../../src/ledger/segment.ts";
import { appendAll, cleanup, open, tempDir, vote } from "./helpers.ts";

afterEach(cleanup);

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runCli(argv, { out: (s) => void (out += s), err: (s) => void (err += s) });
  return { code, out, err };
}

/** A one-acceptor U-Ring configuration whose WAL lives under `dir`. */
async function config(dir: string): Promise<string> {
  const file = join(dir, "cluster.json");
  const cfg = {
    variant: "uring",
    nodes: [{ id: 0, host: "127.0.0.1", port: await freePort(), roles: ["coordinator", "acceptor", "learner"] }],
    ledger: { kind: "wal", dir: join(dir, "data"), sync: "fsync" },
  };
  writeFileSync(file, JSON.stringify(cfg));
  return file;
}

/** Runs `paxos node` as a child process until it exits or logs that it started. */
function node(file: string): Promise<{ code: number | null; err: string; kill: () => Promise<number | null> }> {
  const self = selfCommand();
  const p = spawn(self.cmd, [...self.args, "node", "--config", file, "--id", "0"], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  const exited = new Promise<number | null>((r) => p.once("exit", (c) => r(c)));
  return new Promise((resolve) => {
    p.stderr?.on("data", (b: Buffer) => {
      err += b.toString();
      if (err.includes("node started"))
        resolve({
          code: null,
          err,
          kill: async () => {
            p.kill("SIGTERM");
            return exited;
          },
        });
    });
    void exited.then((code) => resolve({ code, err, kill: async () => code }));
  });
}

describe("a node with a write-ahead log", () => {
  test("refuses to start on a log corrupt before its tail: one line naming the file and offset, exit 1", async () => {
    const dir = tempDir();
    const file = await config(dir);
    const logDir = join(dir, "data", "node-0");
    const w = open(logDir);
    await appendAll(w, [vote(0, 1, 100), vote(1, 1, 100), vote(2, 1, 100)]);
    await w.close();
    const seg = join(logDir, segmentName(0));
    const buf = readFileSync(seg);
    buf[60] = (buf[60] as number) ^ 0xff;
    writeFileSync(seg, buf);
    const r = await node(file);
    expect(r.code).toBe(1);
    const lines = r.err.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^paxos: ledger\\.dir: write-ahead log is corrupt: ${seg} at offset \\d+: .*paxos ledger inspect --verify`));
    // The log is left as it was, for the operator.
    expect(readFileSync(seg).equals(buf)).toBe(true);
  });

  test("a ledger.dir it cannot create stops it with one line naming ledger.dir and the errno once, exit 1", async () => {
    const dir = tempDir();
    const file = await config(dir);
    writeFileSync(join(dir, "data"), "a file where the directory should be");
    const r = await node(file);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`paxos: ledger.dir: cannot create ${join(dir, "data", "node-0")}: ENOTDIR (not a directory)\n`);
  });

  test("a second node on the same log is refused while the first runs; the first stops cleanly and releases it", async () => {
    const dir = tempDir();
    const file = await config(dir);
    const first = await node(file);
    expect(first.code).toBeNull();
    const second = await node(file);
    expect(second.code).toBe(1);
    expect(second.err).toMatch(/write-ahead log .*node-0 is in use by process \d+/);
    expect(await first.kill()).toBe(0);
    const again = await node(file);
    expect(again.code).toBeNull();
    expect(again.err).toMatch(/"ledger":"wal [^"]*node-0 \(sync fsync, \d+ records recovered\)"/);
    // Stopped right after it said it started: still a clean stop (exit 0, lock released).
    expect(await again.kill()).toBe(0);
  });
});

describe("paxos ledger inspect", () => {
  test("summarizes a log, verifies it, and reports damage with exit 1 and bad input with exit 2", async () => {
    const dir = tempDir();
    const w = open(dir);
    await appendAll(w, [{ k: "promise", rnd: 33 }, vote(5, 33, 64), vote(6, 33, 64), { k: "decision", instance: 5, vid: "33.5" }]);
    await w.close();
    const ok = await cli(["ledger", "inspect", dir, "--verify"]);
    expect(ok.code).toBe(0);
    expect(ok.out).toContain("records: 5 (2 votes, 1 promises, 1 decisions, 0 trims, 1 checkpoints)");
    expect(ok.out).toContain("instances: 5..6");
    expect(ok.out).toContain("last promise: round 33");
    expect(ok.out).toContain("verify: every record checksum matches");
    const json = await cli(["ledger", "inspect", dir, "--json"]);
    expect(JSON.parse(json.out)).toMatchObject({ instances: [5, 6], lastPromise: 33, tornTail: null, verified: false });

    const seg = join(dir, segmentName(0));
    const buf = readFileSync(seg);
    buf[33] = (buf[33] as number) ^ 0x01; // inside the checkpoint's body: the first record
    writeFileSync(seg, buf);
    const bad = await cli(["ledger", "inspect", dir, "--verify"]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(new RegExp(`^paxos: write-ahead log is corrupt: ${seg} at offset 16: record checksum mismatch; the sync marker at offset \\d+ says it was acknowledged durable\n$`));

    const none = await cli(["ledger", "inspect", join(dir, "nope")]);
    expect(none).toMatchObject({ code: 2, err: `paxos: ${join(dir, "nope")}: no such directory\n` });
  });
});

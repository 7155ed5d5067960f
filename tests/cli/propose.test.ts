import { describe, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { LocalCluster } from "../../src/bench/cluster.ts";
import { childEnv, selfCommand } from "../../src/bench/self.ts";
import { readLines } from "../../src/cli/propose.ts";
import { UsageError } from "../../src/cli/errors.ts";

/** Runs `paxos ARGS…` with `input` on its standard input. */
function runWithInput(args: readonly string[], input: string): Promise<{ code: number; out: string; err: string }> {
  const self = selfCommand();
  return new Promise((resolve) => {
    const p = spawn(self.cmd, [...self.args, ...args], { stdio: ["pipe", "pipe", "pipe"], env: childEnv() });
    let out = "";
    let err = "";
    p.stdout.on("data", (b: Buffer) => (out += b.toString()));
    p.stderr.on("data", (b: Buffer) => (err += b.toString()));
    p.stdin.on("error", () => {}); // a process that exits early closes the pipe
    p.stdin.end(input);
    p.once("exit", (code) => resolve({ code: code ?? -1, out, err }));
  });
}

/** "instance N: VALUE" lines: each value once, at distinct instances. */
function decided(out: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of out.split("\n").filter(Boolean)) {
    const x = /^instance (\d+): (.*)$/.exec(line);
    expect(x).not.toBeNull();
    const [, instance, value] = x as RegExpExecArray;
    expect(m.has(value as string)).toBe(false);
    m.set(value as string, Number(instance));
  }
  return m;
}

async function* chunks(...xs: string[]): AsyncGenerator<Uint8Array> {
  for (const x of xs) yield new TextEncoder().encode(x);
}

async function lines(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const l of it) out.push(l);
  return out;
}

describe("readLines (paxos propose -)", () => {
  test("splits chunks into lines across chunk borders; CRLF, empty lines and a last line without newline", async () => {
    expect(await lines(readLines(chunks("a\nb", "c\r\n\n", "d\n\ne", "€f")))).toEqual(["a", "bc", "d", "e€f"]);
    // A multi-byte character cut between chunks is decoded whole.
    const euro = new TextEncoder().encode("x€\n");
    async function* cut(): AsyncGenerator<Uint8Array> {
      yield euro.slice(0, 2);
      yield euro.slice(2);
    }
    expect(await lines(readLines(cut()))).toEqual(["x€"]);
  });

  test("a line longer than the bound is a usage error naming it, even without its newline", async () => {
    await expect(lines(readLines(chunks("ok\n", "123456789\n"), 8))).rejects.toThrow(new UsageError("propose -: line 2 of standard input is longer than 8 bytes"));
    await expect(lines(readLines(chunks("ok\n1234", "56789"), 8))).rejects.toBeInstanceOf(UsageError);
  });
});

describe("paxos propose: back-pressure", () => {
  test(
    "more values than the proposer's queue (on the command line and from standard input): every one is decided",
    async () => {
      // A queue of 16 (window 8): 300 values are many times what the proposer holds at once.
      const c = await LocalCluster.start({ variant: "mring", acceptors: 3, learners: 1, clients: 1, protocol: { proposerQueue: 16 } });
      try {
        const id = String(c.clientIds()[0]);
        const values = Array.from({ length: 300 }, (_, i) => `arg-${i}`);
        const a = await c.run(["propose", "--config", c.configFile, "--id", id, "--timeout-ms", "5000", ...values]);
        expect(a.err).toBe("");
        expect(a.code).toBe(0);
        const fromArgs = decided(a.out);
        expect([...fromArgs.keys()].sort()).toEqual([...values].sort());
        // Values queued together go as packs (core/pack.ts): several may share an instance.
        for (const i of fromArgs.values()) expect(i).toBeGreaterThanOrEqual(0);

        const input = Array.from({ length: 1000 }, (_, i) => `line-${i + 1}`);
        const b = await runWithInput(["propose", "--config", c.configFile, "--id", id, "--timeout-ms", "5000", "-"], `${input.join("\n")}\n`);
        expect(b.err).toBe("");
        expect(b.code).toBe(0);
        const fromStdin = decided(b.out);
        expect(fromStdin.size).toBe(1000);
        for (const v of input) expect(fromStdin.has(v)).toBe(true);
        // Decided after the first run's values.
        const firstRun = Math.max(...fromArgs.values());
        for (const i of fromStdin.values()) expect(i).toBeGreaterThan(firstRun);
      } finally {
        await c.stop();
      }
    },
    { timeout: 90_000 },
  );

  test("- with other values, and an empty standard input: one line, exit 2", async () => {
    const c = await LocalCluster.start({ variant: "mring", acceptors: 1, learners: 1, clients: 1 });
    try {
      const id = String(c.clientIds()[0]);
      const mixed = await runWithInput(["propose", "--config", c.configFile, "--id", id, "a", "-"], "");
      expect(mixed.code).toBe(2);
      expect(mixed.err).toBe("paxos: propose: - reads the values from standard input: give it alone\n");
      const empty = await runWithInput(["propose", "--config", c.configFile, "--id", id, "-"], "\n\n");
      expect(empty.code).toBe(2);
      expect(empty.err).toBe("paxos: propose -: no values on standard input\n");
    } finally {
      await c.stop();
    }
  }, 60_000);
});

describe("paxos propose / client: one process per client entry", () => {
  test(
    "a second propose for the same client entry fails with one line saying why, and the first is unaffected",
    async () => {
      const c = await LocalCluster.start({ variant: "mring", acceptors: 1, learners: 1, clients: 1 });
      try {
        const id = String(c.clientIds()[0]);
        const port = c.nodes.find((n) => n.id === Number(id))?.port;
        // The first one keeps its node up: it waits for standard input to end.
        const self = selfCommand();
        const first = spawn(self.cmd, [...self.args, "propose", "--config", c.configFile, "--id", id, "-"], { stdio: ["pipe", "pipe", "pipe"], env: childEnv() });
        let out = "";
        first.stdout.on("data", (b: Buffer) => (out += b.toString()));
        first.stdin.write("first\n");
        const t0 = Date.now();
        while (!out.includes("first") && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 20));
        expect(out).toMatch(/^instance \d+: first\n$/);

        for (const cmd of [["propose", "second"], ["client", "--duration", "0.2", "--warmup", "0"]]) {
          const second = await c.run([cmd[0] as string, "--config", c.configFile, "--id", id, ...cmd.slice(1)]);
          expect(second.code).toBe(1);
          expect(second.out).toBe("");
          expect(second.err.trim().split("\n")).toHaveLength(1);
          expect(second.err).toStartWith(`paxos: node ${id}'s port 127.0.0.1:${port} is in use: is another paxos propose, client or node running as node ${id}?`);
          expect(second.err).toContain("need an entry (--id) each");
          expect(second.err).not.toContain("EADDRINUSE");
        }

        const code = new Promise<number | null>((r) => first.once("exit", r));
        first.stdin.end("third\n");
        expect(await code).toBe(0);
        expect(out).toMatch(/^instance \d+: first\ninstance \d+: third\n$/);
      } finally {
        await c.stop();
      }
    },
    { timeout: 60_000 },
  );
});

import { spawnSync } from "node:child_process";
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { formatSystemError } from "../../src/cli/errors.ts";
import { describeErrno } from "../../src/os/errno.ts";
import { runCli } from "../../src/cli/program.ts";
import { VERSION } from "../../src/version.ts";

const CONFIG = fileURLToPath(new URL("../../configs/mring-3-ram.json", import.meta.url));

/** Runs with these environment variables set (undefined: unset), restoring the environment after. */
async function withEnv<T>(vars: Record<string, string | undefined>, f: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const set = (vs: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(vs)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  set(vars);
  try {
    return await f();
  } finally {
    set(saved);
  }
}

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runCli(argv, { out: (s) => void (out += s), err: (s) => void (err += s) });
  return { code, out, err };
}

describe("paxos command line", () => {
  test("--version prints the package version, the commit (from git when not compiled in) and the runtime", async () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    expect(VERSION).toBe(pkg.version);
    const head = spawnSync("git", ["rev-parse", "--short=12", "HEAD"], { encoding: "utf8" }).stdout.trim() || "unknown";
    expect(await run("--version")).toEqual({ code: 0, out: `${VERSION} (commit ${head}, bun ${Bun.version})\n`, err: "" });
  });

  test("sim --help documents its options", async () => {
    const r = await run("sim", "--help");
    expect(r.code).toBe(0);
    for (const flag of ["--variant", "--seeds", "--seed", "--ledger", "--ring", "--max-loss", "--no-faults", "--json"])
      expect(r.out).toContain(flag);
  });

  test.each([
    [["sim", "--seeds", "abc"], "--seeds: expected an integer"],
    [["sim", "--seeds", "0"], "--seeds: expected an integer in 1.."],
    [["sim", "--variant", "x-ring"], "--variant: expected one of mring|uring|both"],
    [["sim", "--max-loss", "2"], "--max-loss: expected a number in 0..0.9"],
    [["sim", "--ring", "12"], "--ring: expected an integer in 1..9"],
    [["sim", "--frobnicate"], "unknown option '--frobnicate'"],
    [["frobnicate"], "unknown command 'frobnicate'"],
    [["node", "--config", CONFIG, "--rate", "100"], "--rate: only with --role client (the load generator)"],
    [["node", "--config", CONFIG, "--value-size", "64", "--role", "acceptor"], "--value-size: only with --role client"],
    [["node", "--config", CONFIG, "--role", "client,acceptor"], "--role client runs the load generator: give it alone"],
    [["node", "--config", CONFIG, "--timeline", "t.jsonl", "--role", "learner"], "--timeline: only with --role client"],
    [["node", "--log-format", "xml"], '--log-format: expected one of json|console, got "xml"'],
    [["bench", "--ledger", "disk"], "--ledger: expected one of ram|wal"],
    [["bench", "--wal-sync", "sometimes"], "--wal-sync: expected one of fsync|none"],
  ])("bad usage %p: one line on stderr, exit code 2", async (argv, message) => {
    const r = await run(...argv);
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
    expect(r.err).toContain(message);
    expect(r.err.trim().split("\n")).toHaveLength(1);
  });

  test("sim prints a one-line summary per variant and exits 0 without violations", async () => {
    const r = await run("sim", "--seeds", "5");
    expect(r.code).toBe(0);
    const lines = r.out.trim().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^sim mring: 5 seeds, 0 violations, [\d,]+ deliveries of [\d,]+ proposed values, [\d,]+ simulated messages/);
    expect(lines[1]).toMatch(/^sim uring: 5 seeds, 0 violations/);
  });

  test("sim --json gives the figures to scripts", async () => {
    const r = await run("sim", "--variant", "uring", "--seeds", "3", "--json");
    expect(r.code).toBe(0);
    const data = JSON.parse(r.out) as { variant: string; seeds: number; violations: number; delivered: number }[];
    expect(data).toHaveLength(1);
    expect(data[0]?.variant).toBe("uring");
    expect(data[0]?.seeds).toBe(3);
    expect(data[0]?.violations).toBe(0);
    expect(data[0]?.delivered).toBeGreaterThan(0);
  });

  test("--seed replays one seed, identically each time", async () => {
    const a = await run("sim", "--variant", "mring", "--seed", "77", "--verbose");
    const b = await run("sim", "--variant", "mring", "--seed", "77", "--verbose");
    expect(a.code).toBe(0);
    expect(a.out).toContain("scenario:");
    const strip = (s: string) => s.replace(/, [\d.]+ s\n/g, "\n");
    expect(strip(b.out)).toBe(strip(a.out));
  });

  test("bench --help documents --plots", async () => {
    const r = await run("bench", "--help");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/--plots <dir>\s+also draw SVG plots into DIR/);
    expect(r.out).toContain("latency-cdf.svg");
  });

  test("client --help documents --timeline", async () => {
    const r = await run("client", "--help");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/--timeline <file>\s+also write one JSON line per value delivered/);
  });

  test("bench --plots with a file, or a path under a file: one line, exit 2, before any cluster starts", async () => {
    const base = mkdtempSync(join(tmpdir(), "paxos-cli-"));
    try {
      const file = join(base, "taken");
      writeFileSync(file, "not a directory");
      const started = Date.now();
      for (const [dir, message] of [
        [file, `paxos: --plots: ${file} exists and is not a directory`],
        [join(file, "plots"), `paxos: --plots: cannot write to ${join(file, "plots")}: ENOTDIR`],
      ] as const) {
        const r = await run("bench", "--duration", "1", "--plots", dir);
        expect(r.code).toBe(2);
        expect(r.out).toBe("");
        expect(r.err.slice(0, message.length)).toBe(message);
        expect(r.err.trim().split("\n")).toHaveLength(1);
      }
      // No cluster was started (that alone takes seconds), and nothing was left behind.
      expect(Date.now() - started).toBeLessThan(1000);
      expect(readdirSync(base)).toEqual(["taken"]);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });

  test(
    "bench --plots DIR: a real run writes both SVG plots, names them on stderr, and the JSON holds the CDF",
    async () => {
      const base = mkdtempSync(join(tmpdir(), "paxos-cli-"));
      try {
        const dir = join(base, "plots");
        const json = join(base, "bench.json");
        const r = await run("bench", "--duration", "1.5", "--warmup", "0.3", "--plots", dir, "--json", json);
        expect(r.code).toBe(0);
        expect(r.out).toContain("learner   values/s");
        const files = [join(dir, "latency-cdf.svg"), join(dir, "throughput.svg")];
        for (const f of files) {
          expect(r.err).toContain(`paxos bench: plot ${f}\n`);
          expect(existsSync(f)).toBe(true);
          const svg = readFileSync(f, "utf8");
          expect(svg.startsWith("<svg")).toBe(true);
          expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
        }
        // Not a terminal here: the plain progress lines.
        expect(r.err).toMatch(/^bench: \d+\/1\.5 s, learner [\d,]+ values\/s$/m);
        const data = JSON.parse(readFileSync(json, "utf8")) as {
          clients: { client: number; latencyUs: { count: number }; cdf: { p: number; us: number }[] }[];
          timeline: { t: number; valuesPerSec: number; bytesPerSec: number }[];
          processes: { id: number; roles: string[]; cpuPercent: number; peakRssMb: number }[];
        };
        const c = data.clients[0];
        // Every process has a row, the client too (it measures itself): it did work and holds memory.
        expect(data.processes.map((p) => p.roles.join(","))).toEqual(["coordinator,acceptor", "acceptor", "acceptor", "learner", "client"]);
        const clientRow = data.processes.at(-1);
        expect(clientRow?.cpuPercent).toBeGreaterThan(0);
        expect(clientRow?.peakRssMb).toBeGreaterThan(10);
        expect(r.out).toMatch(/^4\s+client\s+\d+\s+\d+\.\d/m);
        expect(c?.latencyUs.count).toBeGreaterThan(0);
        expect(c?.cdf.length).toBeGreaterThan(30);
        expect(readFileSync(files[0] ?? "", "utf8")).toContain(`client ${c?.client}`);
        for (let i = 1; i < (c?.cdf.length ?? 0); i++) expect(c?.cdf[i]?.us ?? 0).toBeGreaterThanOrEqual(c?.cdf[i - 1]?.us ?? Infinity);
        // Bytes/s at the learner are values/s times the value size (8 KB values, one per delivery).
        const busy = data.timeline.filter((p) => p.valuesPerSec > 100);
        expect(busy.length).toBeGreaterThan(0);
        // (values/s are rounded to whole values per stats period: within 1 %)
        for (const p of busy) expect(Math.abs(p.bytesPerSec / p.valuesPerSec - 8192)).toBeLessThan(82);
      } finally {
        rmSync(base, { recursive: true, force: true });
      }
    },
    { timeout: 60_000 },
  );

  test("no configuration at all: the one line that says where one can come from", async () => {
    const dir = mkdtempSync(join(tmpdir(), "paxos-cli-"));
    const cwd = process.cwd();
    try {
      process.chdir(dir);
      await withEnv({ PAXOS_CONFIG: undefined }, async () => {
        for (const cmd of [["node"], ["propose", "v"], ["client"]])
          expect(await run(...cmd)).toEqual({ code: 2, out: "", err: "paxos: no configuration: pass --config FILE or set PAXOS_CONFIG (looked for ./paxos.json)\n" });
      });
    } finally {
      process.chdir(cwd);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a configuration is checked whole before the command runs: every problem, host names resolved", async () => {
    const dir = mkdtempSync(join(tmpdir(), "paxos-cli-"));
    try {
      const c = JSON.parse(readFileSync(CONFIG, "utf8")) as { nodes: { host: string; port: number }[] };
      (c.nodes[1] as { host: string }).host = "no-such-host.invalid";
      (c.nodes[2] as { port: number }).port = 7000;
      const file = join(dir, "c.json");
      writeFileSync(file, JSON.stringify(c));
      const r = await run("propose", "--config", file, "v");
      expect(r.code).toBe(2);
      expect(r.err).toBe(
        `paxos: ${file}: invalid configuration\n  nodes[2].port: 127.0.0.1:7000 is already used by nodes[0].port\n  nodes[1].host: "no-such-host.invalid" does not resolve (ENOTFOUND)\n`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a configuration with rings is checked whole; propose and client want --group (exit 2, one line)", async () => {
    const multi = fileURLToPath(new URL("../../configs/multiring-2-ram.json", import.meta.url));
    expect(await run("client", "--id", "7", "--config", multi)).toEqual({ code: 2, out: "", err: "paxos: this configuration has `rings`: give --group G (the group the values go to)\n" });
    expect(await run("propose", "--id", "6", "v", "--config", multi)).toEqual({ code: 2, out: "", err: "paxos: this configuration has `rings`: give --group G (the group the values go to)\n" });
    expect(await run("node", "--from-instance", "5", "--id", "4", "--config", multi)).toEqual({ code: 2, out: "", err: "paxos: --from-instance: not with a `rings` configuration yet\n" });
    const dir = mkdtempSync(join(tmpdir(), "paxos-cli-"));
    try {
      const c = JSON.parse(readFileSync(multi, "utf8")) as { rings: { coordinator: number }[] };
      (c.rings[1] as { coordinator: number }).coordinator = 3;
      const file = join(dir, "c.json");
      writeFileSync(file, JSON.stringify(c));
      expect(await run("node", "--config", file, "--id", "0")).toEqual({
        code: 2,
        out: "",
        err: `paxos: ${file}: invalid configuration\n  rings[1].coordinator: node 3 does not have the role coordinator\n  nodes[1].roles: node 1 has the role coordinator but coordinates no ring (rings[].coordinator)\n`,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("a reader that goes away", () => {
  test("output piped into a reader that is gone (| head, | true) ends the command quietly, without a stack trace", () => {
    const main = fileURLToPath(new URL("../../main.ts", import.meta.url));
    for (const args of ["--help", "sim --variant mring --seeds 5"]) {
      const r = spawnSync("bash", ["-c", `"${process.execPath}" "${main}" ${args} | true; echo "rc=\${PIPESTATUS[0]}"`], { encoding: "utf8" });
      expect(r.stdout.trim()).toBe("rc=0");
      expect(r.stderr).toBe("");
    }
  }, 60_000);
});

describe("environment variables", () => {
  test("every option of every command has one, PAXOS_ + the flag in upper snake case, shown in --help", async () => {
    for (const cmd of [["sim"], ["node"], ["propose"], ["client"], ["bench"], ["ledger", "inspect"]]) {
      const help = (await run(...cmd, "--help")).out;
      const options = help.split("\n").filter((l) => /^ {2}(-\w, )?--[a-z]/.test(l) && !l.includes("--help"));
      expect(options.length).toBeGreaterThan(1);
      for (const l of options) {
        const flag = /--([a-z-]+)/.exec(l)?.[1] as string;
        expect(help.replace(/\s+/g, " ")).toContain(`env: PAXOS_${flag.replace(/-/g, "_").toUpperCase()})`);
      }
    }
    const node = (await run("node", "--help")).out.replace(/\s+/g, " ");
    for (const v of ["PAXOS_CONFIG", "PAXOS_ID", "PAXOS_ROLE", "PAXOS_OUTPUT", "PAXOS_LOG_LEVEL", "PAXOS_LOG_FORMAT", "PAXOS_STATS_MS"]) expect(node).toContain(`env: ${v})`);
    expect((await run("sim", "--help")).out).toContain("(env: PAXOS_NO_FAULTS)");
  });

  test("the environment sets options; a flag on the command line wins", async () => {
    const fromEnv = await withEnv({ PAXOS_VARIANT: "uring", PAXOS_SEEDS: "2" }, () => run("sim"));
    expect(fromEnv.code).toBe(0);
    expect(fromEnv.out).toMatch(/^sim uring: 2 seeds, 0 violations/);
    const flagWins = await withEnv({ PAXOS_VARIANT: "uring", PAXOS_SEEDS: "2" }, () => run("sim", "--variant", "mring", "--seeds", "1"));
    expect(flagWins.out).toMatch(/^sim mring: 1 seeds?, 0 violations[^\n]*\n$/);
  });

  test("booleans read 1/true/yes/on and 0/false/no/off; an empty variable is unset", async () => {
    const json = await withEnv({ PAXOS_JSON: "true", PAXOS_SEEDS: "1", PAXOS_VARIANT: "uring" }, () => run("sim"));
    expect(JSON.parse(json.out)).toHaveLength(1);
    for (const off of ["0", "false", "off", ""]) {
      const plain = await withEnv({ PAXOS_JSON: off, PAXOS_SEEDS: "1", PAXOS_VARIANT: "uring" }, () => run("sim"));
      expect(plain.out).toMatch(/^sim uring: 1 seeds?, /);
    }
  });

  test.each([
    [{ PAXOS_SEEDS: "abc" }, ["sim"], 'paxos: PAXOS_SEEDS: expected an integer in 1..100000000, got "abc"'],
    [{ PAXOS_ID: "300" }, ["node"], 'paxos: PAXOS_ID: expected an integer in 0..255, got "300"'],
    [{ PAXOS_ROLE: "leader" }, ["node"], 'paxos: PAXOS_ROLE: expected one of coordinator|acceptor|learner|proposer|client, got "leader"'],
    [{ PAXOS_LOG_LEVEL: "loud" }, ["node"], 'paxos: PAXOS_LOG_LEVEL: expected one of debug|info|warn|error|silent, got "loud"'],
    [{ PAXOS_LOG_FORMAT: "xml" }, ["node"], 'paxos: PAXOS_LOG_FORMAT: expected one of json|console, got "xml"'],
    [{ PAXOS_JSON: "maybe" }, ["sim"], 'paxos: PAXOS_JSON: expected 1, true, yes or on (or 0, false, no, off), got "maybe"'],
    [{ PAXOS_CONFIG: "/nonexistent/paxos.json" }, ["node"], "paxos: /nonexistent/paxos.json: invalid configuration\n  no such file"],
  ])("a bad value in %p: the same one-line error, naming the variable, exit 2", async (vars, argv, message) => {
    expect(await withEnv(vars, () => run(...argv))).toEqual({ code: 2, out: "", err: `${message}\n` });
  });

  test("the load generator's variables do not stop a node that is no client (they may share an environment)", async () => {
    // Node 3 is a learner: the run stops at --role acceptor, after the flags were checked.
    const r = await withEnv({ PAXOS_WINDOW: "64", PAXOS_JSON: "1" }, () => run("node", "--config", CONFIG, "--id", "3", "--role", "acceptor"));
    expect(r).toEqual({ code: 2, out: "", err: `paxos: node 3 of ${CONFIG} does not have the role acceptor (it has: learner)\n` });
  });
});

describe("system errors", () => {
  const sysError = (code: string, message: string) => Object.assign(new Error(message), { code });

  test("the errno code is named once, with the OS's words for it", () => {
    expect(formatSystemError(sysError("EACCES", "EACCES: permission denied, open '/etc/paxos.json'"))).toBe("EACCES (permission denied): open '/etc/paxos.json'");
    expect(formatSystemError(sysError("EACCES", "EACCES"))).toBe("EACCES (permission denied)");
    expect(formatSystemError(sysError("EADDRINUSE", "listen EADDRINUSE: address already in use 127.0.0.1:7000"))).toBe("EADDRINUSE (address already in use): listen 127.0.0.1:7000");
    expect(formatSystemError(sysError("ECONNREFUSED", "connect failed"))).toBe("ECONNREFUSED (connection refused): connect failed");
    expect(describeErrno(sysError("ENOENT", "whatever"))).toBe("ENOENT (no such file or directory)");
  });

  test("a message that already names its code, or has none, is left as it is", () => {
    expect(formatSystemError(sysError("EADDRINUSE", "nodes[0].port: 127.0.0.1:7000 is in use (EADDRINUSE)"))).toBe("nodes[0].port: 127.0.0.1:7000 is in use (EADDRINUSE)");
    expect(formatSystemError(new Error("plain"))).toBe("plain");
    expect(formatSystemError(sysError("ERR_SOCKET_BAD_PORT", "port out of range"))).toBe("ERR_SOCKET_BAD_PORT: port out of range");
  });
});

describe("paxos experiment", () => {
  test("list names every experiment with its source and how long it takes", async () => {
    const { EXPERIMENTS } = await import("../../src/experiment/catalog/index.ts");
    const r = await run("experiment", "list");
    expect(r.code).toBe(0);
    for (const e of EXPERIMENTS) expect(r.out).toContain(e.name);
    expect(r.out).toContain("--quick");
  });

  test("an unknown experiment, and a report of a directory without results, are usage errors naming what is wrong", async () => {
    const bad = await run("experiment", "run", "no-such");
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('experiment "no-such": no such experiment; one of ring-value-size');
    const empty = mkdtempSync(join(tmpdir(), "paxos-experiment-cli-"));
    try {
      const r = await run("experiment", "report", empty);
      expect(r.code).toBe(2);
      expect(r.err).toContain("no experiment results");
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

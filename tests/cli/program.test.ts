import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../../src/cli/program.ts";
import { VERSION } from "../../src/version.ts";

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runCli(argv, { out: (s) => void (out += s), err: (s) => void (err += s) });
  return { code, out, err };
}

describe("paxos command line", () => {
  test("--version prints the package version", async () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    expect(VERSION).toBe(pkg.version);
    expect(await run("--version")).toEqual({ code: 0, out: `${VERSION}\n`, err: "" });
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
    [["node", "--rate", "100"], "--rate: only with --role client (the load generator)"],
    [["node", "--value-size", "64", "--role", "acceptor"], "--value-size: only with --role client"],
    [["node", "--role", "client,acceptor"], "--role client runs the load generator: give it alone"],
    [["node", "--timeline", "t.jsonl", "--role", "learner"], "--timeline: only with --role client"],
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
});

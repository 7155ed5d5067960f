import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
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
});

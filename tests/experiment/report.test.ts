import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runExperiment } from "../../src/experiment/harness.ts";
import { findResults, REPORT_FILE, writeReport } from "../../src/experiment/report.ts";
import { fakeExperiment } from "./fake.ts";
import { tempDir } from "../support/temp-dir.ts";

const HOST = { cpus: 2, cpuModel: "test cpu", kernel: "Linux test", memoryMb: 1024, runtime: "bun test", paxos: "0 (commit test)" };

describe("experiment report", () => {
  test("one offline page with every experiment's description, table and plots", async () => {
    const dir = tempDir("paxos-report-");
    await runExperiment(fakeExperiment({ name: "first" }), { quick: false }, join(dir, "first"), { host: HOST, hostCpu: () => null });
    await runExperiment(fakeExperiment({ name: "second" }), { quick: true }, join(dir, "second"), { host: HOST, hostCpu: () => null });
    mkdirSync(join(dir, "not-an-experiment"));
    const r = await writeReport(dir);
    expect(r.experiments).toBe(2);
    expect(r.problems).toEqual([]);
    const html = readFileSync(join(dir, REPORT_FILE), "utf8");
    expect(html).toContain('<h2 id="first">');
    expect(html).toContain('<h2 id="second">');
    // titles are escaped, not markup
    expect(html).toContain("Fake &lt;first&gt; &amp; co");
    expect(html).not.toContain("Fake <first>");
    // the plots are inline, and nothing is fetched
    expect(html.match(/<svg/g)?.length).toBe(2);
    expect(html).not.toMatch(/<script|<link|<img|src="http/);
    expect(html).toContain("paxos experiment run second --quick");
    expect(html).toContain("throughput (units/s)");
  });

  test("a damaged results file is named and skipped; an experiment's own directory is a report of one", async () => {
    const dir = tempDir("paxos-report-");
    await runExperiment(fakeExperiment({ name: "good" }), { quick: true }, join(dir, "good"), { host: HOST, hostCpu: () => null });
    mkdirSync(join(dir, "torn"));
    writeFileSync(join(dir, "torn", "results.json"), '{"experiment": {"na');
    const { found, problems } = findResults(dir);
    expect(found.map((f) => f.results.experiment.name)).toEqual(["good"]);
    expect(problems.length).toBe(1);
    expect(problems[0]).toContain(join("torn", "results.json"));
    expect((await writeReport(join(dir, "good"))).experiments).toBe(1);
  });

  test("tables and plots are made again from the runs: an interrupted experiment's, or an older build's", async () => {
    const dir = tempDir("paxos-report-");
    await runExperiment(fakeExperiment({ name: "again" }), { quick: false }, join(dir, "again"), { host: HOST, hostCpu: () => null });
    const file = join(dir, "again", "results.json");
    const results = JSON.parse(readFileSync(file, "utf8")) as { summary: unknown[] };
    writeFileSync(file, JSON.stringify({ ...results, summary: [] }));
    unlinkSync(join(dir, "again", "table.md"));
    unlinkSync(join(dir, "again", "tput.svg"));
    // After a run the page is made from what the directories hold: nothing is made again.
    await writeReport(dir, { remake: false });
    expect(existsSync(join(dir, "again", "table.md"))).toBe(false);
    await writeReport(dir);
    expect(readFileSync(join(dir, "again", "table.md"), "utf8")).toMatch(/\| a \| 1 \| 16\.0 /);
    expect(existsSync(join(dir, "again", "tput.svg"))).toBe(true);
    expect(readFileSync(join(dir, REPORT_FILE), "utf8")).toContain("16.0");
  });
});

/** `paxos experiment list | run NAME | report DIR`: the seeds' experiments through one harness (src/experiment). */
import { join } from "node:path";
import process from "node:process";
import type { Command } from "commander";
import { parseFraction, UsageError } from "./errors.ts";
import { EXPERIMENTS, findExperiment } from "../experiment/catalog/index.ts";
import { DEFAULT_MAX_STEAL_PCT, runExperiment, TABLE_FILE } from "../experiment/harness.ts";
import { experimentProgress, formatDuration } from "../experiment/progress.ts";
import { writeReport } from "../experiment/report.ts";
import { formatTable } from "../experiment/table.ts";
import { estimateTotalS } from "../experiment/spec.ts";

interface Io {
  out(s: string): void;
  err(s: string): void;
}

export const DEFAULT_EXPERIMENT_DIR = "paxos-experiments";

export function registerExperimentCommand(program: Command, io: Io): void {
  const cmd = program.command("experiment").description("rerun the seeds' experiments on this host: tables, JSON, SVG plots and one HTML report");
  cmd
    .command("list")
    .description("the experiments, where each comes from, and how long a run takes")
    .action(() => io.out(formatList()));
  cmd
    .command("run")
    .description("run one experiment (every point, repeated and interleaved), then write DIR/NAME/{results.json,table.md,*.svg} and DIR/index.html")
    .argument("<name>", "an experiment of `paxos experiment list`")
    .option("--quick", "fewer points, shorter runs, one run each (a smoke test, not figures to quote)", false)
    .option("--out <dir>", "where results go (NAME's own directory inside it)", DEFAULT_EXPERIMENT_DIR)
    .option("--max-steal-pct <pct>", "a run during which the hypervisor took more of the host's CPU is kept but run again (twice at most; 100: never)", parseFraction("--max-steal-pct", 100), DEFAULT_MAX_STEAL_PCT)
    .action(async (name: string, o: { quick: boolean; out: string; maxStealPct: number }) => {
      const e = findExperiment(name);
      if (!e) throw new UsageError(`experiment ${JSON.stringify(name)}: no such experiment; one of ${EXPERIMENTS.map((x) => x.name).join(", ")}`);
      const dir = join(o.out, e.name);
      const mode = { quick: o.quick };
      io.err(`paxos experiment: ${e.name} (${e.source}), ${o.quick ? "quick" : "full"} mode, about ${formatDuration(estimateTotalS(e, mode))}; results in ${dir}\n`);
      const progress = experimentProgress(e.name, { write: io.err, ...(process.stderr.isTTY ? { tty: process.stderr } : {}) });
      const r = await runExperiment(e, mode, dir, { progress, maxStealPct: o.maxStealPct });
      io.out(formatTable(r));
      // This experiment's table and plots were just written; the others stay as their runs left them.
      const report = await writeReport(o.out, { remake: false });
      io.err(`paxos experiment: ${join(dir, TABLE_FILE)}, report ${report.file}\n`);
      const failed = r.runs.filter((x) => x.metrics === null);
      if (failed.length > 0) {
        for (const f of failed.slice(0, 5)) io.err(`paxos experiment: a run failed (${Object.entries(f.point).map(([k, v]) => `${k}=${v}`).join(" ")}): ${f.error}\n`);
        throw new UsageError(`${failed.length} of ${r.runs.length} runs failed`);
      }
    });
  cmd
    .command("report")
    .description("write DIR/index.html: every experiment under DIR with its table and plots, one page viewable offline (tables and plots made again from the runs)")
    .argument("<dir>", "a directory `paxos experiment run --out` wrote into (or one experiment's own)")
    .action(async (dir: string) => {
      const r = await writeReport(dir);
      for (const p of r.problems) io.err(`paxos experiment: skipped ${p}\n`);
      if (r.experiments === 0) throw new UsageError(`${dir}: no experiment results (results.json) in it or in its directories`);
      io.out(`${r.file} (${r.experiments} experiment${r.experiments === 1 ? "" : "s"})\n`);
    });
}

export function formatList(): string {
  const rows = EXPERIMENTS.map((e) => [e.name, e.source, `${e.points({ quick: false }).length} × ${e.repeat({ quick: false })}`, formatDuration(estimateTotalS(e, { quick: false })), formatDuration(estimateTotalS(e, { quick: true })), e.title]);
  const head = ["name", "source", "points × runs", "full", "--quick", "what"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: readonly string[]) => `${cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] as number))).join("  ")}\n`;
  return line(head) + rows.map(line).join("");
}

import { Command, CommanderError, Option } from "commander";
import { parseChoice, parseFraction, parseIntArg, UsageError } from "./errors.ts";
import { runSimCommand } from "./sim.ts";
import { VERSION } from "../version.ts";

export interface Io {
  out(s: string): void;
  err(s: string): void;
}

/**
 * Runs the `paxos` command line. Returns the exit code: 0 success, 1 a failed check,
 * 2 bad usage (one line on stderr, never a stack trace).
 */
export async function runCli(argv: readonly string[], io: Io): Promise<number> {
  let code = 0;
  const program = new Command()
    .name("paxos")
    .description("Ring Paxos atomic broadcast toolkit: M-Ring and U-Ring Paxos, with a deterministic fault simulator")
    .version(VERSION, "-V, --version", "print the version")
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err, outputError: () => {} })
    .showHelpAfterError(false);

  program
    .command("sim")
    .description("run the protocol cores in the deterministic simulator and check agreement, integrity, total order and liveness")
    .addOption(new Option("--variant <v>", "mring, uring or both").argParser(parseChoice("--variant", ["mring", "uring", "both"] as const)).default("both"))
    .addOption(new Option("--seeds <n>", "number of seeds per variant").argParser(parseIntArg("--seeds", 1, 100_000_000)).default(500))
    .addOption(new Option("--from <n>", "first seed").argParser(parseIntArg("--from", 0, 2 ** 31)).default(1))
    .addOption(new Option("--seed <n>", "run this one seed (replay)").argParser(parseIntArg("--seed", 0, 2 ** 32)))
    .addOption(new Option("--ledger <kind>", "durable (acceptors recover what they persisted) or ram (acceptor crashes are permanent); default: drawn per seed").argParser(parseChoice("--ledger", ["durable", "ram"] as const)))
    .addOption(new Option("--ring <n>", "number of acceptors, 1..9; default: drawn per seed (3..9)").argParser(parseIntArg("--ring", 1, 9)))
    .addOption(new Option("--max-loss <p>", "upper bound of the per-seed message loss rate (0..0.9)").argParser(parseFraction("--max-loss", 0.9)))
    .addOption(new Option("--max-dup <p>", "upper bound of the per-seed duplication rate (0..0.9)").argParser(parseFraction("--max-dup", 0.9)))
    .option("--no-faults", "a fault-free network: no loss, duplication, partitions, crashes or usurpers")
    .addOption(new Option("--liveness-ticks <n>", "ticks (1 ms) after healing within which every value must be delivered").argParser(parseIntArg("--liveness-ticks", 100, 10_000_000)))
    .option("--json", "print the summary as JSON", false)
    .option("--verbose", "with --seed, also print the scenario", false)
    .action((o) => {
      code = runSimCommand(
        {
          variant: o.variant,
          seeds: o.seeds,
          from: o.from,
          faults: o.faults,
          json: o.json,
          verbose: o.verbose,
          ...(o.seed !== undefined ? { seed: o.seed } : {}),
          ...(o.ledger !== undefined ? { ledger: o.ledger } : {}),
          ...(o.ring !== undefined ? { ring: o.ring } : {}),
          ...(o.maxLoss !== undefined ? { maxLoss: o.maxLoss } : {}),
          ...(o.maxDup !== undefined ? { maxDup: o.maxDup } : {}),
          ...(o.livenessTicks !== undefined ? { livenessTicks: o.livenessTicks } : {}),
        },
        io.out,
      );
    });

  try {
    await program.parseAsync(argv as string[], { from: "user" });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help") return 0;
      io.err(`paxos: ${e.message.replace(/^error: /, "")}\n`);
      return 2;
    }
    if (e instanceof UsageError) {
      io.err(`paxos: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

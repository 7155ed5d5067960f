import { Command, CommanderError, Option } from "commander";
import { parseChoice, parseFraction, parseIntArg, UsageError } from "./errors.ts";
import { runSimCommand } from "./sim.ts";
import { runNodeCommand } from "./node.ts";
import { runProposeCommand } from "./propose.ts";
import { ConfigError } from "../config/load.ts";
import { IdentityError } from "../config/identity.ts";
import { ROLES, type Role } from "../config/schema.ts";
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

  const configHelp = "cluster configuration (JSON); default $PAXOS_CONFIG, else ./paxos.json";
  const roleParser = (v: string, prev: Role[] | undefined): Role[] => [
    ...(prev ?? []),
    ...v.split(",").map((r) => parseChoice("--role", ROLES)(r.trim())),
  ];

  program
    .command("node")
    .description("run one process of a cluster with the roles its configuration gives it, until SIGINT/SIGTERM")
    .option("--config <file>", configHelp)
    .addOption(new Option("--id <n>", "this node's id in the configuration (default: the only node whose host is local)").argParser(parseIntArg("--id", 0, 255)))
    .addOption(new Option("--role <role>", `only a node that has this role (${ROLES.join("|")}); repeatable or comma-separated`).argParser(roleParser))
    .option("--output <file|->", "learners: append one JSON line per delivered value to FILE, or - for stdout")
    .action(async (o: { config?: string; id?: number; role?: Role[]; output?: string }) => {
      code = await runNodeCommand(
        { ...(o.config ? { config: o.config } : {}), ...(o.id !== undefined ? { id: o.id } : {}), ...(o.role ? { roles: o.role } : {}), ...(o.output ? { output: o.output } : {}) },
        io.err,
      );
    });

  program
    .command("propose")
    .description("submit values through this host's client node; print the instance of each once it is decided")
    .argument("<values...>", "values to propose (UTF-8 strings)")
    .option("--config <file>", configHelp)
    .addOption(new Option("--id <n>", "the client node's id (default: the only local node with role client)").argParser(parseIntArg("--id", 0, 255)))
    .addOption(new Option("--timeout-ms <ms>", "give up after this long").argParser(parseIntArg("--timeout-ms", 1, 3_600_000)).default(10_000))
    .action(async (values: string[], o: { config?: string; id?: number; timeoutMs: number }) => {
      code = await runProposeCommand(
        { values, timeoutMs: o.timeoutMs, ...(o.config ? { config: o.config } : {}), ...(o.id !== undefined ? { id: o.id } : {}) },
        io.out,
        io.err,
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
    if (e instanceof UsageError || e instanceof IdentityError || e instanceof ConfigError) {
      io.err(`paxos: ${e.message}\n`);
      return 2;
    }
    // Anything else at start-up (a port in use, an interface that does not exist): one line, exit 1.
    const err = e as NodeJS.ErrnoException;
    io.err(`paxos: ${err.code ? `${err.code}: ` : ""}${err.message ?? String(e)}\n`);
    return 1;
  }
}

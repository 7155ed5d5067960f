import { writeFileSync } from "node:fs";
import process from "node:process";
import { Command, CommanderError, Option } from "commander";
import { formatSystemError, parseChoice, parseFraction, parseIntArg, UsageError } from "./errors.ts";
import { bindEnvironment } from "./env.ts";
import { runSimCommand } from "./sim.ts";
import { runNodeCommand } from "./node.ts";
import { runProposeCommand } from "./propose.ts";
import { runClientCommand } from "./client.ts";
import { type KvVerb, runKvCommand } from "./kv.ts";
import { BENCH_DEFAULTS, BenchInterrupted, benchJson, checkJsonTarget, formatBench, runBench, writeBenchJson, type BenchOptions } from "../bench/run.ts";
import { MAX_BENCH_RINGS } from "../bench/multiring-layout.ts";
import { preparePlotDir, writePlots } from "../bench/plots.ts";
import { formatKvBench, runKvBench, type Workload } from "../bench/kv-bench.ts";
import { benchProgress } from "../bench/progress.ts";
import { LIMIT_DEFAULTS, measureLimits } from "../bench/limits.ts";
import { runLimitRole } from "../bench/limit-roles.ts";
import { registerExperimentCommand } from "./experiment.ts";
import { checkConfigFile, ConfigError, findConfigFile } from "../config/load.ts";
import { IdentityError } from "../config/identity.ts";
import { MultiRingSchema, ROLES, type Role } from "../config/schema.ts";
import { createLogger, LOG_FORMATS, type LogFormat } from "../obs/log.ts";
import { versionLine } from "../version.ts";
import { StartupError } from "../node/startup-error.ts";
import { generateKeyText } from "../security/keys.ts";
import { formatWalSummary, inspectWal, NotALogError } from "../ledger/inspect.ts";

export interface Io {
  out(s: string): void;
  err(s: string): void;
}

/** The load generator's defaults (`paxos client`, `paxos node --role client`). */
const CLIENT_DEFAULTS = { rate: 0, window: 32, valueSize: 8192, duration: 10, warmup: 1 } as const;

interface ClientFlags {
  group?: number;
  rate?: number;
  window?: number;
  valueSize?: number;
  duration?: number;
  warmup?: number;
  json?: boolean;
  timeline?: string;
}

const kebab = (k: string): string => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/**
 * Runs the `paxos` command line. Returns the exit code: 0 success, 1 a failed check,
 * 2 bad usage (one line on stderr, never a stack trace).
 */
export async function runCli(argv: readonly string[], io: Io): Promise<number> {
  let code = 0;
  const runClient = (o: ClientFlags & { config?: string; id?: number }): Promise<number> =>
    runClientCommand(
      {
        rate: o.rate ?? CLIENT_DEFAULTS.rate,
        window: o.window ?? CLIENT_DEFAULTS.window,
        valueSize: o.valueSize ?? CLIENT_DEFAULTS.valueSize,
        durationMs: Math.round((o.duration ?? CLIENT_DEFAULTS.duration) * 1000),
        warmupMs: Math.round((o.warmup ?? CLIENT_DEFAULTS.warmup) * 1000),
        json: o.json ?? false,
        ...(o.timeline !== undefined ? { timeline: o.timeline } : {}),
        ...(o.group !== undefined ? { group: o.group } : {}),
        ...(o.config ? { config: o.config } : {}),
        ...(o.id !== undefined ? { id: o.id } : {}),
      },
      io.out,
      io.err,
    );
  const program = new Command()
    .name("paxos")
    .description("Ring Paxos atomic broadcast toolkit: M-Ring and U-Ring Paxos, with a deterministic fault simulator")
    // Not .version(string): the commit is asked of git when not compiled in, so only on demand.
    .option("-V, --version", "print the version, the commit it was built from and the runtime")
    .on("option:version", () => {
      io.out(`${versionLine()}\n`);
      throw new CommanderError(0, "commander.version", versionLine());
    })
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err, outputError: () => {} })
    .showHelpAfterError(false);

  program
    .command("keygen")
    .description("print a fresh cluster key (32 random bytes as 64 hex digits) for security.keyFile: paxos keygen > cluster.key && chmod 600 cluster.key")
    .action(() => {
      io.out(generateKeyText());
    });

  program
    .command("sim")
    .description("run the protocol cores in the deterministic simulator and check agreement, integrity, total order and liveness")
    .addOption(
      new Option("--variant <v>", "mring, uring, both, or multiring (2-4 rings, each M-Ring or U-Ring, with skip instances and merging learners)")
        .argParser(parseChoice("--variant", ["mring", "uring", "both", "multiring"] as const))
        .default("both"),
    )
    .addOption(new Option("--seeds <n>", "number of seeds per variant").argParser(parseIntArg("--seeds", 1, 100_000_000)).default(500))
    .addOption(new Option("--from <n>", "first seed").argParser(parseIntArg("--from", 0, 2 ** 31)).default(1))
    .addOption(new Option("--seed <n>", "run this one seed (replay)").argParser(parseIntArg("--seed", 0, 2 ** 32)))
    .addOption(new Option("--ledger <kind>", "durable (acceptors recover what they persisted) or ram (acceptor crashes are permanent); default: drawn per seed").argParser(parseChoice("--ledger", ["durable", "ram"] as const)))
    .addOption(new Option("--ring <n>", "number of acceptors, 1..9; default: drawn per seed (3..9)").argParser(parseIntArg("--ring", 1, 9)))
    .addOption(new Option("--max-loss <p>", "upper bound of the per-seed message loss rate (0..0.9)").argParser(parseFraction("--max-loss", 0.9)))
    .addOption(new Option("--max-dup <p>", "upper bound of the per-seed duplication rate (0..0.9)").argParser(parseFraction("--max-dup", 0.9)))
    .option("--no-faults", "a fault-free network: no loss, duplication, partitions, crashes or usurpers")
    .addOption(new Option("--liveness-ticks <n>", "ticks (1 ms) after healing within which every value must be delivered").argParser(parseIntArg("--liveness-ticks", 100, 10_000_000)))
    .addOption(
      new Option("--app <app>", "kv: every replica hosts the key-value service (durable state, restarts from it, state transfer); checks that replicas answer alike and end in the same state").argParser(
        parseChoice("--app", ["kv"] as const),
      ),
    )
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
          ...(o.app !== undefined ? { app: o.app } : {}),
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
    .description("run one process of a cluster with the roles its configuration gives it, until SIGINT/SIGTERM; SIGUSR2 makes it stand for leadership now")
    .option("--config <file>", configHelp)
    .addOption(new Option("--id <n>", "this node's id in the configuration (default: the only node whose host is local)").argParser(parseIntArg("--id", 0, 255)))
    .addOption(new Option("--role <role>", `only a node that has this role (${ROLES.join("|")}); repeatable or comma-separated`).argParser(roleParser))
    .option("--output <file|->", "learners: append one JSON line per delivered value to FILE (resuming after its last instance on a restart), or - for stdout")
    .addOption(new Option("--from-instance <n>", "learners: start delivering at instance N (a fresh consumer; a non-empty --output file says where to resume instead)").argParser(parseIntArg("--from-instance", 0, Number.MAX_SAFE_INTEGER)))
    .addOption(new Option("--stats-ms <ms>", "print a JSON stats line (delivered values and bytes, CPU, RSS) to stderr this often").argParser(parseIntArg("--stats-ms", 10, 3_600_000)))
    .addOption(new Option("--log-format <format>", "json (one JSON object per line) or console (time level msg key=value); default: console when stderr is a terminal, else json").argParser(parseChoice("--log-format", LOG_FORMATS)))
    .addOption(new Option("--log-level <level>", "debug, info, warn, error or silent (log lines on stderr)").argParser(parseChoice("--log-level", ["debug", "info", "warn", "error", "silent"] as const)).default("info"))
    .addOption(new Option("--rate <values/s>", "with --role client: the load generator's options (see paxos client --help)").argParser(parseIntArg("--rate", 0, 100_000_000)))
    .addOption(new Option("--window <n>").argParser(parseIntArg("--window", 1, 4096)).hideHelp())
    .addOption(new Option("--value-size <bytes>").argParser(parseIntArg("--value-size", 1, 16 * 1024 * 1024)).hideHelp())
    .addOption(new Option("--duration <s>").argParser(parseFraction("--duration", 86_400)).hideHelp())
    .addOption(new Option("--warmup <s>").argParser(parseFraction("--warmup", 86_400)).hideHelp())
    .addOption(new Option("--json").hideHelp())
    .addOption(new Option("--timeline <file>").hideHelp())
    .action(async (o: ClientFlags & { config?: string; id?: number; role?: Role[]; output?: string; fromInstance?: number; statsMs?: number; logLevel: "debug" | "info" | "warn" | "error" | "silent"; logFormat?: LogFormat }, cmd: Command) => {
      // Only flags given on the command line: a PAXOS_WINDOW meant for clients must not stop a node sharing the environment.
      const clientFlags = (["rate", "window", "valueSize", "duration", "warmup", "json", "timeline"] as const).filter((k) => o[k] !== undefined && cmd.getOptionValueSource(k) === "cli");
      if (o.role?.includes("client")) {
        // `paxos node --role client` is the load generator, as `paxos client`.
        if (o.role.length > 1) throw new UsageError(`--role client runs the load generator: give it alone (got ${o.role.join(",")})`);
        code = await runClient(o);
        return;
      }
      if (clientFlags.length > 0) throw new UsageError(`--${kebab(clientFlags[0] as string)}: only with --role client (the load generator)`);
      code = await runNodeCommand(
        {
          log: createLogger({ level: o.logLevel, ...(o.logFormat ? { format: o.logFormat } : {}) }),
          ...(o.config ? { config: o.config } : {}),
          ...(o.id !== undefined ? { id: o.id } : {}),
          ...(o.role ? { roles: o.role } : {}),
          ...(o.output ? { output: o.output } : {}),
          ...(o.fromInstance !== undefined ? { fromInstance: o.fromInstance } : {}),
          ...(o.statsMs !== undefined ? { statsMs: o.statsMs } : {}),
        },
        io.err,
      );
    });

  program
    .command("client")
    .description("client load generator: closed loop with a window, or open loop at a rate; reports throughput and latency")
    .option("--config <file>", configHelp)
    .addOption(new Option("--id <n>", "the client node's id (default: the only local node with role client)").argParser(parseIntArg("--id", 0, 255)))
    .addOption(new Option("--rate <values/s>", `open loop at this rate (0: closed loop; default ${CLIENT_DEFAULTS.rate})`).argParser(parseIntArg("--rate", 0, 100_000_000)))
    .addOption(new Option("--window <n>", `values in flight (closed loop), or the proposer window (open loop); default ${CLIENT_DEFAULTS.window}`).argParser(parseIntArg("--window", 1, 4096)))
    .addOption(new Option("--value-size <bytes>", `size of each value (default ${CLIENT_DEFAULTS.valueSize})`).argParser(parseIntArg("--value-size", 1, 16 * 1024 * 1024)))
    .addOption(new Option("--duration <s>", `measured run length, after the warm-up (default ${CLIENT_DEFAULTS.duration})`).argParser(parseFraction("--duration", 86_400)))
    .addOption(new Option("--warmup <s>", `proposing first for this long, left out of the figures (default ${CLIENT_DEFAULTS.warmup})`).argParser(parseFraction("--warmup", 86_400)))
    .option("--json", "print the report as one JSON line")
    .option("--timeline <file>", 'also write one JSON line per value delivered to FILE: {"t": wall clock, ms since the epoch, "us": propose-to-delivery latency}')
    .addOption(new Option("--group <g>", "Multi-Ring: the group the values go to (required with a `rings` configuration)").argParser(parseIntArg("--group", 0, 65_535)))
    .action(async (o: ClientFlags & { config?: string; id?: number }) => {
      code = await runClient(o);
    });

  program
    .command("propose")
    .description("submit values through this host's client node; print the instance of each once it is decided")
    .argument("<values...>", "values to propose (UTF-8 strings), or - to read one value per line from standard input")
    .option("--config <file>", configHelp)
    .addOption(new Option("--id <n>", "the client node's id (default: the only local node with role client)").argParser(parseIntArg("--id", 0, 255)))
    .addOption(new Option("--timeout-ms <ms>", "give up when no value was decided for this long while some wait").argParser(parseIntArg("--timeout-ms", 1, 3_600_000)).default(10_000))
    .addOption(new Option("--group <g>", "Multi-Ring: the group the values go to (required with a `rings` configuration)").argParser(parseIntArg("--group", 0, 65_535)))
    .action(async (values: string[], o: { config?: string; id?: number; timeoutMs: number; group?: number }) => {
      code = await runProposeCommand(
        { values, timeoutMs: o.timeoutMs, ...(o.config ? { config: o.config } : {}), ...(o.id !== undefined ? { id: o.id } : {}), ...(o.group !== undefined ? { group: o.group } : {}) },
        io.out,
        io.err,
      );
    });

  const kvCmd = program.command("kv").description("the key-value service: one command against its replicas (from --endpoints, or the configuration's nodes with a kv section)");
  const kvVerbs: [KvVerb, string, string][] = [
    ["put", "<key> <value>", "write a value (prints its revision)"],
    ["insert", "<key> <value>", "write only if the key is absent (else exit 1, EXISTS)"],
    ["update", "<key> <value>", "write only if the key is present (else exit 1, NOT_FOUND)"],
    ["get", "<key>", "print the value (exit 1 when the key is absent); linearizable, through the log"],
    ["delete", "<key>", "delete the key"],
    ["cas", "<key> <expected-revision> <value>", "write only if the key's revision is the expected one (0: absent); else exit 1 naming the current revision"],
    ["range", "", "list keys in [--from, --to) in byte order, at most --limit"],
    ["batch", "<writes...>", "write several keys at one revision, all or none: each write is put:KEY=VALUE or delete:KEY (on a partitioned service, through the group every replica learns)"],
    ["watch", "<prefix>", "print each change of a key starting with <prefix> as one replica applies it (type, key, value, revision), until interrupted; --from-revision R starts in the past"],
  ];
  for (const [verb, args, description] of kvVerbs) {
    const c = kvCmd.command(`${verb}${args ? ` ${args}` : ""}`).description(description);
    c.option("--endpoints <urls>", "replica base URLs, comma-separated (default: every node with a kv section in the configuration)")
      .option("--config <file>", configHelp)
      .option("--json", "print the result as JSON", false)
      .addOption(new Option("--timeout-ms <ms>", "per attempt; a replica that does not answer in time is retried, the next one with the same command id").argParser(parseIntArg("--timeout-ms", 1, 60_000)).default(5000));
    if (verb === "watch") c.addOption(new Option("--from-revision <r>", "replay the changes from this revision on, if the replica still holds them (else exit 1, COMPACTED)").argParser(parseIntArg("--from-revision", 0, Number.MAX_SAFE_INTEGER)));
    if (verb === "range") {
      c.option("--from <key>", "first key (default: the first)")
        .option("--to <key>", "end, excluded (default: none)")
        .addOption(new Option("--limit <n>", "at most this many keys").argParser(parseIntArg("--limit", 1, 10_000)).default(100));
    }
    c.action(async (...xs: unknown[]) => {
      const o = xs[xs.length - 2] as { endpoints?: string; config?: string; json: boolean; timeoutMs: number; from?: string; to?: string; limit?: number; fromRevision?: number };
      const positional = xs.slice(0, -2).flatMap((x) => (Array.isArray(x) ? x.map(String) : [String(x)]));
      code = await runKvCommand({ verb, args: positional, json: o.json, timeoutMs: o.timeoutMs, ...pickDefined(o, ["endpoints", "config", "from", "to", "limit", "fromRevision"]) }, io.out, io.err);
    });
  }

  program
    .command("ledger")
    .description("write-ahead-log tools")
    .command("inspect")
    .description("summarize a node's write-ahead log (segments, records, instance range, last promise); read-only, safe beside a running node")
    .argument("<dir>", "the node's log directory: <ledger.dir>/node-<id>")
    .option("--verify", "check the checksum of every record (exit 1 and name the file and offset of the first damaged one)", false)
    .option("--json", "print the summary as JSON", false)
    .action((dir: string, o: { verify: boolean; json: boolean }) => {
      const s = inspectWal(dir, o.verify);
      io.out(o.json ? `${JSON.stringify(s)}\n` : formatWalSummary(s));
    });

  registerExperimentCommand(program, io);

  // The peers of `paxos bench --limits` (bench/limit-roles.ts): not for operators, hidden from help.
  program
    .command("_limit", { hidden: true })
    .argument("<role>")
    .argument("[args...]")
    .action(async (role: string, args: string[]) => runLimitRole(role, args));

  const d = BENCH_DEFAULTS;
  program
    .command("bench")
    .description("start a whole cluster on this host, drive it with closed-loop clients, and report throughput, latency, CPU and memory")
    .addOption(new Option("--variant <v>", "mring or uring").argParser(parseChoice("--variant", ["mring", "uring"] as const)).default(d.variant))
    .addOption(new Option("--ring <n>", "number of acceptors, odd (f = (n-1)/2; M-Ring puts f+1 on the ring)").argParser(parseIntArg("--ring", 1, 9)).default(d.ring))
    .addOption(new Option("--value-size <bytes>", "size of each value").argParser(parseIntArg("--value-size", 1, 8 * 1024 * 1024)).default(d.valueSize))
    .addOption(new Option("--window <n>", "values each client keeps in flight").argParser(parseIntArg("--window", 1, 4096)).default(d.window))
    .addOption(new Option("--instances <n>", "consensus instances the coordinator keeps in flight").argParser(parseIntArg("--instances", 1, 100_000)).default(d.instances))
    .addOption(new Option("--batch-bytes <n>", "batch size (default: 56 KB M-Ring, whose datagrams cross loopback here; 32 KB U-Ring)").argParser(parseIntArg("--batch-bytes", 1, 64 * 1024 * 1024)))
    .addOption(new Option("--socket-buffer-bytes <n>", "the socket buffers every process asks for: M-Ring's multicast sockets (multicast.recvBufferBytes, sendBufferBytes; default 16 MB) and, U-Ring, its TCP connections (tcp.sendBufferBytes, recvBufferBytes; default: the kernel's autotuning)").argParser(parseIntArg("--socket-buffer-bytes", 4096, 1 << 30)))
    .addOption(new Option("--clients <n>", "client processes").argParser(parseIntArg("--clients", 1, 16)).default(d.clients))
    .option("--clients-learn", "M-Ring: clients learn every value themselves (they receive the multicast) instead of following a learner's delivery notices")
    .option("--auth", "authenticated traffic: the cluster runs with a fresh cluster key (security.keyFile), every message carries a MAC")
    .addOption(new Option("--learners <n>", "learner-only processes").argParser(parseIntArg("--learners", 0, 16)).default(d.learners))
    .addOption(new Option("--duration <s>", "measured run length").argParser(parseFraction("--duration", 86_400)).default(d.durationS))
    .addOption(new Option("--warmup <s>", "excluded from the figures").argParser(parseFraction("--warmup", 3600)).default(d.warmupS))
    .addOption(new Option("--ledger <kind>", "acceptor ledger: ram, or wal (a write-ahead log per acceptor in the run's temporary directory)").argParser(parseChoice("--ledger", ["ram", "wal"] as const)).default(d.ledger))
    .addOption(new Option("--wal-sync <mode>", "with --ledger wal: fsync (fdatasync before every reply, group commit) or none").argParser(parseChoice("--wal-sync", ["fsync", "none"] as const)).default(d.walSync))
    .addOption(new Option("--rate <values/s>", "open loop: each client proposes at this rate instead of keeping --window values in flight").argParser(parseIntArg("--rate", 1, 100_000_000)))
    .addOption(new Option("--rings <k>", `Multi-Ring Paxos: K rings (1..${MAX_BENCH_RINGS}), one group each; --ring, --learners (with --groups-per-learner one) and --clients count per ring`).argParser(parseIntArg("--rings", 1, MAX_BENCH_RINGS)))
    .addOption(new Option("--groups-per-learner <n>", "with --rings: each learner learns every group (all, the merge's worst case) or one (one group, the best case)").argParser(parseChoice("--groups-per-learner", ["all", "one"] as const)).default("all"))
    .option("--share-acceptors", "with --rings: the same acceptor processes serve every ring, ring r coordinated by the (r-1 mod n)-th (default: each ring its own)")
    .addOption(new Option("--lambda <instances/s>", "with --rings: λ, the rate each ring's coordinator makes up with skip instances").argParser(parseIntArg("--lambda", 0, 10_000_000)))
    .addOption(new Option("--delta-ms <ms>", "with --rings: Δ, the skip interval").argParser(parseIntArg("--delta-ms", 1, 60_000)))
    .addOption(new Option("--m <n>", "with --rings: M, instances the merge takes from each ring per turn").argParser(parseIntArg("--m", 1, 1_000_000)))
    .addOption(new Option("--app <app>", "kv: benchmark the key-value service instead of the log (3 acceptors with WAL + fdatasync, 3 replicas; YCSB-style load over HTTP; --variant, --ring, --value-size, --window, --instances, --batch-bytes, --clients, --learners, --ledger, --rate and --rings do not apply)").argParser(parseChoice("--app", ["kv"] as const)))
    .addOption(new Option("--workload <w>", "with --app kv: a (50 % reads, 50 % updates), b (95 % reads) or c (read-only)").argParser(parseChoice("--workload", ["a", "b", "c"] as const)).default("a"))
    .addOption(new Option("--keys <dist>", "with --app kv: key popularity, zipf (YCSB's, θ 0.99) or uniform").argParser(parseChoice("--keys", ["zipf", "uniform"] as const)).default("zipf"))
    .addOption(new Option("--records <n>", "with --app kv: keys, written once before the run (1 KB values)").argParser(parseIntArg("--records", 1, 1_000_000)).default(1000))
    .addOption(new Option("--concurrency <n>", "with --app kv: requests in flight").argParser(parseIntArg("--concurrency", 1, 4096)).default(32))
    .option("--limits", "first measure what this runtime moves on this host (a 5-process TCP ring, a 1 → 3 multicast fan-out, a TCP ping-pong, fdatasync; ~20 s), then report the run's figures also as fractions of them")
    .option("--json <file|->", "also write every figure as JSON to FILE, or to standard output with - (the table then goes to standard error)")
    .option("--plots <dir>", "also draw SVG plots into DIR (created if missing): latency-cdf.svg (latency CDF at the clients) and throughput.svg (learner values/s and MB/s over time)")
    .action(
      async (o: {
        variant: "mring" | "uring";
        ring: number;
        valueSize: number;
        window: number;
        instances: number;
        batchBytes?: number;
        socketBufferBytes?: number;
        clients: number;
        clientsLearn?: boolean;
        auth?: boolean;
        learners: number;
        duration: number;
        warmup: number;
        ledger: "ram" | "wal";
        walSync: "fsync" | "none";
        json?: string;
        plots?: string;
        limits?: boolean;
        rate?: number;
        rings?: number;
        groupsPerLearner: "all" | "one";
        shareAcceptors?: boolean;
        lambda?: number;
        deltaMs?: number;
        m?: number;
        app?: "kv";
        workload: "a" | "b" | "c";
        keys: "zipf" | "uniform";
        records: number;
        concurrency: number;
      }) => {
        if (o.app === "kv") {
          if (o.limits === true) throw new UsageError("--limits: measured for the log's benchmark, not with --app kv");
          code = await runKvBenchCommand(o);
          return;
        }
        const multiRing = benchMultiRing(o);
        if (o.ring % 2 === 0) throw new UsageError(`--ring: ${o.ring} acceptors: use an odd number`);
        if (o.variant === "mring" && o.learners === 0) throw new UsageError("--learners: M-Ring needs at least one learner process");
        // Output paths are checked before the cluster starts: a run must not be lost at its end.
        if (o.json !== undefined) checkJsonTarget(o.json);
        if (o.plots !== undefined) preparePlotDir(o.plots);
        // The limits match the run's shape: a ring of as many processes as U-Ring's, as many multicast receivers as M-Ring's (all but the leader).
        const limitShape = { ringProcesses: o.ring + o.learners + o.clients, receivers: o.ring - 1 + o.learners };
        const limits = o.limits === true ? await measureLimits({ ...LIMIT_DEFAULTS, ...limitShape }, (l) => io.err(`paxos bench: ${l}\n`)) : null;
        const progress = benchProgress(o.duration, { write: io.err, ...(process.stderr.isTTY ? { tty: process.stderr } : {}) });
        const run = await runBench(
          {
            variant: o.variant,
            ring: o.ring,
            valueSize: o.valueSize,
            window: o.window,
            instances: o.instances,
            clients: o.clients,
            clientsLearn: o.clientsLearn === true,
            auth: o.auth === true,
            learners: o.learners,
            durationS: o.duration,
            warmupS: o.warmup,
            ledger: o.ledger,
            walSync: o.walSync,
            ...(o.batchBytes ? { batchBytes: o.batchBytes } : {}),
            ...(o.socketBufferBytes ? { socketBufferBytes: o.socketBufferBytes } : {}),
            ...(o.json ? { json: o.json } : {}),
            ...(o.rate ? { rate: o.rate } : {}),
            ...(multiRing ? { multiRing } : {}),
          },
          progress,
        ).finally(() => progress.stop());
        const result = limits === null ? run : { ...run, limits };
        if (o.json === "-") {
          io.out(benchJson(result));
          io.err(formatBench(result));
        } else {
          io.out(formatBench(result));
          if (o.json !== undefined) writeBenchJson(o.json, result);
        }
        if (o.plots !== undefined) for (const f of await writePlots(o.plots, result)) io.err(`paxos bench: plot ${f}\n`);
      },
    );

  /** `--rings` and its options: the Multi-Ring part of a bench, or null (options that need --rings refused without it). */
  function benchMultiRing(o: { rings?: number; groupsPerLearner: "all" | "one"; shareAcceptors?: boolean; lambda?: number; deltaMs?: number; m?: number }): BenchOptions["multiRing"] | null {
    if (o.rings === undefined) {
      const stray = (["lambda", "deltaMs", "m", "shareAcceptors"] as const).find((k) => o[k] !== undefined);
      if (stray) throw new UsageError(`--${stray.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: only with --rings`);
      return null;
    }
    const d = MultiRingSchema.parse({});
    return { rings: o.rings, groupsPerLearner: o.groupsPerLearner, shareAcceptors: o.shareAcceptors === true, lambdaPerSecond: o.lambda ?? d.lambdaPerSecond, deltaMs: o.deltaMs ?? d.deltaMs, m: o.m ?? d.m };
  }

  // Every option of every command can come from the environment (PAXOS_CONFIG, PAXOS_ID, …).
  bindEnvironment(program);
  // A command that reads the cluster configuration checks all of it first, host names included:
  // every problem at once, before any socket opens.
  program.hook("preAction", async (_program, command) => {
    // paxos kv with --endpoints needs no configuration.
    if (command.getOptionValue("endpoints") !== undefined) return;
    if (command.options.some((op) => op.attributeName() === "config")) await checkConfigFile(findConfigFile(command.getOptionValue("config") as string | undefined));
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
    if (e instanceof StartupError) {
      // A socket that could not open: one line naming the configuration key, exit 1.
      io.err(`paxos: ${e.message}\n`);
      return 1;
    }
    if (e instanceof BenchInterrupted) {
      io.err(`\npaxos: ${e.message}\n`);
      return 130;
    }
    if (e instanceof UsageError || e instanceof IdentityError || e instanceof ConfigError || e instanceof NotALogError) {
      io.err(`paxos: ${e.message}\n`);
      return 2;
    }
    // Anything else at start-up (a port in use, an interface that does not exist): one line, exit 1.
    const err = e as NodeJS.ErrnoException;
    io.err(`paxos: ${formatSystemError(err)}\n`);
    return 1;
  }
}

/** The keys of `o` that are set, for options typed with exactOptionalPropertyTypes. */
function pickDefined<T extends object, K extends keyof T>(o: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

/** `paxos bench --app kv`: one run of the key-value service alone (bench/kv-vs-etcd.ts compares it with etcd). */
async function runKvBenchCommand(o: { workload: Workload; keys: "zipf" | "uniform"; records: number; concurrency: number; duration: number; warmup: number; json?: string; rings?: number; rate?: number }): Promise<number> {
  if (o.rings !== undefined || o.rate !== undefined) throw new UsageError("--app kv: --rings and --rate do not apply (its load is a closed loop of --concurrency requests on one ring)");
  if (o.json !== undefined) checkJsonTarget(o.json);
  const r = await runKvBench({ workload: o.workload, zipf: o.keys === "zipf", records: o.records, concurrency: o.concurrency, warmupMs: o.warmup * 1000, durationMs: o.duration * 1000 });
  const table = formatKvBench(r);
  if (o.json === "-") {
    process.stdout.write(`${JSON.stringify(r)}\n`);
    process.stderr.write(table);
  } else {
    process.stdout.write(table);
    if (o.json !== undefined) writeFileSync(o.json, `${JSON.stringify(r, null, 2)}\n`);
  }
  return r.opsPerSec > 0 ? 0 : 1;
}

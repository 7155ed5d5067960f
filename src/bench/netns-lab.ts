/**
 * A lab of Linux network namespaces for benchmarks that need a real network between processes:
 * one namespace per process ("host"), each with a veth into a bridge that lives in a namespace of
 * its own (the hub), and the egress of every host's interface shaped by `tc ... tbf` if asked.
 * Nothing is added to the host's own namespace (no interface, route or qdisc) unless a test asks
 * for a port of its own on the bridge (attachHere); deleting the namespaces deletes the veth
 * pairs, the qdiscs and the bridge with them. Partitions (isolate, heal) are nftables rules on
 * the bridge, in the hub.
 *
 *   host ns [eth0 10.78.0.(10+id), tbf on egress] ── veth ── [p<id>] hub ns: bridge br0
 *
 * Namespaces are named `pxs<pid>-...` (or another prefix) after the process that made them, so
 * that a later run can delete those of a run that was killed (SIGKILL leaves them behind) and no
 * others. Everything made is registered before it is made, and `reapSync` (also on exit) kills
 * every process started in a namespace and deletes every namespace, the hub last.
 *
 * Same approach as tests/e2e/netns.test.ts (which keeps the bridge's IGMP snooping off); here the
 * bridge snoops with a querier of its own (see Lab.build).
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import process from "node:process";

const PREFIX = "pxs";

export function ip(...args: string[]): string {
  return execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 10_000 });
}

export function tc(...args: string[]): string {
  return execFileSync("tc", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 10_000 });
}

/** Runs an nft script in namespace `ns` (nft has no netns flag of its own). */
export function nft(ns: string, script: string): string {
  return execFileSync("ip", ["netns", "exec", ns, "nft", "-f", "-"], { input: script, encoding: "utf8", stdio: ["pipe", "pipe", "pipe"], timeout: 10_000 });
}

export function errText(e: unknown): string {
  if (e instanceof Error) {
    const stderr = (e as { stderr?: unknown }).stderr;
    const s = typeof stderr === "string" ? stderr : Buffer.isBuffer(stderr) ? stderr.toString() : "";
    return (s.trim() || e.message).split("\n")[0] ?? e.message;
  }
  return String(e);
}

/** Why this host cannot run the lab (root, iproute2, namespaces, bridge, veth, tbf), or null when it can. */
export function labUnavailable(): string | null {
  if (process.platform !== "linux") return `not Linux (${process.platform})`;
  if (typeof process.getuid !== "function" || process.getuid() !== 0) return "not root";
  for (const [cmd, arg] of [
    ["ip", "-V"],
    ["tc", "-V"],
  ] as const) {
    const r = spawnSync(cmd, [arg], { stdio: "ignore" });
    if (r.error || r.status !== 0) return `\`${cmd}\` (iproute2) is not usable${r.error ? `: ${r.error.message}` : ""}`;
  }
  const probe = `${PREFIX}${process.pid}-probe`;
  try {
    ip("netns", "add", probe);
  } catch (e) {
    return `\`ip netns add\` failed: ${errText(e)}`;
  }
  try {
    ip("-n", probe, "link", "add", "pbr", "type", "bridge", "mcast_snooping", "1", "mcast_querier", "1");
    ip("-n", probe, "link", "add", "pa", "type", "veth", "peer", "name", "pb");
    tc("-n", probe, "qdisc", "add", "dev", "pa", "root", "tbf", "rate", "100mbit", "burst", "32kb", "limit", "1mb");
    execFileSync("ip", ["netns", "exec", probe, "true"], { stdio: "ignore", timeout: 10_000 });
    return null;
  } catch (e) {
    return `cannot create a bridge / veth pair / tbf qdisc / run in a namespace: ${errText(e)}`;
  } finally {
    try {
      ip("netns", "del", probe);
    } catch {
      /* nothing to do */
    }
  }
}

/** Why nft cannot filter a lab bridge's frames (Lab.isolate), or null when it can; ask labUnavailable() first. */
export function nftUnavailable(): string | null {
  const r = spawnSync("nft", ["--version"], { stdio: "ignore" });
  if (r.error || r.status !== 0) return `\`nft\` (nftables) is not usable${r.error ? `: ${r.error.message}` : ""}`;
  const probe = `${PREFIX}${process.pid}-nftprobe`;
  try {
    ip("netns", "add", probe);
  } catch (e) {
    return `\`ip netns add\` failed: ${errText(e)}`;
  }
  try {
    nft(probe, "add table bridge probe\nadd chain bridge probe cut { type filter hook forward priority 0; policy accept; }");
    return null;
  } catch (e) {
    return `nft cannot filter a bridge's frames: ${errText(e)}`;
  } finally {
    try {
      ip("netns", "del", probe);
    } catch {
      /* nothing to do */
    }
  }
}

/**
 * Deletes the namespaces (and kills the processes in them) of runs of ours whose process is gone:
 * those named `<prefix><pid>-…` (the lab's prefix by default; tests/e2e/netns.test.ts has its own).
 */
export function deleteStaleNamespaces(prefix = PREFIX): string[] {
  const deleted: string[] = [];
  let list = "";
  try {
    list = ip("netns", "list");
  } catch {
    return deleted;
  }
  for (const line of list.split("\n")) {
    const name = line.split(" ")[0] ?? "";
    const m = new RegExp(`^${prefix}(\\d+)-`).exec(name);
    if (!m || Number(m[1]) === process.pid) continue;
    try {
      process.kill(Number(m[1]), 0);
      continue; // its run is alive
    } catch {
      /* dead: its namespaces are ours to delete */
    }
    try {
      // Nodes of that run left running (they run until SIGTERM): only processes inside its namespace.
      for (const pid of ip("netns", "pids", name).split("\n").filter(Boolean)) process.kill(Number(pid), "SIGKILL");
    } catch {
      /* none, or gone meanwhile */
    }
    try {
      ip("netns", "del", name);
      deleted.push(name);
    } catch {
      /* gone meanwhile */
    }
  }
  return deleted;
}

export interface LabHost {
  readonly id: number;
  readonly ns: string;
  readonly addr: string;
  /** The hub-side end of its veth: its tx counters are the host's rx and the other way round. */
  readonly port: string;
}

export interface Shaping {
  /** tbf rate, Mbit/s (10^6 bits/s, as tc counts). */
  readonly rateMbit: number;
  /** tbf bucket, bytes. */
  readonly burstBytes: number;
  /** tbf queue, bytes: what waits beyond it is dropped. */
  readonly limitBytes: number;
}

/** The root namespace's port on a lab's bridge (Lab.attachHere): its interface there, its address, the bridge's end. */
export interface LabPort {
  readonly ifname: string;
  readonly addr: string;
  readonly port: string;
}

/** The hub's nftables table of partitions (Lab.isolate). */
const CUT_TABLE = "lab_cut";

/** A process started in a host's namespace: its stderr lines (the last ones) and, if kept, stdout. */
export interface LabProc {
  readonly id: number;
  readonly child: ChildProcess;
  readonly lines: string[];
  out: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Interface counters (bytes and packets each way, drops) as `ip -s -j link` gives them. */
export interface LinkCounters {
  readonly rxBytes: number;
  readonly rxPackets: number;
  readonly rxDropped: number;
  readonly txBytes: number;
  readonly txPackets: number;
  readonly txDropped: number;
}

/** The counters of a tbf qdisc (`tc -s -j qdisc show`). */
export interface QdiscCounters {
  readonly bytes: number;
  readonly packets: number;
  readonly drops: number;
  readonly overlimits: number;
  readonly requeues: number;
}

const MAX_LINES = 4000;

/** How long after the querier is turned on the bridge still floods multicast (its query response interval), ms. */
export const QUERIER_DELAY_MS = 1000;

/** Every lab of this process, for the exit handler. */
const LABS = new Set<Lab>();

export class Lab {
  readonly hub: string;
  readonly bridge = "br0";
  readonly hosts = new Map<number, LabHost>();
  private readonly liveNs = new Set<string>();
  private readonly procs = new Set<LabProc>();
  /** When the bridge's querier was turned on (ms since the epoch): it floods multicast for QUERIER_DELAY_MS after. */
  querierSince = 0;

  /** The root namespace's own port on the bridge, once attachHere made it. */
  here: LabPort | null = null;

  /**
   * `name`: a short tag of this lab (several labs of one process need distinct ones); `prefix`:
   * of its namespaces' names (a test keeps its own, to clean up only its stale runs).
   */
  constructor(
    readonly name: string,
    readonly subnet = "10.78.0",
    readonly prefix = PREFIX,
  ) {
    this.hub = `${prefix}${process.pid}-${name}-hub`;
    LABS.add(this);
  }

  /**
   * The hub with its bridge, and a namespace per host joined to it, with the egress of every
   * host's eth0 shaped by tbf (null: not shaped).
   *
   * The bridge snoops IGMP and is a querier itself. A bridge floods every multicast datagram to
   * every port unless it snoops and knows a querier: Linux forwards by its multicast database only
   * while a querier exists (br_multicast_querier_exists), and there is no router here to be one.
   * Flooding would not break the caps (they are on egress, and a host that did not join a group
   * drops its datagrams), but with K rings every host's kernel would take in all K rings' multicast,
   * i.e. up to K x the cap of receive work on 2 cores, which is CPU the rings then lack, and a
   * ring's learner could no longer be seen to receive its own ring only. With snooping and the
   * querier, each ring's 2A datagrams reach only the hosts that joined its group (its acceptors
   * and learners); Lab.portCounters shows what each host received.
   */
  build(ids: readonly number[], shaping: Shaping | null): LabHost[] {
    this.liveNs.add(this.hub);
    ip("netns", "add", this.hub);
    // Timers in centiseconds. Turning the querier on arms a delay of one query response interval
    // (10 s by default) during which the bridge still floods: 1 s here, and a startup query a
    // second so that every member reports soon. The querier is set after the intervals (ip
    // applies them in the kernel's order, not ours).
    ip("-n", this.hub, "link", "add", this.bridge, "type", "bridge", "mcast_snooping", "1", "mcast_query_response_interval", "100", "mcast_startup_query_interval", "100");
    ip("-n", this.hub, "link", "set", this.bridge, "type", "bridge", "mcast_querier", "1");
    this.querierSince = Date.now();
    ip("-n", this.hub, "link", "set", this.bridge, "up");
    const out: LabHost[] = [];
    for (const id of ids) {
      const ns = `${this.prefix}${process.pid}-${this.name}-${id}`;
      const addr = `${this.subnet}.${10 + id}`;
      const port = `p${id}`;
      this.liveNs.add(ns);
      ip("netns", "add", ns);
      ip("link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", port, "netns", this.hub);
      ip("-n", this.hub, "link", "set", port, "master", this.bridge);
      ip("-n", this.hub, "link", "set", port, "up");
      ip("-n", ns, "link", "set", "lo", "up");
      ip("-n", ns, "addr", "add", `${addr}/24`, "dev", "eth0");
      ip("-n", ns, "link", "set", "eth0", "up");
      ip("-n", ns, "route", "add", "224.0.0.0/4", "dev", "eth0");
      if (shaping)
        tc(
          "-n",
          ns,
          "qdisc",
          "add",
          "dev",
          "eth0",
          "root",
          "tbf",
          "rate",
          `${shaping.rateMbit}mbit`,
          "burst",
          String(shaping.burstBytes),
          "limit",
          String(shaping.limitBytes),
        );
      const h = { id, ns, addr, port };
      this.hosts.set(id, h);
      out.push(h);
    }
    return out;
  }

  /**
   * Joins the calling process' own (root) namespace to the bridge, as address `<subnet>.1`, so that
   * it reaches every host directly (a test's clients over HTTP). The one thing a lab adds outside
   * its namespaces: an interface and its subnet's route. Its veth peer is a port of the bridge in
   * the hub, and deleting a namespace deletes its veths with their peers, so the hub's deletion
   * (deleteStaleNamespaces after a killed run) takes the interface away too; reapSync deletes it
   * itself, at once.
   */
  attachHere(): LabPort {
    const ifname = `${this.prefix}${process.pid}-${this.name}`;
    if (ifname.length > 15) throw new Error(`lab ${this.name}: interface name ${ifname} is longer than 15 bytes`);
    const here = { ifname, addr: `${this.subnet}.1`, port: "ph" };
    this.here = here;
    ip("link", "add", ifname, "type", "veth", "peer", "name", here.port, "netns", this.hub);
    ip("-n", this.hub, "link", "set", here.port, "master", this.bridge);
    ip("-n", this.hub, "link", "set", here.port, "up");
    ip("addr", "add", `${here.addr}/24`, "dev", ifname);
    ip("link", "set", ifname, "up");
    return here;
  }

  /**
   * A partition: the bridge drops every frame between host `id` and any port but `keep` (bridge
   * port names: a host's `port`, `here.port`), as a switch that lost a link would: senders see no
   * error, their packets vanish. Several hosts may be cut at once; heal() mends them all.
   */
  isolate(id: number, keep: readonly string[] = []): void {
    const port = this.host(id).port;
    const others = `!= { ${keep.map((k) => JSON.stringify(k)).join(", ")} }`;
    const [from, to] = keep.length === 0 ? ["", ""] : [` oifname ${others}`, ` iifname ${others}`];
    nft(
      this.hub,
      [
        `add table bridge ${CUT_TABLE}`,
        `add chain bridge ${CUT_TABLE} cut { type filter hook forward priority 0; policy accept; }`,
        `add rule bridge ${CUT_TABLE} cut iifname "${port}"${from} drop`,
        `add rule bridge ${CUT_TABLE} cut oifname "${port}"${to} drop`,
      ].join("\n"),
    );
  }

  /** Ends every partition isolate() made. */
  heal(): void {
    nft(this.hub, `add table bridge ${CUT_TABLE}\ndelete table bridge ${CUT_TABLE}`);
  }

  host(id: number): LabHost {
    const h = this.hosts.get(id);
    if (!h) throw new Error(`lab ${this.name}: no host ${id}`);
    return h;
  }

  /** Starts `cmd args` in host `id`'s namespace (`ip netns exec` execs it: the child's pid is the command's). */
  spawn(id: number, cmd: string, args: readonly string[], opts: { keepStdout?: boolean; env?: NodeJS.ProcessEnv; onLine?: (l: string) => void } = {}): LabProc {
    const child = spawn("ip", ["netns", "exec", this.host(id).ns, cmd, ...args], {
      stdio: ["ignore", opts.keepStdout ? "pipe" : "ignore", "pipe"],
      ...(opts.env ? { env: opts.env } : {}),
    });
    const lines: string[] = [];
    let partial = "";
    const proc: LabProc = {
      id,
      child,
      lines,
      out: "",
      exited: new Promise((resolve) => {
        child.once("exit", (code, signal) => {
          this.procs.delete(proc);
          resolve({ code, signal });
        });
        child.once("error", () => {
          this.procs.delete(proc);
          resolve({ code: -1, signal: null });
        });
      }),
    };
    this.procs.add(proc);
    child.stderr?.on("data", (b: Buffer) => {
      const parts = (partial + b.toString()).split("\n");
      partial = parts.pop() ?? "";
      for (const l of parts) {
        if (!l) continue;
        if (opts.onLine) opts.onLine(l);
        else {
          lines.push(l);
          if (lines.length > MAX_LINES) lines.shift();
        }
      }
    });
    child.stdout?.on("data", (b: Buffer) => (proc.out += b.toString()));
    return proc;
  }

  /** SIGTERM (SIGKILL after `graceMs`); resolves with the exit code (null if killed by a signal). */
  async stop(p: LabProc, graceMs = 5000): Promise<number | null> {
    if (p.child.exitCode === null && p.child.signalCode === null) {
      const kill = setTimeout(() => p.child.kill("SIGKILL"), graceMs);
      p.child.kill("SIGTERM");
      const r = await p.exited;
      clearTimeout(kill);
      return r.code;
    }
    return p.child.exitCode;
  }

  /** Counters of every host's veth as the hub sees them, turned round to the host's view (one `ip` call). */
  portCounters(): Map<number, LinkCounters> {
    const out = new Map<number, LinkCounters>();
    const links = JSON.parse(ip("-n", this.hub, "-s", "-j", "link", "show")) as { ifname: string; stats64?: { rx: Record<string, number>; tx: Record<string, number> } }[];
    for (const h of this.hosts.values()) {
      const l = links.find((x) => x.ifname === h.port);
      if (!l?.stats64) continue;
      const { rx, tx } = l.stats64;
      out.set(h.id, {
        rxBytes: tx["bytes"] ?? 0,
        rxPackets: tx["packets"] ?? 0,
        rxDropped: tx["dropped"] ?? 0,
        txBytes: rx["bytes"] ?? 0,
        txPackets: rx["packets"] ?? 0,
        txDropped: rx["dropped"] ?? 0,
      });
    }
    return out;
  }

  /** The tbf qdisc's counters on a host's eth0 (null without one). */
  qdiscCounters(id: number): QdiscCounters | null {
    const q = (JSON.parse(tc("-n", this.host(id).ns, "-s", "-j", "qdisc", "show", "dev", "eth0")) as Record<string, unknown>[]).find((x) => x["kind"] === "tbf");
    if (!q) return null;
    const n = (k: string): number => (typeof q[k] === "number" ? (q[k] as number) : 0);
    return { bytes: n("bytes"), packets: n("packets"), drops: n("drops"), overlimits: n("overlimits"), requeues: n("requeues") };
  }

  /** The bridge's multicast database: group -> hub ports (i.e. host ids) that joined it. */
  mdb(): Map<string, number[]> {
    const out = new Map<string, number[]>();
    try {
      const j = JSON.parse(execFileSync("bridge", ["-n", this.hub, "-j", "mdb", "show"], { encoding: "utf8", timeout: 10_000 })) as { mdb?: { port: string; grp: string }[] }[];
      for (const e of j.flatMap((x) => x.mdb ?? [])) {
        const id = /^p(\d+)$/.exec(e.port)?.[1];
        if (id === undefined) continue;
        out.set(e.grp, [...(out.get(e.grp) ?? []), Number(id)].sort((a, b) => a - b));
      }
    } catch {
      /* no `bridge` command: left empty */
    }
    return out;
  }

  /** Kills every process still running in the lab and deletes every namespace, the hub last. Synchronous: safe in an exit handler. */
  reapSync(): void {
    for (const p of this.procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
    // The kernel dismantles a deleted namespace later (a work queue), its veths with it: the root
    // namespace's interface is deleted here, so that it is gone when this returns.
    if (this.here) {
      try {
        ip("link", "del", this.here.ifname);
      } catch {
        /* gone already */
      }
    }
    for (const ns of [...this.liveNs].filter((n) => n !== this.hub)) this.deleteNs(ns);
    if (this.liveNs.has(this.hub)) this.deleteNs(this.hub);
    this.hosts.clear();
    this.here = null;
  }

  /** Stops the lab's processes (SIGTERM, then SIGKILL), then deletes its namespaces. */
  async destroy(): Promise<void> {
    await Promise.all([...this.procs].map((p) => this.stop(p)));
    this.reapSync();
    LABS.delete(this);
  }

  private deleteNs(ns: string): void {
    try {
      // A process of ours may still hold it (exiting): kill what runs in it first.
      for (const pid of ip("netns", "pids", ns).split("\n").filter(Boolean)) process.kill(Number(pid), "SIGKILL");
    } catch {
      /* none */
    }
    try {
      ip("netns", "del", ns);
    } catch {
      /* already gone */
    }
    this.liveNs.delete(ns);
  }
}

/** Kills and deletes everything of every lab still alive (exit, error, signals). */
export function reapAllLabs(): void {
  for (const l of LABS) l.reapSync();
  LABS.clear();
}

process.once("exit", reapAllLabs);

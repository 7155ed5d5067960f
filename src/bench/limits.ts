/**
 * What this runtime can move on this host (`paxos bench --limits`), measured in the same run as
 * the benchmark it is compared with, so that a figure can be read as a fraction of a limit rather
 * than as an absolute on a noisy, shared host:
 *
 * - an N-process TCP ring forwarding blocks without decoding them (`node:net`, and Bun's native
 *   sockets where they exist): what U-Ring could reach;
 * - a 1 → N multicast fan-out of datagrams on 127.0.0.1: the highest rate every receiver takes
 *   without loss (the product's own receive path, node:dgram, and send path): what M-Ring could reach;
 * - a TCP ping-pong between two processes: the latency floor of one hop;
 * - write + fdatasync in a loop: what a write-ahead log's group commit waits for.
 *
 * Each part runs its peers as child processes (`paxos _limit ROLE`, limit-roles.ts).
 */
import { spawn, type ChildProcessByStdio } from "node:child_process";
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface, type Interface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { MulticastSocket, randomMulticastPort } from "../net/udp.ts";
import { median } from "./failure-trace.ts";
import { selfCommand } from "./self.ts";

export interface LimitOptions {
  /** Processes in the TCP ring. */
  readonly ringProcesses: number;
  readonly ringBlockBytes: number;
  /** Multicast receivers, and the datagram size. */
  readonly receivers: number;
  readonly datagramBytes: number;
  /** How long each measured step lasts (the ring's window, each multicast rate, the fsync loop). */
  readonly stepMs: number;
}

export const LIMIT_DEFAULTS: LimitOptions = { ringProcesses: 5, ringBlockBytes: 32 * 1024, receivers: 3, datagramBytes: 8192, stepMs: 1500 };

/** Multicast rates tried, datagrams/s, until one loses datagrams. */
const MULTICAST_RATES = [5_000, 10_000, 20_000, 30_000, 40_000, 50_000, 60_000, 80_000, 100_000, 130_000];
/** A step is lossless when every receiver took at least this fraction of what was sent. */
const LOSSLESS_FRACTION = 0.999;
const PING_BYTES = 64;
const PINGS = 4000;
const FSYNC_BYTES = 8192;

export interface Limits {
  readonly options: LimitOptions;
  readonly tcpRing: { readonly nodeNetMBps: number; readonly bunNativeMBps: number | null };
  /** The highest rate tried that no receiver lost from (0: even the lowest lost). */
  readonly multicast: { readonly losslessDatagramsPerSec: number; readonly losslessMBps: number };
  readonly pingPong: { readonly rttP50Us: number; readonly oneHopUs: number };
  readonly fdatasync: { readonly perSec: number; readonly p50Us: number };
}

export async function measureLimits(o: LimitOptions, say: (line: string) => void = () => {}): Promise<Limits> {
  say(`limits: TCP ring of ${o.ringProcesses} processes (node:net)`);
  const nodeNetMBps = await tcpRing("ring-node", o);
  const hasBun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";
  say("limits: TCP ring (Bun native sockets)");
  const bunNativeMBps = hasBun ? await tcpRing("ring-bun", o) : null;
  say(`limits: multicast 1 → ${o.receivers}`);
  const rate = await multicastLossless(o);
  say("limits: TCP ping-pong");
  const rtt = await pingPong();
  say("limits: fdatasync");
  const fsync = fdatasyncLoop(o.stepMs);
  return {
    options: o,
    tcpRing: { nodeNetMBps, bunNativeMBps },
    multicast: { losslessDatagramsPerSec: rate, losslessMBps: mbps(rate * o.datagramBytes) },
    pingPong: { rttP50Us: rtt, oneHopUs: Math.round(rtt / 2) },
    fdatasync: fsync,
  };
}

const mbps = (bytesPerSec: number): number => Math.round(bytesPerSec / 1e4) / 100;

/** A child running one role, read line by line. */
class Peer {
  private readonly lines: Interface;
  private readonly waiting: { resolve(line: string): void; reject(e: Error): void }[] = [];
  private readonly pending: string[] = [];
  private exited: Error | null = null;

  constructor(private readonly p: ChildProcessByStdio<Writable, Readable, null>) {
    this.lines = createInterface({ input: p.stdout });
    this.lines.on("line", (l) => {
      const w = this.waiting.shift();
      if (w) w.resolve(l);
      else this.pending.push(l);
    });
    p.once("exit", (code) => {
      this.exited = new Error(`a limit child exited (${String(code)}) before answering`);
      for (const w of this.waiting.splice(0)) w.reject(this.exited);
    });
  }

  static start(role: string, args: readonly (string | number)[]): Peer {
    const self = selfCommand();
    const p = spawn(self.cmd, [...self.args, "_limit", role, ...args.map(String)], { stdio: ["pipe", "pipe", "inherit"] });
    return new Peer(p);
  }

  /** The next line the child prints (rejects if it exits first). */
  line(): Promise<string> {
    const l = this.pending.shift();
    if (l !== undefined) return Promise.resolve(l);
    if (this.exited) return Promise.reject(this.exited);
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  async ready(): Promise<number> {
    const l = await this.line();
    if (!l.startsWith("ready")) throw new Error(`a limit child said "${l}" instead of ready`);
    return Number(l.split(" ")[1] ?? 0);
  }

  tell(line: string): void {
    this.p.stdin.write(`${line}\n`);
  }

  async count(): Promise<number> {
    this.tell("report");
    const l = await this.line();
    return Number(l.split(" ")[1]);
  }

  stop(): void {
    this.p.stdin.end("quit\n");
    this.lines.close();
  }
}

/** MB/s through node 0 of a ring of `ringProcesses` children that forward 16 circulating blocks without decoding them. */
async function tcpRing(role: "ring-node" | "ring-bun", o: LimitOptions): Promise<number> {
  const inflight = 16;
  const peers = Array.from({ length: o.ringProcesses }, (_, i) => Peer.start(role, [i, o.ringBlockBytes, inflight]));
  try {
    const ports = await Promise.all(peers.map((p) => p.ready()));
    // Connected back to front, so that node 0 starts its blocks into a ring that is whole.
    for (let i = peers.length - 1; i >= 0; i--) (peers[i] as Peer).tell(`next ${ports[(i + 1) % peers.length] as number}`);
    await sleep(o.stepMs / 3); // warm-up
    const first = peers[0] as Peer;
    const a = await first.count();
    const t0 = performance.now();
    await sleep(o.stepMs);
    const b = await first.count();
    return mbps(((b - a) * 1000) / (performance.now() - t0));
  } finally {
    for (const p of peers) p.stop();
  }
}

/**
 * Unicast one-to-many: MB/s each of `receivers` children gets when one sender writes every block
 * of `blockBytes` to each of them over TCP (the slowest receiver's rate; limit-roles.ts).
 */
export async function unicastFanOut(receivers: number, blockBytes: number, stepMs: number): Promise<number> {
  const sinks = Array.from({ length: receivers }, () => Peer.start("tcp-sink", []));
  const sender = Peer.start("ucast-send", [blockBytes]);
  try {
    const ports = await Promise.all(sinks.map((p) => p.ready()));
    await sender.ready();
    for (const port of ports) sender.tell(`next ${port}`);
    sender.tell("start");
    await sleep(stepMs / 3); // warm-up
    const a = await Promise.all(sinks.map((p) => p.count()));
    const t0 = performance.now();
    await sleep(stepMs);
    const b = await Promise.all(sinks.map((p) => p.count()));
    const s = (performance.now() - t0) / 1000;
    return mbps(Math.min(...b.map((x, i) => (x - (a[i] as number)) / s)));
  } finally {
    sender.stop();
    for (const p of sinks) p.stop();
  }
}

/** The highest of MULTICAST_RATES at which every receiver took LOSSLESS_FRACTION of what was sent. */
async function multicastLossless(o: LimitOptions): Promise<number> {
  const group = "239.77.9.9";
  const port = randomMulticastPort();
  const peers = Array.from({ length: o.receivers }, () => Peer.start("mcast-recv", [group, port]));
  const sender = await MulticastSocket.open({ group, port, interface: "127.0.0.1", join: false, maxDatagram: 65_507, maxPendingSends: 1 << 16 });
  try {
    await Promise.all(peers.map((p) => p.ready()));
    const payload = new Uint8Array(o.datagramBytes);
    let best = 0;
    for (const rate of MULTICAST_RATES) {
      const before = await Promise.all(peers.map((p) => p.count()));
      const sent = await paced(sender, payload, rate, o.stepMs);
      await sleep(100);
      const after = await Promise.all(peers.map((p) => p.count()));
      const worst = Math.min(...after.map((x, i) => x - (before[i] as number)));
      if (worst < sent * LOSSLESS_FRACTION) break;
      best = rate;
    }
    return best;
  } finally {
    await sender.close();
    for (const p of peers) p.stop();
  }
}

/** Sends `rate` datagrams/s for `ms`, in slices of one event-loop turn: the datagrams sent. */
async function paced(sender: MulticastSocket, payload: Uint8Array, rate: number, ms: number): Promise<number> {
  const t0 = performance.now();
  let sent = 0;
  for (;;) {
    const elapsed = performance.now() - t0;
    if (elapsed >= ms) return sent;
    const due = Math.floor((elapsed * rate) / 1000);
    for (; sent < due; sent++) if (!sender.send(payload)) break;
    await new Promise<void>((r) => setImmediate(r));
  }
}

/** The median round trip of PING_BYTES over TCP to a child that echoes them (µs). */
async function pingPong(): Promise<number> {
  const peer = Peer.start("pong", []);
  try {
    const port = await peer.ready();
    const s = net.connect({ host: "127.0.0.1", port });
    await new Promise<void>((r) => s.once("connect", () => r()));
    s.setNoDelay(true);
    const rtts: number[] = [];
    const ping = new Uint8Array(PING_BYTES);
    let got = 0;
    let t = 0;
    await new Promise<void>((done) => {
      s.on("data", (d: Uint8Array) => {
        got += d.byteLength;
        if (got < PING_BYTES) return;
        got = 0;
        rtts.push(performance.now() - t);
        if (rtts.length >= PINGS) return done();
        t = performance.now();
        s.write(ping);
      });
      t = performance.now();
      s.write(ping);
    });
    s.destroy();
    // The first tenth is warm-up (connections, JIT).
    return Math.round(median(rtts.slice(PINGS / 10)) * 1000);
  } finally {
    peer.stop();
  }
}

/** write + fdatasync of FSYNC_BYTES in a temporary directory for `ms`. */
function fdatasyncLoop(ms: number): { perSec: number; p50Us: number } {
  const dir = mkdtempSync(join(tmpdir(), "paxos-limits-"));
  const fd = openSync(join(dir, "sync"), "w");
  const data = new Uint8Array(FSYNC_BYTES);
  const lat: number[] = [];
  try {
    const t0 = performance.now();
    while (performance.now() - t0 < ms) {
      const t = performance.now();
      writeSync(fd, data);
      fdatasyncSync(fd);
      lat.push(performance.now() - t);
    }
    return { perSec: Math.round((lat.length * 1000) / (performance.now() - t0)), p50Us: Math.round(median(lat) * 1000) };
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The limits, one line each. */
export function formatLimits(l: Limits): string {
  const o = l.options;
  const bun = l.tcpRing.bunNativeMBps === null ? "" : `, Bun native sockets ${l.tcpRing.bunNativeMBps.toFixed(1)} MB/s`;
  return [
    "limits of this runtime on this host (same run):",
    `  TCP ring, ${o.ringProcesses} processes forwarding ${o.ringBlockBytes / 1024} KB blocks: node:net ${l.tcpRing.nodeNetMBps.toFixed(1)} MB/s${bun}`,
    `  multicast 1 → ${o.receivers} on 127.0.0.1, ${o.datagramBytes} B datagrams: lossless up to ${l.multicast.losslessDatagramsPerSec.toLocaleString("en-US")}/s (${l.multicast.losslessMBps.toFixed(1)} MB/s)`,
    `  TCP ping-pong, ${PING_BYTES} B: round trip p50 ${l.pingPong.rttP50Us} µs (one hop ${l.pingPong.oneHopUs} µs)`,
    `  write + fdatasync, ${FSYNC_BYTES} B: ${l.fdatasync.perSec.toLocaleString("en-US")}/s (p50 ${l.fdatasync.p50Us} µs)`,
  ].join("\n");
}

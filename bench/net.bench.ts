/**
 * Loopback throughput of the transports (a measurement, not a test):
 *  - TCP: FrameLink → FrameServer, frames of 8 KB and 32 KB, for ~3 s each;
 *  - UDP multicast on 127.0.0.1: 8 KB datagrams from a MulticastSocket (node:dgram), loss counted
 *    at the receiver; under Bun also the same through Bun.udpSocket (send and sendMany).
 * The receiving side runs in a child process (this file with a role argument), so sender and
 * receiver each have a core. Prints MB/s (1 MB = 10^6 bytes) and frames/s.
 *
 * Run: ./node_modules/.bin/bun bench/net.bench.ts [seconds]   (or: deno run -A bench/net.bench.ts)
 */
import { spawn, type ChildProcessByStdio } from "node:child_process";
import process from "node:process";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { FrameLink, FrameServer } from "../src/net/tcp.ts";
import { MulticastSocket, randomMulticastPort } from "../src/net/udp.ts";

const HOST = "127.0.0.1";
const GROUP = "239.77.1.1";

// ---------------------------------------------------------------------------------------------
// Child roles: count what arrives, answer "report" on stdin with "report <frames> <bytes>".

async function child(role: string, arg: string | undefined): Promise<void> {
  let frames = 0;
  let bytes = 0;
  let close: () => Promise<void>;
  if (role === "tcp-server") {
    const server = new FrameServer({
      host: HOST,
      onFrame: (f) => {
        frames++;
        bytes += f.byteLength;
      },
    });
    const { port } = await server.listen();
    close = () => server.close();
    console.log(`ready ${port}`);
  } else if (role === "udp-receiver") {
    const rx = await MulticastSocket.open({
      group: GROUP,
      port: Number(arg),
      interface: HOST,
      recvBufferBytes: 8 * 1024 * 1024,
      maxDatagram: 65507,
      onMessage: (p) => {
        frames++;
        bytes += p.byteLength;
      },
    });
    close = () => rx.close();
    console.log(`ready ${rx.port} ${rx.bufferSizes.recvObtained}`);
  } else {
    throw new Error(`unknown role ${role}`);
  }
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === "report") console.log(`report ${frames} ${bytes}`);
    if (line === "exit") break;
  }
  await close();
  process.exit(0);
}

/** A child process in `role`, with a line reader on its stdout. */
class Peer {
  private readonly proc: ChildProcessByStdio<Writable, Readable, null>;
  private readonly waiting: ((line: string) => void)[] = [];
  private readonly lines: string[] = [];

  constructor(role: string, arg?: string) {
    const self = fileURLToPath(import.meta.url);
    const args = isDeno() ? ["run", "-A", self, role] : [self, role];
    if (arg !== undefined) args.push(arg);
    this.proc = spawn(process.execPath, args, { stdio: ["pipe", "pipe", "inherit"] });
    createInterface({ input: this.proc.stdout }).on("line", (l) => {
      const w = this.waiting.shift();
      if (w) w(l);
      else this.lines.push(l);
    });
  }

  next(): Promise<string> {
    const l = this.lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    return new Promise((r) => this.waiting.push(r));
  }

  async report(): Promise<{ frames: number; bytes: number }> {
    this.proc.stdin.write("report\n");
    const parts = (await this.next()).split(" ");
    return { frames: Number(parts[1]), bytes: Number(parts[2]) };
  }

  async stop(): Promise<void> {
    const exited = new Promise<void>((r) => this.proc.once("exit", () => r()));
    this.proc.stdin.write("exit\n");
    await exited;
  }
}

function isDeno(): boolean {
  return "Deno" in globalThis;
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function line(label: string, frames: number, bytes: number, seconds: number, extra = ""): void {
  const mbs = (bytes / 1e6 / seconds).toFixed(1);
  const fps = Math.round(frames / seconds).toLocaleString("en-US");
  console.log(`${label.padEnd(62)} ${mbs.padStart(8)} MB/s ${fps.padStart(10)} frames/s${extra}`);
}

// ---------------------------------------------------------------------------------------------
// TCP

async function benchTcp(size: number, seconds: number): Promise<void> {
  const peer = new Peer("tcp-server");
  const port = Number((await peer.next()).split(" ")[1]);
  const link = new FrameLink({ host: HOST, port });
  const payload = new Uint8Array(size).fill(7);
  // Keep about 1 MB queued: enough to never starve the socket, and bounded.
  const highWater = 1024 * 1024;
  link.connect();
  while (!link.isUp) await sleep(1);
  const r0 = await peer.report();
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  while (performance.now() < end) {
    while (link.queuedBytes < highWater) link.send(payload);
    await tick();
  }
  const r1 = await peer.report();
  const dt = (performance.now() - t0) / 1000;
  line(`tcp FrameLink→FrameServer ${size / 1024} KB frames`, r1.frames - r0.frames, r1.bytes - r0.bytes, dt);
  link.close();
  await peer.stop();
}

// ---------------------------------------------------------------------------------------------
// UDP multicast

interface Sender {
  readonly name: string;
  /** Sends up to `n` datagrams now; returns how many were accepted. */
  burst(n: number): number;
  /** Sender-side backlog drained enough to go on. */
  ready(): boolean;
  close(): Promise<void> | void;
}

async function nodeDgramSender(port: number, payload: Uint8Array): Promise<Sender> {
  // Send-only (join: false), like the Bun sockets below: it does not receive its own datagrams.
  const tx = await MulticastSocket.open({ group: GROUP, port, interface: HOST, join: false, sendBufferBytes: 4 * 1024 * 1024, recvBufferBytes: 0 });
  return {
    name: "node:dgram MulticastSocket.send",
    burst: (n) => {
      let k = 0;
      while (k < n && tx.send(payload)) k++;
      return k;
    },
    ready: () => tx.pendingSends < 64,
    close: () => tx.close(),
  };
}

async function bunSender(port: number, payload: Uint8Array, many: boolean): Promise<Sender | null> {
  if (typeof Bun === "undefined" || typeof Bun.udpSocket !== "function") return null;
  let writable = true;
  const sock = await Bun.udpSocket({
    hostname: "0.0.0.0",
    port: 0,
    socket: {
      drain: () => {
        writable = true;
      },
    },
  });
  sock.setMulticastInterface(HOST);
  sock.setMulticastTTL(1);
  const batch = 32;
  const packets: (Uint8Array | string | number)[] = [];
  for (let i = 0; i < batch; i++) packets.push(payload, port, GROUP);
  return {
    name: many ? `Bun.udpSocket sendMany (${batch}/call)` : "Bun.udpSocket send",
    burst: (n) => {
      let k = 0;
      if (many) {
        while (k < n && writable) {
          const sent = sock.sendMany(packets);
          k += sent;
          if (sent < batch) writable = false;
        }
      } else {
        while (k < n && writable) {
          if (sock.send(payload, port, GROUP)) k++;
          else writable = false;
        }
      }
      return k;
    },
    ready: () => writable,
    close: () => sock.close(),
  };
}

async function benchUdp(make: (port: number, payload: Uint8Array) => Promise<Sender | null>, seconds: number): Promise<void> {
  const port = randomMulticastPort();
  const size = 8192;
  const payload = new Uint8Array(size).fill(9);
  const sender = await make(port, payload);
  if (!sender) return;
  const peer = new Peer("udp-receiver", String(port));
  const ready = (await peer.next()).split(" ");
  const rcvbuf = Number(ready[2]);
  const r0 = await peer.report();
  const { sent, dt } = await pump(sender, seconds);
  await sleep(300); // stragglers
  const r1 = await peer.report();
  const got = r1.frames - r0.frames;
  const loss = sent > 0 ? (100 * (sent - got)) / sent : 0;
  line(`udp multicast 8 KB, ${sender.name}`, got, r1.bytes - r0.bytes, dt, `  (sent ${Math.round(sent / dt).toLocaleString("en-US")}/s, loss ${loss.toFixed(1)} %, rcvbuf ${rcvbuf})`);
  await sender.close();
  await peer.stop();
}

/** Sends bursts for `seconds`; returns datagrams sent and the elapsed seconds. */
async function pump(sender: Sender, seconds: number): Promise<{ sent: number; dt: number }> {
  let sent = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  while (performance.now() < end) {
    if (sender.ready()) sent += sender.burst(256);
    await tick();
  }
  return { sent, dt: (performance.now() - t0) / 1000 };
}

/** Sender cost alone: nobody joined the group, so the kernel drops the datagrams after sending. */
async function benchSendOnly(make: (port: number, payload: Uint8Array) => Promise<Sender | null>, seconds: number): Promise<void> {
  const payload = new Uint8Array(8192).fill(3);
  const sender = await make(randomMulticastPort(), payload);
  if (!sender) return;
  const { sent, dt } = await pump(sender, seconds);
  line(`udp send only (no member) 8 KB, ${sender.name}`, sent, sent * payload.byteLength, dt);
  await sender.close();
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 3);
  const runtime = isDeno() ? `Deno ${(globalThis as unknown as { Deno: { version: { deno: string } } }).Deno.version.deno}` : typeof Bun !== "undefined" ? `Bun ${Bun.version}` : `Node ${process.version}`;
  console.log(`net bench on ${runtime}, ${seconds} s per run, loopback, receiver in a child process`);
  await benchTcp(8 * 1024, seconds);
  await benchTcp(32 * 1024, seconds);
  await benchUdp(nodeDgramSender, seconds);
  await benchUdp((p, d) => bunSender(p, d, false), seconds);
  await benchUdp((p, d) => bunSender(p, d, true), seconds);
  const short = Math.max(1, seconds / 3);
  await benchSendOnly(nodeDgramSender, short);
  await benchSendOnly((p, d) => bunSender(p, d, false), short);
  await benchSendOnly((p, d) => bunSender(p, d, true), short);
}

const role = process.argv[2];
if (role === "tcp-server" || role === "udp-receiver") await child(role, process.argv[3]);
else await main();

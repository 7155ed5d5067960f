/**
 * The child processes of `paxos bench --limits` (limits.ts), one role each, run by the hidden
 * command `paxos _limit ROLE ...`. A role prints `ready [port]` once it listens, then answers
 * lines on its standard input: `next PORT` (a ring node: connect to the next node; a unicast
 * sender: add a receiver), `start` (a unicast sender: start sending), `report` (print `count N`
 * with the bytes or datagrams it received, or sent to each receiver, so far), `quit`.
 */
import net from "node:net";
import process from "node:process";
import { createInterface } from "node:readline";
import { MulticastSocket } from "../net/udp.ts";

const HOST = "127.0.0.1";

/** What a role does with the commands of its standard input. */
interface Role {
  /** Bytes or datagrams received so far. */
  count(): number;
  next?(port: number): void;
  start?(): void;
}

export async function runLimitRole(role: string, args: readonly string[]): Promise<void> {
  const r = await openRole(role, args);
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    const [cmd, arg] = line.trim().split(/\s+/);
    if (cmd === "report") process.stdout.write(`count ${r.count()}\n`);
    else if (cmd === "next" && r.next) r.next(Number(arg));
    else if (cmd === "start" && r.start) r.start();
    else if (cmd === "quit") break;
  }
  process.exit(0);
}

async function openRole(role: string, args: readonly string[]): Promise<Role> {
  switch (role) {
    case "ring-node":
      return ringNodeNodeNet(Number(args[0]), Number(args[1]), Number(args[2]));
    case "ring-bun":
      return ringNodeBun(Number(args[0]), Number(args[1]), Number(args[2]));
    case "mcast-recv":
      return multicastReceiver(String(args[0]), Number(args[1]));
    case "pong":
      return pong();
    case "tcp-sink":
      return tcpSink();
    case "ucast-send":
      return unicastSender(Number(args[0]));
    default:
      throw new Error(`unknown limit role ${role}`);
  }
}

/** A block of `bytes` (what the first ring node puts in circulation, `inflight` times). */
const block = (bytes: number): Uint8Array => new Uint8Array(bytes).map((_, i) => i & 0xff);

/**
 * A ring node over node:net: forwards every byte it receives to the next node, without decoding.
 * Node 0 starts `inflight` blocks; the ring then carries a fixed amount of data, so no queue grows.
 */
async function ringNodeNodeNet(index: number, blockBytes: number, inflight: number): Promise<Role> {
  let received = 0;
  let out: net.Socket | null = null;
  const early: Uint8Array[] = [];
  const server = net.createServer((s) => {
    s.setNoDelay(true);
    s.on("data", (d: Uint8Array) => {
      received += d.byteLength;
      if (out) out.write(d);
      else early.push(d);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  process.stdout.write(`ready ${(server.address() as net.AddressInfo).port}\n`);
  return {
    count: () => received,
    next(port) {
      const s = net.connect({ host: HOST, port }, () => {
        s.setNoDelay(true);
        out = s;
        for (const d of early.splice(0)) s.write(d);
        if (index === 0) for (let i = 0; i < inflight; i++) s.write(block(blockBytes));
      });
    },
  };
}

/** Bun's socket as the runtime gives it (typed locally: no dependency on Bun's types). */
interface BunSocket {
  write(data: Uint8Array): number;
}
interface BunNet {
  listen(o: { hostname: string; port: number; socket: { data(s: BunSocket, d: Uint8Array): void; open?(s: BunSocket): void } }): { port: number };
  connect(o: { hostname: string; port: number; socket: { data(s: BunSocket, d: Uint8Array): void; drain(s: BunSocket): void; open(s: BunSocket): void } }): Promise<BunSocket>;
}

/** The same ring node over Bun's native sockets (Bun.listen / Bun.connect); a partial write keeps the rest for the drain. */
async function ringNodeBun(index: number, blockBytes: number, inflight: number): Promise<Role> {
  const bun = (globalThis as { Bun?: BunNet }).Bun;
  if (!bun) throw new Error("ring-bun needs Bun");
  let received = 0;
  let out: BunSocket | null = null;
  const queue: Uint8Array[] = [];
  const pump = (): void => {
    while (out && queue.length > 0) {
      const d = queue[0] as Uint8Array;
      const n = out.write(d);
      if (n < d.byteLength) {
        queue[0] = d.subarray(Math.max(0, n));
        return;
      }
      queue.shift();
    }
  };
  const send = (d: Uint8Array): void => {
    if (out && queue.length === 0) {
      const n = out.write(d);
      if (n >= d.byteLength) return;
      d = d.subarray(Math.max(0, n));
    }
    // What waits for the drain is copied: the received buffer may be reused after the callback.
    queue.push(d.slice());
  };
  const server = bun.listen({ hostname: HOST, port: 0, socket: { data: (_s, d) => ((received += d.byteLength), send(d)) } });
  process.stdout.write(`ready ${server.port}\n`);
  return {
    count: () => received,
    next(port) {
      void bun.connect({
        hostname: HOST,
        port,
        socket: {
          data() {},
          drain: pump,
          open(s) {
            out = s;
            if (index === 0) for (let i = 0; i < inflight; i++) queue.push(block(blockBytes));
            pump();
          },
        },
      });
    },
  };
}

/** A member of the multicast group on 127.0.0.1 that counts the datagrams it receives. */
async function multicastReceiver(group: string, port: number): Promise<Role> {
  let received = 0;
  await MulticastSocket.open({ group, port, interface: HOST, maxDatagram: 65_507, onMessage: () => void received++ });
  process.stdout.write("ready\n");
  return { count: () => received };
}

/** Echoes every byte back on the connection it came from (the ping-pong's far end). */
async function pong(): Promise<Role> {
  const server = net.createServer((s) => {
    s.setNoDelay(true);
    s.on("data", (d: Uint8Array) => s.write(d));
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  process.stdout.write(`ready ${(server.address() as net.AddressInfo).port}\n`);
  return { count: () => 0 };
}

/** Counts the bytes every connection brings (a receiver of the unicast fan-out). */
async function tcpSink(): Promise<Role> {
  let received = 0;
  const server = net.createServer((s) => s.on("data", (d: Uint8Array) => void (received += d.byteLength)));
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  process.stdout.write(`ready ${(server.address() as net.AddressInfo).port}\n`);
  return { count: () => received };
}

/**
 * Unicast one-to-many (thesis Fig. 3.2): the sender writes every block to each receiver in turn,
 * over a TCP connection each, and waits for every connection that asks for a drain before the
 * next block: each receiver gets the whole stream, and the sender's link carries it N times.
 */
async function unicastSender(blockBytes: number): Promise<Role> {
  const socks: net.Socket[] = [];
  const b = block(blockBytes);
  let sent = 0;
  let running = false;
  const pump = async (): Promise<void> => {
    for (;;) {
      let blocked = false;
      for (const s of socks) if (!s.write(b)) blocked = true;
      sent += b.byteLength;
      if (blocked) await Promise.all(socks.filter((s) => s.writableNeedDrain).map((s) => new Promise((r) => s.once("drain", r))));
      // Let the event loop turn (the commands on standard input) even when no write blocks.
      else await new Promise((r) => setImmediate(r));
    }
  };
  process.stdout.write("ready\n");
  return {
    count: () => sent,
    next(port) {
      const s = net.connect({ host: HOST, port }, () => s.setNoDelay(true));
      socks.push(s);
    },
    start() {
      if (running) return;
      running = true;
      void pump();
    },
  };
}

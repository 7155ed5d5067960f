import { afterEach, describe, expect, test } from "bun:test";
import * as net from "node:net";
import { fileURLToPath } from "node:url";
import { FRAME_HEADER_BYTES } from "../../src/net/frame.ts";
import { DEFAULT_LINK_QUEUE_BYTES, FrameLink, FrameServer, type RemoteAddress } from "../../src/net/tcp.ts";
import { bytes, numbered, runFixture, sameBytes, seqOf, sleep, waitFor } from "./helpers.ts";

const HOST = "127.0.0.1";

/** Everything a test opened, closed after it whatever happened. */
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

function server(onFrame: (f: Uint8Array, from: RemoteAddress) => void, port = 0, maxFrame?: number): FrameServer {
  const s = new FrameServer({ host: HOST, port, onFrame, ...(maxFrame === undefined ? {} : { maxFrame }) });
  cleanups.push(() => s.close());
  return s;
}

function link(options: Omit<ConstructorParameters<typeof FrameLink>[0], "host">): FrameLink {
  const l = new FrameLink({ host: HOST, ...options });
  cleanups.push(() => l.close());
  return l;
}

/** A loopback port with nobody listening (taken from the OS, then released). */
async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, HOST, () => r()));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  return port;
}

describe("FrameServer + FrameLink", () => {
  test("listening on port 0 exposes the real port", async () => {
    const s = server(() => {});
    expect(() => s.port).toThrow();
    const bound = await s.listen();
    expect(bound.port).toBeGreaterThan(0);
    expect(s.port).toBe(bound.port);
    expect(s.address).toEqual({ address: HOST, port: bound.port });
  });

  test("1000 frames of random sizes arrive intact and in order", async () => {
    const got: Uint8Array[] = [];
    const froms = new Set<number>();
    const s = server((f, from) => {
      got.push(f);
      froms.add(from.id);
    });
    const { port } = await s.listen();
    let ups = 0;
    const l = link({ port, onUp: () => ups++ });
    const sent: Uint8Array[] = [];
    let seed = 7;
    for (let i = 0; i < 1000; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      // Mostly small, some up to 256 KB (several TCP chunks each).
      const size = 4 + (i % 10 === 0 ? seed % 262_144 : seed % 2048);
      const p = numbered(i, size);
      sent.push(p);
      expect(l.send(p)).toBe(true);
      if (i % 100 === 99) await sleep(1); // let some go out while others queue
    }
    await waitFor(() => got.length === 1000, "1000 frames", 10_000);
    for (let i = 0; i < 1000; i++) {
      expect(seqOf(got[i]!)).toBe(i);
      if (!sameBytes(got[i]!, sent[i]!)) throw new Error(`frame ${i} corrupted`);
    }
    expect(froms.size).toBe(1);
    expect(ups).toBe(1);
    expect(l.stats.sent).toBe(1000);
    expect(l.stats.dropped).toBe(0);
    expect(s.stats.frames).toBe(1000);
    expect(s.stats.bytes).toBe(sent.reduce((n, p) => n + p.byteLength, 0));
    expect(l.queuedBytes).toBe(0);
  }, 15_000);

  test("a wrapped link sends each write as one frame: head, the frames as they would have gone, tail", async () => {
    const got: Uint8Array[] = [];
    const s = server((f) => got.push(f));
    const { port } = await s.listen();
    const writes: number[] = [];
    const wrap = {
      headBytes: 3,
      tailBytes: (n: number) => (n % 2) + 1,
      seal(payload: Uint8Array, framesBytes: number): boolean {
        payload.set([0xaa, 0xbb, 0xcc], 0);
        payload.fill(0xdd, 3 + framesBytes);
        writes.push(framesBytes);
        return true;
      },
    };
    const l = link({ port, wrap });
    const sent = Array.from({ length: 50 }, (_, i) => numbered(i, 8 + i));
    for (const p of sent) expect(l.send(p)).toBe(true);
    await waitFor(() => got.length === writes.length && writes.length > 0 && writes.reduce((a, b) => a + b, 0) === sent.reduce((n, p) => n + FRAME_HEADER_BYTES + p.byteLength, 0), "every frame", 5000);
    // Unwrap: every received frame is head + frames + tail; the frames inside are the ones sent, in order.
    const inner: Uint8Array[] = [];
    got.forEach((f, k) => {
      expect([...f.subarray(0, 3)]).toEqual([0xaa, 0xbb, 0xcc]);
      const n = writes[k] as number;
      expect(f.byteLength).toBe(3 + n + (n % 2) + 1);
      for (let at = 3; at < 3 + n; ) {
        const len = new DataView(f.buffer, f.byteOffset).getUint32(at);
        inner.push(f.subarray(at + 4, at + 4 + len));
        at += 4 + len;
      }
    });
    expect(inner.map((f) => seqOf(f))).toEqual(sent.map((_, i) => i));
    expect(l.stats.sent).toBe(50);
  });

  test("a wrapped link refuses a payload whose wrapped frame would be above maxFrame", () => {
    const wrap = { headBytes: 16, tailBytes: () => 32, seal: () => true };
    const l = link({ port: 9, maxFrame: 1000, wrap });
    expect(l.send(new Uint8Array(1000 - 16 - 32 - 4))).toBe(true);
    expect(l.send(new Uint8Array(1000 - 16 - 32 - 3))).toBe(false);
    expect(l.stats.oversize).toBe(1);
    l.close();
  });

  test("a link started before its server connects when the server appears, backing off meanwhile", async () => {
    const port = await freePort();
    const got: number[] = [];
    let ups = 0;
    const l = link({ port, onUp: () => ups++, backoffInitialMs: 10, backoffMaxMs: 1000 });
    expect(l.state).toBe("idle");
    for (let i = 0; i < 5; i++) expect(l.send(numbered(i, 16))).toBe(true);
    await sleep(400);
    // Backoff 10, 20, 40, 80, 160 ms...: a handful of attempts in 400 ms, not dozens.
    const failures = l.stats.connectFailures;
    expect(failures).toBeGreaterThanOrEqual(3);
    expect(failures).toBeLessThanOrEqual(8);
    expect(ups).toBe(0);
    expect(l.isUp).toBe(false);
    expect(l.queuedFrames).toBe(5);
    const s = server((f) => got.push(seqOf(f)), port);
    await s.listen();
    await waitFor(() => got.length === 5, "the queued frames", 3000);
    expect(got).toEqual([0, 1, 2, 3, 4]);
    expect(ups).toBe(1);
    expect(l.isUp).toBe(true);
    expect(l.stats.connects).toBe(1);
  }, 10_000);

  test("server restart: the link reports down, reconnects, and later frames arrive", async () => {
    const got: number[] = [];
    const s1 = server((f) => got.push(seqOf(f)));
    const { port } = await s1.listen();
    const events: string[] = [];
    const l = link({ port, onUp: () => events.push("up"), onDown: () => events.push("down") });
    for (let i = 0; i < 10; i++) l.send(numbered(i, 64));
    await waitFor(() => got.length === 10, "the first frames");
    await s1.close();
    await waitFor(() => events.includes("down"), "the down transition");
    expect(l.isUp).toBe(false);
    // Sent while the peer is away: queued, flushed on reconnection.
    for (let i = 10; i < 20; i++) expect(l.send(numbered(i, 64))).toBe(true);
    await sleep(50);
    const s2 = server((f) => got.push(seqOf(f)), port);
    await s2.listen();
    await waitFor(() => got.length === 20, "the frames sent while down", 5000);
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(events).toEqual(["up", "down", "up"]);
    l.send(numbered(20, 64));
    await waitFor(() => got.length === 21, "a frame after reconnection");
    expect(l.stats.disconnects).toBe(1);
    expect(l.stats.connects).toBe(2);
  }, 10_000);

  test("a client declaring an oversized frame is disconnected; another client keeps working", async () => {
    const got: { seq: number; from: number }[] = [];
    const disconnects: { id: number; reason: string | null }[] = [];
    const s = new FrameServer({
      host: HOST,
      port: 0,
      maxFrame: 1024,
      onFrame: (f, from) => got.push({ seq: seqOf(f), from: from.id }),
      onDisconnect: (from, reason) => disconnects.push({ id: from.id, reason }),
    });
    cleanups.push(() => s.close());
    const { port } = await s.listen();
    const good = link({ port });
    good.send(numbered(1, 100));
    await waitFor(() => got.length === 1, "the good client's first frame");

    const bad = net.connect({ host: HOST, port });
    cleanups.push(() => bad.destroy());
    let badClosed = false;
    bad.on("error", () => {});
    bad.on("close", () => (badClosed = true));
    await new Promise<void>((r) => bad.once("connect", () => r()));
    // One valid frame, then a header declaring 1025 bytes (> maxFrame 1024).
    const header = new Uint8Array([0, 0, 0, 4, 0, 0, 0, 99, 0, 0, 0x04, 0x01, 1, 2, 3]);
    bad.write(header);
    await waitFor(() => badClosed, "the server closing the bad client");
    expect(got.map((g) => g.seq)).toEqual([1, 99]);
    expect(s.stats.dropped).toBe(1);
    expect(disconnects.length).toBe(1);
    expect(disconnects[0]!.reason).toContain("1025");

    for (let i = 2; i <= 50; i++) good.send(numbered(i, 500));
    await waitFor(() => got.length === 51, "the good client's later frames");
    expect(got.slice(2).every((g) => g.from === got[0]!.from)).toBe(true);
    expect(s.stats.open).toBe(1);
    expect(good.isUp).toBe(true);
  }, 10_000);

  test("a link closes a connection whose peer sends back an oversized frame, and reconnects", async () => {
    let accepted = 0;
    const raw = net.createServer((sock) => {
      accepted++;
      sock.on("error", () => {});
      sock.write(new Uint8Array([0xff, 0xff, 0xff, 0xff]));
    });
    cleanups.push(() => new Promise<void>((r) => raw.close(() => r())));
    await new Promise<void>((r) => raw.listen(0, HOST, () => r()));
    const port = (raw.address() as net.AddressInfo).port;
    const downs: string[] = [];
    const l = link({ port, onDown: (reason) => downs.push(reason) });
    l.connect();
    await waitFor(() => downs.length >= 1 && accepted >= 2, "a drop and a reconnection");
    expect(downs[0]).toContain("bad frame");
  });

  test("queue bound: with the peer down, send returns false once full and counts drops", async () => {
    const port = await freePort();
    const l = link({ port, maxQueueBytes: 1000 });
    const size = FRAME_HEADER_BYTES + 100;
    const fits = Math.floor(1000 / size); // 9
    for (let i = 0; i < fits; i++) expect(l.send(bytes(100, i + 1))).toBe(true);
    expect(l.queuedBytes).toBe(fits * size);
    expect(l.send(bytes(100, 99))).toBe(false);
    expect(l.send(bytes(100, 98))).toBe(false);
    expect(l.stats.dropped).toBe(2);
    // A smaller frame that still fits is accepted.
    expect(l.send(bytes(1000 - fits * size - FRAME_HEADER_BYTES, 3))).toBe(true);
    expect(l.queuedBytes).toBe(1000);
    expect(l.send(new Uint8Array(0))).toBe(false);
    expect(l.stats.dropped).toBe(3);
    expect(DEFAULT_LINK_QUEUE_BYTES).toBeGreaterThan(1024 * 1024);
    await sleep(50);
    expect(l.isUp).toBe(false);
    expect(l.queuedBytes).toBe(1000);
  });

  test("payloads above maxFrame are refused by send", () => {
    const l = link({ port: 9, maxFrame: 10 });
    expect(l.send(new Uint8Array(11))).toBe(false);
    expect(l.stats.oversize).toBe(1);
    expect(l.state).toBe("idle");
  });

  test("close() stops the link: no reconnection, sends refused", async () => {
    const port = await freePort();
    const l = link({ port });
    l.send(new Uint8Array(1));
    await sleep(30);
    l.close();
    const failures = l.stats.connectFailures;
    expect(l.state).toBe("closed");
    expect(l.send(new Uint8Array(1))).toBe(false);
    expect(l.queuedBytes).toBe(0);
    await sleep(100);
    expect(l.stats.connectFailures).toBe(failures);
  });

  test("invalid options are refused at construction", () => {
    expect(() => new FrameLink({ host: HOST, port: 0 })).toThrow(RangeError);
    expect(() => new FrameLink({ host: HOST, port: 70000 })).toThrow(RangeError);
    expect(() => new FrameLink({ host: HOST, port: 1, maxQueueBytes: 0 })).toThrow(RangeError);
    expect(() => new FrameServer({ port: -1, onFrame: () => {} })).toThrow(RangeError);
  });

  test("listening on a port in use rejects", async () => {
    const a = server(() => {});
    const { port } = await a.listen();
    const b = server(() => {}, port);
    await expect(b.listen()).rejects.toThrow();
  });

  test("close() leaves no handles: a process using server and links exits by itself", async () => {
    const script = fileURLToPath(new URL("./fixtures/tcp-close.ts", import.meta.url));
    const { code, out } = await runFixture(script, [], cleanups);
    expect(out).toContain("frames 100 deadLinkState backoff");
    expect(code).toBe(0);
  }, 12_000);
});

test("peerAlive: a link waiting out a long backoff reconnects at once when the peer is heard from", async () => {
  const { FrameLink, FrameServer } = await import("../../src/net/tcp.ts");
  const port = await (async () => {
    const probe = new FrameServer({ port: 0, onFrame: () => {} });
    const a = await probe.listen();
    await probe.close();
    return a.port;
  })();
  const got: string[] = [];
  const link = new FrameLink({ host: "127.0.0.1", port, backoffInitialMs: 5000, backoffMaxMs: 5000 });
  link.send(new TextEncoder().encode("early"));
  await new Promise((r) => setTimeout(r, 100)); // refused: now in a 5 s backoff
  expect(link.state).toBe("backoff");
  const server = new FrameServer({ port, onFrame: (f) => got.push(new TextDecoder().decode(f)) });
  await server.listen();
  link.peerAlive();
  const t0 = Date.now();
  while (got.length === 0 && Date.now() - t0 < 2000) await new Promise((r) => setTimeout(r, 10));
  expect(got).toEqual(["early"]);
  expect(Date.now() - t0).toBeLessThan(2000);
  link.close();
  await server.close();
});

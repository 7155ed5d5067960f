import { afterEach, describe, expect, test } from "bun:test";
import * as dgram from "node:dgram";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  DEFAULT_MAX_DATAGRAM,
  MulticastSocket,
  UdpConfigError,
  isMulticastGroup,
  probeMulticast,
  randomMulticastPort,
  type MulticastSocketOptions,
  type UdpAddress,
} from "../../src/net/udp.ts";
import { bytes, runFixture, sameBytes, sleep, waitFor } from "./helpers.ts";

const LO = "127.0.0.1";

// Multicast on loopback needs the kernel to route the group through lo (IP_MULTICAST_IF
// 127.0.0.1 and a membership on 127.0.0.1). Where that does not work, the tests that need it
// are skipped with the reason, rather than failed.
const probe = await probeMulticast({ interface: LO, timeoutMs: 1500 });
const multicast = probe.ok;
if (!probe.ok) {
  console.warn(
    `SKIPPING multicast tests: loopback multicast unavailable here (${probe.reason}). ` +
      "Check 'ip link show lo' (as root: 'ip link set lo multicast on') and 'ip route'.",
  );
}
const mtest = test.skipIf(!multicast);

/** A random group in 239.0.0.0/8 (administratively scoped) so parallel runs do not mix. */
function randomGroup(): string {
  const r = (): number => 1 + Math.floor(Math.random() * 254);
  return `239.${r()}.${r()}.${r()}`;
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function open(options: MulticastSocketOptions): Promise<MulticastSocket> {
  const s = await MulticastSocket.open(options);
  cleanups.push(() => s.close());
  return s;
}

interface Inbox {
  readonly got: { payload: Uint8Array; from: UdpAddress }[];
  readonly onMessage: (payload: Uint8Array, from: UdpAddress) => void;
}
function inbox(): Inbox {
  const got: Inbox["got"] = [];
  return { got, onMessage: (payload, from) => got.push({ payload, from }) };
}

function readSysctl(path: string): number | null {
  if (!existsSync(path)) return null;
  const v = Number(readFileSync(path, "utf8").trim());
  return Number.isFinite(v) && v > 0 ? v : null;
}

describe("isMulticastGroup", () => {
  test("224.0.0.0/4 only", () => {
    for (const g of ["224.0.0.0", "239.1.2.3", "239.255.255.255", "230.0.0.1"]) expect(isMulticastGroup(g)).toBe(true);
    for (const g of ["223.255.255.255", "240.0.0.0", "127.0.0.1", "10.0.0.1", "239.1.2", "239.1.2.3.4", "239.1.2.256", "ff02::1", "", "x"]) {
      expect(isMulticastGroup(g)).toBe(false);
    }
  });
});

describe("MulticastSocket options", () => {
  test("an invalid group is refused with a clear error", async () => {
    for (const group of ["10.0.0.1", "240.0.0.1", "127.0.0.1", "239.1.2", "not-an-ip", ""]) {
      const p = MulticastSocket.open({ group, port: randomMulticastPort(), interface: LO });
      await expect(p).rejects.toBeInstanceOf(UdpConfigError);
      await expect(p).rejects.toThrow(`multicast group must be an IPv4 address within 224.0.0.0/4 (224.0.0.0 - 239.255.255.255), got "${group}"`);
    }
  });

  test("invalid port, interface, ttl and maxDatagram are refused", async () => {
    const group = randomGroup();
    const port = randomMulticastPort();
    await expect(MulticastSocket.open({ group, port: 0 })).rejects.toThrow("port must be an integer in 1..65535");
    await expect(MulticastSocket.open({ group, port: 70000 })).rejects.toThrow(UdpConfigError);
    await expect(MulticastSocket.open({ group, port, interface: "lo" })).rejects.toThrow("interface must be a local IPv4 address");
    await expect(MulticastSocket.open({ group, port, ttl: 256 })).rejects.toThrow("ttl must be an integer in 0..255");
    await expect(MulticastSocket.open({ group, port, maxDatagram: 70000 })).rejects.toThrow("maxDatagram must be an integer in 1..65507");
  });
});

describe("MulticastSocket on loopback", () => {
  for (const nativeSend of [true, false])
    mtest(`two members each receive the datagrams a third sends to the group (${nativeSend ? "the runtime's native sender" : "node:dgram"})`, async () => {
    const group = randomGroup();
    const port = randomMulticastPort();
    const a = inbox();
    const b = inbox();
    const ra = await open({ group, port, interface: LO, onMessage: a.onMessage });
    const rb = await open({ group, port, interface: LO, onMessage: b.onMessage });
    const tx = await open({ group, port, interface: LO, loopback: true, nativeSend });
    expect(tx.sendsNatively).toBe(nativeSend && typeof (globalThis as { Bun?: unknown }).Bun !== "undefined");
    const sent = Array.from({ length: 20 }, (_, i) => bytes(100 + i * 50, i + 1));
    // Half one at a time, half in one burst (one event-loop turn: one sendMany for the native sender).
    for (const p of sent.slice(0, 10)) {
      expect(tx.send(p)).toBe(true);
      await sleep(1);
    }
    for (const p of sent.slice(10)) expect(tx.send(p)).toBe(true);
    await waitFor(() => a.got.length === 20 && b.got.length === 20, "20 datagrams at both members");
    for (const box of [a, b]) {
      box.got.forEach((g, i) => {
        if (!sameBytes(g.payload, sent[i]!)) throw new Error(`datagram ${i} differs`);
        expect(g.from.address).toBe(LO);
      });
    }
    expect(tx.stats.sent).toBe(20);
    expect(tx.stats.sentBytes).toBe(sent.reduce((n, p) => n + p.byteLength, 0));
    expect(ra.stats.received).toBe(20);
    expect(rb.stats.received).toBe(20);
    await waitFor(() => tx.pendingSends === 0, "send completions");
    expect(tx.stats.sendErrors).toBe(0);
  });

  mtest("a send-only socket (join: false) reaches the members and receives nothing itself", async () => {
    const group = randomGroup();
    const port = randomMulticastPort();
    const member = inbox();
    const own = inbox();
    await open({ group, port, interface: LO, onMessage: member.onMessage });
    const tx = await open({ group, port, interface: LO, join: false, onMessage: own.onMessage });
    for (let i = 0; i < 5; i++) expect(tx.send(bytes(50, i + 1))).toBe(true);
    await waitFor(() => member.got.length === 5, "5 datagrams at the member");
    await sleep(50);
    expect(own.got.length).toBe(0);
    expect(tx.stats.received).toBe(0);
  });

  mtest("a member of another group on the same port receives none of them", async () => {
    const group = randomGroup();
    let other = randomGroup();
    while (other === group) other = randomGroup();
    const port = randomMulticastPort();
    const mine = inbox();
    const theirs = inbox();
    await open({ group, port, interface: LO, onMessage: mine.onMessage });
    await open({ group: other, port, interface: LO, onMessage: theirs.onMessage });
    const tx = await open({ group, port, interface: LO });
    for (let i = 0; i < 5; i++) tx.send(bytes(10, i + 1));
    await waitFor(() => mine.got.length === 5, "5 datagrams");
    await sleep(50);
    expect(theirs.got.length).toBe(0);
  });

  mtest("buffer sizes: obtained sizes are reported; asking above net.core.rmem_max warns", async () => {
    const group = randomGroup();
    const port = randomMulticastPort();
    const modest = await open({ group, port, interface: LO, recvBufferBytes: 128 * 1024, sendBufferBytes: 64 * 1024 });
    expect(modest.bufferSizes.recvRequested).toBe(128 * 1024);
    expect(modest.bufferSizes.recvObtained).toBeGreaterThanOrEqual(128 * 1024);
    expect(modest.bufferSizes.sendObtained).toBeGreaterThanOrEqual(64 * 1024);
    expect(modest.warnings.filter((w) => w.includes("SO_RCVBUF") || w.includes("SO_SNDBUF"))).toEqual([]);

    const rmemMax = readSysctl("/proc/sys/net/core/rmem_max");
    const wmemMax = readSysctl("/proc/sys/net/core/wmem_max");
    if (rmemMax === null || wmemMax === null) {
      console.warn("no /proc/sys/net/core/{rmem,wmem}_max (not Linux?): cap check skipped");
      return;
    }
    const ask = rmemMax + 1024 * 1024;
    const askSend = wmemMax + 1024 * 1024;
    const big = await open({ group, port, interface: LO, recvBufferBytes: ask, sendBufferBytes: askSend });
    expect(big.bufferSizes.recvObtained).toBeGreaterThan(0);
    // Linux caps the request at rmem_max and reports it doubled.
    expect(big.bufferSizes.recvObtained).toBeLessThanOrEqual(2 * rmemMax);
    expect(big.bufferSizes.sendObtained).toBeLessThanOrEqual(2 * wmemMax);
    const rcv = big.warnings.find((w) => w.startsWith("SO_RCVBUF"));
    expect(rcv).toBeDefined();
    expect(rcv).toContain(`asked for ${ask} bytes`);
    expect(rcv).toContain(`granted ${big.bufferSizes.recvObtained}`);
    expect(rcv).toContain("net.core.rmem_max");
    expect(big.warnings.some((w) => w.startsWith("SO_SNDBUF") && w.includes("net.core.wmem_max"))).toBe(true);
  });

  mtest("oversize datagrams are refused by send and counted", async () => {
    const group = randomGroup();
    const port = randomMulticastPort();
    const rx = inbox();
    await open({ group, port, interface: LO, onMessage: rx.onMessage });
    const tx = await open({ group, port, interface: LO, maxDatagram: 1000 });
    expect(tx.send(new Uint8Array(1001))).toBe(false);
    expect(tx.sendTo(new Uint8Array(5000), LO, 9)).toBe(false);
    expect(tx.stats.oversize).toBe(2);
    expect(tx.stats.sent).toBe(0);
    expect(tx.send(bytes(1000, 1))).toBe(true);
    await waitFor(() => rx.got.length === 1, "the 1000-byte datagram");
    expect(rx.got[0]!.payload.byteLength).toBe(1000);
    await sleep(30);
    expect(rx.got.length).toBe(1);
    expect(DEFAULT_MAX_DATAGRAM).toBeGreaterThan(8192);
    const dflt = await open({ group, port, interface: LO });
    expect(dflt.maxDatagram).toBe(DEFAULT_MAX_DATAGRAM);
    expect(dflt.send(new Uint8Array(DEFAULT_MAX_DATAGRAM + 1))).toBe(false);
  });

  mtest("a received datagram above the receiver's maxDatagram is dropped and counted", async () => {
    const group = randomGroup();
    const port = randomMulticastPort();
    const rx = inbox();
    const small = await open({ group, port, interface: LO, maxDatagram: 1000, onMessage: rx.onMessage });
    const tx = await open({ group, port, interface: LO, maxDatagram: 4000 });
    tx.send(new Uint8Array(3000));
    tx.send(new Uint8Array(10));
    await waitFor(() => rx.got.length === 1, "the small datagram");
    expect(rx.got[0]!.payload.byteLength).toBe(10);
    expect(small.stats.oversizeReceived).toBe(1);
  });

  mtest("sendTo sends a plain unicast datagram", async () => {
    const plain = dgram.createSocket("udp4");
    cleanups.push(() => new Promise<void>((r) => plain.close(() => r())));
    const got: Uint8Array[] = [];
    plain.on("message", (m) => got.push(m));
    await new Promise<void>((r) => plain.bind(0, LO, () => r()));
    const tx = await open({ group: randomGroup(), port: randomMulticastPort(), interface: LO });
    expect(tx.sendTo(bytes(64, 5), LO, plain.address().port)).toBe(true);
    await waitFor(() => got.length === 1, "the unicast datagram");
    expect(sameBytes(got[0]!, bytes(64, 5))).toBe(true);
    expect(tx.sendTo(new Uint8Array(1), LO, 0)).toBe(false);
  });

  mtest("a multicast TTL the runtime refuses degrades to a warning", async () => {
    // Node accepts a multicast TTL of 0; Bun 1.4.5 and Deno answer EINVAL.
    const s = await open({ group: randomGroup(), port: randomMulticastPort(), interface: LO, ttl: 0 });
    // At most one warning from each socket: the receiving one (node:dgram) and the native sender.
    const ttlWarnings = s.warnings.filter((w) => w.includes("setMulticastTTL"));
    expect(ttlWarnings.length).toBeLessThanOrEqual(2);
    for (const w of ttlWarnings) expect(w).toContain("setMulticastTTL(0) failed");
    expect(s.isClosed).toBe(false);
  });

  mtest("after close(), sends are refused; closing twice is harmless", async () => {
    const s = await MulticastSocket.open({ group: randomGroup(), port: randomMulticastPort(), interface: LO });
    await s.close();
    await s.close();
    expect(s.isClosed).toBe(true);
    expect(s.send(new Uint8Array(1))).toBe(false);
    expect(s.stats.sendErrors).toBe(1);
  });

  mtest("close() leaves no handles: a process using multicast sockets exits by itself", async () => {
    const script = fileURLToPath(new URL("./fixtures/udp-close.ts", import.meta.url));
    const { code, out } = await runFixture(script, [String(randomMulticastPort()), randomGroup()], cleanups);
    expect(out).toContain("received 10");
    expect(code).toBe(0);
  }, 12_000);
});

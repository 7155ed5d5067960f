import { afterEach, describe, expect, test } from "bun:test";
import { FrameLink, FrameServer } from "../../src/net/tcp.ts";
import { socketFd, tcpBufferSizer, TcpBuffers, type TcpBufferSizer } from "../../src/net/tcp-buffers.ts";
import { waitFor } from "./helpers.ts";

const HOST = "127.0.0.1";
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** A server and a link, both sizing their sockets with `buffers`, and one frame across. */
async function connectedPair(server: TcpBuffers, link: TcpBuffers): Promise<void> {
  let got = 0;
  const s = new FrameServer({ host: HOST, port: 0, onFrame: () => void got++, onSocket: server.apply });
  cleanups.push(() => s.close());
  const { port } = await s.listen();
  const l = new FrameLink({ host: HOST, port, onSocket: link.apply });
  cleanups.push(() => l.close());
  l.send(new Uint8Array([1, 2, 3]));
  await waitFor(() => got === 1, "the frame across");
}

describe("TCP socket buffers", () => {
  test("under Bun on Linux a connection gets the sizes asked for, as the kernel reports them (doubled)", async () => {
    expect(tcpBufferSizer()).not.toBeNull();
    const asked = { sendBytes: 48 * 1024, recvBytes: 40 * 1024 };
    const server = new TcpBuffers(asked);
    const link = new TcpBuffers(asked);
    await connectedPair(server, link);
    for (const side of [server, link]) {
      expect(side.status).toEqual({ sendBytes: 2 * asked.sendBytes, recvBytes: 2 * asked.recvBytes, warning: null });
    }
  });

  test("0 leaves a direction to the kernel (its default, not the other direction's size)", async () => {
    const b = new TcpBuffers({ sendBytes: 32 * 1024, recvBytes: 0 });
    await connectedPair(new TcpBuffers({ sendBytes: 0, recvBytes: 0 }), b);
    expect(b.status.sendBytes).toBe(64 * 1024);
    expect(b.status.recvBytes).toBeGreaterThan(0);
    expect(b.status.recvBytes).not.toBe(64 * 1024);
  });

  test("a size above the kernel's cap is reported short, once", async () => {
    const warnings: string[] = [];
    const b = new TcpBuffers({ sendBytes: 1 << 30, recvBytes: 1 << 30 }, (w) => warnings.push(w));
    await connectedPair(new TcpBuffers({ sendBytes: 0, recvBytes: 0 }), b);
    expect(b.status.sendBytes).toBeLessThan(1 << 30);
    expect(b.status.warning).toContain("raise net.core.wmem_max / rmem_max");
    expect(warnings).toEqual([b.status.warning as string]);
  });

  test("a runtime that cannot size sockets warns at once and never fails a connection", async () => {
    const warnings: string[] = [];
    const b = new TcpBuffers({ sendBytes: 65536, recvBytes: 65536 }, (w) => warnings.push(w), null);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("cannot set TCP socket buffers");
    await connectedPair(b, b);
    expect(b.status).toEqual({ sendBytes: 0, recvBytes: 0, warning: warnings[0] as string });
  });

  test("a sizer that fails, or a socket without a descriptor, becomes the warning, not an exception", () => {
    const failing: TcpBufferSizer = () => {
      throw new Error("setsockopt(SO_SNDBUF, 65536) failed on descriptor 9");
    };
    const b = new TcpBuffers({ sendBytes: 65536, recvBytes: 0 }, () => {}, failing);
    b.apply({ _handle: { fd: 9 } });
    expect(b.status.warning).toContain("setsockopt(SO_SNDBUF, 65536) failed");
    const c = new TcpBuffers({ sendBytes: 65536, recvBytes: 0 }, () => {}, failing);
    c.apply({});
    expect(c.status.warning).toContain("does not expose a socket's descriptor");
    expect(socketFd({ _handle: { fd: -1 } })).toBeNull();
    expect(socketFd(null)).toBeNull();
  });
});

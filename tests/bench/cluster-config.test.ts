import { describe, expect, test } from "bun:test";
import { clusterConfig } from "../../src/bench/cluster.ts";
import { ConfigSchema } from "../../src/config/schema.ts";

describe("bench cluster configuration", () => {
  test("socketBufferBytes sets both multicast socket buffers; without it the configuration's defaults stand", async () => {
    const sized = await clusterConfig({ variant: "mring", acceptors: 3, learners: 1, clients: 1, socketBufferBytes: 65536 });
    const m = ConfigSchema.parse(sized.config).multicast;
    expect(m?.recvBufferBytes).toBe(65536);
    expect(m?.sendBufferBytes).toBe(65536);
    const plain = ConfigSchema.parse((await clusterConfig({ variant: "mring", acceptors: 3, learners: 1, clients: 1 })).config).multicast;
    expect(plain?.recvBufferBytes).toBe(16 * 1024 * 1024);
  });
});

describe("bench cluster configuration, U-Ring", () => {
  test("socketBufferBytes sizes the TCP connections (the tcp section); without it there is none", async () => {
    const sized = ConfigSchema.parse((await clusterConfig({ variant: "uring", acceptors: 3, learners: 1, clients: 1, socketBufferBytes: 65536 })).config);
    expect([sized.tcp, sized.multicast]).toEqual([{ sendBufferBytes: 65536, recvBufferBytes: 65536 }, undefined]);
    expect(ConfigSchema.parse((await clusterConfig({ variant: "uring", acceptors: 3, learners: 1, clients: 1 })).config).tcp).toBeUndefined();
  });
});

import { afterEach, describe, expect, test } from "bun:test";
import process from "node:process";
import { childEnv } from "../../src/bench/self.ts";

const SET = ["PAXOS_LOG_LEVEL", "PAXOS_ROLE", "PAXOS_OUTPUT", "PAXOS_TRACE", "PAXOS_UDP_SEND"];

describe("the environment of a bench's nodes", () => {
  afterEach(() => {
    for (const k of SET) delete process.env[k];
  });

  test("keeps the runtime knobs and drops the flag variables meant for paxos bench itself", () => {
    process.env["PAXOS_LOG_LEVEL"] = "error";
    process.env["PAXOS_ROLE"] = "client";
    process.env["PAXOS_OUTPUT"] = "/tmp/x";
    process.env["PAXOS_TRACE"] = "1";
    process.env["PAXOS_UDP_SEND"] = "dgram";
    const env = childEnv();
    expect(Object.keys(env).filter((k) => k.startsWith("PAXOS_")).sort()).toEqual(["PAXOS_TRACE", "PAXOS_UDP_SEND"]);
    expect(env["PATH"]).toBe(process.env["PATH"]);
    expect(env["MIMALLOC_PURGE_DELAY"]).toBeDefined();
  });
});

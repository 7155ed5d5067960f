import { describe, expect, test } from "bun:test";
import { DEFAULT_TIMING, type ProtocolConfig } from "../../src/core/config.ts";
import type { Msg } from "../../src/core/types.ts";
import { is, ScriptedNet } from "./harness.ts";

const cfg: ProtocolConfig = {
  ...DEFAULT_TIMING,
  variant: "mring",
  maxNodes: 16,
  processes: [0, 1, 2, 3],
  acceptors: [0, 1, 2],
  learners: [3],
  proposers: [3],
  coordinator: 0,
};

describe("a restarted coordinator never reuses a round", () => {
  test("acceptors that promised round r refuse a second 1A of r, so the restarted coordinator moves above it", () => {
    const net = new ScriptedNet(cfg);
    net.input(0, { k: "lead" });
    const r1 = (net.sent(is("1a"))[0]?.msg as Extract<Msg, { t: "1a" }>).rnd;
    // Phase 1 completes with acceptors 0 and 1; acceptor 2 never hears of round r1.
    net.drop(is("1a", { to: 2 }));
    net.deliver(is("1a"));
    net.deliver(is("1b"));
    net.tick(0, cfg.phase1GraceTicks);
    // A value is proposed in round r1, and its 2A reaches only acceptor 1 (a minority) before the crash.
    net.input(3, { k: "propose", payload: new Uint8Array([42]) });
    net.deliver(is("value"));
    const twoA = net.sent(is("2a", { to: 1 }));
    expect(twoA).toHaveLength(1);
    net.deliver(is("2a", { to: 1 }));
    net.queue = [];

    // The coordinator restarts from its ledger (its acceptor promised r1) and leads again: same first round.
    net.boot(0);
    net.input(0, { k: "lead" });
    const again = net.sent(is("1a"));
    expect((again[0]?.msg as Extract<Msg, { t: "1a" }>).rnd).toBe(r1);
    net.deliver(is("1a"));
    // Acceptors 0 and 1 refuse (they promised r1 already); only acceptor 2 promises: no quorum in r1.
    expect(net.sent(is("nack")).map((m) => m.from).sort()).toEqual([0, 1]);
    expect(net.sent(is("1b")).map((m) => m.from)).toEqual([2]);
    net.deliver(is("nack"));
    net.deliver(is("1b"));
    net.tick(0, cfg.phase1GraceTicks);
    expect(net.sent(is("2a"))).toHaveLength(0);

    // It retries, then starts a higher round; Phase 1 there finds acceptor 1's vote and re-proposes it.
    for (let i = 0; i < 200 && net.sent(is("2a")).length === 0; i++) {
      net.tick(0);
      net.deliver((m) => m.msg.t === "1a" || m.msg.t === "1b" || m.msg.t === "nack");
    }
    const reproposed = net.sent(is("2a"))[0]?.msg as Extract<Msg, { t: "2a" }> | undefined;
    expect(reproposed).toBeDefined();
    expect(reproposed?.rnd).toBeGreaterThan(r1);
    expect(reproposed?.instance).toBe(0);
    expect(reproposed?.batch.vid).toBe((twoA[0]?.msg as Extract<Msg, { t: "2a" }>).batch.vid);
  });
});

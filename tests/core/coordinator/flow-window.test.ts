import { describe, expect, test } from "bun:test";
import { FlowWindow } from "../../../src/core/coordinator/flow-window.ts";
import { makeCfg, type CfgParts } from "../helpers.ts";

const NOTICE = 10;

function flow(timing: CfgParts["timing"] = {}): FlowWindow {
  return new FlowWindow(makeCfg({ processes: [0, 1, 2], acceptors: [0, 1, 2], coordinator: 0, timing: { window: 16, flowNoticeTicks: NOTICE, ...timing } }));
}

describe("FlowWindow: flow control (thesis §3.3.6)", () => {
  test("starts at the configured window", () => {
    expect(flow().size).toBe(16);
    expect(flow().cuts).toBe(0);
  });

  test("a learner's slow-down notice halves the window, at most once per notice period", () => {
    const f = flow();
    f.onSlowDown(100);
    expect(f.size).toBe(8);
    f.onSlowDown(100 + NOTICE - 1); // same period: the same backlog, told again
    expect(f.size).toBe(8);
    f.onSlowDown(100 + NOTICE);
    expect(f.size).toBe(4);
    expect(f.cuts).toBe(2);
  });

  test("it remembers the smallest the window has been, after the window grew back", () => {
    const f = flow();
    expect(f.lowest).toBe(16);
    f.onSlowDown(100);
    f.onSlowDown(100 + NOTICE);
    for (let i = 0; i < 20; i++) f.onDecision(100 + 10 * NOTICE + i);
    expect(f.size).toBe(16);
    expect(f.lowest).toBe(4);
  });

  test("the window never falls below one instance", () => {
    const f = flow({ window: 2 });
    for (let t = 0; t < 5 * NOTICE; t += NOTICE) f.onSlowDown(t);
    expect(f.size).toBe(1);
    expect(f.cuts).toBe(5);
  });

  test("it grows back by one per decision once notices stopped for four periods, up to the configured window", () => {
    const f = flow();
    f.onSlowDown(0);
    f.onSlowDown(NOTICE); // 4; the last cut at NOTICE
    f.onDecision(NOTICE + 4 * NOTICE - 1);
    expect(f.size).toBe(4);
    for (let i = 0; i < 3; i++) f.onDecision(NOTICE + 4 * NOTICE + i);
    expect(f.size).toBe(7);
    for (let i = 0; i < 100; i++) f.onDecision(1000 + i);
    expect(f.size).toBe(16);
  });

  test("admits an instance while fewer than the window are in flight", () => {
    const f = flow();
    expect(f.admits(15, 0)).toBe(true);
    expect(f.admits(16, 0)).toBe(false);
    f.onSlowDown(0);
    expect(f.admits(7, 0)).toBe(true);
    expect(f.admits(8, 0)).toBe(false);
  });
});

describe("FlowWindow: the garbage-collection bound", () => {
  test("no instance is admitted maxUnappliedInstances beyond what replicas applied; a higher watermark lets proposals resume", () => {
    const f = flow({ maxUnappliedInstances: 32 });
    expect(f.admits(0, 31)).toBe(true);
    expect(f.admits(0, 32)).toBe(false);
    expect(f.onApplied(10)).toBe(true);
    expect(f.applied).toBe(10);
    expect(f.admits(0, 41)).toBe(true);
    expect(f.admits(0, 42)).toBe(false);
  });

  test("a watermark at or below the known one changes nothing", () => {
    const f = flow({ maxUnappliedInstances: 32 });
    f.onApplied(10);
    expect(f.onApplied(10)).toBe(false);
    expect(f.onApplied(3)).toBe(false);
    expect(f.applied).toBe(10);
  });

  test("no bound when maxUnappliedInstances is 0, or when replicas do not report what they applied (appliedTicks 0)", () => {
    expect(flow({ maxUnappliedInstances: 0 }).admits(0, 1e9)).toBe(true);
    expect(flow({ maxUnappliedInstances: 32, appliedTicks: 0 }).admits(0, 1e9)).toBe(true);
  });
});

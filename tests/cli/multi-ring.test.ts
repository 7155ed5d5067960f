import { describe, expect, test } from "bun:test";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../../src/config/load.ts";
import { ringPlans } from "../../src/config/rings.ts";
import { ringProtocol } from "../../src/cli/multi-ring.ts";

const multi = loadConfig(fileURLToPath(new URL("../../configs/multiring-2-ram.json", import.meta.url)));
const single = loadConfig(fileURLToPath(new URL("../../configs/mring-3-ram.json", import.meta.url)));

describe("a ring's core configuration with its skip pacing", () => {
  test("λ per second and Δ in ticks become λ·Δ instances per interval of Δ ticks", () => {
    // multiring-2-ram.json: λ = 2000/s, Δ = 5 ms, ticks of 1 ms: 10 instances per 5-tick interval.
    for (const plan of ringPlans(multi)) expect(ringProtocol(plan).multiRing).toEqual({ skipPerInterval: 10, skipIntervalTicks: 5 });
  });

  test("a configuration without rings has no skips; local overrides win", () => {
    const [plan] = ringPlans(single);
    expect(plan && ringProtocol(plan).multiRing).toBeUndefined();
    expect(plan && ringProtocol(plan, { proposerWindow: 3 }).proposerWindow).toBe(3);
  });
});

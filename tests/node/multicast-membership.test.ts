import { describe, expect, test } from "bun:test";
import { MulticastMembership, type MembershipEvent } from "../../src/node/multicast-membership.ts";
import { sleep, waitFor } from "../net/helpers.ts";

/** A receiver that records whether it was closed (closing takes a turn, as a socket's does). */
class FakeReceiver {
  closed = false;
  async close(): Promise<void> {
    await sleep(0);
    this.closed = true;
  }
}

interface Harness {
  readonly m: MulticastMembership<FakeReceiver>;
  /** Every receiver ever opened, the one joined at start first. */
  readonly receivers: FakeReceiver[];
  readonly events: MembershipEvent[];
  /** Reopenings tried (failed ones included). */
  attempts: number;
}

function harness(o: { separateSender?: boolean; failures?: number; retryMs?: number; openDelayMs?: number } = {}): Harness {
  let failures = o.failures ?? 0;
  const first = new FakeReceiver();
  const h: Harness = {
    receivers: [first],
    events: [],
    attempts: 0,
    m: new MulticastMembership(first, {
      separateSender: o.separateSender ?? true,
      retryMs: o.retryMs ?? 5,
      count: (e) => h.events.push(e),
      open: async () => {
        h.attempts++;
        await sleep(o.openDelayMs ?? 0);
        if (failures > 0) {
          failures--;
          throw new Error("setMulticastInterface failed: ENODEV");
        }
        const r = new FakeReceiver();
        h.receivers.push(r);
        return r;
      },
    }),
  };
  return h;
}

/** Lets every change in progress finish. */
const settle = (): Promise<void> => sleep(20);

/** Receivers not closed: at most one, and it is the membership's. */
function openOnes(h: Harness): FakeReceiver[] {
  return h.receivers.filter((r) => !r.closed);
}

describe("MulticastMembership", () => {
  test("a process with its own sender leaves the group when it leads and joins again when it stands down, only on changes", async () => {
    const h = harness();
    expect(h.m.receiving).toBe(true);
    h.m.setLeading(true);
    h.m.setLeading(true);
    await settle();
    h.m.setLeading(true);
    await settle();
    expect(h.m.receiving).toBe(false);
    expect(h.m.receiver).toBeNull();
    expect(h.receivers[0]?.closed).toBe(true);
    expect(h.events).toEqual(["udp_receiver_closed"]);

    h.m.setLeading(false);
    h.m.setLeading(false);
    await settle();
    h.m.setLeading(false);
    await settle();
    expect(h.m.receiving).toBe(true);
    expect(h.attempts).toBe(1);
    expect(h.events).toEqual(["udp_receiver_closed", "udp_receiver_reopened"]);
    expect(openOnes(h)).toEqual([h.m.receiver as FakeReceiver]);
  });

  test("without a sender of its own it never leaves: its receiver is its sender", async () => {
    const h = harness({ separateSender: false });
    h.m.setLeading(true);
    await settle();
    expect(h.m.receiving).toBe(true);
    expect(h.receivers[0]?.closed).toBe(false);
    expect(h.events).toEqual([]);
  });

  test("quick flips settle on the last input, with never more than one receiver open", async () => {
    const h = harness({ openDelayMs: 2 });
    for (let i = 0; i < 5; i++) {
      h.m.setLeading(true);
      h.m.setLeading(false);
    }
    h.m.setLeading(true);
    await waitFor(() => h.m.receiving === false && openOnes(h).length === 0, "the receiver closed");
    await settle();
    expect(h.m.receiving).toBe(false);
    expect(openOnes(h)).toEqual([]);
    h.m.setLeading(false);
    await waitFor(() => h.m.receiving, "the receiver reopened");
    expect(openOnes(h)).toEqual([h.m.receiver as FakeReceiver]);
    const closes = h.events.filter((e) => e === "udp_receiver_closed").length;
    expect(h.events.filter((e) => e === "udp_receiver_reopened").length).toBe(closes);
  });

  test("a reopening that fails is counted and retried every retryMs until it succeeds", async () => {
    const h = harness({ failures: 2, retryMs: 10 });
    h.m.setLeading(true);
    await settle();
    h.m.setLeading(false);
    await waitFor(() => h.m.receiving, "the receiver reopened after two failures");
    expect(h.events).toEqual(["udp_receiver_closed", "udp_receiver_reopen_failed", "udp_receiver_reopen_failed", "udp_receiver_reopened"]);
    expect(h.attempts).toBe(3);
  });

  test("leading again stops the retries; close cancels them and leaves nothing open", async () => {
    const h = harness({ failures: 1000, retryMs: 5 });
    h.m.setLeading(true);
    await settle();
    h.m.setLeading(false);
    await waitFor(() => h.attempts >= 2, "retries");
    h.m.setLeading(true);
    await settle();
    const attempts = h.attempts;
    await sleep(30);
    expect(h.attempts).toBe(attempts);
    h.m.setLeading(false);
    await waitFor(() => h.attempts > attempts, "retrying again");
    await h.m.close();
    const closedAt = h.attempts;
    await sleep(30);
    expect(h.attempts).toBe(closedAt);
    expect(openOnes(h)).toEqual([]);
  });

  test("close waits for a change in progress and closes what it opened", async () => {
    const h = harness({ openDelayMs: 15 });
    h.m.setLeading(true);
    await settle();
    h.m.setLeading(false);
    await sleep(0);
    expect(h.attempts).toBe(1);
    await h.m.close();
    expect(h.m.receiving).toBe(false);
    expect(openOnes(h)).toEqual([]);
    h.m.setLeading(true);
    h.m.setLeading(false);
    await settle();
    expect(openOnes(h)).toEqual([]);
  });
});

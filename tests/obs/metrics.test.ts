import { describe, expect, test } from "bun:test";
import { register as globalRegistry } from "prom-client";
import { counterMetricName, createNodeMetrics, PAXOS_METRICS } from "../../src/obs/metrics.ts";
import { baseStatus, FakeSource, parseExposition, sampledNames } from "./helpers.ts";

async function scrape(src: FakeSource, defaultMetrics = false) {
  const reg = createNodeMetrics(src, { defaultMetrics });
  return { reg, ...parseExposition(await reg.metrics()) };
}

describe("node metrics", () => {
  test("every documented metric has HELP and TYPE, and the values of the status", async () => {
    const src = new FakeSource();
    const { samples, help, type } = await scrape(src);
    for (const m of PAXOS_METRICS) {
      expect(help.get(m.name)?.length ?? 0).toBeGreaterThan(10);
      expect(type.get(m.name)).toBe(m.type);
    }
    expect(Object.fromEntries(samples)).toEqual({
      'paxos_node_info{id="3",cluster="9",variant="mring",roles="coordinator,acceptor,learner"}': 1,
      paxos_uptime_seconds: 61.5,
      paxos_coordinator_active: 1,
      paxos_round: 49,
      paxos_in_flight_instances: 7,
      paxos_ring_size: 3,
      paxos_window: 16,
      paxos_window_cuts_total: 3,
      paxos_ring_short: 1,
      paxos_slow_acceptors: 1,
      paxos_slow_relayouts_total: 4,
      paxos_catch_up_skips_total: 6,
      paxos_gc_applied_instance: 118,
      paxos_gc_trimmed_below: 64,
      paxos_gc_excluded_replicas: 1,
      paxos_acceptor_held_instances: 62,
      paxos_learner_backlog_instances: 6,
      paxos_learner_slow_downs_total: 2,
      paxos_learner_behind_gc: 0,
      paxos_acceptor_promised_round: 49,
      paxos_learner_next_instance: 120,
      paxos_learner_delivered_values_total: 4321,
      paxos_highest_decided_instance: 126,
      paxos_socket_recv_buffer_bytes: 4_194_304,
      paxos_socket_send_buffer_bytes: 1_048_576,
      paxos_socket_buffer_warning: 0,
      paxos_msgs_in_total: 10,
      paxos_msgs_out_total: 12,
    });
    expect(type.get("paxos_msgs_in_total")).toBe("counter");
    expect(help.get("paxos_msgs_in_total")).toContain('"msgsIn"');
  });

  test("values follow the source from one scrape to the next", async () => {
    const src = new FakeSource();
    const reg = createNodeMetrics(src, { defaultMetrics: false });
    const first = parseExposition(await reg.metrics()).samples;
    expect(first.get("paxos_round")).toBe(49);
    src.current = baseStatus({
      variant: "uring",
      coordinator: { active: false, round: 65, ring: [3, 1], inFlight: 0, window: 32, lowestWindow: 32, windowCuts: 0, ringShortBy: 0, slowAcceptors: [], slowRelayouts: 0, catchUpSkips: 0 },
      acceptor: { promised: 81, applied: 0, trimmedBelow: 0, heldInstances: 0, gcExcludedReplicas: [] },
      learner: { nextInstance: 200, delivered: 5000, backlog: 0, slowDowns: 0, behindGc: false },
      highestDecided: 210,
      counters: { msgsIn: 15, msgsOut: 12, dropBadFrame: 2 },
      socketBuffers: { recvBytes: 212_992, sendBytes: 212_992, warning: "asked 4 MiB, got 208 KiB" },
    });
    const s = parseExposition(await reg.metrics()).samples;
    expect(s.get('paxos_node_info{id="3",cluster="9",variant="uring",roles="coordinator,acceptor,learner"}')).toBe(1);
    expect([...s.keys()].filter((k) => k.startsWith("paxos_node_info"))).toHaveLength(1); // the old label set is gone
    expect(s.get("paxos_coordinator_active")).toBe(0);
    expect(s.get("paxos_round")).toBe(65);
    expect(s.get("paxos_in_flight_instances")).toBe(0);
    expect(s.get("paxos_ring_size")).toBe(2);
    expect(s.get("paxos_acceptor_promised_round")).toBe(81);
    expect(s.get("paxos_learner_next_instance")).toBe(200);
    expect(s.get("paxos_learner_delivered_values_total")).toBe(5000);
    expect(s.get("paxos_highest_decided_instance")).toBe(210);
    expect(s.get("paxos_socket_recv_buffer_bytes")).toBe(212_992);
    expect(s.get("paxos_socket_buffer_warning")).toBe(1);
    expect(s.get("paxos_msgs_in_total")).toBe(15);
    // a counter that appears in this snapshot is exported in this very scrape
    expect(s.get("paxos_drop_bad_frame_total")).toBe(2);
  });

  test("a write-ahead-log ledger reports its disk use, segments, trim point and last group commit", async () => {
    const ledger = { kind: "wal" as const, dir: "d/node-3", sync: "fsync" as const, segments: 4, diskBytes: 123_456, trimmedBelow: 77, lastGroupRecords: 12, lastSyncUs: 2500, recoveredRecords: 0, truncatedBytes: 0 };
    const { samples } = await scrape(new FakeSource(baseStatus({ ledger, counters: { ledgerGroups: 9 } })));
    expect(samples.get("paxos_ledger_disk_bytes")).toBe(123_456);
    expect(samples.get("paxos_ledger_segments")).toBe(4);
    expect(samples.get("paxos_ledger_trimmed_below")).toBe(77);
    expect(samples.get("paxos_ledger_last_sync_seconds")).toBe(0.0025);
    expect(samples.get("paxos_ledger_last_group_records")).toBe(12);
    expect(samples.get("paxos_ledger_groups_total")).toBe(9);
  });

  test("metrics of roles the node does not have have no sample", async () => {
    const src = new FakeSource(baseStatus({ roles: ["learner"], coordinator: null, acceptor: null, socketBuffers: null, highestDecided: -1 }));
    const { samples, help } = await scrape(src);
    const names = sampledNames(samples);
    for (const absent of [
      "paxos_coordinator_active",
      "paxos_round",
      "paxos_in_flight_instances",
      "paxos_ring_size",
      "paxos_ring_short",
      "paxos_window",
      "paxos_acceptor_promised_round",
      "paxos_socket_recv_buffer_bytes",
      "paxos_socket_send_buffer_bytes",
      "paxos_socket_buffer_warning",
      "paxos_ledger_disk_bytes",
      "paxos_ledger_segments",
    ]) {
      expect(names.has(absent)).toBe(false);
      expect(help.has(absent)).toBe(true); // still documented
    }
    expect(samples.get("paxos_learner_next_instance")).toBe(120);
    expect(samples.get("paxos_highest_decided_instance")).toBe(-1);
  });

  test("a coordinator without a ring yet reports no ring size; losing a role removes its samples", async () => {
    const src = new FakeSource(baseStatus({ coordinator: { active: false, round: 0, ring: null, inFlight: 0, window: 32, lowestWindow: 32, windowCuts: 0, ringShortBy: 0, slowAcceptors: [], slowRelayouts: 0, catchUpSkips: 0 } }));
    const reg = createNodeMetrics(src, { defaultMetrics: false });
    let s = parseExposition(await reg.metrics()).samples;
    expect(s.has("paxos_ring_size")).toBe(false);
    expect(s.get("paxos_coordinator_active")).toBe(0);
    src.current = baseStatus({ learner: null });
    s = parseExposition(await reg.metrics()).samples;
    expect(s.get("paxos_ring_size")).toBe(3);
    expect(s.has("paxos_learner_next_instance")).toBe(false);
    expect(s.has("paxos_learner_delivered_values_total")).toBe(false);
  });

  test("one status snapshot per scrape", async () => {
    const src = new FakeSource();
    const reg = createNodeMetrics(src, { defaultMetrics: false });
    await reg.metrics();
    expect(src.statusCalls).toBe(1);
    await reg.metrics();
    expect(src.statusCalls).toBe(2);
  });

  test("counters: names mapping to one metric are summed, reserved names are skipped, an absent counter keeps its value", async () => {
    const src = new FakeSource(
      baseStatus({ counters: { "drop.bad-frame": 2, drop_bad_frame: 3, learner_delivered_values: 999, "bytes in total": 7, "": 1, "!!": 4 } }),
    );
    const reg = createNodeMetrics(src, { defaultMetrics: false });
    let s = parseExposition(await reg.metrics()).samples;
    expect(s.get("paxos_drop_bad_frame_total")).toBe(5);
    expect(s.get("paxos_learner_delivered_values_total")).toBe(4321); // the learner's, not the counter's
    expect(s.get("paxos_bytes_in_total")).toBe(7);
    // Three counters above, and the fixed paxos_window_cuts_total, paxos_slow_relayouts_total, paxos_catch_up_skips_total and paxos_learner_slow_downs_total.
    expect([...s.keys()].filter((k) => k.endsWith("_total") && k.startsWith("paxos_"))).toHaveLength(7);
    src.current = baseStatus({ counters: { "drop.bad-frame": 4 } });
    s = parseExposition(await reg.metrics()).samples;
    expect(s.get("paxos_drop_bad_frame_total")).toBe(4);
    expect(s.get("paxos_bytes_in_total")).toBe(7);
  });

  test("counterMetricName", () => {
    expect(counterMetricName("msgsIn")).toBe("paxos_msgs_in_total");
    expect(counterMetricName("drop.bad-frame")).toBe("paxos_drop_bad_frame_total");
    expect(counterMetricName("Dropped Packets (CRC)")).toBe("paxos_dropped_packets_crc_total");
    expect(counterMetricName("retransmits_total")).toBe("paxos_retransmits_total");
    expect(counterMetricName("__x__")).toBe("paxos_x_total");
    expect(counterMetricName("2b_sent")).toBe("paxos_2b_sent_total");
    expect(counterMetricName("héllo")).toBe("paxos_h_llo_total");
    expect(counterMetricName("")).toBeNull();
    expect(counterMetricName("total")).toBeNull();
    expect(counterMetricName("learnerDeliveredValues")).toBeNull();
    for (const n of ["a.b", "X-Y", "fooBarBaz", "ünï"]) expect(counterMetricName(n) ?? "").toMatch(/^paxos_[a-z0-9_]+_total$/);
  });

  test("a status source that throws makes the scrape reject", async () => {
    const reg = createNodeMetrics(
      {
        status() {
          throw new Error("not ready");
        },
      },
      { defaultMetrics: false },
    );
    await expect(reg.metrics()).rejects.toThrow("not ready");
  });

  test("two nodes have separate registries; the global registry is untouched", async () => {
    const a = new FakeSource(baseStatus({ id: 1, counters: { onlyA: 1 } }));
    const b = new FakeSource(baseStatus({ id: 2, counters: { onlyB: 2 }, highestDecided: 5 }));
    const ra = createNodeMetrics(a, { defaultMetrics: false });
    const rb = createNodeMetrics(b, { defaultMetrics: false });
    const sa = parseExposition(await ra.metrics()).samples;
    const sb = parseExposition(await rb.metrics()).samples;
    expect(sa.get("paxos_only_a_total")).toBe(1);
    expect(sa.has("paxos_only_b_total")).toBe(false);
    expect(sb.get("paxos_only_b_total")).toBe(2);
    expect(sb.has("paxos_only_a_total")).toBe(false);
    expect(sa.get("paxos_highest_decided_instance")).toBe(126);
    expect(sb.get("paxos_highest_decided_instance")).toBe(5);
    expect(await globalRegistry.metrics()).not.toContain("paxos_");
  });

  test("default process metrics are collected into the node's registry", async () => {
    const { samples, reg } = await scrape(new FakeSource(), true);
    const names = sampledNames(samples);
    for (const n of ["process_cpu_seconds_total", "process_resident_memory_bytes", "process_start_time_seconds", "nodejs_heap_size_used_bytes"]) {
      expect(names.has(n)).toBe(true);
    }
    expect(samples.get("process_cpu_seconds_total") ?? -1).toBeGreaterThan(0);
    expect(reg.contentType).toStartWith("text/plain; version=0.0.4");
    expect(await globalRegistry.metrics()).not.toContain("process_cpu_seconds_total");
  });
});

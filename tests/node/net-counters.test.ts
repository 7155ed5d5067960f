import { expect, test } from "bun:test";
import { dropCounter, NetCounters } from "../../src/node/net-counters.ts";

test("the traffic counters start at zero; drops are counted as dropped_<reason>", () => {
  const c = new NetCounters();
  expect(c.values).toEqual({ tcp_frames_in: 0, tcp_frames_out: 0, tcp_frames_dropped_queue_full: 0, udp_datagrams_in: 0, udp_datagrams_out: 0, udp_datagrams_refused: 0 });
  c.count("tcp_frames_in");
  c.drop("mac-bad");
  c.drop("mac-bad");
  c.drop("unknown-sender");
  c.set("udp_send_errors", 7);
  expect(c.values).toMatchObject({ tcp_frames_in: 1, dropped_mac_bad: 2, dropped_unknown_sender: 1, udp_send_errors: 7 });
  expect(dropCounter("foreign-cluster")).toBe("dropped_foreign_cluster");
});

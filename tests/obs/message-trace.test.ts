import { expect, test } from "bun:test";
import { formatTrace } from "../../src/obs/message-trace.ts";

test("one line per message, with the fields that matter when reading a failure", () => {
  expect(formatTrace({ t: "heartbeat", rnd: 257, seq: 4 })).toBe("heartbeat r=257 seq=4");
  expect(formatTrace({ t: "2b", rnd: 3, instance: 12, vid: "5.1", ring: [0, 1, 2], voters: [0, 1] })).toBe("2b r=3 i=12 vid=5.1 ring=[0,1,2] voters=[0,1]");
  expect(formatTrace({ t: "decision", decisions: [{ instance: 1, vid: "a" }, { instance: 2, vid: "b" }] })).toBe("decision [1:a 2:b]");
});

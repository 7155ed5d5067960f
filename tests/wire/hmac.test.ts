import { describe, expect, test } from "bun:test";
import { createHmac, randomBytes } from "node:crypto";
import { hmacSha256 } from "../../src/wire/hmac.ts";

describe("HMAC-SHA-256 adapter (Bun's keyed hasher copied per message, node:crypto elsewhere)", () => {
  test("gives node:crypto's HMAC for every size, in parts or whole, over many messages with one key", () => {
    const key = randomBytes(32);
    const mac = hmacSha256(key);
    for (const size of [0, 1, 40, 1023, 8192, 65536]) {
      const d = randomBytes(size);
      const want = createHmac("sha256", key).update(d).digest("hex");
      expect(Buffer.from(mac(d)).toString("hex")).toBe(want);
      expect(Buffer.from(mac(d.subarray(0, size >> 1), d.subarray(size >> 1))).toString("hex")).toBe(want);
    }
  });
});

/**
 * HMAC-SHA-256 with one key, many messages. Under Bun, a native hasher keyed once and copied per
 * message (the copy carries the keyed inner and outer state): ~0.3 µs for a 40-byte message
 * against ~0.8 µs for node:crypto's createHmac, whose stream-based object is made anew each time
 * (measured; small messages are most of a cluster's traffic). Elsewhere (Deno, Node),
 * node:crypto.
 */
import { createHmac } from "node:crypto";
import process from "node:process";

/** The part of Bun's CryptoHasher used here (typed locally: no dependency on Bun's types). */
interface BunHasher {
  copy(): BunHasher;
  update(data: Uint8Array): BunHasher;
  digest(): Uint8Array;
}
type BunHasherClass = new (algorithm: string, key: Uint8Array) => BunHasher;

const bunHasher: BunHasherClass | null = (globalThis as { Bun?: { CryptoHasher?: BunHasherClass } }).Bun?.CryptoHasher ?? null;

/** A function computing HMAC-SHA-256(secret, parts…) (32 bytes). */
export type HmacSha256 = (...parts: Uint8Array[]) => Uint8Array;

export function hmacSha256(secret: Uint8Array): HmacSha256 {
  if (bunHasher && process.env["PAXOS_HMAC"] !== "node") {
    const keyed = new bunHasher("sha256", secret);
    return (...parts) => {
      const h = keyed.copy();
      for (const p of parts) h.update(p);
      return h.digest();
    };
  }
  return (...parts) => {
    const h = createHmac("sha256", secret);
    for (const p of parts) h.update(p);
    return h.digest();
  };
}

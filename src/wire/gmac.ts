/**
 * GMAC (AES-256-GCM with the message as additional data and no plaintext) under one key, many
 * messages. Two implementations, the same tags:
 *
 * - Bun on a host with OpenSSL 3 (`libcrypto.so.3`, or `libcrypto.3.dylib`): one cipher context per
 *   key, set up once (AES key schedule, GHASH key) and re-armed per message with only its nonce,
 *   called through bun:ffi (gmac-openssl.ts): ~11 GB/s for a 56 KB batch here.
 * - Elsewhere (Deno, Node, no libcrypto, or PAXOS_GMAC=node): node:crypto's createCipheriv, a new
 *   cipher object per message: ~6.5 GB/s for the same batch here, ~1 µs of set-up per message.
 *
 * A GMAC key is a sender incarnation's own (auth.ts): receivers hold one per peer incarnation, a
 * bounded number; `free` releases a key's native context when its holder drops it.
 */
import { createCipheriv } from "node:crypto";
import process from "node:process";
import { openSslGmac } from "./gmac-openssl.ts";

export interface GmacKey {
  /**
   * The 16-byte tag of `data` under this key and the 12-byte `nonce` (never repeat one under a
   * key), written into `out` (16 bytes) when given (no allocation per message), else a new array.
   */
  tag(nonce: Uint8Array, data: Uint8Array, out?: Uint8Array): Uint8Array;
  /** Releases what the key holds outside the JS heap; the key is not used afterwards. */
  free(): void;
}

export interface Gmac {
  /** Which implementation, for the start-up log line. */
  readonly name: string;
  /**
   * Messages this large or larger are worth GMAC rather than HMAC (whose cost grows ~1 ns a byte
   * from ~0.4 µs): per message here, the OpenSSL path costs ~0.4 µs from 64 bytes on, node:crypto
   * ~1.2 µs (HMAC: 0.5 µs at 64 bytes, 0.7 at 128, 1.3 at 1 KB).
   */
  readonly minBytes: number;
  key(key: Uint8Array): GmacKey;
}

/** node:crypto's GMAC: correct everywhere, one cipher object per message. */
export const portableGmac: Gmac = {
  name: "node:crypto",
  minBytes: 1024,
  key(key) {
    const k = new Uint8Array(key);
    return {
      tag(nonce, data, out = new Uint8Array(16)) {
        const c = createCipheriv("aes-256-gcm", k, nonce);
        c.setAAD(data);
        c.final();
        out.set(c.getAuthTag());
        return out;
      },
      free() {},
    };
  },
};

let chosen: Gmac | null = null;

/** The fastest GMAC this runtime and host offer (chosen once per process). */
export function hostGmac(): Gmac {
  if (chosen === null) chosen = (process.env["PAXOS_GMAC"] !== "node" ? openSslGmac() : null) ?? portableGmac;
  return chosen;
}

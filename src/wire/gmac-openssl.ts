/**
 * The Bun-only fast path for GMAC (gmac.ts): OpenSSL 3's EVP interface through bun:ffi, one
 * cipher context per key, re-armed per message with its nonce alone. Returns null (and the caller
 * uses node:crypto) where bun:ffi or the library is missing, or where the library's tag differs
 * from node:crypto's on known messages: a fast path that is not the same function is not used.
 */
import { createCipheriv } from "node:crypto";
import type { Gmac, GmacKey } from "./gmac.ts";
import { openNativeLibrary } from "../os/native-library.ts";

const LIBRARIES = ["libcrypto.so.3", "libcrypto.3.dylib"];
const EVP_CTRL_AEAD_GET_TAG = 0x10;
const TAG_BYTES = 16;

/** The part of libcrypto used here (typed locally: no dependency on Bun's types). */
type Pointer = number;
interface Symbols {
  EVP_CIPHER_CTX_new(): Pointer | null;
  EVP_CIPHER_CTX_free(ctx: Pointer): void;
  EVP_aes_256_gcm(): Pointer | null;
  EVP_EncryptInit_ex(ctx: Pointer, cipher: Pointer | null, engine: null, key: Uint8Array | null, iv: Uint8Array | null): number;
  EVP_EncryptUpdate(ctx: Pointer, out: null, outLength: Int32Array, data: Uint8Array, length: number): number;
  EVP_EncryptFinal_ex(ctx: Pointer, out: Uint8Array, outLength: Int32Array): number;
  EVP_CIPHER_CTX_ctrl(ctx: Pointer, type: number, arg: number, ptr: Uint8Array): number;
}

const SIGNATURES = {
  EVP_CIPHER_CTX_new: { args: [], returns: "ptr" },
  EVP_CIPHER_CTX_free: { args: ["ptr"], returns: "void" },
  EVP_aes_256_gcm: { args: [], returns: "ptr" },
  EVP_EncryptInit_ex: { args: ["ptr", "ptr", "ptr", "ptr", "ptr"], returns: "i32" },
  EVP_EncryptUpdate: { args: ["ptr", "ptr", "ptr", "ptr", "i32"], returns: "i32" },
  EVP_EncryptFinal_ex: { args: ["ptr", "ptr", "ptr"], returns: "i32" },
  EVP_CIPHER_CTX_ctrl: { args: ["ptr", "i32", "i32", "ptr"], returns: "i32" },
};

export function openSslGmac(): Gmac | null {
  const lib = load();
  if (lib === null) return null;
  const cipher = lib.EVP_aes_256_gcm();
  if (cipher === null) return null;
  const g: Gmac = { name: "OpenSSL libcrypto via bun:ffi", minBytes: 128, key: (key) => openKey(lib, cipher, key) };
  return agreesWithNodeCrypto(g) ? g : null;
}

/** libcrypto's symbols, or null (then node:crypto computes GMAC). */
function load(): Symbols | null {
  return openNativeLibrary<Symbols>(LIBRARIES, SIGNATURES);
}

function openKey(lib: Symbols, cipher: Pointer, key: Uint8Array): GmacKey {
  const ctx = lib.EVP_CIPHER_CTX_new();
  if (ctx === null) throw new Error("OpenSSL: EVP_CIPHER_CTX_new failed (out of memory)");
  if (lib.EVP_EncryptInit_ex(ctx, cipher, null, key, null) !== 1) {
    lib.EVP_CIPHER_CTX_free(ctx);
    throw new Error("OpenSSL: EVP_EncryptInit_ex refused an AES-256-GCM key");
  }
  const length = new Int32Array(1);
  const none = new Uint8Array(TAG_BYTES);
  let live = true;
  const gmacKey: GmacKey = {
    tag(nonce, data, tag = new Uint8Array(TAG_BYTES)) {
      if (!live) throw new Error("GMAC key used after free");
      if (tag.byteLength !== TAG_BYTES) throw new RangeError(`a GMAC tag has ${TAG_BYTES} bytes, got room for ${tag.byteLength}`);
      // Each call returns 1 on success; AES-GCM with a 12-byte nonce fails only on misuse.
      const ok =
        lib.EVP_EncryptInit_ex(ctx, null, null, null, nonce) === 1 &&
        (data.byteLength === 0 || lib.EVP_EncryptUpdate(ctx, null, length, data, data.byteLength) === 1) &&
        lib.EVP_EncryptFinal_ex(ctx, none, length) === 1 &&
        lib.EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, TAG_BYTES, tag) === 1;
      if (!ok) throw new Error("OpenSSL: computing a GMAC tag failed");
      return tag;
    },
    free() {
      if (!live) return;
      live = false;
      contexts(lib).unregister(gmacKey);
      lib.EVP_CIPHER_CTX_free(ctx);
    },
  };
  // A key dropped without free (its holder discarded whole) still releases its context.
  contexts(lib).register(gmacKey, ctx, gmacKey);
  return gmacKey;
}

let registry: FinalizationRegistry<Pointer> | null = null;
function contexts(lib: Symbols): FinalizationRegistry<Pointer> {
  if (registry === null) registry = new FinalizationRegistry((ctx) => lib.EVP_CIPHER_CTX_free(ctx));
  return registry;
}

/** The library's tags equal node:crypto's for one key, several nonces, message sizes and offsets. */
function agreesWithNodeCrypto(g: Gmac): boolean {
  const key = Uint8Array.from({ length: 32 }, (_, i) => i * 7 + 1);
  const data = Uint8Array.from({ length: 3000 }, (_, i) => (i * 31) & 0xff);
  let k: GmacKey | null = null;
  try {
    k = g.key(key);
    for (const [from, to, n] of [[0, 3000, 1], [5, 40, 2], [17, 2049, 3]] as const) {
      const nonce = new Uint8Array(12);
      nonce[11] = n;
      const part = data.subarray(from, to);
      const c = createCipheriv("aes-256-gcm", key, nonce);
      c.setAAD(part);
      c.final();
      const expected = c.getAuthTag();
      const got = k.tag(nonce, part);
      if (got.byteLength !== TAG_BYTES || !got.every((b, i) => b === expected[i])) return false;
    }
    return true;
  } catch {
    return false;
  } finally {
    k?.free();
  }
}

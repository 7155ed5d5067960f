/**
 * Message authentication: with a cluster key, every datagram and TCP frame carries a MAC over its
 * header and body, checked before anything is decoded.
 *
 * Layout of an authenticated message: the header (header.ts; the MAC covers all of it, the ring
 * id included), whose reserved field holds (MAC kind << 8) | key id (the first byte of SHA-256 of
 * the key, so a receiver that holds two keys during a rotation picks the right one at once), then
 * the body, then a trailer:
 *
 * - kind 1, HMAC (messages under the GMAC implementation's minBytes, gmac.ts): a 16-byte tag, HMAC-SHA-256(key, header ||
 *   body) cut to 128 bits (as IPsec's HMAC-SHA-256-128, RFC 4868).
 * - kind 2, GMAC (larger messages): epoch (8 bytes), counter (8), tag (16): AES-256-GCM with
 *   header || body as additional data and no plaintext, under a key of the sender's own:
 *   HMAC-SHA-256(key, "paxos-gmac" || sender || epoch), the epoch drawn at random when the
 *   sender's WireAuth is made; the nonce is the counter, which never repeats under that key.
 *
 * Why two: HMAC-SHA-256 (SHA-NI) hashes ~0.8 GB/s here, and a batch is MAC'd by its sender and
 * checked by every receiver, so the 8 KB M-Ring benchmark lost ~40 % of its throughput to it;
 * GMAC (AES-NI, PCLMULQDQ) runs at 6–11 GB/s (gmac.ts) but costs more than HMAC to set up per
 * message, so small messages keep HMAC. GMAC fails badly if a nonce repeats under a key (the tag
 * key leaks), hence a fresh per-sender key per process incarnation (a 64-bit random epoch) and a
 * counter as nonce, rather than random nonces under the cluster key. Keyed BLAKE2 is not offered
 * by node:crypto under Bun.
 *
 * What it protects: only holders of the key can make messages a node accepts. What it does not:
 * confidentiality (bodies are in the clear) and replay (a recorded message may be sent again; the
 * protocol tolerates duplicates, which is what a replay is).
 */
import { createHash, randomBytes } from "node:crypto";
import { hmacSha256, type HmacSha256 } from "./hmac.ts";
import { hostGmac, type Gmac, type GmacKey } from "./gmac.ts";
import { DecodeError } from "./errors.ts";
import { HEADER_SIZE, OFF_LENGTH, OFF_RESERVED, OFF_SENDER } from "./header.ts";
import { getU16, getU32, setU16 } from "./bytes.ts";
import { FifoMap } from "../core/fifo-map.ts";

export const KEY_BYTES = 32;
export const TAG_BYTES = 16;
/** High byte of the reserved header field: the message carries an HMAC tag, or a GMAC trailer. */
export const AUTH_FLAG = 0x01;
export const GMAC_FLAG = 0x02;
/** A GMAC trailer: epoch, counter, tag. */
export const GMAC_TRAILER_BYTES = 8 + 8 + TAG_BYTES;
/** Bound: GMAC keys of other senders' incarnations a receiver keeps (each costs one HMAC to derive). */
export const MAX_PEER_KEYS = 1024;

const GMAC_LABEL = new TextEncoder().encode("paxos-gmac");

interface Key {
  readonly id: number;
  readonly hmac: HmacSha256;
}

/** A key's id on the wire: the first byte of its SHA-256. */
export function keyId(secret: Uint8Array): number {
  return createHash("sha256").update(secret).digest()[0] as number;
}

/**
 * Seals outgoing messages with the first key and opens incoming ones with any of the keys (the
 * new key first, then the old one, during a rotation). Without keys it passes messages through
 * unchanged and refuses tagged ones (it cannot check them).
 */
export class WireAuth {
  private readonly keys: readonly Key[];
  /** This incarnation's epoch and GMAC counter (see the file comment). */
  private readonly epoch = new Uint8Array(randomBytes(8));
  private counter = 0;
  private readonly sendKeys = new Map<number, GmacKey>();
  private readonly peerKeys = new FifoMap<string, GmacKey>(MAX_PEER_KEYS, (_, k) => this.dropPeerKey(k));
  /** The incarnation last seen per (key id, sender): the cache's string key is built only when a sender's epoch changes. */
  private readonly lastPeerKey = new Map<number, { e0: number; e1: number; key: GmacKey }>();
  /** Scratch for one message at a time (seal and open run to completion, never interleaved). */
  private readonly nonce = new Uint8Array(12);
  private readonly tag = new Uint8Array(TAG_BYTES);

  constructor(
    secrets: readonly Uint8Array[],
    private readonly gmac: Gmac = hostGmac(),
  ) {
    for (const s of secrets) if (s.byteLength !== KEY_BYTES) throw new RangeError(`a cluster key has ${KEY_BYTES} bytes, got ${s.byteLength}`);
    this.keys = secrets.map((secret) => ({ id: keyId(secret), hmac: hmacSha256(secret) }));
  }

  get enabled(): boolean {
    return this.keys.length > 0;
  }

  /** Bytes an encoder must leave after a message of `messageBytes` (header and body) for seal's trailer. */
  readonly trailerBytes = (messageBytes: number): number => (!this.enabled ? 0 : messageBytes >= this.gmac.minBytes ? GMAC_TRAILER_BYTES : TAG_BYTES);

  /** Marks and tags `bytes` in place: header and body, then trailerBytes(header and body) of room. */
  seal(bytes: Uint8Array): Uint8Array {
    const key = this.keys[0];
    if (!key) return bytes;
    const end = HEADER_SIZE + getU32(bytes, OFF_LENGTH);
    if (bytes.byteLength - end === TAG_BYTES) {
      setU16(bytes, OFF_RESERVED, (AUTH_FLAG << 8) | key.id);
      const digest = key.hmac(bytes.subarray(0, end));
      for (let i = 0; i < TAG_BYTES; i++) bytes[end + i] = digest[i] as number;
      return bytes;
    }
    if (bytes.byteLength - end !== GMAC_TRAILER_BYTES) throw new RangeError(`seal: ${bytes.byteLength - end} bytes of room after the message, expected trailerBytes(${end})`);
    setU16(bytes, OFF_RESERVED, (GMAC_FLAG << 8) | key.id);
    const sender = getU16(bytes, OFF_SENDER);
    let k = this.sendKeys.get(sender);
    if (!k) this.sendKeys.set(sender, (k = this.gmac.key(gmacKey(key.hmac, sender, this.epoch))));
    bytes.set(this.epoch, end);
    writeCounterNonce(this.nonce, this.counter++);
    bytes.set(this.nonce.subarray(4), end + 8);
    k.tag(this.nonce, bytes.subarray(0, end), bytes.subarray(end + 16));
    return bytes;
  }

  /**
   * The message without its trailer, ready for decode (the reserved field cleared again), or a
   * DecodeError: `mac-missing` (no MAC while keys are configured), `mac-unexpected` (a MAC this
   * node has no key for at all), `mac-key` (a key id of no key held), `mac-bad` (wrong MAC).
   */
  open(bytes: Uint8Array): Uint8Array {
    if (bytes.byteLength < HEADER_SIZE) return bytes; // decode reports it as short
    const reserved = getU16(bytes, OFF_RESERVED);
    const kind = reserved >> 8;
    const tagged = kind === AUTH_FLAG || kind === GMAC_FLAG;
    if (!this.enabled) {
      if (tagged) throw new DecodeError("mac-unexpected", "an authenticated message, and this node has no cluster key");
      return bytes;
    }
    if (!tagged) throw new DecodeError("mac-missing", "no MAC, and this node requires one");
    const trailer = kind === AUTH_FLAG ? TAG_BYTES : GMAC_TRAILER_BYTES;
    if (bytes.byteLength < HEADER_SIZE + trailer) throw new DecodeError("mac-bad", "too short for a MAC");
    const id = reserved & 0xff;
    const end = bytes.byteLength - trailer;
    let known = false;
    for (const k of this.keys) {
      if (k.id !== id) continue;
      known = true;
      if (kind === AUTH_FLAG ? this.hmacMatches(k, bytes, end) : this.gmacMatches(k, bytes, end)) {
        setU16(bytes, OFF_RESERVED, 0);
        return bytes.subarray(0, end);
      }
    }
    throw new DecodeError(known ? "mac-bad" : "mac-key", known ? "MAC does not match" : `key id ${id} is none of this node's keys`);
  }

  private hmacMatches(k: Key, bytes: Uint8Array, end: number): boolean {
    return equalTags(k.hmac(bytes.subarray(0, end)), bytes, end);
  }

  private gmacMatches(k: Key, bytes: Uint8Array, end: number): boolean {
    const key = this.peerKey(k, getU16(bytes, OFF_SENDER), bytes.subarray(end, end + 8));
    this.nonce.fill(0, 0, 4);
    this.nonce.set(bytes.subarray(end + 8, end + 16), 4);
    return equalTags(key.tag(this.nonce, bytes.subarray(0, end), this.tag), bytes, end + 16);
  }

  /** The GMAC key of a sender's incarnation: the last one seen for (key, sender), else the bounded cache, else derived. */
  private peerKey(k: Key, sender: number, epoch: Uint8Array): GmacKey {
    const e0 = getU32(epoch, 0);
    const e1 = getU32(epoch, 4);
    const slot = (k.id << 16) | sender;
    const last = this.lastPeerKey.get(slot);
    if (last && last.e0 === e0 && last.e1 === e1) return last.key;
    const cacheKey = `${k.id}:${sender}:${e0}:${e1}`;
    let key = this.peerKeys.get(cacheKey);
    if (!key) {
      key = this.gmac.key(gmacKey(k.hmac, sender, epoch));
      this.peerKeys.set(cacheKey, key);
    }
    // Bounded: one entry per (key id, sender id), 256 · 65,536 at most, and a configuration names far fewer.
    this.lastPeerKey.set(slot, { e0, e1, key });
    return key;
  }

  /** A key the cache evicts is freed, and forgotten as any sender's last (rare: past MAX_PEER_KEYS incarnations). */
  private dropPeerKey(key: GmacKey): void {
    for (const [slot, last] of this.lastPeerKey) if (last.key === key) this.lastPeerKey.delete(slot);
    key.free();
  }
}

/** Whether the first TAG_BYTES of `tag` equal bytes[at, at + TAG_BYTES), in time independent of where they differ. */
function equalTags(tag: Uint8Array, bytes: Uint8Array, at: number): boolean {
  if (bytes.byteLength - at !== TAG_BYTES) return false;
  let diff = 0;
  for (let i = 0; i < TAG_BYTES; i++) diff |= (tag[i] as number) ^ (bytes[at + i] as number);
  return diff === 0;
}

/** A sender incarnation's GMAC key: HMAC-SHA-256(cluster key, "paxos-gmac" || sender u16 || epoch). */
function gmacKey(hmac: HmacSha256, sender: number, epoch: Uint8Array): Uint8Array {
  return new Uint8Array(hmac(GMAC_LABEL, new Uint8Array([sender >> 8, sender & 0xff]), epoch));
}

/** Writes the 96-bit nonce of message number `n` (n < 2^53) into `nonce`: 4 zero bytes, then n as a big-endian u64. */
function writeCounterNonce(nonce: Uint8Array, n: number): void {
  nonce.fill(0, 0, 4);
  let x = n;
  for (let i = 11; i >= 4; i--) {
    nonce[i] = x % 256;
    x = Math.floor(x / 256);
  }
}

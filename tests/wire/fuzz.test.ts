/**
 * Seeded fuzzing of decode: whatever the bytes, decode returns a message or throws DecodeError,
 * never anything else; and a message it returns re-encodes to the very same bytes (the format is
 * canonical) which decode again to an equal message.
 */
import { describe, expect, test } from "bun:test";
import type { Msg } from "../../src/core/types.ts";
import { decode, type Decoded, DecodeError, type DecodeReason, encode, HEADER_SIZE, MAGIC, OFF_LENGTH, OFF_RING, TYPE_CODES, VERSION } from "../../src/wire/index.ts";
import { Prng, randomMsg, ringId, sameBytes } from "./helpers.ts";

const CLUSTER = 0x0badcafe;
/** Message types (and so the highest type code). */
const TYPES = Object.keys(TYPE_CODES).length;
let inputs = 0;

interface Tally {
  accepted: number;
  rejected: Partial<Record<DecodeReason, number>>;
  acceptedTypes: Set<Msg["t"]>;
  failures: string[];
}

const tallies: Tally[] = [];
const tally = (): Tally => {
  const t: Tally = { accepted: 0, rejected: {}, acceptedTypes: new Set(), failures: [] };
  tallies.push(t);
  return t;
};

function hex(b: Uint8Array): string {
  return Array.from(b.subarray(0, 64), (x) => x.toString(16).padStart(2, "0")).join("");
}

/** Decodes `buf` and checks the property; records the outcome in `t`. */
function check(buf: Uint8Array, t: Tally): Msg | DecodeReason | undefined {
  inputs++;
  let got: Decoded;
  try {
    got = decode(buf, CLUSTER);
  } catch (e) {
    if (!(e instanceof DecodeError)) {
      t.failures.push(`${String(e)} on ${hex(buf)}`);
      return undefined;
    }
    // Only the catch-all in decode sets a cause: an unguarded read would show up here.
    if (e.cause !== undefined) t.failures.push(`unexpected internal error ${String(e.cause)} on ${hex(buf)}`);
    t.rejected[e.reason] = (t.rejected[e.reason] ?? 0) + 1;
    return e.reason;
  }
  t.accepted++;
  t.acceptedTypes.add(got.msg.t);
  try {
    const again = encode(got.msg, { cluster: CLUSTER, sender: got.sender, ring: got.ring });
    if (!sameBytes(again, buf)) t.failures.push(`re-encoding differs: ${hex(buf)} vs ${hex(again)}`);
    const back = decode(again, CLUSTER);
    if (back.sender !== got.sender || back.ring !== got.ring || !Bun.deepEquals(back.msg, got.msg, true))
      t.failures.push(`decode(encode(m)) != m for ${hex(buf)}`);
  } catch (e) {
    t.failures.push(`a decoded message did not round-trip: ${String(e)} on ${hex(buf)}`);
  }
  return got.msg;
}

function randomBytes(r: Prng, n: number, zeroBias = 0): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = r.chance(zeroBias) ? (r.chance(0.8) ? 0 : r.int(1, 3)) : r.u32() & 0xff;
  return b;
}

function header(code: number, bodyLength: number, sender: number, ring: number): Uint8Array {
  const b = new Uint8Array(HEADER_SIZE + bodyLength);
  const v = new DataView(b.buffer);
  v.setUint16(0, MAGIC);
  v.setUint8(2, VERSION);
  v.setUint8(3, code);
  v.setUint32(4, CLUSTER);
  v.setUint16(8, sender);
  v.setUint16(OFF_RING, ring);
  v.setUint32(OFF_LENGTH, bodyLength);
  return b;
}

/** Generous per-test time limits (the default is 5 s): these loops run on shared, sometimes loaded machines. */
const started = performance.now();

describe("fuzzing decode", () => {
  test("purely random bytes of random lengths", () => {
    const r = new Prng(0xf00d);
    const t = tally();
    for (let i = 0; i < 30_000; i++) check(randomBytes(r, r.chance(0.7) ? r.int(0, 48) : r.int(0, 512)), t);
    // Random bytes with a right magic and version, to get past the first checks.
    for (let i = 0; i < 10_000; i++) {
      const b = randomBytes(r, r.int(HEADER_SIZE, 200));
      b[0] = MAGIC >> 8;
      b[1] = MAGIC & 0xff;
      b[2] = VERSION;
      if (r.chance(0.5)) new DataView(b.buffer).setUint32(4, CLUSTER);
      check(b, t);
    }
    expect(t.failures).toEqual([]);
    expect(t.rejected.short ?? 0).toBeGreaterThan(1000);
    expect(t.rejected.magic ?? 0).toBeGreaterThan(10_000);
    expect(t.rejected["foreign-cluster"] ?? 0).toBeGreaterThan(1000);
  }, 60_000);

  test("a valid header in front of a random (zero-biased) body, for every type code", () => {
    const r = new Prng(0xbeef);
    const t = tally();
    const sizes = new Map<number, number[]>();
    for (let i = 0; i < 2000; i++) {
      const m = randomMsg(r);
      const n = encode(m, { cluster: CLUSTER, sender: 0 }).byteLength - HEADER_SIZE;
      if (n <= 200) sizes.set(TYPE_CODES[m.t], [...(sizes.get(TYPE_CODES[m.t]) ?? []), n]);
    }
    for (let i = 0; i < 35_000; i++) {
      const code = r.chance(0.9) ? r.int(1, TYPES) : r.int(0, 255);
      // Half the time, a body length some real message of that type has: exact lengths get further.
      const n = r.chance(0.5) ? (r.chance(0.5) ? r.int(0, 40) : r.int(0, 160)) : (r.pick(sizes.get(code) ?? [0]) as number);
      const b = header(code, n, r.int(0, 0xffff), ringId(r));
      b.set(randomBytes(r, n, r.pick([0.3, 0.6, 0.9])), HEADER_SIZE);
      check(b, t);
    }
    expect(t.failures).toEqual([]);
    // The body parsers were reached and both outcomes happen.
    expect(t.rejected.body ?? 0).toBeGreaterThan(10_000);
    expect(t.rejected.type ?? 0).toBeGreaterThan(100);
    expect(t.accepted).toBeGreaterThan(1000);
    expect(t.acceptedTypes.size).toBeGreaterThanOrEqual(10);
  }, 60_000);

  test("random well-formed messages round-trip", () => {
    const r = new Prng(0xcafe);
    const t = tally();
    for (let i = 0; i < 5_000; i++) {
      const msg = randomMsg(r);
      const sender = r.int(0, 0xffff);
      const ring = ringId(r);
      const buf = encode(msg, { cluster: CLUSTER, sender, ring });
      const got = check(buf, t);
      if (!Bun.deepEquals(got, msg, true)) t.failures.push(`round trip of ${msg.t} failed`);
      if (decode(buf, CLUSTER).ring !== ring) t.failures.push(`ring ${ring} of ${msg.t} did not round-trip`);
    }
    expect(t.failures).toEqual([]);
    expect(t.accepted).toBe(5_000);
    expect(t.acceptedTypes.size).toBe(TYPES);
  }, 60_000);

  test("valid encodings truncated at every length", () => {
    const r = new Prng(0x7777);
    const t = tally();
    const msgs: Msg[] = [];
    while (msgs.length < 2 * (TYPES - 1)) {
      const m = randomMsg(r);
      // Two of every type that has a body.
      if (m.t !== "hello" && msgs.filter((x) => x.t === m.t).length < 2) msgs.push(m);
    }
    for (const m of msgs) {
      const full = encode(m, { cluster: CLUSTER, sender: 9 });
      for (let len = 0; len < full.byteLength; len++) {
        // As received: a datagram cut short.
        const cut = full.slice(0, len);
        const reason = check(cut, t);
        if (reason !== (len < HEADER_SIZE ? "short" : "length")) t.failures.push(`${m.t} cut at ${len}: ${String(reason)}`);
        // With the length field patched to the bytes left: bodies are prefix-free, so still refused.
        if (len >= HEADER_SIZE) {
          new DataView(cut.buffer).setUint32(OFF_LENGTH, len - HEADER_SIZE);
          const reason2 = check(cut, t);
          if (reason2 !== "body") t.failures.push(`${m.t} cut at ${len}, length patched: ${String(reason2)}`);
        }
      }
    }
    expect(t.failures).toEqual([]);
    expect(t.accepted).toBe(0);
  }, 60_000);

  test("valid encodings with bit flips, byte overwrites, length and count corruption, insertions, deletions", () => {
    const r = new Prng(0x5eed);
    const t = tally();
    const pool = Array.from({ length: 300 }, () => encode(randomMsg(r), { cluster: CLUSTER, sender: r.int(0, 0xffff), ring: ringId(r) }));
    for (let i = 0; i < 45_000; i++) {
      const src = r.pick(pool);
      let b = src.slice();
      const v = new DataView(b.buffer);
      switch (r.int(0, 6)) {
        case 0: // bit flips
          for (let k = r.int(1, 4); k > 0; k--) {
            const at = r.int(0, b.byteLength - 1);
            b[at] = (b[at] as number) ^ (1 << r.int(0, 7));
          }
          break;
        case 1: // byte overwrites
          for (let k = r.int(1, 4); k > 0; k--) b[r.int(0, b.byteLength - 1)] = r.pick([0, 1, 0x7f, 0x80, 0xff, r.u32() & 0xff]);
          break;
        case 2: // the header's length field
          v.setUint32(OFF_LENGTH, r.chance(0.5) ? r.u32() : Math.max(0, v.getUint32(OFF_LENGTH) + r.int(-4, 4)));
          break;
        case 3: // a big or off-by-some u32 somewhere in the body (counts, lengths)
          if (b.byteLength >= HEADER_SIZE + 4) {
            const at = r.int(HEADER_SIZE, b.byteLength - 4);
            v.setUint32(at, r.pick([0xffffffff, 0x7fffffff, 1_000_000, 1_000_001, v.getUint32(at) + 1, Math.max(0, v.getUint32(at) - 1)]));
          }
          break;
        case 4: // a u8 count (ring sizes, vid lengths) nudged
          if (b.byteLength > HEADER_SIZE) {
            const at = r.int(HEADER_SIZE, b.byteLength - 1);
            b[at] = ((b[at] as number) + r.pick([1, 255, 64, 65])) & 0xff;
          }
          break;
        case 5: {
          // insert or delete a byte, fixing the length field or not
          const at = r.int(HEADER_SIZE, b.byteLength);
          const grown = r.chance(0.5);
          const nb = new Uint8Array(b.byteLength + (grown ? 1 : at < b.byteLength ? -1 : 0));
          nb.set(b.subarray(0, at));
          if (grown) {
            nb[at] = r.u32() & 0xff;
            nb.set(b.subarray(at), at + 1);
          } else nb.set(b.subarray(at + 1), at);
          if (r.chance(0.7)) new DataView(nb.buffer).setUint32(OFF_LENGTH, nb.byteLength - HEADER_SIZE);
          b = nb;
          break;
        }
        default: // the header's type code swapped for another valid one
          b[3] = r.int(1, TYPES);
          break;
      }
      check(b, t);
    }
    expect(t.failures).toEqual([]);
    expect(t.accepted).toBeGreaterThan(2000);
    expect(t.rejected.body ?? 0).toBeGreaterThan(2000);
    expect(t.rejected.length ?? 0).toBeGreaterThan(1000);
  }, 60_000);

  // The wall time is printed, not asserted: it is about 2.5 s on an idle 2-core machine, and a
  // time limit would make the test flaky on a loaded one.
  test("at least 100,000 inputs in all", () => {
    const ms = performance.now() - started;
    const accepted = tallies.reduce((n, t) => n + t.accepted, 0);
    const reasons: Partial<Record<DecodeReason, number>> = {};
    for (const t of tallies)
      for (const [k, v] of Object.entries(t.rejected)) reasons[k as DecodeReason] = (reasons[k as DecodeReason] ?? 0) + v;
    console.log(
      `wire fuzz: ${inputs.toLocaleString("en-US")} inputs in ${(ms / 1000).toFixed(2)} s; ` +
        `${accepted} accepted, rejected: ${JSON.stringify(reasons)}`,
    );
    expect(inputs).toBeGreaterThanOrEqual(100_000);
  });
});

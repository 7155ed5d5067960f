import { describe, expect, test } from "bun:test";
import { DEFAULT_MAX_FRAME, FRAME_HEADER_BYTES, FrameParser, encodeFrame, type FrameError } from "../../src/net/frame.ts";

import { bytes } from "./helpers.ts";

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

function collect(maxFrame?: number): { parser: FrameParser; frames: Uint8Array[] } {
  const frames: Uint8Array[] = [];
  const parser = new FrameParser((f) => frames.push(f), maxFrame === undefined ? {} : { maxFrame });
  return { parser, frames };
}

describe("encodeFrame", () => {
  test("u32 big-endian length then the payload", () => {
    const f = encodeFrame(new Uint8Array([9, 8, 7]));
    expect([...f]).toEqual([0, 0, 0, 3, 9, 8, 7]);
    const big = encodeFrame(new Uint8Array(0x01_02_03));
    expect([...big.subarray(0, 4)]).toEqual([0, 0x01, 0x02, 0x03]);
    expect(big.byteLength).toBe(FRAME_HEADER_BYTES + 0x010203);
  });

  test("an empty payload is a bare header", () => {
    expect([...encodeFrame(new Uint8Array(0))]).toEqual([0, 0, 0, 0]);
  });

  test("DEFAULT_MAX_FRAME is 64 MiB", () => {
    expect(DEFAULT_MAX_FRAME).toBe(64 * 1024 * 1024);
  });
});

describe("FrameParser", () => {
  const payloads = [bytes(1, 1), bytes(0, 2), bytes(300, 3), bytes(5, 4), bytes(0, 5), bytes(1500, 6), bytes(2, 7)];
  const stream = concat(payloads.map(encodeFrame));
  const same = (got: readonly Uint8Array[], want: readonly Uint8Array[]): boolean =>
    got.length === want.length && got.every((g, i) => Buffer.compare(Buffer.from(g), Buffer.from(want[i]!)) === 0);

  test("a stream split at every byte boundary (two chunks) yields the same frames", () => {
    for (let cut = 0; cut <= stream.byteLength; cut++) {
      const { parser, frames } = collect();
      expect(parser.push(stream.subarray(0, cut))).toBeNull();
      expect(parser.push(stream.subarray(cut))).toBeNull();
      if (!same(frames, payloads)) throw new Error(`wrong frames when cut at byte ${cut}`);
      expect(parser.bufferedBytes).toBe(0);
    }
  });

  test("a stream fed one byte at a time yields the same frames", () => {
    const { parser, frames } = collect();
    for (let i = 0; i < stream.byteLength; i++) expect(parser.push(stream.subarray(i, i + 1))).toBeNull();
    expect(frames).toEqual(payloads);
  });

  test("random chunkings yield the same frames", () => {
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let round = 0; round < 50; round++) {
      const { parser, frames } = collect();
      let at = 0;
      while (at < stream.byteLength) {
        const n = 1 + rnd(round % 2 === 0 ? 16 : 1000);
        parser.push(stream.subarray(at, at + n));
        at += n;
      }
      expect(same(frames, payloads)).toBe(true);
    }
  });

  test("many frames in one chunk, in order", () => {
    const many = Array.from({ length: 1000 }, (_, i) => bytes(i % 37, i + 1));
    const { parser, frames } = collect();
    expect(parser.push(concat(many.map(encodeFrame)))).toBeNull();
    expect(frames.length).toBe(1000);
    expect(frames).toEqual(many);
  });

  test("empty payloads, alone and between others", () => {
    const { parser, frames } = collect();
    parser.push(encodeFrame(new Uint8Array(0)));
    expect(frames.length).toBe(1);
    expect(frames[0]!.byteLength).toBe(0);
    parser.push(concat([encodeFrame(new Uint8Array(0)), encodeFrame(new Uint8Array([1])), encodeFrame(new Uint8Array(0))]));
    expect(frames.map((f) => f.byteLength)).toEqual([0, 0, 1, 0]);
  });

  test("frames are copies the receiver owns: reusing the chunk later does not change them", () => {
    const { parser, frames } = collect();
    const chunk = concat([encodeFrame(new Uint8Array([1, 2, 3])), encodeFrame(new Uint8Array([4, 5]))]);
    parser.push(chunk.subarray(0, 9));
    parser.push(chunk.subarray(9));
    chunk.fill(0xee);
    expect(frames).toEqual([new Uint8Array([1, 2, 3]), new Uint8Array([4, 5])]);
  });

  test("a declared length above maxFrame is reported, not thrown, and stops the parser", () => {
    const { parser, frames } = collect(100);
    const ok = encodeFrame(bytes(100, 9));
    const bad = new Uint8Array([0, 0, 0, 101, 1, 2, 3]);
    let err: FrameError | null = null;
    expect(() => {
      err = parser.push(concat([ok, bad, ok]));
    }).not.toThrow();
    expect(err).not.toBeNull();
    const e = err as unknown as FrameError;
    expect(e.kind).toBe("frame-too-large");
    expect(e.declared).toBe(101);
    expect(e.maxFrame).toBe(100);
    expect(e.message).toContain("101");
    // The frame before the bad header was delivered; nothing after it.
    expect(frames.length).toBe(1);
    expect(parser.error).toBe(e);
    expect(parser.push(ok)).toBe(e);
    expect(frames.length).toBe(1);
  });

  test("an oversized length is caught even when its header arrives byte by byte", () => {
    const { parser } = collect();
    const header = new Uint8Array([0xff, 0xff, 0xff, 0xff]);
    expect(parser.push(header.subarray(0, 1))).toBeNull();
    expect(parser.push(header.subarray(1, 3))).toBeNull();
    const err = parser.push(header.subarray(3));
    expect(err?.declared).toBe(0xffff_ffff);
    expect(err?.maxFrame).toBe(DEFAULT_MAX_FRAME);
  });

  test("a header declaring a large frame does not allocate it up front", () => {
    const { parser, frames } = collect();
    // 32 MiB declared, 10 bytes sent: the parser holds about what it received.
    parser.push(concat([new Uint8Array([0x02, 0, 0, 0]), bytes(10, 1)]));
    expect(frames.length).toBe(0);
    expect(parser.bufferedBytes).toBe(10);
  });

  test("a large (8 MB) frame in 64 KB chunks arrives intact, in linear time", () => {
    const big = bytes(8 * 1024 * 1024, 77);
    const wire = concat([encodeFrame(big), encodeFrame(bytes(3, 1))]);
    const { parser, frames } = collect();
    const t0 = performance.now();
    for (let at = 0; at < wire.byteLength; at += 65536) expect(parser.push(wire.subarray(at, at + 65536))).toBeNull();
    const ms = performance.now() - t0;
    expect(frames.length).toBe(2);
    expect(frames[0]!.byteLength).toBe(big.byteLength);
    expect(Buffer.compare(Buffer.from(frames[0]!), Buffer.from(big))).toBe(0);
    // Quadratic copying (re-concatenating 128 chunks) would move ~0.5 GB; linear moves ~16 MB.
    expect(ms).toBeLessThan(1000);
  });

  test("a large frame split into tiny chunks stays linear", () => {
    // 8 MiB in 1 KiB chunks: re-copying the gathered prefix per chunk would move ~34 GB.
    const big = bytes(8 * 1024 * 1024, 5);
    const wire = encodeFrame(big);
    const { parser, frames } = collect();
    const t0 = performance.now();
    for (let at = 0; at < wire.byteLength; at += 1024) parser.push(wire.subarray(at, at + 1024));
    expect(performance.now() - t0).toBeLessThan(1500);
    expect(frames.length).toBe(1);
    expect(Buffer.compare(Buffer.from(frames[0]!), Buffer.from(big))).toBe(0);
  });

  test("invalid maxFrame is refused at construction", () => {
    expect(() => new FrameParser(() => {}, { maxFrame: -1 })).toThrow(RangeError);
    expect(() => new FrameParser(() => {}, { maxFrame: 2 ** 32 })).toThrow(RangeError);
  });
});

/**
 * A cursor writing into a buffer sized beforehand by the measuring pass (see check.ts / fields.ts),
 * which has also validated every field: the writer itself checks nothing.
 */

import { setU16, setU32 } from "./bytes.ts";

const TWO_32 = 4294967296;

export class Writer {
  pos: number;

  constructor(
    readonly bytes: Uint8Array,
    start: number,
  ) {
    this.pos = start;
  }

  u8(x: number): void {
    this.bytes[this.pos++] = x;
  }

  u16(x: number): void {
    setU16(this.bytes, this.pos, x);
    this.pos += 2;
  }

  u32(x: number): void {
    setU32(this.bytes, this.pos, x);
    this.pos += 4;
  }

  /** A safe integer >= 0 as two big-endian u32 words. */
  u53(x: number): void {
    const hi = Math.floor(x / TWO_32);
    setU32(this.bytes, this.pos, hi);
    setU32(this.bytes, this.pos + 4, x - hi * TWO_32);
    this.pos += 8;
  }

  bool(b: boolean): void {
    this.bytes[this.pos++] = b ? 1 : 0;
  }

  raw(src: Uint8Array): void {
    this.bytes.set(src, this.pos);
    this.pos += src.byteLength;
  }

  /** A vid already checked to be 1..MAX_VID printable ASCII characters. */
  vid(s: string): void {
    const n = s.length;
    this.bytes[this.pos++] = n;
    for (let i = 0; i < n; i++) this.bytes[this.pos + i] = s.charCodeAt(i);
    this.pos += n;
  }
}

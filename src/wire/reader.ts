/**
 * A bounded cursor over a message body. Every read checks the bytes left first and fails with
 * DecodeError("body"), so no read ever leaves the body (nor throws the DataView's RangeError).
 */
import { DecodeError } from "./errors.ts";
import { MAX_VID } from "./limits.ts";

const TWO_32 = 4294967296;
/** The high word of a safe integer is below 2^21 (2^53 = 2^21 * 2^32). */
const MAX_HI = 0x1fffff;

export class Reader {
  private pos: number;
  private readonly view: DataView;

  /** Reads `buf[start, end)`. */
  constructor(
    private readonly buf: Uint8Array,
    start: number,
    private readonly end: number,
  ) {
    this.pos = start;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number, what: string): void {
    if (this.end - this.pos < n) throw new DecodeError("body", `${what}: needs ${n} bytes, ${this.end - this.pos} left`);
  }

  u8(what: string): number {
    this.need(1, what);
    return this.view.getUint8(this.pos++);
  }

  u16(what: string): number {
    this.need(2, what);
    const x = this.view.getUint16(this.pos);
    this.pos += 2;
    return x;
  }

  u32(what: string): number {
    this.need(4, what);
    const x = this.view.getUint32(this.pos);
    this.pos += 4;
    return x;
  }

  /** A safe integer >= 0 as two big-endian u32 words (high word < 2^21): one encoding per number. */
  u53(what: string): number {
    this.need(8, what);
    const hi = this.view.getUint32(this.pos);
    const lo = this.view.getUint32(this.pos + 4);
    if (hi > MAX_HI) throw new DecodeError("body", `${what}: not a safe integer (high word 0x${hi.toString(16)})`);
    this.pos += 8;
    return hi * TWO_32 + lo;
  }

  /** A byte that is exactly 0 or 1. */
  bool(what: string): boolean {
    const b = this.u8(what);
    if (b > 1) throw new DecodeError("body", `${what}: boolean byte ${b}`);
    return b === 1;
  }

  /** `n` bytes as a zero-copy view (`subarray`) of the input buffer: no copy is made. */
  bytes(n: number, what: string): Uint8Array {
    this.need(n, what);
    const view = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return view;
  }

  /** A value id: u8 length 1..MAX_VID, then printable ASCII bytes (0x20..0x7e). */
  vid(what: string): string {
    const n = this.u8(what);
    if (n === 0 || n > MAX_VID) throw new DecodeError("body", `${what}: vid length ${n} not in 1..${MAX_VID}`);
    this.need(n, what);
    let s = "";
    for (let i = 0; i < n; i++) {
      const c = this.buf[this.pos + i] as number;
      if (c < 0x20 || c > 0x7e) throw new DecodeError("body", `${what}: vid byte 0x${c.toString(16)} is not printable ASCII`);
      s += String.fromCharCode(c);
    }
    this.pos += n;
    return s;
  }

  /**
   * A u32 item count, checked against `max` and against the bytes left: `count` items of at least
   * `minItemBytes` each must fit, so a forged count is refused before anything is allocated.
   */
  count(max: number, minItemBytes: number, what: string): number {
    const n = this.u32(what);
    if (n > max) throw new DecodeError("body", `${what}: count ${n} > ${max}`);
    if (n * minItemBytes > this.end - this.pos)
      throw new DecodeError("body", `${what}: ${n} items need at least ${n * minItemBytes} bytes, ${this.end - this.pos} left`);
    return n;
  }

  /** The body must be consumed exactly: trailing bytes are an error. */
  finish(what: string): void {
    if (this.pos !== this.end) throw new DecodeError("body", `${what}: ${this.end - this.pos} trailing bytes in the body`);
  }
}

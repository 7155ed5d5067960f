/**
 * A bounded cursor over a message body. Every read checks the bytes left first and fails with
 * DecodeError("body"), so no read ever leaves the body (nor throws the DataView's RangeError).
 */
import { DecodeError } from "./errors.ts";
import { MAX_VID } from "./limits.ts";
import { getU16, getU32 } from "./bytes.ts";

const TWO_32 = 4294967296;
/** The high word of a safe integer is below 2^21 (2^53 = 2^21 * 2^32). */
const MAX_HI = 0x1fffff;

/**
 * A field's name for error messages, e.g. "2a.batch" + "vid". Built only when an error is thrown:
 * the hot path passes constant strings and allocates none.
 */
function label(what: string, field: string | undefined): string {
  return field === undefined ? what : `${what}.${field}`;
}

export class Reader {
  private pos: number;

  /** Reads `buf[start, end)`. */
  constructor(
    private readonly buf: Uint8Array,
    start: number,
    private readonly end: number,
  ) {
    this.pos = start;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number, what: string, field?: string): void {
    if (this.end - this.pos < n) throw new DecodeError("body", `${label(what, field)}: needs ${n} bytes, ${this.end - this.pos} left`);
  }

  u8(what: string, field?: string): number {
    this.need(1, what, field);
    return this.buf[this.pos++] as number;
  }

  u16(what: string, field?: string): number {
    this.need(2, what, field);
    const x = getU16(this.buf, this.pos);
    this.pos += 2;
    return x;
  }

  u32(what: string, field?: string): number {
    this.need(4, what, field);
    const x = getU32(this.buf, this.pos);
    this.pos += 4;
    return x;
  }

  /** A safe integer >= 0 as two big-endian u32 words (high word < 2^21): one encoding per number. */
  u53(what: string, field?: string): number {
    this.need(8, what, field);
    const hi = getU32(this.buf, this.pos);
    const lo = getU32(this.buf, this.pos + 4);
    if (hi > MAX_HI) throw new DecodeError("body", `${label(what, field)}: not a safe integer (high word 0x${hi.toString(16)})`);
    this.pos += 8;
    return hi * TWO_32 + lo;
  }

  /** A byte that is exactly 0 or 1. */
  bool(what: string, field?: string): boolean {
    const b = this.u8(what, field);
    if (b > 1) throw new DecodeError("body", `${label(what, field)}: boolean byte ${b}`);
    return b === 1;
  }

  /** `n` bytes as a zero-copy view (`subarray`) of the input buffer: no copy is made. */
  bytes(n: number, what: string, field?: string): Uint8Array {
    this.need(n, what, field);
    const view = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return view;
  }

  /** A value id: u8 length 1..MAX_VID, then printable ASCII bytes (0x20..0x7e). */
  vid(what: string, field?: string): string {
    const n = this.u8(what, field);
    if (n === 0 || n > MAX_VID) throw new DecodeError("body", `${label(what, field)}: vid length ${n} not in 1..${MAX_VID}`);
    this.need(n, what, field);
    let s = "";
    for (let i = 0; i < n; i++) {
      const c = this.buf[this.pos + i] as number;
      if (c < 0x20 || c > 0x7e) throw new DecodeError("body", `${label(what, field)}: vid byte 0x${c.toString(16)} is not printable ASCII`);
      s += String.fromCharCode(c);
    }
    this.pos += n;
    return s;
  }

  /**
   * A u32 item count, checked against `max` and against the bytes left: `count` items of at least
   * `minItemBytes` each must fit, so a forged count is refused before anything is allocated.
   */
  count(max: number, minItemBytes: number, what: string, field?: string): number {
    const n = this.u32(what, field);
    if (n > max) throw new DecodeError("body", `${label(what, field)}: count ${n} > ${max}`);
    if (n * minItemBytes > this.end - this.pos)
      throw new DecodeError("body", `${label(what, field)}: ${n} items need at least ${n * minItemBytes} bytes, ${this.end - this.pos} left`);
    return n;
  }

  /** The body must be consumed exactly: trailing bytes are an error. */
  finish(what: string, field?: string): void {
    if (this.pos !== this.end) throw new DecodeError("body", `${label(what, field)}: ${this.end - this.pos} trailing bytes in the body`);
  }
}

/**
 * Length-prefixed framing for TCP streams: every frame is a u32 big-endian payload length
 * followed by the payload. The transports move opaque frames; what a payload means is the
 * codec's business.
 *
 * `FrameParser` is incremental: it accepts chunks cut anywhere (a frame split over many chunks,
 * many frames in one chunk) and hands out each complete frame as a fresh `Uint8Array` that the
 * receiver owns. A declared length above `maxFrame` is a protocol error returned by `push`, never
 * thrown: the caller closes the connection.
 *
 * Copying is linear: a frame that lies within one chunk is copied once; a frame that spans chunks
 * is gathered into a buffer that grows by doubling (capped at the declared length), so each byte
 * is copied O(1) times and memory follows the bytes actually received, not the length a peer
 * merely declared (a 4-byte header cannot make us allocate 64 MiB).
 */
import { getU32, setU32 } from "../wire/bytes.ts";

/** Bytes of the length prefix. */
export const FRAME_HEADER_BYTES = 4;

/** Default bound on a frame's payload: a larger declared length is a protocol error. */
export const DEFAULT_MAX_FRAME = 64 * 1024 * 1024;

/** Largest length the u32 prefix can carry. */
export const MAX_ENCODABLE_FRAME = 0xffff_ffff;

/**
 * Frames up to this size get their buffer at once when their header arrives: a TCP link's whole
 * write (64 KB of frames) wrapped as one authenticated bundle is a little larger than 64 KB, and
 * at 64 here every bundle was gathered into 64 KB, then copied into its full size.
 */
const EAGER_ALLOC_BYTES = 128 * 1024;

/** `payload` with its length prefix, in one new buffer. Throws RangeError above 4 GiB - 1 (a caller bug). */
export function encodeFrame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_BYTES + payload.byteLength);
  writeFrameAt(out, 0, payload);
  return out;
}

/**
 * Writes `payload` with its length prefix into `out` at `at` (which must have room); returns the
 * offset after it. Throws RangeError above 4 GiB - 1 (a caller bug).
 */
export function writeFrameAt(out: Uint8Array, at: number, payload: Uint8Array): number {
  const n = payload.byteLength;
  if (n > MAX_ENCODABLE_FRAME) throw new RangeError(`frame of ${n} bytes exceeds the u32 length prefix`);
  setU32(out, at, n);
  out.set(payload, at + FRAME_HEADER_BYTES);
  return at + FRAME_HEADER_BYTES + n;
}

/** A protocol error found by the parser. The stream cannot be resynchronised: close it. */
export interface FrameError {
  readonly kind: "frame-too-large";
  /** The length the peer declared. */
  readonly declared: number;
  readonly maxFrame: number;
  readonly message: string;
}

export interface FrameParserOptions {
  /** Largest accepted payload length (default DEFAULT_MAX_FRAME). */
  readonly maxFrame?: number;
}

export class FrameParser {
  readonly maxFrame: number;
  private readonly onFrame: (frame: Uint8Array) => void;
  /** Header bytes gathered so far when a header spans chunks. */
  private readonly header = new Uint8Array(FRAME_HEADER_BYTES);
  private headerFill = 0;
  /** Declared length of the frame being gathered, or -1 while reading a header. */
  private need = -1;
  /** Buffer of the frame being gathered (grows up to `need`) and how much of it is filled. */
  private body: Uint8Array = new Uint8Array(0);
  private bodyFill = 0;
  private failure: FrameError | null = null;

  constructor(onFrame: (frame: Uint8Array) => void, options: FrameParserOptions = {}) {
    const maxFrame = options.maxFrame ?? DEFAULT_MAX_FRAME;
    if (!Number.isInteger(maxFrame) || maxFrame < 0 || maxFrame > MAX_ENCODABLE_FRAME) {
      throw new RangeError(`maxFrame must be an integer in 0..${MAX_ENCODABLE_FRAME}, got ${maxFrame}`);
    }
    this.maxFrame = maxFrame;
    this.onFrame = onFrame;
  }

  /** The protocol error that stopped this parser, if any (it then ignores further input). */
  get error(): FrameError | null {
    return this.failure;
  }

  /** Bytes held for a frame not yet complete (header bytes included). */
  get bufferedBytes(): number {
    return this.headerFill + this.bodyFill;
  }

  /**
   * Feeds one chunk; calls `onFrame` for every frame it completes, in order. Returns null, or the
   * protocol error (also on every later call). Exceptions thrown by `onFrame` propagate; frames
   * after the one whose callback threw in this chunk are then lost.
   */
  push(chunk: Uint8Array): FrameError | null {
    if (this.failure) return this.failure;
    const len = chunk.byteLength;
    let pos = 0;
    while (pos < len) {
      if (this.need < 0) {
        // Reading a header: fast path when the whole header lies in this chunk.
        let declared: number;
        if (this.headerFill === 0 && len - pos >= FRAME_HEADER_BYTES) {
          declared = getU32(chunk, pos);
          pos += FRAME_HEADER_BYTES;
        } else {
          while (this.headerFill < FRAME_HEADER_BYTES && pos < len) this.header[this.headerFill++] = chunk[pos++]!;
          if (this.headerFill < FRAME_HEADER_BYTES) break;
          this.headerFill = 0;
          declared = getU32(this.header, 0);
        }
        if (declared > this.maxFrame) {
          this.failure = {
            kind: "frame-too-large",
            declared,
            maxFrame: this.maxFrame,
            message: `frame of ${declared} bytes declared, above the limit of ${this.maxFrame}`,
          };
          return this.failure;
        }
        if (len - pos >= declared) {
          // The whole payload is in this chunk: one copy, out it goes.
          const frame = chunk.slice(pos, pos + declared);
          pos += declared;
          this.onFrame(frame);
          continue;
        }
        this.need = declared;
        this.body = new Uint8Array(declared <= EAGER_ALLOC_BYTES ? declared : Math.max(EAGER_ALLOC_BYTES, len - pos));
        this.bodyFill = 0;
      }
      // Gathering a body that spans chunks.
      const take = Math.min(this.need - this.bodyFill, len - pos);
      this.ensureCapacity(this.bodyFill + take);
      this.body.set(chunk.subarray(pos, pos + take), this.bodyFill);
      this.bodyFill += take;
      pos += take;
      if (this.bodyFill === this.need) {
        const frame = this.body.byteLength === this.need ? this.body : this.body.slice(0, this.need);
        this.need = -1;
        this.body = new Uint8Array(0);
        this.bodyFill = 0;
        this.onFrame(frame);
      }
    }
    return null;
  }

  private ensureCapacity(want: number): void {
    if (want <= this.body.byteLength) return;
    const grown = new Uint8Array(Math.min(this.need, Math.max(want, this.body.byteLength * 2)));
    grown.set(this.body.subarray(0, this.bodyFill));
    this.body = grown;
  }
}

/** The two error types of the codec: one for bytes that are not a message, one for messages that cannot be bytes. */

/**
 * Why a buffer was refused:
 * - `short`: fewer bytes than a header;
 * - `magic`: not this protocol's magic number;
 * - `version`: a format version this code does not speak;
 * - `foreign-cluster`: a well-formed header of another cluster;
 * - `type`: an unknown message type code;
 * - `reserved`: the reserved or the spare header field is not zero;
 * - `length`: the body length field exceeds MAX_BODY or disagrees with the bytes present
 *   (truncated datagram or trailing bytes);
 * - `body`: the body does not parse into exactly one well-formed message of its type;
 * - `mac-missing`, `mac-unexpected`, `mac-key`, `mac-bad`: authentication (see auth.ts);
 * - `bundle`: an authenticated bundle whose body is not whole frames of its sender (see bundle.ts).
 */
export type DecodeReason =
  | "short"
  | "magic"
  | "version"
  | "foreign-cluster"
  | "type"
  | "reserved"
  | "length"
  | "body"
  | "mac-missing"
  | "mac-unexpected"
  | "mac-key"
  | "mac-bad"
  | "bundle";

/** The only exception `decode` / `decodeHeader` ever throw, whatever the input bytes. */
export class DecodeError extends Error {
  override readonly name = "DecodeError";
  constructor(
    readonly reason: DecodeReason,
    detail: string,
    options?: { cause: unknown },
  ) {
    super(`${reason}: ${detail}`, options);
  }
}

/**
 * Thrown by `encode` for a message the wire format cannot carry: a number that is not a safe
 * non-negative integer (or exceeds its field), a vid that is empty, too long or not printable
 * ASCII, a ring with too many or repeated members, a list or body over its limit, a skip batch
 * with values or a skip count out of 1..MAX_SKIP.
 * A message built by the protocol cores never triggers it.
 */
export class EncodeError extends Error {
  override readonly name = "EncodeError";
  constructor(detail: string) {
    super(detail);
  }
}

/**
 * Encode-side validation: the very constraints the decoder enforces, so that every message
 * `encode` accepts decodes again, and a message `decode` returns re-encodes.
 * Each check returns the field's encoded size or throws EncodeError.
 */
import { EncodeError } from "./errors.ts";
import { MAX_NODE_ID, MAX_RING_ID, MAX_U32, MAX_VID } from "./limits.ts";

/** A field's name for error messages, built only when one is thrown. */
function label(what: string, field: string | undefined): string {
  return field === undefined ? what : `${what}.${field}`;
}

/** A safe integer >= 0 (rounds, instances, seqs): 8 bytes. */
export function checkU53(x: number, what: string, field?: string): 8 {
  if (!Number.isSafeInteger(x) || x < 0) throw new EncodeError(`${label(what, field)}: ${String(x)} is not a safe integer >= 0`);
  return 8;
}

export function checkU32(x: number, what: string, field?: string): 4 {
  if (!Number.isInteger(x) || x < 0 || x > MAX_U32) throw new EncodeError(`${label(what, field)}: ${String(x)} is not a u32`);
  return 4;
}

export function checkNodeId(x: number, what: string, field?: string): 2 {
  if (!Number.isInteger(x) || x < 0 || x > MAX_NODE_ID) throw new EncodeError(`${label(what, field)}: ${String(x)} is not a u16 node id`);
  return 2;
}

export function checkRingId(x: number, what: string, field?: string): 2 {
  if (!Number.isInteger(x) || x < 0 || x > MAX_RING_ID) throw new EncodeError(`${label(what, field)}: ${String(x)} is not a u16 ring id`);
  return 2;
}

export function checkBool(b: boolean, what: string, field?: string): 1 {
  if (typeof b !== "boolean") throw new EncodeError(`${label(what, field)}: not a boolean`);
  return 1;
}

/** A vid of 1..MAX_VID printable ASCII characters: 1 + length bytes. */
export function checkVid(s: string, what: string, field?: string): number {
  if (typeof s !== "string" || s.length === 0 || s.length > MAX_VID)
    throw new EncodeError(`${label(what, field)}: vid must be 1..${MAX_VID} characters`);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) throw new EncodeError(`${label(what, field)}: vid character ${c} is not printable ASCII`);
  }
  return 1 + s.length;
}

export function checkList(n: number, max: number, what: string, field?: string): void {
  if (n > max) throw new EncodeError(`${label(what, field)}: ${n} items > ${max}`);
}

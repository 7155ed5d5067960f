/** The wire codec: Msg <-> bytes of one UDP datagram or TCP frame. */
export { decode, type Decoded, encode, type WireHeaderFields } from "./codec.ts";
export { DecodeError, type DecodeReason, EncodeError } from "./errors.ts";
export {
  decodeHeader,
  type Header,
  HEADER_SIZE,
  MAGIC,
  OFF_CLUSTER,
  OFF_LENGTH,
  OFF_MAGIC,
  OFF_RESERVED,
  OFF_RING,
  OFF_SENDER,
  OFF_SPARE,
  OFF_TYPE,
  OFF_VERSION,
  TYPE_CODES,
  type TypeCode,
  typeOfCode,
  VERSION,
} from "./header.ts";
export { MAX_BATCH_VALUES, MAX_BODY, MAX_LIST, MAX_NODE_ID, MAX_RING, MAX_RING_ID, MAX_SKIP, MAX_U32, MAX_VID } from "./limits.ts";
export { AUTH_FLAG, KEY_BYTES, keyId, TAG_BYTES, WireAuth } from "./auth.ts";

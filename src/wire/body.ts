/** The shape every message body codec has: measure (validate and size), write, read. */
import type { Msg, MsgType } from "../core/types.ts";
import type { Reader } from "./reader.ts";
import type { Writer } from "./writer.ts";

export type MsgOf<T extends MsgType> = Extract<Msg, { readonly t: T }>;

export interface BodyCodec<M extends Msg> {
  /** Validates every field (throws EncodeError) and returns the body size in bytes. */
  measure(m: M): number;
  /** Writes the body of a message `measure` accepted. */
  write(w: Writer, m: M): void;
  /** Reads one body (throws DecodeError); the caller checks that no bytes are left. */
  read(r: Reader): M;
}

/**
 * What a replica answers to a command, and its bytes in the client table (CBOR): a retried command
 * is answered with the reply its first application produced, byte for byte.
 */
import { Decoder, Encoder } from "cbor-x";

export type ErrorCode =
  /** get, update: the key is absent. */
  | "NOT_FOUND"
  /** insert: the key is present. */
  | "EXISTS"
  /** cas: the key's revision is not the expected one (the reply carries the current one, 0: absent). */
  | "REVISION_MISMATCH"
  /** The command is malformed or out of bounds (the same on every replica; nothing changed). */
  | "BAD_COMMAND"
  /** A retry of a command so old that its reply was dropped from the client table; whether it was applied is not known here. */
  | "STALE";

export interface Entry {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  /** The revision that last wrote the key (etcd's mod_revision). */
  readonly revision: number;
}

export type Reply =
  /** A write (put, insert, update, cas): the revision it gave the key; `prev`: the key's revision before (0: absent). */
  | { readonly ok: true; readonly op: "write"; readonly revision: number; readonly prev: number }
  /** delete: the revision of the delete, and whether the key was there. */
  | { readonly ok: true; readonly op: "delete"; readonly revision: number; readonly deleted: boolean }
  | { readonly ok: true; readonly op: "get"; readonly value: Uint8Array; readonly revision: number }
  /** batch: the revision of its writes (the keys' revisions before are not in it: a replica knows only its partitions'). */
  | { readonly ok: true; readonly op: "batch"; readonly revision: number; readonly writes: number }
  /** range: the entries in key order; `more`: the limit cut the range short. */
  | { readonly ok: true; readonly op: "range"; readonly entries: readonly Entry[]; readonly more: boolean }
  | { readonly ok: false; readonly code: ErrorCode; readonly message: string; readonly revision?: number };

const encoder = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true });

export function encodeReply(r: Reply): Uint8Array {
  return encoder.encode(r);
}

/** A reply this process encoded (the client table's own bytes: not network input). */
export function decodeReply(bytes: Uint8Array): Reply {
  return decoder.decode(bytes) as Reply;
}

export function failure(code: ErrorCode, message: string, revision?: number): Reply {
  return revision === undefined ? { ok: false, code, message } : { ok: false, code, message, revision };
}

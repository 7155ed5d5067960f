/**
 * Bounds of the wire format. Every count and length a decoder reads is checked against these and
 * against the bytes actually left in the buffer before anything is allocated; the encoder refuses
 * messages that exceed them, so whatever one side encodes the other side can decode.
 */

/** Largest body (the bytes after the header) of one frame or datagram: 64 MiB. */
export const MAX_BODY = 64 * 1024 * 1024;

/** Most members of a ring, and most voters of a 2B / 2A-2B (voters are a prefix of the ring). */
export const MAX_RING = 64;

/** Most client values in one batch. */
export const MAX_BATCH_VALUES = 1_000_000;

/** Most items of the other lists: decision ids, Phase 1B votes, catch-up entries. */
export const MAX_LIST = 1_000_000;

/** Longest value id in bytes (ASCII). */
export const MAX_VID = 64;

/** Largest ring id (u16 on the wire, in the header). */
export const MAX_RING_ID = 0xffff;

/**
 * Largest skip count of a Multi-Ring skip batch (Batch.skip: the empty instances one instance
 * stands for; u32 on the wire, bounded well below it). A λ of a million instances per second
 * reaches it only after some 36 minutes without a value.
 */
export const MAX_SKIP = 2 ** 31;

/** Largest node id (u16 on the wire). */
export const MAX_NODE_ID = 0xffff;

/** Largest client id, hop count, catch-up count, cluster id (u32 on the wire). */
export const MAX_U32 = 0xffffffff;

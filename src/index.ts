/**
 * The package's library entry (`import { KvClient } from "paxos"`): the key-value service's
 * client. The command-line program is main.ts.
 */
export { type BatchWrite, type CasResult, KvClient, type KvClientOptions, type KvEntry, KvError, type KvErrorCode, type WatchEvent } from "./app/kv/client.ts";

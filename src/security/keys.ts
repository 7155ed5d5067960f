/**
 * Cluster keys: 32 random bytes, written by `paxos keygen` as 64 hex digits and a newline, read
 * once when a node starts (`security.keyFile`, or `security.keyFiles: [new, old]` while rotating).
 */
import { randomBytes } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { Buffer } from "node:buffer";
import { KEY_BYTES } from "../wire/auth.ts";

/** A key file that cannot serve: one line naming the config key and the file. */
export class KeyFileError extends Error {
  override readonly name = "KeyFileError";
}

/** A fresh key as the file holds it: 64 hex digits and a newline. */
export function generateKeyText(): string {
  return `${randomBytes(KEY_BYTES).toString("hex")}\n`;
}

export interface LoadedKey {
  readonly secret: Uint8Array;
  /** Set when others than the owner may read the file (the key is then no secret). */
  readonly warning: string | null;
}

/** Reads one key file: 64 hex digits (surrounding white space allowed) or 32 raw bytes. */
export function readKeyFile(path: string, configKey: string): LoadedKey {
  let raw: Buffer;
  let mode: number;
  try {
    raw = readFileSync(path);
    mode = statSync(path).mode;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : code === "EISDIR" ? "a directory" : (code ?? String(e));
    throw new KeyFileError(`${configKey}: cannot read ${path}: ${why}`);
  }
  const text = raw.toString("latin1").trim();
  let secret: Uint8Array;
  if (/^[0-9a-fA-F]{64}$/.test(text)) secret = new Uint8Array(Buffer.from(text, "hex"));
  else if (raw.byteLength === KEY_BYTES) secret = new Uint8Array(raw);
  else throw new KeyFileError(`${configKey}: ${path} holds no key: expected ${2 * KEY_BYTES} hex digits (paxos keygen > FILE) or ${KEY_BYTES} raw bytes`);
  const warning = (mode & 0o077) !== 0 ? `${configKey}: ${path} is readable by others than its owner (chmod 600 ${path})` : null;
  return { secret, warning };
}

/** The keys a configuration names, the signing key first; none when the cluster runs without one. */
export function loadClusterKeys(security: { readonly keyFile?: string | undefined; readonly keyFiles?: readonly string[] | undefined } | undefined): { secrets: Uint8Array[]; warnings: string[] } {
  const files = security?.keyFiles ?? (security?.keyFile !== undefined ? [security.keyFile] : []);
  const key = security?.keyFiles ? (i: number) => `security.keyFiles[${i}]` : () => "security.keyFile";
  const secrets: Uint8Array[] = [];
  const warnings: string[] = [];
  files.forEach((f, i) => {
    const k = readKeyFile(f, key(i));
    secrets.push(k.secret);
    if (k.warning) warnings.push(k.warning);
  });
  return { secrets, warnings };
}

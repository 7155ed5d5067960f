/** Shared helpers of the transport tests. */

/** Resolves once `cond()` holds; rejects with `what` after `timeoutMs`. */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Deterministic pseudo-random bytes (xorshift32). */
export function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

export { sameBytes } from "../../src/wire/bytes.ts";

/** A payload carrying its sequence number in its first 4 bytes, `size` >= 4. */
export function numbered(seq: number, size: number): Uint8Array {
  const p = bytes(size, seq + 1);
  new DataView(p.buffer).setUint32(0, seq);
  return p;
}

export function seqOf(p: Uint8Array): number {
  return new DataView(p.buffer, p.byteOffset, p.byteLength).getUint32(0);
}

/** Runs a fixture script in a child process of this runtime; resolves with its exit code ("hung" after `timeoutMs`) and output. */
export async function runFixture(script: string, args: readonly string[], cleanups: (() => void)[], timeoutMs = 8000): Promise<{ code: number | null | "hung"; out: string }> {
  const { spawn } = await import("node:child_process");
  const child = spawn(process.execPath, [script, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  cleanups.push(() => child.kill("SIGKILL"));
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null | "hung">((resolve) => {
    const t = setTimeout(() => resolve("hung"), timeoutMs);
    child.on("exit", (c) => {
      clearTimeout(t);
      resolve(c);
    });
  });
  return { code, out };
}

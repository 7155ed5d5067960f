/**
 * Temporary directories of tests, removed after the last test (tests/support/preload.ts, which
 * bunfig.toml preloads: `bun test` fires no process exit event): a test that fails half-way (or a
 * file of many tests) would otherwise leave them in /tmp, and CI hosts and long sessions collected
 * hundreds.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const made = new Set<string>();

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.add(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
  made.clear();
}

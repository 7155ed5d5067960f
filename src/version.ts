import { spawnSync } from "node:child_process";
import { dirname } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

/** Kept in step with package.json's version (a test checks). */
export const VERSION = "0.1.0";

/**
 * The git commit compile.sh embeds (`bun build --define PAXOS_BUILD_COMMIT='"…"'`). Anywhere else
 * (bun main.ts, deno run, a test) the identifier is not defined: `typeof` reads it without a
 * ReferenceError, and the commit is asked of git instead.
 */
declare const PAXOS_BUILD_COMMIT: string | undefined;

let commitCache: string | null = null;

/**
 * The commit this program was built from: embedded at compile time, else `git rev-parse` in the
 * source tree (asked once, lazily: only --version and /version need it), else "unknown" (no git,
 * not a clone, an unpacked tarball).
 */
export function buildCommit(): string {
  if (typeof PAXOS_BUILD_COMMIT === "string" && PAXOS_BUILD_COMMIT !== "") return PAXOS_BUILD_COMMIT;
  commitCache ??= gitCommit();
  return commitCache;
}

function gitCommit(): string {
  const here = new URL(".", import.meta.url);
  if (here.protocol !== "file:") return "unknown";
  try {
    const r = spawnSync("git", ["rev-parse", "--short=12", "HEAD"], { cwd: dirname(fileURLToPath(new URL("version.ts", here))), encoding: "utf8", timeout: 2000, stdio: ["ignore", "pipe", "ignore"] });
    const out = typeof r.stdout === "string" ? r.stdout.trim() : "";
    return r.status === 0 && /^[0-9a-f]{7,40}$/.test(out) ? out : "unknown";
  } catch {
    return "unknown";
  }
}

/** The JavaScript runtime this process runs on: Bun, Deno or Node.js, and its version. */
export function runtimeInfo(): { readonly name: "bun" | "deno" | "node"; readonly version: string } {
  const deno = (globalThis as { Deno?: { version?: { deno?: string } } }).Deno;
  if (deno?.version?.deno !== undefined) return { name: "deno", version: deno.version.deno };
  const bun = process.versions["bun"];
  if (bun !== undefined) return { name: "bun", version: bun };
  return { name: "node", version: process.versions.node };
}

/** What /version serves. */
export function versionInfo(): { readonly version: string; readonly commit: string; readonly runtime: { readonly name: string; readonly version: string } } {
  return { version: VERSION, commit: buildCommit(), runtime: runtimeInfo() };
}

/** `paxos --version`: "0.1.0 (commit 0123456789ab, bun 1.4.5)". */
export function versionLine(): string {
  const r = runtimeInfo();
  return `${VERSION} (commit ${buildCommit()}, ${r.name} ${r.version})`;
}

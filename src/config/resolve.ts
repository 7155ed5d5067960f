/**
 * Host names of a configuration are resolved while it is validated, so that a typo in a host is
 * a configuration error naming its key (`nodes[2].host`) before any socket opens, instead of a
 * link that never connects. Lookups run in parallel and each is bounded: a resolver that does not
 * answer must not hang a node's start (getaddrinfo cannot be cancelled; its answer is ignored).
 */
import { lookup as dnsLookup } from "node:dns/promises";
import { isIP } from "node:net";
import type { NodeView } from "./checks.ts";

/** How long one host name may take to resolve. */
export const RESOLVE_TIMEOUT_MS = 3000;

/** Resolves a host name to an address; rejects with an errno-style error (code ENOTFOUND, …). */
export type Lookup = (host: string) => Promise<unknown>;

export interface ResolveOptions {
  readonly lookup?: Lookup;
  readonly timeoutMs?: number;
}

const defaultLookup: Lookup = (host) => dnsLookup(host);

/** Why a host name does not resolve, or null when it does (IP literals are not looked up). */
async function resolveOne(host: string, lookup: Lookup, timeoutMs: number): Promise<string | null> {
  if (isIP(host) !== 0) return null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`did not resolve within ${timeoutMs} ms`), timeoutMs);
    // A pending lookup must not keep a process that has nothing else to do alive.
    (timer as { unref?: () => void }).unref?.();
  });
  const answer = lookup(host).then(
    () => null,
    (e: unknown) => `does not resolve (${(e as { code?: unknown }).code ?? (e as Error).message ?? String(e)})`,
  );
  try {
    return await Promise.race([answer, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** One problem per node whose host name does not resolve: `nodes[i].host: "h" does not resolve (ENOTFOUND)`. */
export async function hostProblems(nodes: readonly NodeView[], opts: ResolveOptions = {}): Promise<string[]> {
  const lookup = opts.lookup ?? defaultLookup;
  const timeoutMs = opts.timeoutMs ?? RESOLVE_TIMEOUT_MS;
  const hosts = [...new Set(nodes.flatMap((n) => (n.host === undefined ? [] : [n.host])))];
  const why = new Map(await Promise.all(hosts.map(async (h) => [h, await resolveOne(h, lookup, timeoutMs)] as const)));
  const problems: string[] = [];
  for (const n of nodes) {
    const w = n.host === undefined ? null : why.get(n.host);
    if (w) problems.push(`nodes[${n.index}].host: ${JSON.stringify(n.host)} ${w}`);
  }
  return problems;
}

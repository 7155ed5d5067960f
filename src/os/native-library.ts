/**
 * A native library opened through bun:ffi, for the Bun-only fast paths behind their portable
 * fallbacks (GMAC through OpenSSL, TCP socket buffers through libc): the symbols of the first of
 * `libraries` that opens, or null where there is no bun:ffi (Node, Deno) or none of them opens.
 */
export type NativeSignatures = Record<string, { readonly args: string[]; readonly returns: string }>;

interface BunFfi {
  dlopen(path: string, symbols: NativeSignatures): { symbols: unknown };
}

export function openNativeLibrary<Symbols>(libraries: readonly string[], signatures: NativeSignatures): Symbols | null {
  const req = (import.meta as { require?: (id: string) => unknown }).require;
  if (typeof req !== "function" || typeof (globalThis as { Bun?: unknown }).Bun === "undefined") return null;
  let ffi: BunFfi;
  try {
    ffi = req("bun:ffi") as BunFfi;
  } catch {
    return null;
  }
  for (const path of libraries) {
    try {
      return ffi.dlopen(path, signatures).symbols as Symbols;
    } catch {
      // not on this host (or not under this name): try the next one
    }
  }
  return null;
}

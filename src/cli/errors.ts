/** A problem with what the user asked for: printed as one line, exit code 2, never a stack trace. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

export function parseIntArg(name: string, lo: number, hi: number): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < lo || n > hi)
      throw new UsageError(`${name}: expected an integer in ${lo}..${hi}, got "${v}"`);
    return n;
  };
}

export function parseFraction(name: string, hi: number): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (v.trim() === "" || !Number.isFinite(n) || n < 0 || n > hi)
      throw new UsageError(`${name}: expected a number in 0..${hi}, got "${v}"`);
    return n;
  };
}

export function parseChoice<T extends string>(name: string, choices: readonly T[]): (v: string) => T {
  return (v: string) => {
    if (!(choices as readonly string[]).includes(v)) throw new UsageError(`${name}: expected one of ${choices.join("|")}, got "${v}"`);
    return v as T;
  };
}

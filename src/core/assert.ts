/** Invariant checks that stay on in production: a broken invariant is a bug, never a recoverable error. */
export class InvariantError extends Error {
  override readonly name = "InvariantError";
}

export function invariant(cond: unknown, what: string): asserts cond {
  if (!cond) throw new InvariantError(`invariant violated: ${what}`);
}

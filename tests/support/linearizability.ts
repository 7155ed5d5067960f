/**
 * A linearizability checker for key-value histories: Wing & Gong's search, as Porcupine runs it
 * (operations partitioned per key, each key's history searched depth-first for an order that
 * respects real time and the sequential specification, with a cache of (linearized set, state)
 * pairs already explored).
 *
 * The model of one key is its value and its revision. Revisions are the system's own (a log
 * position): a write's reply says which revision it gave the key, so the model takes it from
 * there, and a read must see exactly the value and revision of the last write before it. An
 * operation whose outcome is unknown (a timeout) may have taken effect at any point after its
 * call, or never: it is linearized with no constraint on its output, or left out.
 */

export type KvInput =
  | { readonly op: "put" | "insert" | "update"; readonly value: string }
  | { readonly op: "get" }
  | { readonly op: "delete" }
  | { readonly op: "cas"; readonly expected: number; readonly value: string };

export type KvOutput =
  | { readonly ok: true; readonly revision: number; readonly prev?: number; readonly value?: string; readonly deleted?: boolean }
  | { readonly ok: false; readonly code: string; readonly revision?: number };

export interface Operation {
  readonly client: number;
  readonly key: string;
  readonly input: KvInput;
  /** null: the outcome is unknown (the call timed out or failed in transit). */
  readonly output: KvOutput | null;
  /** Invocation and response times (any monotonic clock); a pending operation's `ret` is Infinity. */
  readonly call: number;
  readonly ret: number;
}

interface KeyState {
  readonly value: string | null;
  /** 0: absent; -1, -2, …: written by an operation of unknown outcome (a revision no reply named). */
  readonly revision: number;
}

const ABSENT: KeyState = { value: null, revision: 0 };

/** Whether the model's revision `model` can be the one a reply names: equal, or unknown (negative) and `seen` a real one. */
function revisionFits(model: number, seen: number | undefined): boolean {
  return seen === undefined || model === seen || (model < 0 && seen > 0);
}

/** The state after `op` applied to `s`, or null when `op`'s output is impossible from `s`. */
export function step(s: KeyState, op: Operation, unknownRevision: number): KeyState | null {
  const o = op.output;
  const i = op.input;
  const present = s.value !== null;
  if (o === null) return stepUnknown(s, i, unknownRevision);
  if (!o.ok) {
    // A failure changes nothing; its code must be what the state gives.
    const fits =
      (o.code === "NOT_FOUND" && !present && (i.op === "get" || i.op === "update")) ||
      (o.code === "EXISTS" && present && i.op === "insert") ||
      (o.code === "REVISION_MISMATCH" && i.op === "cas" && i.expected !== s.revision && revisionFits(s.revision, o.revision) && o.revision !== i.expected);
    if (!fits) return null;
    return o.revision !== undefined && s.revision < 0 && present ? { value: s.value, revision: o.revision } : s;
  }
  switch (i.op) {
    case "get":
      return present && o.value === s.value && revisionFits(s.revision, o.revision) ? { value: s.value, revision: o.revision } : null;
    case "delete":
      return o.deleted === present ? ABSENT : null;
    case "insert":
      if (present) return null;
      break;
    case "update":
      if (!present) return null;
      break;
    case "cas":
      if (!(i.expected === s.revision || (s.revision < 0 && present && i.expected > 0) || (i.expected === 0 && !present))) return null;
      if (o.prev !== undefined && o.prev !== i.expected) return null;
      break;
    case "put":
      break;
  }
  // A write that happened: its reply names the revision it replaced and the one it gave.
  const prevFits = o.prev === undefined || (present ? revisionFits(s.revision, o.prev) && o.prev > 0 : o.prev === 0);
  return prevFits ? { value: i.value, revision: o.revision } : null;
}

/** An operation of unknown outcome that took effect: reads and failures change nothing, a write gives an unknown revision. */
function stepUnknown(s: KeyState, i: KvInput, unknownRevision: number): KeyState {
  const present = s.value !== null;
  switch (i.op) {
    case "get":
      return s;
    case "delete":
      return ABSENT;
    case "insert":
      return present ? s : { value: i.value, revision: unknownRevision };
    case "update":
      return present ? { value: i.value, revision: unknownRevision } : s;
    case "cas":
      // A cas against a revision no reply named (s.revision < 0) is taken as not matched: the checker
      // may then call a history with such a cas followed by reads of its value not linearizable.
      return i.expected === s.revision || (i.expected === 0 && !present) ? { value: i.value, revision: unknownRevision } : s;
    case "put":
      return { value: i.value, revision: unknownRevision };
  }
}

export interface CheckResult {
  readonly ok: boolean;
  /** The keys whose histories have no linearization. */
  readonly failedKeys: readonly string[];
  /** Search states explored (a measure of the work done). */
  readonly explored: number;
}

/** Whether the history is linearizable, key by key; `budget` bounds the states explored per key (beyond it: not linearizable, reported as such). */
export function checkHistory(history: readonly Operation[], budget = 2_000_000): CheckResult {
  const byKey = new Map<string, Operation[]>();
  for (const op of history) {
    let list = byKey.get(op.key);
    if (!list) byKey.set(op.key, (list = []));
    list.push(op);
  }
  const failedKeys: string[] = [];
  let explored = 0;
  for (const [key, ops] of byKey) {
    const r = checkKey(ops, budget);
    explored += r.explored;
    if (!r.ok) failedKeys.push(key);
  }
  return { ok: failedKeys.length === 0, failedKeys, explored };
}

/**
 * One key: depth-first search over the operations that may be linearized next (those called
 * before every not-yet-linearized operation returned), pending operations optionally left out.
 */
function checkKey(ops: readonly Operation[], budget: number): { ok: boolean; explored: number } {
  const n = ops.length;
  const done = new Uint8Array(n);
  const seen = new Set<string>();
  let explored = 0;
  const completed = ops.filter((o) => o.output !== null).length;
  const search = (s: KeyState, linearizedCompleted: number, unknown: number): boolean => {
    if (linearizedCompleted === completed) return true;
    if (++explored > budget) return false;
    const memo = `${Array.from(done).join("")}|${s.value ?? "\u0000"}|${s.revision}`;
    if (seen.has(memo)) return false;
    seen.add(memo);
    // The earliest response among operations not linearized: nothing called after it can go first.
    let horizon = Infinity;
    for (let k = 0; k < n; k++) if (!done[k] && (ops[k] as Operation).ret < horizon) horizon = (ops[k] as Operation).ret;
    for (let k = 0; k < n; k++) {
      const op = ops[k] as Operation;
      if (done[k] || op.call > horizon) continue;
      const next = step(s, op, unknown);
      if (next === null) continue;
      done[k] = 1;
      if (search(next, linearizedCompleted + (op.output === null ? 0 : 1), op.output === null ? unknown - 1 : unknown)) return true;
      done[k] = 0;
    }
    return false;
  };
  return { ok: search(ABSENT, 0, -1), explored };
}

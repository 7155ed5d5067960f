import { checkValueSizes, startNode, type NodeCliOptions } from "./node.ts";
import { UsageError } from "./errors.ts";
import { CLIENT_NODE } from "../config/identity.ts";
import { createLogger } from "../obs/log.ts";

export interface ProposeCliOptions extends NodeCliOptions {
  readonly values: readonly string[];
  readonly timeoutMs: number;
}

/**
 * `paxos propose VALUE…`: runs this host's client node just long enough to submit the values and
 * learn that each is decided, printing "instance N: VALUE" per value (the caller is told when its
 * value is decided). Exit 0 when all are decided, 1 on timeout.
 */
export async function runProposeCommand(o: ProposeCliOptions, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  if (o.values.length === 0) throw new UsageError("propose: give at least one VALUE");
  checkValueSizes(o, o.values.map((v) => new TextEncoder().encode(v).byteLength));
  const pending = new Map<number, string>();
  let decided = 0;
  let done: () => void = () => {};
  const finished = new Promise<void>((r) => (done = r));
  const node = await startNode({ ...o, ...(o.roles ? { roles: o.roles } : { kind: CLIENT_NODE }), noHttp: true, log: createLogger({ level: "error" }) }, {
    acked: (a) => {
      const v = pending.get(a.seq);
      if (v === undefined) return;
      pending.delete(a.seq);
      out(`instance ${a.instance}: ${v}\n`);
      if (++decided === o.values.length) done();
    },
  });
  try {
    const proposer = node.runtime.proc.proposer;
    if (!proposer) throw new UsageError(`node ${node.entry.id} has no proposer role`);
    // The proposer numbers values 0, 1, 2, … in the order they are proposed.
    o.values.forEach((v, i) => {
      pending.set(i, v);
      node.runtime.propose(new TextEncoder().encode(v));
    });
    let timeout: ReturnType<typeof setTimeout> | undefined;
    const timer = new Promise<"timeout">((r) => (timeout = setTimeout(() => r("timeout"), o.timeoutMs)));
    const r = await Promise.race([finished.then(() => "ok" as const), timer]);
    clearTimeout(timeout);
    if (r === "timeout") {
      err(`paxos: ${pending.size} of ${o.values.length} values not decided within ${o.timeoutMs} ms\n`);
      return 1;
    }
    return 0;
  } finally {
    await node.close();
  }
}

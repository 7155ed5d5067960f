/**
 * The client node a command proposes through: the local client node of a one-ring configuration,
 * or, with `rings`, this node's part in the ring of `--group` (paxos propose, paxos client).
 */
import { CLIENT_NODE } from "../config/identity.ts";
import { loadConfig, protocolConfig } from "../config/load.ts";
import { ringOfGroup, ringPlans } from "../config/rings.ts";
import type { ProtocolConfig } from "../core/config.ts";
import type { ProcessStatus } from "../core/process-status.ts";
import type { Ack } from "../core/types.ts";
import { createLogger } from "../obs/log.ts";
import { startClientNode } from "./client-node.ts";
import { UsageError } from "./errors.ts";
import { startMultiRing } from "./multi-ring.ts";
import { checkValueSizes, clusterKeys, configPath, freshClientId, resolveNode, type NodeCliOptions } from "./node.ts";

/** What proposing needs of a client node, one ring or several. */
export interface ProposeTarget {
  /** The (client, seq) the proposer took, or null (refused). */
  propose(bytes: Uint8Array): { readonly client: number; readonly seq: number } | null;
  /** Values in the proposer (queued or in flight). */
  inFlight(): number;
  /** The proposer's client id and counts (see ProcessStatus.proposer). */
  proposer(): { readonly clientId: number; readonly inFlight: number; readonly refused: number; readonly resent: number; readonly sendWindowCuts: number };
  /** The proposer's queue bound. */
  readonly capacity: number;
  /** Throws a UsageError when `bytes` cannot fit a datagram of the target's ring. */
  checkSize(bytes: number): void;
  close(): Promise<void>;
}

/** The client node of a one-ring configuration, or (with `rings`) the ring of `--group`. */
export async function openTarget(
  o: NodeCliOptions & { readonly group?: number },
  onAck: (a: Ack) => void,
  /** Local overrides of this process' own proposer (e.g. the load generator's window). */
  local: Partial<Pick<ProtocolConfig, "proposerWindow" | "proposerQueue">> = {},
  logLevel: "error" | "warn" = "error",
): Promise<ProposeTarget> {
  const config = loadConfig(configPath(o.config));
  if (config.rings === undefined) {
    if (o.group !== undefined && o.group !== 0) throw new UsageError(`--group ${o.group}: this configuration has no groups (no \`rings\`)`);
    const node = await startClientNode({ ...o, noHttp: true, log: createLogger({ level: logLevel }) }, { acked: onAck }, local);
    const proposer = node.runtime.proc.proposer;
    if (!proposer) {
      await node.close();
      throw new UsageError(`node ${node.entry.id} has no proposer role`);
    }
    const status = () => node.runtime.proc.status(node.runtime.now()).proposer as NonNullable<ProcessStatus["proposer"]>;
    return {
      propose: (b) => node.runtime.propose(b),
      inFlight: () => proposer.inFlight,
      proposer: status,
      capacity: Math.max(1, { ...protocolConfig(node.config), ...local }.proposerQueue),
      checkSize: (n) => checkValueSizes(o, [n]),
      close: () => node.close(),
    };
  }
  if (o.group === undefined) throw new UsageError("this configuration has `rings`: give --group G (the group the values go to)");
  const ring = ringOfGroup(config, o.group);
  if (ring === null) throw new UsageError(`--group ${o.group}: no such group in ${configPath(o.config)}`);
  const { file, entry } = resolveNode({ ...o, ...(o.roles ? {} : { kind: CLIENT_NODE }) }, true);
  const plan = ringPlans(config).find((p) => p.id === ring);
  if (!plan?.protocol.proposers.includes(entry.id)) throw new UsageError(`node ${entry.id} proposes to no ring of group ${o.group}`);
  const m = await startMultiRing(config, entry, clusterKeys(config, file).secrets, createLogger({ level: logLevel }), { clientId: freshClientId(), acked: (r, a) => r === ring && onAck(a), local });
  const rt = m.node.runtimes.get(ring);
  if (!rt) {
    await m.close();
    throw new UsageError(`node ${entry.id} takes no part in ring ${ring}`);
  }
  const group = o.group;
  const status = () => rt.proc.status(rt.now()).proposer as NonNullable<ProcessStatus["proposer"]>;
  return {
    propose: (b) => rt.propose(b, group),
    inFlight: () => status().inFlight,
    proposer: status,
    capacity: Math.max(1, { ...plan.protocol, ...local }.proposerQueue),
    checkSize: (n) => checkValueSizes(o, [n], ring),
    close: () => m.close(),
  };
}

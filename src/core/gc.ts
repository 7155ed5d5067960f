import type { ProtocolConfig } from "./config.ts";
import { faults } from "./quorum.ts";
import type { Instance, NodeId, Tick } from "./types.ts";

/** The replicas (see ProtocolConfig.replicas) and how many must have applied an instance before it is garbage-collected: min(f+1, replicas). */
export function gcQuorum(c: ProtocolConfig): { readonly replicas: readonly NodeId[]; readonly k: number } {
  const replicas = c.replicas ?? c.learners;
  // Without reports (appliedTicks 0) there is no garbage collection, and no bound tied to it.
  return { replicas, k: c.appliedTicks === 0 ? 0 : Math.min(faults(c.acceptors.length) + 1, replicas.length) };
}

interface Report {
  readonly upTo: Instance;
  readonly at: Tick;
}

/**
 * An acceptor's view of what the replicas applied, and its garbage-collection watermark: every
 * instance below it was applied by min(f+1, members) members of the GC quorum. A member is a
 * replica that reported within gcSuspectTicks and is not behind the watermark. So a replica that
 * stops reporting (it died, or stalls) leaves the quorum after gcSuspectTicks and no longer holds
 * the cluster back, while at least one replica keeps applying; a returning replica (restarted, it
 * reports from where it resumed) counts again once it caught up with the watermark. A replica
 * never heard from counts as pending for gcSuspectTicks after this process started.
 */
export class GcQuorum {
  private readonly replicas: readonly NodeId[];
  private readonly f1: number;
  private readonly reports = new Map<NodeId, Report>();
  private startedAt: Tick | null = null;
  private watermarkValue: Instance = 0;

  constructor(private readonly cfg: ProtocolConfig) {
    const { replicas, k } = gcQuorum(cfg);
    this.replicas = replicas;
    this.f1 = k === 0 ? 0 : faults(cfg.acceptors.length) + 1;
  }

  /** Every instance below this was applied by the GC quorum (monotonic). */
  get watermark(): Instance {
    return this.watermarkValue;
  }

  start(now: Tick): void {
    this.startedAt ??= now;
  }

  /** Replica `from` applied every instance below `upTo`. Returns the new watermark when it advanced. */
  onReport(from: NodeId, upTo: Instance, now: Tick): Instance | null {
    if (this.f1 === 0 || !this.replicas.includes(from)) return null;
    // The latest report, even a lower one: a restarted replica resumed from there.
    this.reports.set(from, { upTo, at: now });
    const members: Instance[] = [];
    let pending = 0;
    for (const r of this.replicas) {
      if (this.isMember(r, now)) members.push((this.reports.get(r) as Report).upTo);
      else if (this.isPending(r, now)) pending++;
    }
    const k = Math.min(this.f1, members.length + pending);
    if (k === 0 || members.length < k) return null;
    members.sort((a, b) => b - a);
    const w = members[k - 1] as Instance;
    if (w <= this.watermarkValue) return null;
    this.watermarkValue = w;
    return w;
  }

  /** Replicas left out of the GC quorum now: silent for gcSuspectTicks, or behind the watermark. */
  excluded(now: Tick): NodeId[] {
    if (this.f1 === 0) return [];
    return this.replicas.filter((r) => !this.isMember(r, now) && !this.isPending(r, now));
  }

  private isMember(r: NodeId, now: Tick): boolean {
    const e = this.reports.get(r);
    return e !== undefined && now - e.at < this.cfg.gcSuspectTicks && e.upTo >= this.watermarkValue;
  }

  private isPending(r: NodeId, now: Tick): boolean {
    return !this.reports.has(r) && now - (this.startedAt ?? now) < this.cfg.gcSuspectTicks;
  }
}

import type { NodeEvent, NodeStatus, StatusSource } from "../../src/node/status.ts";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export function baseStatus(over: Partial<NodeStatus> = {}): Mutable<NodeStatus> {
  return {
    id: 3,
    cluster: 9,
    variant: "mring",
    roles: ["coordinator", "acceptor", "learner"],
    uptimeMs: 61_500,
    coordinator: { active: true, round: 49, ring: [1, 2, 3], inFlight: 7, window: 16, lowestWindow: 8, windowCuts: 3, ringShortBy: 1, slowAcceptors: [2], slowRelayouts: 4, catchUpSkips: 6 },
    acceptor: { promised: 49, applied: 118, trimmedBelow: 64, heldInstances: 62, gcExcludedReplicas: [5] },
    learner: { nextInstance: 120, delivered: 4321, backlog: 6, slowDowns: 2, behindGc: false },
    highestDecided: 126,
    counters: { msgsIn: 10, msgsOut: 12 },
    socketBuffers: { recvBytes: 4_194_304, sendBytes: 1_048_576, warning: null },
    tcpBuffers: null,
    multicastReceiving: true,
    authenticated: true,
    ledger: { kind: "ram" },
    ...over,
  };
}

/** A StatusSource whose status and events the test changes at will; counts status() calls. */
export class FakeSource implements StatusSource {
  statusCalls = 0;
  evs: NodeEvent[] = [];
  constructor(public current: Mutable<NodeStatus> = baseStatus()) {}
  status(): NodeStatus {
    this.statusCalls++;
    return this.current;
  }
  events(): readonly NodeEvent[] {
    return this.evs;
  }
}

/** Prometheus text exposition → sample ("name" or "name{labels}") → value; plus HELP/TYPE per name. */
export function parseExposition(text: string): { samples: Map<string, number>; help: Map<string, string>; type: Map<string, string> } {
  const samples = new Map<string, number>();
  const help = new Map<string, string>();
  const type = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const h = /^# HELP (\S+) (.*)$/.exec(line);
    if (h !== null) {
      help.set(h[1] ?? "", h[2] ?? "");
      continue;
    }
    const t = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (t !== null) {
      type.set(t[1] ?? "", t[2] ?? "");
      continue;
    }
    if (line.startsWith("#")) continue;
    const sp = line.lastIndexOf(" ");
    samples.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return { samples, help, type };
}

/** Names of the metric families that have at least one sample. */
export function sampledNames(samples: Map<string, number>): Set<string> {
  return new Set([...samples.keys()].map((k) => k.replace(/\{.*$/, "")));
}

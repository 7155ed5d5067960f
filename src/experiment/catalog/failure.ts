/** Thesis Fig. 5.11 and seed 002 Fig. 6.5: throughput and latency around a crash and a change of leader. */
import { FAILURE_TRACE_DEFAULTS, runFailureTrace, type FailureTraceOptions, type RunResult, type VictimKind, type Variant } from "../../bench/failure-run.ts";
import type { Experiment, Metrics, Mode, NamedSeries } from "../spec.ts";

/** The full run is the script's (30 s: kill at 10 s, restart at 20 s); the quick one a shorter copy. */
const TIMES = {
  full: { durationS: 30, warmupS: 5, killAtS: 10, restartAtS: 20 },
  quick: { durationS: 12, warmupS: 2, killAtS: 5, restartAtS: 8 },
} as const;

/** Start-up and shut-down of the cluster around a trace (the wait for a leader, restarts: measured 5–8 s). */
const OVERHEAD_S = 8;

const times = (m: Mode) => (m.quick ? TIMES.quick : TIMES.full);

function traceMetrics(r: RunResult): Metrics {
  const f = r.figures;
  const m: Record<string, number> = {
    beforeValuesPerSec: f.before.medianValuesPerSec,
    killGapMs: f.killGap.ms,
    duringValuesPerSec: f.during.medianValuesPerSec,
    afterValuesPerSec: f.after.medianValuesPerSec,
    restartGapMs: f.restartGap.ms,
    p99BeforeMs: f.before.p99Us / 1000,
    p99DuringMs: f.during.p99Us / 1000,
    p99AfterMs: f.after.p99Us / 1000,
  };
  if (f.resumedAfterKillMs !== null) m["resumedMs"] = f.resumedAfterKillMs;
  return m;
}

/** The client's values/s and p99 latency per bucket, t in seconds since the load started. */
function traceSeries(r: RunResult): NamedSeries[] {
  return [
    { name: "values/s delivered", points: r.buckets.map((b) => ({ t: b.t, y: b.valuesPerSec })) },
    { name: "p99 latency (ms)", points: r.buckets.filter((b) => b.p99Us !== null).map((b) => ({ t: b.t, y: (b.p99Us as number) / 1000 })) },
  ];
}

export const failureTrace: Experiment = {
  name: "failure-trace",
  title: "A process killed and restarted under load",
  source: "thesis §5.4, Fig. 5.11; seed 002 §6.2, Fig. 6.5 (leader turnover)",
  description:
    "3 acceptors with write-ahead logs, 1 learner, 1 client offering 500 values/s of 1 KB (open loop, 256 in flight at most). The victim gets SIGKILL at 10 s and is restarted from its log at 20 s: the coordinator (a change of leader: the seed 002 turnover) or the acceptor after it on the ring. Figures per phase are the client's (values delivered to it and their latency, 250 ms buckets); the gap is the longest stretch without a delivery around the kill.",
  params: ["variant", "victim"],
  points: (m) => (m.quick ? [{ variant: "mring", victim: "coordinator" }, { variant: "mring", victim: "acceptor" }] : ["mring", "uring"].flatMap((variant) => ["coordinator", "acceptor"].map((victim) => ({ variant, victim })))),
  repeat: (m) => (m.quick ? 1 : 3),
  metrics: [
    { key: "beforeValuesPerSec", label: "before the kill (values/s)" },
    { key: "killGapMs", label: "gap at the kill (ms)" },
    { key: "resumedMs", label: "kill → resumed (ms)" },
    { key: "duringValuesPerSec", label: "kill → restart (values/s)" },
    { key: "afterValuesPerSec", label: "after the restart (values/s)" },
    { key: "restartGapMs", label: "gap at the restart (ms)" },
    { key: "p99BeforeMs", label: "p99 before (ms)", digits: 1 },
    { key: "p99DuringMs", label: "p99 kill → restart (ms)", digits: 1 },
    { key: "p99AfterMs", label: "p99 after (ms)", digits: 1 },
  ],
  plots: (m) => {
    const t = times(m);
    const markers = [
      { t: t.killAtS, label: "SIGKILL" },
      { t: t.restartAtS, label: "restart" },
    ];
    const x = { label: "time since the load started (s)" };
    return [
      { kind: "timeline", file: "throughput.svg", title: "Values delivered to the client per second (250 ms buckets)", match: "values/s", x, y: { label: "values/s" }, markers },
      { kind: "timeline", file: "latency.svg", title: "p99 latency per 250 ms bucket", match: "p99", x, y: { label: "p99 latency (ms)", log: true }, markers },
    ];
  },
  estimateS: (_p, m) => times(m).durationS + OVERHEAD_S,
  run: async (p, m) => {
    const o: FailureTraceOptions = { ...FAILURE_TRACE_DEFAULTS, ...times(m), variant: p["variant"] as Variant, victim: p["victim"] as VictimKind };
    const r = await runFailureTrace(o, () => {});
    return { metrics: traceMetrics(r), series: traceSeries(r), config: { ...o, victimNode: r.victim, leaderBefore: r.snapshots.beforeKill.leader, leaderAfter: r.snapshots.afterKill.leader } };
  },
};

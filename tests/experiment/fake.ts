import type { Experiment, Params, RunOutput } from "../../src/experiment/spec.ts";

/** An experiment whose runs measure nothing real: metrics from the point and a run counter, failures on demand. */
export function fakeExperiment(o: { name?: string; fail?: (p: Params, run: number) => Error | null; log?: Params[] } = {}): Experiment {
  let runs = 0;
  return {
    name: o.name ?? "fake",
    title: `Fake <${o.name ?? "fake"}> & co`,
    source: "tests",
    description: "throughput = size × 10 + run number",
    params: ["variant", "size"],
    points: (m) => (m.quick ? [{ variant: "a", size: 1 }] : [1, 2, 4].flatMap((size) => ["a", "b"].map((variant) => ({ variant, size })))),
    repeat: (m) => (m.quick ? 1 : 3),
    metrics: [
      { key: "tput", label: "throughput (units/s)", digits: 1 },
      { key: "lat", label: "latency (µs)" },
    ],
    plots: () => [{ file: "tput.svg", title: "Throughput", x: { param: "size", label: "size", log: true }, y: { metric: "tput", label: "units/s" }, seriesBy: ["variant"] }],
    estimateS: () => 2,
    run: async (p): Promise<RunOutput> => {
      const n = runs++;
      o.log?.push(p);
      const e = o.fail?.(p, n) ?? null;
      if (e) throw e;
      return { metrics: { tput: Number(p["size"]) * 10 + n, lat: p["variant"] === "a" ? 100 : 200 }, config: { size: p["size"], durationS: 1 }, series: [{ name: `run ${n} units/s`, points: [0, 1, 2].map((t) => ({ t, y: n + t })) }] };
    },
  };
}

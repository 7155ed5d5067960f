/**
 * Line charts as standalone SVG, for `paxos bench --plots` and for experiment scripts (e.g.
 * throughput against value size, one series per variant). Rendered with Vega-Lite and Vega's
 * headless SVG renderer: no canvas, no browser, no fetch (the data is inline). Vega is loaded
 * on first use only, so the commands that draw nothing (every node process) do not pay for it.
 */
import type { TopLevelSpec } from "vega-lite";

export interface ChartAxis {
  readonly label: string;
  /** A log scale; points whose value on this axis is not > 0 are left out. */
  readonly log?: boolean;
  /** Fixed domain bounds (default: fitted to the data). */
  readonly min?: number;
  readonly max?: number;
}

export interface ChartPoint {
  readonly x: number;
  readonly y: number;
}

export interface ChartSeries {
  readonly name: string;
  /** Drawn in this order (not sorted by x), so a series may also be a curve such as latency against load. */
  readonly points: readonly ChartPoint[];
}

export interface LineChart {
  readonly title: string;
  readonly x: ChartAxis;
  readonly y: ChartAxis;
  readonly series: readonly ChartSeries[];
  /** Plot area in pixels (default 560 x 300). */
  readonly width?: number;
  readonly height?: number;
  /** Vertical lines across the plot at these x values, each labelled at the top (e.g. "kill", "restart"). */
  readonly markers?: readonly ChartMarker[];
}

export interface ChartMarker {
  readonly x: number;
  readonly label: string;
  /** The label's line from the top (default 0): markers close together can keep their labels apart. */
  readonly row?: number;
}

/** One chart as an SVG document. */
export async function lineChartSvg(chart: LineChart): Promise<string> {
  const spec = unit(chart);
  return render("layer" in spec ? { ...STYLE, ...spec } : { ...STYLE, ...spec });
}

/**
 * Several charts stacked vertically in one SVG document (e.g. values/s above MB/s against the same
 * time axis), under a title of one line or several.
 */
export async function stackedChartsSvg(charts: readonly LineChart[], title?: string | readonly string[]): Promise<string> {
  if (charts.length === 1 && title === undefined && charts[0]) return lineChartSvg(charts[0]);
  return render({
    ...STYLE,
    ...(title !== undefined ? { title: { text: typeof title === "string" ? title : [...title], offset: 12 } } : {}),
    vconcat: charts.map(unit),
    resolve: { scale: { color: "independent" } },
  });
}

/** One data point: series name, index in the series, coordinates. */
type Row = { s: string; i: number; x: number; y: number };

/** What `vconcat` stacks: a single view with a mark, or layers of them. */
type ViewSpec = Extract<TopLevelSpec, { vconcat: unknown }>["vconcat"][number];
type UnitSpec = Extract<ViewSpec, { mark: unknown }>;
type LayerSpec = Extract<ViewSpec, { layer: unknown }>;
type Scale = NonNullable<Extract<NonNullable<NonNullable<UnitSpec["encoding"]>["x"]>, { scale?: unknown }>["scale"]>;

const STYLE = {
  background: "white",
  padding: 8,
  config: { font: "sans-serif", title: { fontSize: 14, anchor: "start" }, axis: { labelFontSize: 11, titleFontSize: 12 }, legend: { labelFontSize: 11, labelLimit: 320 } },
} as const;

function ok(v: number, log: boolean | undefined): boolean {
  return Number.isFinite(v) && (!log || v > 0);
}

function scale(a: ChartAxis): Scale {
  return {
    type: a.log ? "log" : "linear",
    ...(a.log ? {} : { zero: false }),
    ...(a.min !== undefined ? { domainMin: a.min } : {}),
    ...(a.max !== undefined ? { domainMax: a.max } : {}),
    nice: a.min === undefined && a.max === undefined,
  };
}

const MARKER_COLOR = "#b22222";
const MARKER_ROW_PX = 13;

/** The Vega-Lite spec of one chart: the lines, and over them the markers (a rule and a label each) if any. */
function unit(c: LineChart): (UnitSpec & { data: { values: Row[] } }) | LayerSpec {
  const lines = lineSpec(c);
  const markers = (c.markers ?? []).filter((m) => ok(m.x, c.x.log));
  if (markers.length === 0) return lines;
  const { title, width, height, ...view } = lines;
  const values = markers.map((m) => ({ x: m.x, label: m.label, y: (m.row ?? 0) * MARKER_ROW_PX }));
  // Shares the lines' x scale and axis (the same title, or Vega-Lite would join the two).
  const x = { field: "x", type: "quantitative", title: c.x.label } as const;
  return {
    title,
    width,
    height,
    layer: [
      view,
      { data: { values }, mark: { type: "rule", color: MARKER_COLOR, strokeDash: [5, 3], strokeWidth: 1.2 }, encoding: { x } },
      {
        data: { values },
        mark: { type: "text", color: MARKER_COLOR, align: "left", baseline: "top", dx: 3, dy: 2, fontSize: 11 },
        // y in pixels from the top (no scale): the label's row.
        encoding: { x, y: { field: "y", type: "quantitative", scale: null }, text: { field: "label", type: "nominal" } },
      },
    ],
  };
}

/** The Vega-Lite unit spec of one chart's lines. */
function lineSpec(c: LineChart): UnitSpec & { data: { values: Row[] }; title: string; width: number; height: number } {
  const width = c.width ?? 560;
  const values: Row[] = [];
  for (const s of c.series)
    s.points.forEach((p, i) => {
      if (ok(p.x, c.x.log) && ok(p.y, c.y.log)) values.push({ s: s.name, i, x: p.x, y: p.y });
    });
  return {
    title: c.title,
    width,
    height: c.height ?? 300,
    data: { values },
    mark: { type: "line", point: { size: 18 }, strokeWidth: 1.5, clip: true },
    encoding: {
      x: { field: "x", type: "quantitative", title: c.x.label, scale: scale(c.x), axis: { labelOverlap: true, tickCount: Math.max(2, Math.round(width / 80)) } },
      y: { field: "y", type: "quantitative", title: c.y.label, scale: scale(c.y) },
      color: { field: "s", type: "nominal", title: null, sort: c.series.map((s) => s.name), legend: { orient: "bottom", direction: "vertical" } },
      order: { field: "i", type: "quantitative" },
    },
  };
}

/**
 * Text width in pixels, estimated per character for a sans-serif font. Without a canvas Vega
 * guesses 0.8 em for every character, which leaves charts with long titles far wider than
 * their content; it lets a program supply its own measure (textMetrics.width) instead.
 */
export function textWidth(text: string, fontSize: number, bold = false): number {
  let em = 0;
  for (const ch of text) {
    if (" .,:;'|!ijlIft()[]r/-".includes(ch)) em += 0.36;
    else if ("mwMW%@".includes(ch)) em += 0.95;
    else if (ch >= "A" && ch <= "Z") em += 0.72;
    else if (ch >= "0" && ch <= "9") em += 0.64;
    else if (ch >= "a" && ch <= "z") em += 0.62;
    else em += 0.7;
  }
  // Generous (wide fonts such as DejaVu Sans): too wide leaves a margin, too narrow clips.
  return Math.ceil(em * fontSize * (bold ? 1.15 : 1));
}

interface TextItem {
  readonly fontSize?: number;
  readonly fontWeight?: string | number;
}

type Vega = typeof import("vega");
let loaded: Promise<[Vega, typeof import("vega-lite")]> | undefined;

function load(): Promise<[Vega, typeof import("vega-lite")]> {
  loaded ??= Promise.all([import("vega"), import("vega-lite")]).then(([vega, vegaLite]) => {
    // Not in Vega's typings, but meant to be replaced (vega-scenegraph's textMetrics).
    const metrics = (vega as unknown as { textMetrics?: { width: (item: TextItem, text: unknown) => number } }).textMetrics;
    if (metrics)
      metrics.width = (item, text) => {
        const w = item.fontWeight;
        return textWidth(text == null ? "" : String(text).trim(), item.fontSize ?? 11, w === "bold" || (typeof w === "number" && w >= 600));
      };
    return [vega, vegaLite];
  });
  return loaded;
}

async function render(spec: TopLevelSpec): Promise<string> {
  const [vega, vegaLite] = await load();
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

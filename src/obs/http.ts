/**
 * The node's status endpoint (node:http):
 *   GET /metrics  Prometheus text exposition (text/plain; version=0.0.4)
 *   GET /status   the NodeStatus snapshot as JSON
 *   GET /         a self-contained HTML page: leader, ring and rates (values/s, MB/s over the
 *                 last seconds), status summary and recent events, newest first, reloading itself
 *                 every 2 s
 *   GET /health   liveness: 200 {"status":"ok"} whenever the event loop turns (asks nothing of the node)
 *   GET /ready    readiness (the source's ready()): 200 {"ready":true,…}, or 503 with the reasons
 *   GET /version  {"version","commit","runtime":{"name","version"}}
 * HEAD is answered like GET without a body; other methods get 405, other paths 404. A failing
 * status source gives a 500 for that request; nothing a client sends stops the server.
 */
import process from "node:process";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import type { NodeEvent, NodeStatus, StatusSource } from "../node/status.ts";
import { createNodeMetrics } from "./metrics.ts";
import { RateMeter, type Rates } from "./rates.ts";
import { versionInfo } from "../version.ts";

export interface StatusServerOptions {
  host: string;
  /** 0 picks a free port; the bound one is `StatusServer.port`. */
  port: number;
  source: StatusSource;
  /**
   * The registry served at /metrics, normally `createNodeMetrics(source)`. When omitted, the
   * server creates one for `source` (with default process metrics).
   */
  registry?: Registry;
  /** An application's routes beside the node's pages (the key-value API): tried first. */
  app?: AppRoutes;
  /** Seconds between reloads of the HTML page; default 2. */
  refreshSeconds?: number;
  /** How often the page's rates are sampled, and over how long they are measured (ms); default 1000 and 5000. */
  rateSampleMs?: number;
  rateWindowMs?: number;
}

/** Routes an application serves on the node's HTTP port (its paths must not be the node's pages). */
export interface AppRoutes {
  handles(path: string): boolean;
  /** Answers the request (its body unread); a throw answers 500. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): void | Promise<void>;
  /** Ends long-lived responses (streams) before the server closes, which waits for them. */
  close?(): void;
}

export interface StatusServer {
  readonly host: string;
  /** The port actually bound. */
  readonly port: number;
  /** http://host:port (IPv6 hosts bracketed). */
  readonly url: string;
  /** Stops accepting connections, ends idle keep-alive ones; resolves once the server is closed. Idempotent. */
  close(): Promise<void>;
}

const PAGES = new Set(["/", "/metrics", "/status", "/health", "/ready", "/version"]);

/** One rate sample of a status: values and bytes delivered, instances decided. */
function rateSample(s: NodeStatus, t: number): { t: number; values: number; bytes: number; instances: number } {
  return { t, values: s.counters["delivered"] ?? s.learner?.delivered ?? 0, bytes: s.counters["deliveredBytes"] ?? 0, instances: s.highestDecided + 1 };
}

export function startStatusServer(opts: StatusServerOptions): Promise<StatusServer> {
  const registry = opts.registry ?? createNodeMetrics(opts.source);
  const refresh = opts.refreshSeconds ?? 2;
  // Rates need history: sampled on a timer, so a page loaded once still shows the last seconds.
  const meter = new RateMeter(opts.rateWindowMs ?? 5000);
  const sample = (): NodeStatus | null => {
    try {
      const st = opts.source.status();
      meter.add(rateSample(st, performance.now()));
      return st;
    } catch {
      return null; // a failing source answers 500 per request; the sampler just skips
    }
  };
  const sampler = setInterval(sample, opts.rateSampleMs ?? 1000);
  sampler.unref?.();
  // Requests being answered, and whether close() was called: once both say so, every connection
  // is ended (closeIdleConnections alone leaves some keep-alive connections open under Deno).
  let active = 0;
  let closing = false;
  const server = createServer((req, res) => {
    active++;
    res.once("close", () => {
      active--;
      if (closing && active === 0) server.closeAllConnections();
    });
    if (closing) res.setHeader("Connection", "close");
    handle(req, res, { source: opts.source, registry, refresh, meter, app: opts.app ?? null }).catch((e: unknown) => fail(res, e));
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  server.on("clientError", (_err, socket) => {
    // Malformed requests: answer 400 when the socket still can, and drop the connection.
    try {
      if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      else socket.destroy();
    } catch {
      socket.destroy();
    }
  });

  return new Promise<StatusServer>((resolve, reject) => {
    const onError = (e: Error): void => {
      clearInterval(sampler);
      reject(e);
    };
    server.once("error", onError);
    server.listen(opts.port, opts.host, () => {
      server.off("error", onError);
      server.on("error", () => {
        // After listening, a server error (e.g. accept failure) must not become an uncaught exception.
      });
      const addr = server.address() as AddressInfo;
      const port = addr.port;
      let closed: Promise<void> | null = null;
      resolve({
        host: opts.host,
        port,
        url: `http://${opts.host.includes(":") ? `[${opts.host}]` : opts.host}:${port}`,
        close(): Promise<void> {
          closed ??= new Promise<void>((done) => {
            closing = true;
            opts.app?.close?.();
            clearInterval(sampler);
            server.close(() => done());
            server.closeIdleConnections();
            if (active === 0) server.closeAllConnections();
          });
          return closed;
        },
      });
    });
  });
}

interface Handler {
  readonly source: StatusSource;
  readonly registry: Registry;
  readonly refresh: number;
  readonly meter: RateMeter;
  readonly app: AppRoutes | null;
}

async function handle(req: IncomingMessage, res: ServerResponse, h: Handler): Promise<void> {
  const { source, registry, refresh } = h;
  const method = req.method ?? "";
  const path = pathOf(req.url ?? "");
  if (path !== null && h.app?.handles(path)) return await h.app.handle(req, res, new URL(req.url ?? "/", "http://node"));
  req.resume(); // a body, if any, is not read: drain it
  if (path === null) return send(res, method, 400, "text/plain; charset=utf-8", "bad request target\n");
  if (!PAGES.has(path)) return send(res, method, 404, "text/plain; charset=utf-8", "not found\n");
  if (method !== "GET" && method !== "HEAD") {
    res.setHeader("Allow", "GET, HEAD");
    return send(res, method, 405, "text/plain; charset=utf-8", "method not allowed\n");
  }
  switch (path) {
    case "/metrics":
      return send(res, method, 200, registry.contentType, await registry.metrics());
    case "/status":
      return send(res, method, 200, "application/json; charset=utf-8", `${JSON.stringify(source.status())}\n`);
    case "/health":
      return send(res, method, 200, JSON_TYPE, `${JSON.stringify({ status: "ok", uptimeMs: Math.round(process.uptime() * 1000) })}\n`);
    case "/ready": {
      const r = source.ready?.() ?? { ready: true, reasons: [] };
      const body = r.ready ? { ready: true, reasons: [] } : { ready: false, reason: r.reasons.join("; "), reasons: r.reasons };
      return send(res, method, r.ready ? 200 : 503, JSON_TYPE, `${JSON.stringify(body)}\n`);
    }
    case "/version":
      return send(res, method, 200, JSON_TYPE, `${JSON.stringify(versionInfo())}\n`);
    default: {
      const st = source.status();
      h.meter.add(rateSample(st, performance.now()));
      return send(res, method, 200, "text/html; charset=utf-8", renderPage(st, source.events(), refresh, h.meter.rates()));
    }
  }
}

/** The path of a request target, or null when it is not an origin-form target. */
function pathOf(target: string): string | null {
  if (!target.startsWith("/")) return null;
  try {
    return new URL(target, "http://localhost").pathname;
  } catch {
    return null;
  }
}

const JSON_TYPE = "application/json; charset=utf-8";

function send(res: ServerResponse, method: string, status: number, type: string, body: string): void {
  const bytes = Buffer.from(body, "utf8");
  res.statusCode = status;
  res.setHeader("Content-Type", type);
  res.setHeader("Content-Length", bytes.length);
  res.setHeader("Cache-Control", "no-store");
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.end(method === "HEAD" ? undefined : bytes);
}

function fail(res: ServerResponse, e: unknown): void {
  try {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const msg = e instanceof Error ? e.message : String(e);
    send(res, "GET", 500, "text/plain; charset=utf-8", `internal error: ${msg}\n`);
  } catch {
    res.destroy();
  }
}

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function fmtUptime(ms: number): string {
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const parts = d > 0 ? [`${d}d`, `${h}h`, `${m}m`] : h > 0 ? [`${h}h`, `${m}m`] : m > 0 ? [`${m}m`] : [];
  return [...parts, `${s % 60}s`].join(" ");
}

/** Bytes for people: 1536 → "1.5 KiB". */
export function fmtBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** A counter's value as shown: byte counters in KiB/MiB/…, others as they are. */
function fmtCounter(name: string, v: number): string {
  return /bytes/i.test(name) ? fmtBytes(v) : String(v);
}

/** Leader, ring and rates: what an operator looks for first. */
function clusterRows(s: NodeStatus, rates: Rates | null): [string, string][] {
  const c = s.coordinator;
  const leadingItself = c !== null && c.active;
  const leader = leadingItself ? s.id : (s.leadership?.leader ?? null);
  const ring = leadingItself ? c.ring : (s.leadership?.ring ?? null);
  const rows: [string, string][] = [
    ["leader", leader === null ? "none known" : `node ${leader}${leader === s.id ? " (this node)" : ""}`],
    ["current ring", ring === null ? "not seen yet" : ring.join(" → ")],
  ];
  if (rates !== null && rates.overMs > 0) {
    const over = `over the last ${(rates.overMs / 1000).toFixed(0)} s`;
    rows.push(
      ["delivered", `${rates.valuesPerSec.toFixed(rates.valuesPerSec < 10 ? 1 : 0)} values/s, ${rates.mbPerSec.toFixed(2)} MB/s (${over})`],
      ["decided", `${rates.instancesPerSec.toFixed(rates.instancesPerSec < 10 ? 1 : 0)} instances/s (${over})`],
    );
  } else rows.push(["rates", "measuring…"]);
  if (s.learnerStart) {
    const st = s.learnerStart;
    rows.push(["learner started at", `instance ${st.instance} (${st.source === "output" ? `resumed from ${st.file ?? "its output"}` : st.source === "flag" ? "--from-instance" : "the beginning"})`]);
  }
  return rows;
}

/** The HTML page: leader, ring and rates, a summary table of the status, counters, and the events newest first. */
export function renderPage(s: NodeStatus, events: readonly NodeEvent[], refreshSeconds = 2, rates: Rates | null = null): string {
  const rows: [string, string][] = [
    ["node", String(s.id)],
    ["cluster", String(s.cluster)],
    ["variant", s.variant],
    ["roles", s.roles.join(", ") || "–"],
    ["uptime", fmtUptime(s.uptimeMs)],
    ...clusterRows(s, rates),
  ];
  if (s.coordinator !== null) {
    const c = s.coordinator;
    rows.push(
      ["coordinator", c.active ? "active" : "inactive"],
      ["round", String(c.round)],
      ["ring", c.ring === null ? "–" : c.ring.join(" → ")],
      ["instances in flight", String(c.inFlight)],
    );
  }
  if (s.acceptor !== null) rows.push(["promised round", String(s.acceptor.promised)]);
  if (s.learner !== null) rows.push(["next instance", String(s.learner.nextInstance)], ["values delivered", String(s.learner.delivered)]);
  rows.push(["highest decided", s.highestDecided < 0 ? "none" : String(s.highestDecided)]);
  if (s.socketBuffers !== null) {
    const b = s.socketBuffers;
    rows.push(["socket buffers", `recv ${fmtBytes(b.recvBytes)}, send ${fmtBytes(b.sendBytes)}`]);
    if (b.warning !== null) rows.push(["socket warning", b.warning]);
  }
  if (s.tcpBuffers !== null) {
    const b = s.tcpBuffers;
    rows.push(["TCP buffers", `recv ${fmtBytes(b.recvBytes)}, send ${fmtBytes(b.sendBytes)}`]);
    if (b.warning !== null) rows.push(["TCP warning", b.warning]);
  }
  const summary = rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join("\n");
  const counterNames = Object.keys(s.counters).sort();
  const counters =
    counterNames.length === 0
      ? `<p class="none">no counters</p>`
      : `<table>\n${counterNames.map((k) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(fmtCounter(k, s.counters[k] ?? 0))}</td></tr>`).join("\n")}\n</table>`;
  const evs = [...events].reverse();
  const eventRows =
    evs.length === 0
      ? `<p class="none">no events</p>`
      : `<table class="events">\n${evs
          .map((e) => `<tr class="${escapeHtml(e.level)}"><td>${escapeHtml(e.at)}</td><td>${escapeHtml(e.level)}</td><td>${escapeHtml(e.msg)}</td></tr>`)
          .join("\n")}\n</table>`;
  const title = `paxos node ${s.id} (${s.variant}, cluster ${s.cluster})`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="${Math.max(1, Math.round(refreshSeconds))}">
<title>${escapeHtml(title)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.3em; } h2 { font-size: 1.1em; margin-top: 1.5em; }
table { border-collapse: collapse; }
th, td { text-align: left; padding: 2px 10px; border-bottom: 1px solid #ddd; vertical-align: top; }
th { font-weight: 600; color: #555; }
.events td { font-family: ui-monospace, monospace; white-space: pre-wrap; }
tr.warn td { background: #fff6d6; } tr.error td { background: #ffe0e0; } tr.debug td { color: #777; }
.none { color: #777; }
</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<table>
${summary}
</table>
<h2>Counters</h2>
${counters}
<h2>Recent events (newest first)</h2>
${eventRows}
<p class="none"><a href="/status">/status</a> · <a href="/metrics">/metrics</a> · <a href="/ready">/ready</a> · <a href="/health">/health</a> · <a href="/version">/version</a></p>
</body>
</html>
`;
}

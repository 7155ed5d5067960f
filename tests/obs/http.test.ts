import { afterEach, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { createNodeMetrics } from "../../src/obs/metrics.ts";
import { escapeHtml, startStatusServer, type StatusServer } from "../../src/obs/http.ts";
import { createLogger } from "../../src/obs/log.ts";
import type { NodeStatus, StatusSource } from "../../src/node/status.ts";
import { readiness } from "../../src/node/readiness.ts";
import { RateMeter } from "../../src/obs/rates.ts";
import { buildCommit, VERSION } from "../../src/version.ts";
import { baseStatus, FakeSource, parseExposition } from "./helpers.ts";

const open: StatusServer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function start(source: StatusSource = new FakeSource()): Promise<StatusServer> {
  const s = await startStatusServer({ host: "127.0.0.1", port: 0, source, registry: createNodeMetrics(source, { defaultMetrics: false }) });
  open.push(s);
  return s;
}

/** One raw HTTP exchange over a fresh socket (for requests fetch will not send); resolves with what came back. */
function raw(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, "127.0.0.1");
    let data = "";
    const timer = setTimeout(() => {
      sock.destroy();
      resolve(data);
    }, 2000);
    sock.setEncoding("utf8");
    sock.on("connect", () => sock.write(request));
    sock.on("data", (d: string) => (data += d));
    sock.on("end", () => {
      clearTimeout(timer);
      sock.destroy();
      resolve(data);
    });
    sock.on("error", (e) => {
      clearTimeout(timer);
      if (data !== "") resolve(data);
      else reject(e);
    });
  });
}

describe("status server", () => {
  test("binds a free port when asked for port 0", async () => {
    const s = await start();
    expect(s.port).toBeGreaterThan(0);
    expect(s.url).toBe(`http://127.0.0.1:${s.port}`);
  });

  test("GET /metrics serves the exposition with the source's values, and follows the source", async () => {
    const src = new FakeSource();
    const s = await start(src);
    let res = await fetch(`${s.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith("text/plain; version=0.0.4");
    let m = parseExposition(await res.text());
    expect(m.samples.get("paxos_round")).toBe(49);
    expect(m.samples.get("paxos_learner_next_instance")).toBe(120);
    expect(m.samples.get("paxos_msgs_in_total")).toBe(10);
    expect(m.help.has("paxos_node_info")).toBe(true);
    src.current = baseStatus({ learner: { nextInstance: 121, delivered: 4400, backlog: 0, slowDowns: 0, behindGc: false }, counters: { msgsIn: 11, msgsOut: 12 } });
    res = await fetch(`${s.url}/metrics?x=1`);
    m = parseExposition(await res.text());
    expect(m.samples.get("paxos_learner_next_instance")).toBe(121);
    expect(m.samples.get("paxos_learner_delivered_values_total")).toBe(4400);
    expect(m.samples.get("paxos_msgs_in_total")).toBe(11);
  });

  test("GET /status returns the snapshot as JSON", async () => {
    const src = new FakeSource();
    const s = await start(src);
    const res = await fetch(`${s.url}/status`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith("application/json");
    expect(await res.json()).toEqual(JSON.parse(JSON.stringify(src.current)));
    src.current = baseStatus({ highestDecided: 999, coordinator: null });
    const again = (await (await fetch(`${s.url}/status`)).json()) as Record<string, unknown>;
    expect(again["highestDecided"]).toBe(999);
    expect(again["coordinator"]).toBeNull();
  });

  test("GET / is an HTML page with the summary, escaped events newest first, reloading every 2 s", async () => {
    const src = new FakeSource();
    const log = createLogger({ level: "debug", destination: { write: () => undefined } });
    log.info("first event");
    log.warn('<script>alert("x")</script> & co');
    log.error("last event");
    src.evs = [...log.events()];
    src.current = baseStatus({ counters: { "<b>odd</b>": 1 }, socketBuffers: { recvBytes: 1, sendBytes: 2, warning: "got <less>" } });
    const s = await start(src);
    const res = await fetch(`${s.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith("text/html");
    const html = await res.text();
    expect(html).toMatch(/<meta http-equiv="refresh" content="2">/);
    expect(html).not.toContain("<script");
    expect(html).not.toContain("<b>odd");
    expect(html).not.toContain("<less>");
    expect(html).toContain("&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62; &#38; co");
    expect(html).toContain("&#60;b&#62;odd&#60;/b&#62;");
    expect(html).toContain("got &#60;less&#62;");
    // newest first
    const iLast = html.indexOf("last event");
    const iScript = html.indexOf("&#60;script&#62;");
    const iFirst = html.indexOf("first event");
    expect(iLast).toBeGreaterThan(0);
    expect(iLast).toBeLessThan(iScript);
    expect(iScript).toBeLessThan(iFirst);
    // summary
    expect(html).toContain("<th>round</th><td>49</td>");
    expect(html).toContain("<th>ring</th><td>1 → 2 → 3</td>");
    expect(html).toContain("<th>next instance</th><td>120</td>");
    expect(html).toContain("<th>uptime</th><td>1m 1s</td>");
    expect(html).toContain(src.evs[0]?.at ?? "missing");
    // self-contained: no external assets
    expect(html).not.toMatch(/<(script|link|img)\b/i);
    expect(html).not.toMatch(/https?:\/\//);
  });

  test("escapeHtml escapes the five significant characters", () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe("&#60;a href=&#34;x&#34; title=&#39;y&#39;&#62;&#38;&#60;/a&#62;");
  });

  test("unknown paths are 404", async () => {
    const s = await start();
    for (const p of ["/nope", "/metrics/", "/status/x", "/index.html"]) {
      const res = await fetch(`${s.url}${p}`);
      expect(res.status).toBe(404);
      await res.text();
    }
  });

  test("other methods than GET (and HEAD) are 405 with Allow", async () => {
    const s = await start();
    for (const [method, p] of [["POST", "/"], ["PUT", "/metrics"], ["DELETE", "/status"], ["PATCH", "/"]] as const) {
      const res = await fetch(`${s.url}${p}`, method === "POST" || method === "PUT" ? { method, body: "x".repeat(10_000) } : { method });
      expect(res.status).toBe(405);
      expect(res.headers.get("allow")).toBe("GET, HEAD");
      await res.text();
    }
  });

  test("HEAD answers like GET without a body", async () => {
    const s = await start();
    const res = await fetch(`${s.url}/status`, { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith("application/json");
    expect(Number(res.headers.get("content-length"))).toBeGreaterThan(10);
    expect(await res.text()).toBe("");
  });

  test("malformed requests get 400 and the server keeps serving", async () => {
    const s = await start();
    const garbage = await raw(s.port, "THIS IS NOT HTTP\r\n\r\n");
    expect(garbage).toStartWith("HTTP/1.1 400");
    const badTarget = await raw(s.port, "GET nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    expect(badTarget).toStartWith("HTTP/1.1 400");
    const ok = await raw(s.port, "GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    expect(ok).toStartWith("HTTP/1.1 200");
    expect((await fetch(`${s.url}/status`)).status).toBe(200);
  });

  test("a failing status source gives 500, not a crash", async () => {
    let fail = true;
    const good = new FakeSource();
    const src: StatusSource = {
      status() {
        if (fail) throw new Error("not ready <yet>");
        return good.status();
      },
      events: () => [],
    };
    const s = await start(src);
    for (const p of ["/", "/status", "/metrics"]) {
      const res = await fetch(`${s.url}${p}`);
      expect(res.status).toBe(500);
      expect(await res.text()).toContain("not ready");
    }
    fail = false;
    for (const p of ["/", "/status", "/metrics"]) expect((await fetch(`${s.url}${p}`)).status).toBe(200);
  });

  test("two servers with separate registries do not share metrics", async () => {
    const a = new FakeSource(baseStatus({ id: 1, counters: { onlyA: 1 }, highestDecided: 10 }));
    const b = new FakeSource(baseStatus({ id: 2, counters: { onlyB: 2 }, highestDecided: 20 }));
    const sa = await start(a);
    const sb = await start(b);
    expect(sa.port).not.toBe(sb.port);
    const ma = parseExposition(await (await fetch(`${sa.url}/metrics`)).text()).samples;
    const mb = parseExposition(await (await fetch(`${sb.url}/metrics`)).text()).samples;
    expect(ma.get("paxos_only_a_total")).toBe(1);
    expect(ma.has("paxos_only_b_total")).toBe(false);
    expect(mb.get("paxos_only_b_total")).toBe(2);
    expect(mb.has("paxos_only_a_total")).toBe(false);
    expect(ma.get("paxos_highest_decided_instance")).toBe(10);
    expect(mb.get("paxos_highest_decided_instance")).toBe(20);
    expect([...ma.keys()].find((k) => k.startsWith("paxos_node_info"))).toContain('id="1"');
    expect([...mb.keys()].find((k) => k.startsWith("paxos_node_info"))).toContain('id="2"');
  });

  test("without a registry the server makes one for its source (default metrics included)", async () => {
    const src = new FakeSource(baseStatus({ highestDecided: 77 }));
    const s = await startStatusServer({ host: "127.0.0.1", port: 0, source: src });
    open.push(s);
    const m = parseExposition(await (await fetch(`${s.url}/metrics`)).text()).samples;
    expect(m.get("paxos_highest_decided_instance")).toBe(77);
    expect(m.has("process_cpu_seconds_total")).toBe(true);
  });

  test("close() resolves, is idempotent, and the port stops answering", async () => {
    const s = await startStatusServer({ host: "127.0.0.1", port: 0, source: new FakeSource(), registry: createNodeMetrics(new FakeSource(), { defaultMetrics: false }) });
    // a keep-alive connection that has served requests must not keep close() waiting
    expect((await fetch(`${s.url}/metrics`)).status).toBe(200);
    expect((await fetch(`${s.url}/`)).status).toBe(200);
    const p1 = s.close();
    const p2 = s.close();
    expect(p1).toBe(p2);
    await p1;
    await expect(fetch(`${s.url}/status`)).rejects.toThrow();
  });

  test("a port already in use makes startStatusServer reject", async () => {
    const s = await start();
    await expect(startStatusServer({ host: "127.0.0.1", port: s.port, source: new FakeSource() })).rejects.toThrow();
  });
});

describe("health, readiness, version", () => {
  test("/health is 200 without asking the node anything (a failing status source too)", async () => {
    const src: StatusSource = {
      status() {
        throw new Error("broken");
      },
      events: () => [],
    };
    const s = await start(src);
    const res = await fetch(`${s.url}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "ok" });
  });

  test("/ready is 200 when the source is ready, 503 with the reasons as JSON otherwise", async () => {
    let r = { ready: false, reasons: ["no leader known yet", "learner catching up: 900 instances behind (next instance 4)"] };
    const src = Object.assign(new FakeSource(), { ready: () => r });
    const s = await start(src);
    let res = await fetch(`${s.url}/ready`);
    expect(res.status).toBe(503);
    expect(res.headers.get("content-type")).toStartWith("application/json");
    expect(await res.json()).toEqual({ ready: false, reason: "no leader known yet; learner catching up: 900 instances behind (next instance 4)", reasons: r.reasons });
    r = { ready: true, reasons: [] };
    res = await fetch(`${s.url}/ready`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ready: true, reasons: [] });
  });

  test("/version names the version, the commit and the runtime", async () => {
    const s = await start();
    const v = (await (await fetch(`${s.url}/version`)).json()) as Record<string, unknown>;
    expect(v).toEqual({ version: VERSION, commit: buildCommit(), runtime: { name: "bun", version: Bun.version } });
  });

  test("the page names the leader and the ring and shows rates over the last seconds, bytes in KiB/MiB", async () => {
    const src = new FakeSource(
      baseStatus({ coordinator: null, leadership: { leader: 2, ring: [0, 1, 2], silenceMs: 5 }, counters: { delivered: 0, deliveredBytes: 0 }, highestDecided: 0 }),
    );
    const s = await startStatusServer({ host: "127.0.0.1", port: 0, source: src, registry: createNodeMetrics(src, { defaultMetrics: false }), rateSampleMs: 50, rateWindowMs: 5000 });
    open.push(s);
    let html = await (await fetch(`${s.url}/`)).text();
    expect(html).toContain("<th>leader</th><td>node 2</td>");
    expect(html).toContain("<th>current ring</th><td>0 → 1 → 2</td>");
    await new Promise((r) => setTimeout(r, 120));
    // 2000 values of 1 MB each and 500 instances, delivered since the first sample.
    src.current = { ...src.current, counters: { delivered: 2000, deliveredBytes: 2_000_000_000 }, highestDecided: 500 };
    await new Promise((r) => setTimeout(r, 120));
    html = await (await fetch(`${s.url}/`)).text();
    const m = /<th>delivered<\/th><td>([\d.]+) values\/s, ([\d.]+) MB\/s \(over the last \d s\)<\/td>/.exec(html);
    expect(m).not.toBeNull();
    const [vps, mbps] = [Number(m?.[1]), Number(m?.[2])];
    expect(mbps / vps).toBeCloseTo(1, 2);
    expect(vps).toBeGreaterThan(2000 / 0.5);
    expect(html).toContain("<th>deliveredBytes</th><td>1.9 GiB</td>");
  });
});

describe("readiness", () => {
  const limits = { leaderSilenceMs: 250, backlogInstances: 256 };
  test("a leading coordinator with a ring is ready; a follower needs a leader heard of recently", () => {
    expect(readiness(baseStatus({ learner: null }), limits)).toEqual({ ready: true, reasons: [] });
    const follower = (leadership: NonNullable<NodeStatus["leadership"]> | null) => readiness(baseStatus({ coordinator: null, learner: null, leadership }), limits);
    expect(follower(null)).toEqual({ ready: false, reasons: ["no leader known yet"] });
    expect(follower({ leader: 0, ring: null, silenceMs: 20 })).toEqual({ ready: true, reasons: [] });
    expect(follower({ leader: 0, ring: [0, 1], silenceMs: 900 })).toEqual({ ready: false, reasons: ["leader 0 not heard of for 900 ms"] });
  });
  test("a learner must be caught up", () => {
    const l = (backlog: number, behindGc: boolean) => readiness(baseStatus({ learner: { nextInstance: 7, delivered: 0, backlog, slowDowns: 0, behindGc } }), limits);
    expect(l(256, false).ready).toBe(true);
    expect(l(257, false)).toEqual({ ready: false, reasons: ["learner catching up: 257 instances behind (next instance 7)"] });
    expect(l(0, true).reasons[0]).toStartWith("learner behind what acceptors retain");
  });
});

describe("RateMeter", () => {
  test("rates over the window: the oldest sample still inside it is the base", () => {
    const m = new RateMeter(5000);
    expect(m.rates().overMs).toBe(0);
    for (let t = 0; t <= 10_000; t += 1000) m.add({ t, values: t, bytes: t * 1000, instances: t / 10 });
    expect(m.rates()).toEqual({ valuesPerSec: 1000, mbPerSec: 1, instancesPerSec: 100, overMs: 5000 });
  });
});

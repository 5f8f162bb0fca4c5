import { lookup } from "node:dns/promises";
import { once } from "node:events";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Limiter } from "../lib/limiter.js";
import { connectRedis } from "../lib/redis.js";
import { buildHasher } from "../hasher/app.js";
import { buildRng } from "../rng/app.js";
import { buildWebui } from "../webui/app.js";
import { ReplicaWatch, parseMetrics, parseWatch, type WatchView } from "../webui/replicas.js";
import { freePort, sleep, startRedis, type TestRedis } from "./helpers.js";

type Service = ReturnType<typeof buildRng>;

async function listen(app: Service, host = "127.0.0.1") {
  await app.listen({ host, port: 0 });
  const { port } = app.server.address() as { port: number };
  return `http://127.0.0.1:${port}`;
}

/** `clients` callers each fetching url in a loop, with `pauseMs` between calls, until `stop` aborts. */
function load(url: string, clients: number, pauseMs: number, stop: AbortSignal) {
  return Promise.all(
    Array.from({ length: clients }, async () => {
      while (!stop.aborted) {
        await fetch(url, { signal: stop }).then((r) => r.arrayBuffer()).catch(() => {});
        await sleep(pauseMs, stop);
      }
    }),
  );
}

const service = (view: WatchView, name: string) => view.services.find((s) => s.service === name)!;

describe("webui's replica view: where the time goes", () => {
  it("WATCH_REPLICAS: dns:// names and URLs; anything else is refused naming the variable and the forms", () => {
    expect(parseWatch("rng=dns://tasks.rng:80, hasher=http://127.0.0.1:8002/")).toEqual([
      { service: "rng", source: "dns://tasks.rng:80" },
      { service: "hasher", source: "http://127.0.0.1:8002" },
    ]);
    expect(parseWatch("")).toEqual([]);
    for (const bad of ["rng", "rng=tasks.rng:80", "rng=dns://tasks.rng", "RNG=http://x", "rng=ftp://x:1"]) {
      expect(() => parseWatch(bad)).toThrow(/WATCH_REPLICAS: .* is invalid: expected service=dns:\/\/name:port/);
    }
  });

  it("the limiter's busy seconds: one slot busy half the time reads ~0.5", async () => {
    const line = new Limiter(1);
    const start = performance.now();
    await line.run(() => sleep(200));
    await sleep(200);
    const busy = line.busySeconds / ((performance.now() - start) / 1000);
    expect(busy).toBeGreaterThan(0.35);
    expect(busy).toBeLessThan(0.65);
  });

  it("reads node, host, requests, line and busy time from a real rng's /metrics", async () => {
    process.env.NODE_NAME = "node3";
    const rng = buildRng({ delayMs: 20, concurrency: 1, maxBytes: 64 });
    delete process.env.NODE_NAME;
    await Promise.all([rng.inject("/8"), rng.inject("/8"), rng.inject("/healthz")]);
    const sample = parseMetrics((await rng.inject("/metrics")).payload, 1000);
    expect(sample).toMatchObject({ at: 1000, node: "node3", requests: 2, queue: 0 });
    expect(sample.host).toBeTruthy();
    expect(sample.requestSeconds).toBeGreaterThan(0.04); // the second waited for the first
    expect(sample.busySeconds).toBeGreaterThan(0.035);
    await rng.close();
  });

  describe("against real rng and hasher servers under load", () => {
    const apps: Service[] = [];
    const up = async (app: Service) => (apps.push(app), listen(app));
    // The load's keep-alive connections would hold close() until the idle timeout.
    afterAll(() => Promise.all(apps.map((a) => (a.server.closeAllConnections(), a.close()))));

    it("one rng under 8 callers is marked the bottleneck (line > 0, latency ~8x its 100 ms); hasher is not", async () => {
      const rngUrl = await up(buildRng({ delayMs: 100, concurrency: 1, maxBytes: 64 }));
      const hasherUrl = await up(buildHasher({ delayMs: 100, bodyLimitBytes: 1024 }));
      const watch = new ReplicaWatch(parseWatch(`rng=${rngUrl},hasher=${hasherUrl}`), { windowS: 2, minIntervalMs: 0 });
      const stop = new AbortController();
      const running = load(`${rngUrl}/32`, 8, 0, stop.signal);
      const hashing = Promise.all([0, 1].map(async () => {
        while (!stop.signal.aborted) await fetch(hasherUrl, { method: "POST", body: "x", signal: stop.signal }).catch(() => {});
      }));
      await watch.view();
      await sleep(2500);
      const view = await watch.view();
      stop.abort();
      await Promise.all([running, hashing]);

      const rng = service(view, "rng");
      expect(rng.saturated, rng.verdict).toBe(true);
      expect(rng.verdict).toMatch(/the bottleneck: its replica is busy (9\d|100) % of the time and \d+ requests wait in line/);
      expect(rng.replicas).toHaveLength(1);
      expect(rng.replicas[0].queue).toBeGreaterThan(0);
      expect(rng.replicas[0].latencyMs).toBeGreaterThan(500);
      expect(rng.replicas[0].requestsPerS).toBeGreaterThan(7);
      expect(rng.replicas[0].requestsPerS).toBeLessThan(11);
      const hasher = service(view, "hasher");
      expect(hasher).toMatchObject({ saturated: false, verdict: "serves every request at once: no line to wait in" });
      expect(hasher.replicas[0]).toMatchObject({ queue: null, busy: null });
      expect(hasher.replicas[0].latencyMs).toBeGreaterThan(90);
      expect(hasher.replicas[0].latencyMs).toBeLessThan(300);
    });

    it("the same callers spread over four rng replicas: every replica listed, none saturated", async () => {
      const urls = await Promise.all([1, 2, 3, 4].map(() => up(buildRng({ delayMs: 100, concurrency: 1, maxBytes: 64 }))));
      const watch = new ReplicaWatch(urls.map((u) => ({ service: "rng", source: u })), { windowS: 2, minIntervalMs: 0 });
      const stop = new AbortController();
      // Two callers per replica, each pausing 200 ms as a worker does around its rng call: ~1/3 busy.
      const running = Promise.all(urls.map((u) => load(`${u}/32`, 2, 200, stop.signal)));
      await watch.view();
      await sleep(2500);
      const rng = service(await watch.view(), "rng");
      stop.abort();
      await running;
      expect(rng.replicas.map((r) => r.address).sort()).toEqual(urls.map((u) => u.replace("http://", "")).sort());
      expect(rng.saturated, rng.verdict).toBe(false);
      expect(rng.verdict).toMatch(/^keeps up: its 4 replicas are busy \d+ % of the time$/);
      for (const r of rng.replicas) expect(r.latencyMs).toBeLessThan(250);
    });

    it("dns:// lists every address the name resolves to; an unreachable replica is shown with its error", async () => {
      const url = await up(buildRng({ delayMs: 1, concurrency: 1, maxBytes: 64 }));
      const port = new URL(url).port;
      const closed = await freePort();
      const watch = new ReplicaWatch(parseWatch(`rng=dns://localhost:${port},hasher=http://127.0.0.1:${closed},gone=dns://no-such-name.invalid:80`), { minIntervalMs: 0 });
      const view = await watch.view();
      const addresses = new Set((await lookup("localhost", { all: true })).map((a) => a.address));
      expect(service(view, "rng").replicas).toHaveLength(addresses.size);
      expect(service(view, "rng").replicas.find((r) => r.address === `127.0.0.1:${port}`)?.node).toBeTruthy();
      expect(service(view, "hasher").replicas[0]).toMatchObject({ address: `127.0.0.1:${closed}`, latencyMs: null });
      expect(service(view, "hasher").replicas[0].error).toBeTruthy();
      expect(service(view, "gone")).toMatchObject({ replicas: [], saturated: false });
      expect(service(view, "gone").verdict).toMatch(/^cannot find its replicas: /);
    });
  });

  it("a replica that does not answer makes its service unknown, never a claim about its line", async () => {
    // Accepts connections and never answers: a frozen or overloaded replica.
    const silent = net.createServer(() => {}).listen(0, "127.0.0.1");
    await once(silent, "listening");
    const silentUrl = `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
    const rng = buildRng({ delayMs: 1, concurrency: 1, maxBytes: 64 });
    const rngUrl = await listen(rng);
    try {
      const alone = new ReplicaWatch(parseWatch(`rng=${silentUrl}`), { minIntervalMs: 0, timeoutMs: 300 });
      const only = service(await alone.view(), "rng");
      expect(only.replicas[0].error).toBe("no answer within 300 ms");
      expect(only).toMatchObject({ saturated: false, verdict: "unknown: its replica could not be read" });
      const mixed = new ReplicaWatch([{ service: "rng", source: rngUrl }, { service: "rng", source: silentUrl }], { minIntervalMs: 0, timeoutMs: 300 });
      await mixed.view();
      await sleep(300);
      const both = service(await mixed.view(), "rng");
      expect(both.verdict).toMatch(/^keeps up: its replica is busy \d+ % of the time; 1 of its 2 replicas could not be read$/);
    } finally {
      silent.close();
      await rng.close();
    }
  });

  describe("GET /replicas", () => {
    let redis: TestRedis;
    let client: ReturnType<typeof connectRedis>;
    beforeAll(async () => {
      redis = await startRedis();
      client = connectRedis(redis.url, 300);
    });
    afterAll(async () => {
      client.disconnect();
      await redis.stop();
    });

    it("serves the view; without targets an empty one, which hides the table", async () => {
      const rng = buildRng({ delayMs: 1, concurrency: 1, maxBytes: 64 });
      const rngUrl = await listen(rng);
      const webui = buildWebui({ redis: client, replicas: new ReplicaWatch(parseWatch(`rng=${rngUrl}`)) });
      const res = await webui.inject("/replicas");
      expect(res.statusCode).toBe(200);
      expect(res.json().services).toHaveLength(1);
      expect(res.json().services[0].replicas[0].address).toBe(rngUrl.replace("http://", ""));
      const bare = buildWebui({ redis: client });
      expect((await bare.inject("/replicas")).json().services).toEqual([]);
      await Promise.all([webui.close(), bare.close(), rng.close()]);
    });
  });
});

// Unknown paths are 404 on every service whatever the method; a known path with another method is 405 with Allow.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildHasher } from "../hasher/app.js";
import { buildHttplat } from "../httplat/app.js";
import { connectRedis } from "../lib/redis.js";
import { buildRng } from "../rng/app.js";
import { buildWebui } from "../webui/app.js";
import { buildWorker } from "../worker/app.js";
import { startRedis, type TestRedis } from "./helpers.js";

type App = ReturnType<typeof buildRng>;
let redis: TestRedis;
let client: ReturnType<typeof connectRedis>;
const apps: Record<string, App> = {};

beforeAll(async () => {
  redis = await startRedis();
  client = connectRedis(redis.url, 300);
  apps.rng = buildRng({ delayMs: 0, concurrency: 1, maxBytes: 64 });
  apps.hasher = buildHasher({ delayMs: 0, bodyLimitBytes: 64 });
  apps.webui = buildWebui({ redis: client });
  apps.worker = buildWorker({ redis: client, rngUrl: "http://127.0.0.1:1", hasherUrl: "http://127.0.0.1:1", sleepMs: 0, reportIntervalMs: 1000, timeoutMs: 100, stopGraceMs: 0, keepAlive: false }).app;
  apps.httplat = buildHttplat({ url: "http://127.0.0.1:1/", intervalMs: 60_000, timeoutMs: 100 });
});
afterAll(async () => {
  await Promise.all(Object.values(apps).map((a) => a.close()));
  client.disconnect();
  await redis.stop();
});

// [service, method, path, status, Allow]
const table: [string, string, string, number, string?][] = [
  ["webui", "GET", "/nope", 404],
  ["webui", "GET", "/favicon.ico", 404],
  ["webui", "GET", "/.env", 404],
  ["webui", "POST", "/nope", 404],
  ["webui", "DELETE", "/a/b/c", 404],
  ["webui", "GET", "/vendor/uplot/nope.js", 404],
  ["webui", "GET", "/index.html", 200],
  ["webui", "HEAD", "/page.js", 200],
  ["webui", "GET", "/vendor/uplot/uPlot.iife.min.js", 200],
  ["webui", "POST", "/index.html", 405, "GET, HEAD"],
  ["webui", "POST", "/json", 405, "GET, HEAD"],
  ["webui", "PUT", "/", 405, "GET, HEAD"],
  ["rng", "GET", "/nope/x", 404],
  ["rng", "POST", "/nope/x", 404],
  ["rng", "POST", "/32", 405, "GET, HEAD"],
  ["hasher", "GET", "/nope", 404],
  ["hasher", "POST", "/nope", 404],
  ["hasher", "GET", "/.env", 404],
  ["hasher", "PUT", "/", 405, "GET, HEAD, POST"],
  ["worker", "GET", "/nope", 404],
  ["worker", "POST", "/nope", 404],
  ["worker", "POST", "/", 405, "GET, HEAD"],
  ["httplat", "GET", "/favicon.ico", 404],
  ["httplat", "POST", "/metrics", 405, "GET, HEAD"],
];

describe("404 for unknown paths, 405 for known paths with another method", () => {
  it.each(table)("%s: %s %s -> %i %s", async (service, method, url, status, allow) => {
    const res = await apps[service].inject({ method: method as "GET", url });
    expect(res.statusCode).toBe(status);
    expect(res.headers.allow).toBe(allow);
    if (status >= 400 && method !== "HEAD") expect(res.json().error).toMatch(status === 404 ? /^no route for / : / is not allowed on /);
  });
});

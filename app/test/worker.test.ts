import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { buildHasher } from "../hasher/app.js";
import { connectRedis } from "../lib/redis.js";
import { buildRng } from "../rng/app.js";
import { buildWorker } from "../worker/app.js";
import { listen, metric, sleep, startRedis, until, type TestRedis } from "./helpers.js";

// Real redis-server, real rng and hasher over HTTP; only the delays are shortened.
let redis: TestRedis;
let hasher: ReturnType<typeof buildHasher>;
let hasherUrl: string;
const closers: (() => Promise<unknown>)[] = [];

/** Units the hasher really served: an independent count to check redis against. */
async function hashesServed(): Promise<number> {
  const text = (await hasher.inject("/metrics")).payload;
  return metric(text, "http_request_duration_seconds_count", { method: "POST", route: "/", status_code: "200" });
}

async function startRng(delayMs: number, port = 0) {
  const rng = buildRng({ delayMs, concurrency: 1, maxBytes: 64 });
  const url = await listen(rng, port);
  closers.push(() => rng.close());
  return { rng, url, port: Number(new URL(url).port) };
}

function startWorker(rngUrl: string) {
  const client = connectRedis(redis.url, 300);
  const worker = buildWorker({ redis: client, rngUrl, hasherUrl, sleepMs: 5, reportIntervalMs: 100, timeoutMs: 1000, stopGraceMs: 1000, keepAlive: false });
  const stop = new AbortController();
  const mining = worker.mine(stop.signal);
  closers.push(async () => (stop.abort(), await mining, client.disconnect()));
  return { ...worker, stop, mining };
}

const hashesInRedis = async () => Number(await redis.client.get("hashes"));

beforeAll(async () => {
  redis = await startRedis({ durable: true });
  hasher = buildHasher({ delayMs: 5, bodyLimitBytes: 1024 });
  hasherUrl = await listen(hasher);
});
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
  await redis.client.flushall();
  hasher.metrics.resetMetrics();
});
afterAll(async () => {
  await hasher.close();
  await redis.stop();
});

describe("worker", () => {
  it("counts every unit in redis and stores real coins (hash starting with 0 -> the 32 bytes)", async () => {
    const { url } = await startRng(1);
    const worker = startWorker(url);
    await until("a few coins", async () => (await redis.client.hlen("wallet")) >= 3, 20_000);
    worker.stop.abort();
    const summary = await worker.mining;

    expect(summary.unreported).toBe(0);
    expect(await hashesInRedis()).toBe(summary.unitsDone);
    expect(await hashesServed()).toBe(summary.unitsDone);
    const wallet = await redis.client.hgetallBuffer("wallet");
    for (const [hex, bytes] of Object.entries(wallet)) {
      expect(hex).toMatch(/^0[0-9a-f]{63}$/);
      expect(bytes).toHaveLength(32);
      expect(createHash("sha256").update(bytes).digest("hex")).toBe(hex);
    }
    const metrics = (await worker.app.inject("/metrics")).payload;
    expect(metric(metrics, "dockercoins_hashes_total")).toBe(summary.unitsDone);
    expect(metric(metrics, "dockercoins_coins_total")).toBe(Object.keys(wallet).length);
  });

  it("keeps mining through a redis outage and loses no count once redis is back", async () => {
    const { url } = await startRng(1);
    const worker = startWorker(url);
    await until("first report", async () => (await hashesInRedis()) > 0);
    await redis.stop();
    const unitsAtOutage = worker.state.unitsDone;
    await until("units done while redis is down", async () => worker.state.unitsDone > unitsAtOutage + 20 && worker.state.unreported > 20);
    await redis.restart();
    await until("the backlog flushed", async () => worker.state.unreported < 5 && (await hashesInRedis()) > unitsAtOutage);
    worker.stop.abort();
    const summary = await worker.mining;

    expect(summary.unreported).toBe(0);
    expect(await hashesInRedis()).toBe(summary.unitsDone);
    expect(await hashesServed()).toBe(summary.unitsDone);
    const metrics = (await worker.app.inject("/metrics")).payload;
    expect(metric(metrics, "dockercoins_dependency_errors_total", { dependency: "redis" })).toBeGreaterThan(0);
  });

  it("backs off while rng is down and resumes by itself when it returns", async () => {
    const first = await startRng(1);
    const worker = startWorker(first.url);
    await until("mining", async () => worker.state.unitsDone > 5);
    await first.rng.close();
    await sleep(600);
    const unitsWhileDown = worker.state.unitsDone;
    await sleep(600);
    expect(worker.state.unitsDone).toBe(unitsWhileDown);
    await startRng(1, first.port);
    await until("mining again", async () => worker.state.unitsDone > unitsWhileDown + 5, 15_000);
    worker.stop.abort();
    const summary = await worker.mining;

    expect(await hashesInRedis()).toBe(summary.unitsDone);
    const metrics = (await worker.app.inject("/metrics")).payload;
    expect(metric(metrics, "dockercoins_dependency_errors_total", { dependency: "rng" })).toBeGreaterThan(0);
  });

  it("on SIGTERM finishes the unit in flight, flushes its count and exits within 2 s", async () => {
    const { url } = await startRng(400); // slow rng: a unit is in flight when the signal lands
    const main = fileURLToPath(new URL("../dist/worker/main.js", import.meta.url));
    const child = spawn(process.execPath, [main], {
      env: { ...process.env, LOG_LEVEL: "info", PORT: "0", REDIS_URL: redis.url, RNG_URL: url, HASHER_URL: hasherUrl, WORKER_SLEEP_MS: "10" },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let log = "";
    child.stdout.on("data", (chunk) => (log += chunk));
    await until("two units done", async () => (await hashesServed()) >= 2 && log.includes("units of work done"), 10_000);
    await sleep(150); // inside the next rng call
    const signalled = performance.now();
    child.kill("SIGTERM");
    const [code] = await once(child, "exit");
    const exitMs = performance.now() - signalled;

    expect(code).toBe(0);
    expect(exitMs).toBeLessThan(2000);
    const summary = JSON.parse(log.split("\n").find((l) => l.includes("stopped after"))!);
    expect(summary.unreported).toBe(0);
    expect(await hashesInRedis()).toBe(summary.unitsDone);
    expect(await hashesServed()).toBe(summary.unitsDone);
    // Each report says how many units it counted, as a field a log store can sum per worker.
    const reports = log.split("\n").filter((l) => l.includes("units of work done")).map((l) => JSON.parse(l));
    expect(reports.reduce((sum, r) => sum + r.units, 0)).toBe(summary.unitsDone);
    expect(reports[0]).toMatchObject({ service: "worker", level: "info" });
  });
});

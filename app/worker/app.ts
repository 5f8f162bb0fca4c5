// worker: forever sleep, get random bytes from rng, hash them with hasher, count the work in redis and
// keep the coins (hashes starting with "0"). Unlike the original it never loses counted work: failed
// reports and coin writes are kept in memory and retried, and SIGTERM finishes the unit and flushes.
import type { Redis } from "ioredis";
import { Counter, Gauge, Histogram } from "prom-client";
import { httpRequest } from "../lib/http-client.js";
import { createService, sleep } from "../lib/service.js";

export interface WorkerOptions {
  redis: Redis;
  rngUrl: string;
  hasherUrl: string;
  sleepMs: number;
  reportIntervalMs: number;
  timeoutMs: number;
  /** Once stopping, how long the unit in flight may still take before it is abandoned (uncounted). */
  stopGraceMs: number;
  /** Reuse connections to rng and hasher instead of one per call (see lib/http-client.ts). */
  keepAlive: boolean;
}

type Dependency = "rng" | "hasher" | "redis";
class DependencyError extends Error {
  constructor(readonly dependency: Dependency, cause: unknown) {
    super(`${dependency}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

export function buildWorker(opts: WorkerOptions) {
  const app = createService({ name: "worker" });
  const registers = [app.metrics];
  const hashes = new Counter({ name: "dockercoins_hashes_total", help: "Units of work done (hashes computed)", registers });
  const coins = new Counter({ name: "dockercoins_coins_total", help: "Coins found", registers });
  const errors = new Counter({ name: "dockercoins_dependency_errors_total", help: "Failed calls", labelNames: ["dependency"], registers });
  const latency = new Histogram({ name: "dockercoins_dependency_duration_seconds", help: "Call duration", labelNames: ["dependency"], buckets: [0.05, 0.1, 0.2, 0.5, 1, 2, 5], registers });
  const backlog = new Gauge({ name: "dockercoins_unreported_hashes", help: "Hashes done but not yet added to redis", registers });

  opts.redis.on("error", (err: Error) => app.log.warn({ err: err.message }, "redis connection error"));
  const state = { unitsDone: 0, unreported: 0, pendingCoins: new Map<string, Buffer>() };
  const log = app.log;

  async function call<T>(dependency: Dependency, request: () => Promise<T>): Promise<T> {
    const end = latency.startTimer({ dependency });
    try {
      return await request();
    } catch (err) {
      throw new DependencyError(dependency, err);
    } finally {
      end();
    }
  }

  /** Adds the unreported count and any coins not yet saved to redis, atomically. Keeps them on failure. */
  async function report(): Promise<void> {
    const count = state.unreported;
    const coinsToSave = [...state.pendingCoins];
    if (count === 0 && coinsToSave.length === 0) return;
    const tx = opts.redis.multi();
    for (const [hex, bytes] of coinsToSave) tx.hset("wallet", hex, bytes);
    tx.incrby("hashes", count);
    const results = await tx.exec();
    const failed = results?.find(([err]) => err);
    if (!results || failed) throw failed?.[0] ?? new Error("transaction aborted");
    state.unreported -= count;
    for (const [hex] of coinsToSave) state.pendingCoins.delete(hex);
    backlog.set(state.unreported);
    log.info({ units: count, coins: coinsToSave.length }, `${count} units of work done, updating hash counter`);
  }

  async function workOnce(signal: AbortSignal): Promise<void> {
    const timeout = AbortSignal.any([signal, AbortSignal.timeout(opts.timeoutMs)]);
    const { keepAlive } = opts;
    const bytes = await call("rng", () => httpRequest(`${opts.rngUrl}/32`, { signal: timeout, keepAlive }));
    const hex = (await call("hasher", () => httpRequest(`${opts.hasherUrl}/`, { method: "POST", body: bytes, signal: timeout, keepAlive }))).toString();
    state.unitsDone++;
    state.unreported++;
    hashes.inc();
    backlog.set(state.unreported);
    if (!hex.startsWith("0")) return;
    coins.inc();
    log.info({ coin: hex }, `Coin found: ${hex.slice(0, 8)}...`);
    const created = await opts.redis.hset("wallet", hex, bytes).catch((err) => {
      state.pendingCoins.set(hex, bytes); // saved with the next report
      errors.inc({ dependency: "redis" });
      log.warn({ err: err.message }, "could not save coin yet, will retry");
      return undefined;
    });
    if (created === 0) log.info("We already had that coin");
  }

  /** Mines until `stop` aborts, then finishes the unit in flight and flushes. Resolves with a summary. */
  async function mine(stop: AbortSignal) {
    const giveUp = new AbortController(); // aborts the unit in flight if stopping takes too long
    stop.addEventListener("abort", () => setTimeout(() => giveUp.abort(new Error("stopping")), opts.stopGraceMs).unref(), { once: true });
    let lastReport = Date.now();
    let backoffMs = 0;
    while (!stop.aborted) {
      if (Date.now() - lastReport > opts.reportIntervalMs) {
        lastReport = Date.now();
        await report().catch((err) => {
          errors.inc({ dependency: "redis" });
          log.warn({ err: err.message, unreported: state.unreported }, "redis unavailable, keeping the count for later");
        });
      }
      await sleep(opts.sleepMs, stop);
      if (stop.aborted) break;
      try {
        await workOnce(giveUp.signal);
        backoffMs = 0;
      } catch (err) {
        if (giveUp.signal.aborted) break;
        const dependency = err instanceof DependencyError ? err.dependency : "redis";
        errors.inc({ dependency });
        backoffMs = Math.min(Math.max(backoffMs * 2, 200), 5000);
        log.warn({ err: (err as Error).message, backoffMs }, `${dependency} call failed, retrying`);
        await sleep(backoffMs, stop);
      }
    }
    await report().catch((err) => log.error({ err: err.message, lost: state.unreported }, "final report failed"));
    log.info({ unitsDone: state.unitsDone, unreported: state.unreported }, `stopped after ${state.unitsDone} units`);
    return { unitsDone: state.unitsDone, unreported: state.unreported };
  }

  app.get("/", async () => ({ unitsDone: state.unitsDone, unreported: state.unreported, pendingCoins: state.pendingCoins.size }));
  return { app, mine, state };
}

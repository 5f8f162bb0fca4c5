// worker: forever sleep, get random bytes from rng, hash them with hasher, count the work in redis and
// keep the coins (hashes starting with "0"). Unlike the original it never loses counted work, and never counts
// it twice: reports carry an id that redis applies once (APPLY_REPORT below), and are retried until applied.
import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { Counter, Gauge, Histogram } from "prom-client";
import { httpRequest } from "../lib/http-client.js";
import { createService, sleep } from "../lib/service.js";

/**
 * One report, applied at most once. KEYS: this worker's marker, `hashes`, `wallet`; ARGV: the report's sequence
 * number, the marker's TTL in seconds, the units to add, then coin hex / coin bytes pairs. A worker sends its
 * reports one at a time in increasing order, so "never applied" is "above the last number applied": one small
 * key per worker, not one per report. Returns the coins new to the wallet, or -1 for a copy already applied.
 * The marker is set last: a script stopped by an error (a key of the wrong type) has then applied at most the
 * coins, which a retry sets again to the same bytes, and no count.
 */
export const APPLY_REPORT = `
local seq = tonumber(ARGV[1])
if seq <= tonumber(redis.call('GET', KEYS[1]) or '0') then return -1 end
local added = 0
for i = 4, #ARGV, 2 do added = added + redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1]) end
redis.call('INCRBY', KEYS[2], ARGV[3])
redis.call('SET', KEYS[1], seq, 'EX', ARGV[2])
return added
`;
/**
 * How long redis remembers a worker's last applied number after its last report. A copy can only run while the
 * worker still retries it, that is while it has not heard back from redis: this must outlast any outage the worker
 * rides through, and a week does (a worker stopped for good leaves its key for a week: a few bytes).
 */
export const REPORT_MARKER_TTL_S = 7 * 24 * 3600;
type ApplyReport = (marker: string, hashesKey: string, walletKey: string, seq: number, ttlS: number, units: number, ...coins: (string | Buffer)[]) => Promise<number>;

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
  // EVALSHA, and EVAL when redis does not know the script (after a restart): ioredis does both.
  opts.redis.defineCommand("applyReport", { numberOfKeys: 3, lua: APPLY_REPORT });
  const applyReport = (opts.redis as unknown as { applyReport: ApplyReport }).applyReport.bind(opts.redis);
  const marker = `dockercoins:worker:${randomUUID()}:applied`;
  /** unreported: units done that redis has not acknowledged yet (the pending report's included). */
  const state = { unitsDone: 0, unreported: 0, pendingCoins: new Map<string, Buffer>() };
  let seq = 0;
  /** The report being sent: resent unchanged, under its number, until redis answers it. */
  let pending: { seq: number; units: number; coins: [string, Buffer][] } | undefined;
  let coinWaiting = false;
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

  /**
   * Adds the units and coins redis has not acknowledged, exactly once. Throws while redis is away; the next call
   * resends the same report (a copy that timed out may still run when redis resumes: then this one changes nothing).
   */
  async function report(): Promise<void> {
    coinWaiting = false;
    while (pending || state.unreported > 0 || state.pendingCoins.size > 0) {
      pending ??= { seq: ++seq, units: state.unreported, coins: [...state.pendingCoins] };
      const { units, coins: saved } = pending;
      const added = await applyReport(marker, "hashes", "wallet", pending.seq, REPORT_MARKER_TTL_S, units, ...saved.flat());
      pending = undefined;
      state.unreported -= units;
      for (const [hex] of saved) state.pendingCoins.delete(hex);
      backlog.set(state.unreported);
      log.info({ units, coins: saved.length }, `${units} units of work done, updating hash counter`);
      if (added >= 0 && added < saved.length) log.info("We already had that coin");
    }
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
    state.pendingCoins.set(hex, bytes);
    coinWaiting = true; // saved with a report at once, not a second later
  }

  /** Mines until `stop` aborts, then finishes the unit in flight and flushes. Resolves with a summary. */
  async function mine(stop: AbortSignal) {
    const giveUp = new AbortController(); // aborts the unit in flight if stopping takes too long
    stop.addEventListener("abort", () => setTimeout(() => giveUp.abort(new Error("stopping")), opts.stopGraceMs).unref(), { once: true });
    let lastReport = Date.now();
    let backoffMs = 0;
    while (!stop.aborted) {
      if (coinWaiting || Date.now() - lastReport > opts.reportIntervalMs) {
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
    // Resending is safe (a copy runs at most once), so the last report is tried until acknowledged or the grace is up.
    const deadline = Date.now() + opts.stopGraceMs;
    for (;;) {
      const failed = await report().then(() => undefined, (err: Error) => err);
      if (!failed) break;
      if (Date.now() >= deadline) {
        log.error({ err: failed.message, lost: state.unreported }, "final report failed");
        break;
      }
      await sleep(100);
    }
    log.info({ unitsDone: state.unitsDone, unreported: state.unreported }, `stopped after ${state.unitsDone} units`);
    return { unitsDone: state.unitsDone, unreported: state.unreported };
  }

  app.get("/", async () => ({ unitsDone: state.unitsDone, unreported: state.unreported, pendingCoins: state.pendingCoins.size }));
  return { app, mine, state };
}

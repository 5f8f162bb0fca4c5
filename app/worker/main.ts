import { fromEnv, intEnv, portEnv, redisUrlEnv, urlEnv } from "../lib/env.js";
import { connectRedis } from "../lib/redis.js";
import { runService } from "../lib/service.js";
import { buildWorker } from "./app.js";

const { worker, redis, port } = fromEnv(() => {
  const redis = connectRedis(redisUrlEnv(), 500);
  const worker = buildWorker({
    redis,
    rngUrl: urlEnv("RNG_URL", "http://rng"),
    hasherUrl: urlEnv("HASHER_URL", "http://hasher"),
    sleepMs: intEnv("WORKER_SLEEP_MS", 100),
    reportIntervalMs: intEnv("REPORT_INTERVAL_MS", 1000, { min: 1 }),
    timeoutMs: intEnv("REQUEST_TIMEOUT_MS", 5000, { min: 1 }),
    stopGraceMs: intEnv("STOP_GRACE_MS", 1200),
    keepAlive: intEnv("WORKER_KEEPALIVE", 0, { max: 1 }) === 1,
  });
  return { worker, redis, port: portEnv(80) };
});
const stop = new AbortController();
const mining = worker.mine(stop.signal);
// The HTTP port only serves /metrics and /healthz; SIGTERM stops mining, flushes, then exits.
await runService(worker.app, port, async () => {
  stop.abort();
  await mining;
  await redis.quit().catch(() => redis.disconnect());
});

import { Redis } from "ioredis";

// Fail fast instead of queueing forever while redis is away: callers decide (webui answers 503,
// the worker keeps its counts for later). ioredis keeps reconnecting in the background.
export function connectRedis(url: string, commandTimeoutMs = 1000): Redis {
  return new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: commandTimeoutMs,
    connectTimeout: 2000,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
  });
}

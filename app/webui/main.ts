import { portEnv, urlEnv } from "../lib/env.js";
import { connectRedis } from "../lib/redis.js";
import { runService } from "../lib/service.js";
import { buildWebui } from "./app.js";
import { DEFAULT_WATCH, ReplicaWatch, WATCH_ENV, parseWatch } from "./replicas.js";

const redis = connectRedis(urlEnv("REDIS_URL", "redis://redis:6379"));
const replicas = new ReplicaWatch(parseWatch(process.env[WATCH_ENV] ?? DEFAULT_WATCH));
await runService(buildWebui({ redis, replicas }), portEnv(80), () => redis.quit());

import { fromEnv, portEnv, redisUrlEnv } from "../lib/env.js";
import { connectRedis } from "../lib/redis.js";
import { runService } from "../lib/service.js";
import { buildWebui } from "./app.js";
import { DEFAULT_WATCH, ReplicaWatch, WATCH_ENV, parseWatch } from "./replicas.js";

const { app, redis, port } = fromEnv(() => {
  const redis = connectRedis(redisUrlEnv());
  const replicas = new ReplicaWatch(parseWatch(process.env[WATCH_ENV] ?? DEFAULT_WATCH));
  return { app: buildWebui({ redis, replicas }), redis, port: portEnv(80) };
});
await runService(app, port, () => redis.quit());

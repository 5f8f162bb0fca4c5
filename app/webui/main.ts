import { portEnv, urlEnv } from "../lib/env.js";
import { connectRedis } from "../lib/redis.js";
import { runService } from "../lib/service.js";
import { buildWebui } from "./app.js";

const redis = connectRedis(urlEnv("REDIS_URL", "redis://redis:6379"));
await runService(buildWebui({ redis }), portEnv(80), () => redis.quit());

import { fromEnv, intEnv, portEnv } from "../lib/env.js";
import { runService } from "../lib/service.js";
import { buildRng } from "./app.js";

const { app, port } = fromEnv(() => ({
  app: buildRng({
    delayMs: intEnv("RNG_DELAY_MS", 100),
    concurrency: intEnv("RNG_CONCURRENCY", 1, { min: 1 }),
    maxBytes: intEnv("RNG_MAX_BYTES", 1024 * 1024, { min: 1 }),
    maxQueue: intEnv("RNG_MAX_QUEUE", 100),
  }),
  port: portEnv(80),
}));
await runService(app, port);

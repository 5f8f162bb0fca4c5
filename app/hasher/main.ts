import { fromEnv, intEnv, portEnv } from "../lib/env.js";
import { runService } from "../lib/service.js";
import { buildHasher } from "./app.js";

const { app, port } = fromEnv(() => ({
  app: buildHasher({
    delayMs: intEnv("HASHER_DELAY_MS", 100),
    bodyLimitBytes: intEnv("HASHER_BODY_LIMIT_BYTES", 1024 * 1024, { min: 1 }),
  }),
  port: portEnv(80),
}));
await runService(app, port);

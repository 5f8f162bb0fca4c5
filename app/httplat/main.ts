import { fromEnv, intEnv, portEnv, urlEnv } from "../lib/env.js";
import { runService } from "../lib/service.js";
import { buildHttplat } from "./app.js";

const { app, port } = fromEnv(() => ({
  app: buildHttplat({
    url: urlEnv("HTTPLAT_URL", "http://rng/"),
    intervalMs: intEnv("HTTPLAT_INTERVAL_MS", 10_000, { min: 100 }),
    timeoutMs: intEnv("HTTPLAT_TIMEOUT_MS", 10_000, { min: 1 }),
  }),
  port: portEnv(9080),
}));
await runService(app, port);

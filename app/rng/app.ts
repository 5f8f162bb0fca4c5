// rng: GET /<n> returns n random bytes after a delay, ONE request at a time per instance (by default).
import { randomBytes } from "node:crypto";
import os from "node:os";
import { Gauge } from "prom-client";
import { createService, sleep } from "../lib/service.js";
import { Limiter } from "../lib/limiter.js";

export interface RngOptions {
  delayMs: number;
  concurrency: number;
  maxBytes: number;
}

export function buildRng({ delayMs, concurrency, maxBytes }: RngOptions) {
  const app = createService({ name: "rng" });
  const line = new Limiter(concurrency);
  new Gauge({
    name: "rng_queue_depth",
    help: "Requests waiting for rng's single-file line",
    registers: [app.metrics],
    collect() {
      this.set(line.queued);
    },
  });

  // Even the banner waits in line, as in the original: that is what `httping rng` measures.
  app.get("/", () => line.run(async () => `RNG running on ${os.hostname()}\n`));

  app.get<{ Params: { size: string } }>("/:size", async (request, reply) => {
    const { size } = request.params;
    if (!/^\d+$/.test(size)) return reply.status(400).send({ error: `size must be a non-negative integer, got "${size}"` });
    const bytes = Number(size);
    if (bytes > maxBytes) return reply.status(400).send({ error: `size ${bytes} is over the limit of ${maxBytes} bytes` });
    const data = await line.run(async () => {
      await sleep(delayMs);
      return randomBytes(bytes);
    });
    return reply.type("application/octet-stream").send(data);
  });
  return app;
}

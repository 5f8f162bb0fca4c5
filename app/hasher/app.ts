// hasher: POST / with any body returns the lowercase hex SHA-256 of the raw bytes, after a delay.
// Requests are served concurrently (the original had a pool of threads).
import { createHash } from "node:crypto";
import os from "node:os";
import { createService, sleep } from "../lib/service.js";

export interface HasherOptions {
  delayMs: number;
  bodyLimitBytes: number;
}

export function buildHasher({ delayMs, bodyLimitBytes }: HasherOptions) {
  const app = createService({ name: "hasher", bodyLimitBytes });
  // Hash the raw bytes whatever the content type says; over the limit fastify answers 413.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => done(null, body));

  app.get("/", async () => `HASHER running on ${os.hostname()}\n`);

  app.post("/", async (request, reply) => {
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    await sleep(delayMs);
    return reply.type("text/plain").send(createHash("sha256").update(body).digest("hex"));
  });
  return app;
}

// hasher: POST / with any body returns the lowercase hex SHA-256 of the raw bytes, after a delay.
// Requests are served concurrently (the original had a pool of threads).
import { createHash } from "node:crypto";
import os from "node:os";
import { createService, sleep, type HttpTimeouts } from "../lib/service.js";

export interface HasherOptions {
  delayMs: number;
  bodyLimitBytes: number;
  timeouts?: HttpTimeouts;
}

export function buildHasher({ delayMs, bodyLimitBytes, timeouts }: HasherOptions) {
  const app = createService({ name: "hasher", bodyLimitBytes, timeouts });
  // Hash the raw bytes whatever the content type says, even one that does not parse (`;;;`, which fastify
  // would refuse with 415 before any parser runs); over the limit fastify answers 413.
  app.addHook("onRequest", async (request) => {
    request.headers["content-type"] = "application/octet-stream";
  });
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

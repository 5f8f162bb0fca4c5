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

const EMPTY_SHA256 = createHash("sha256").digest("hex");

export function buildHasher({ delayMs, bodyLimitBytes, timeouts }: HasherOptions) {
  const app = createService({ name: "hasher", bodyLimitBytes, timeouts });
  // Hash the raw bytes whatever the content type says, even one that does not parse (`;;;`, which fastify
  // would refuse with 415 before any parser runs).
  app.addHook("onRequest", async (request) => {
    request.headers["content-type"] = "application/octet-stream";
  });
  // The body is hashed as it arrives and never held whole: under a crowd, memory grows with connections x chunk
  // size, not connections x body size. Over the limit, 413 (a stream parser gets no bodyLimit from fastify).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", (request, body, done) => {
    const tooLarge = () => done(Object.assign(new Error(`request body is over the limit of ${bodyLimitBytes} bytes`), { statusCode: 413 }), undefined);
    if (Number(request.headers["content-length"]) > bodyLimitBytes) return tooLarge();
    const hash = createHash("sha256");
    let received = 0;
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received <= bodyLimitBytes) return void hash.update(chunk);
      body.off("data", onData).off("end", onEnd);
      tooLarge();
    };
    const onEnd = () => done(null, hash.digest("hex"));
    // A body cut short (the client went away, or timed out) is the client's error: 400, as fastify's own parsers.
    body.on("data", onData).on("end", onEnd).once("error", (err) => done(Object.assign(err, { statusCode: 400 }), undefined));
  });

  app.get("/", async () => `HASHER running on ${os.hostname()}\n`);

  app.post("/", async (request, reply) => {
    const hex = typeof request.body === "string" ? request.body : EMPTY_SHA256;
    await sleep(delayMs);
    return reply.type("text/plain").send(hex);
  });
  return app;
}

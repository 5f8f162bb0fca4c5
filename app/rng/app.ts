// rng: GET /<n> returns n random bytes after a delay, ONE request at a time per instance (by default).
import { randomBytes } from "node:crypto";
import os from "node:os";
import { Counter, Gauge } from "prom-client";
import type { FastifyReply } from "fastify";
import { createService, sleep, type HttpTimeouts } from "../lib/service.js";
import { Limiter, QueueFullError } from "../lib/limiter.js";

export interface RngOptions {
  delayMs: number;
  concurrency: number;
  maxBytes: number;
  /** Requests that may wait in line; beyond it rng answers 503 with Retry-After. */
  maxQueue?: number;
  timeouts?: HttpTimeouts;
}

export function buildRng({ delayMs, concurrency, maxBytes, maxQueue = 100, timeouts }: RngOptions) {
  const app = createService({ name: "rng", timeouts });
  const line = new Limiter(concurrency, maxQueue);
  const registers = [app.metrics];
  new Gauge({ name: "rng_queue_depth", help: "Requests waiting for rng's single-file line", registers, collect() {
    this.set(line.queued);
  } });
  let busyReported = 0;
  new Counter({
    name: "rng_busy_seconds_total",
    help: "Seconds rng's slots were busy, divided by RNG_CONCURRENCY: its rate is the utilization (1 = saturated)",
    registers,
    collect() {
      const busy = line.busySeconds;
      this.inc(busy - busyReported);
      busyReported = busy;
    },
  });
  new Gauge({ name: "rng_queue_limit", help: "Requests that may wait in line (RNG_MAX_QUEUE)", registers }).set(maxQueue);
  const refused = new Counter({ name: "rng_requests_refused_total", help: "Requests answered 503: the line was full", registers });
  const abandoned = new Counter({
    name: "rng_requests_abandoned_total",
    help: "Requests whose client hung up before its answer: dropped from the line, or cut short",
    registers,
  });

  /** Runs `work` in line; refuses when the line is full, and lets go at once when the client hangs up. */
  async function inLine<T>(reply: FastifyReply, work: (signal: AbortSignal) => Promise<T>): Promise<T | FastifyReply> {
    const gone = new AbortController();
    const onClose = () => {
      if (!reply.raw.writableFinished) gone.abort();
    };
    reply.raw.once("close", onClose);
    // A FIN is a half-close (`nc -N`: still reading) or a hang-up, and only a write tells them apart. An HTTP/1.1
    // client must accept interim 1xx answers, so while it waits it gets 102 Processing (at once, 5 ms later, then
    // every 100 ms): one that hung up answers the first with a reset, the next write fails, the socket closes and
    // its request leaves the line. HTTP/1.0 may not be sent a 1xx: it keeps its place, as any waiting client does.
    const socket = reply.raw.socket;
    let probes: NodeJS.Timeout | undefined;
    const probe = (nextMs: number) => {
      reply.raw.writeProcessing();
      probes = setTimeout(probe, nextMs, 100);
    };
    const onEnd = () => {
      if (reply.request.raw.httpVersion === "1.1" && !probes) probe(5);
    };
    if (socket?.readableEnded) onEnd();
    else socket?.once("end", onEnd);
    try {
      return await line.run(() => work(gone.signal), gone.signal);
    } catch (err) {
      if (err instanceof QueueFullError) {
        refused.inc();
        const waitS = Math.max(1, Math.ceil(((err.queued + 1) * delayMs) / concurrency / 1000));
        return reply.status(503).header("retry-after", String(waitS)).send({ error: `rng is busy: ${err.message}, retry in ${waitS} s` });
      }
      if (gone.signal.aborted) {
        abandoned.inc();
        // 499 (nginx's "client closed request") for the log and metrics: nobody reads the answer.
        return reply.status(499).send();
      }
      throw err;
    } finally {
      clearTimeout(probes);
      socket?.off("end", onEnd);
      reply.raw.off("close", onClose);
    }
  }

  // Even the banner waits in line, as in the original: that is what `httping rng` measures.
  app.get("/", (_request, reply) => inLine(reply, async () => `RNG running on ${os.hostname()}\n`));

  app.get<{ Params: { size: string } }>("/:size", async (request, reply) => {
    const { size } = request.params;
    const shown = size.length > 24 ? `${size.slice(0, 20)}... (${size.length} characters)` : size;
    if (!/^\d+$/.test(size)) return reply.status(400).send({ error: `size must be a non-negative integer, got "${shown}"` });
    const bytes = Number(size);
    if (bytes > maxBytes) return reply.status(400).send({ error: `size ${shown} is over the limit of ${maxBytes} bytes` });
    const data = await inLine(reply, async (signal) => {
      await sleep(delayMs, signal);
      if (signal.aborted) throw signal.reason;
      return randomBytes(bytes);
    });
    return Buffer.isBuffer(data) ? reply.type("application/octet-stream").send(data) : data;
  });
  return app;
}

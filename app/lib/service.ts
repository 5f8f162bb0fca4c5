// The plumbing every DockerCoins service shares, written once: logging (one line per request),
// Prometheus metrics, /healthz, one error handler, and listen-until-SIGTERM.
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from "fastify";
import { Registry, Histogram, collectDefaultMetrics } from "prom-client";
import os from "node:os";

export interface ServiceOptions {
  /** Service name, used in logs and as the `service` label on metrics. */
  name: string;
  logLevel?: string;
  bodyLimitBytes?: number;
}

declare module "fastify" {
  interface FastifyInstance {
    metrics: Registry;
  }
}

// One readable, structured line per request, like the original's access log (fastify logs two).
class OneLinePerRequest extends LogController {
  override incomingRequest() {}
  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply) {
    const ms = Math.round(reply.elapsedTime * 10) / 10;
    const line = `${request.method} ${request.url} ${reply.statusCode} ${ms}ms`;
    request.log[error ? "error" : "info"]({ method: request.method, url: request.url, status: reply.statusCode, ms }, line);
  }
}

export function createService({ name, logLevel = process.env.LOG_LEVEL ?? "info", bodyLimitBytes }: ServiceOptions): FastifyInstance {
  const logger: FastifyServerOptions["logger"] = { level: logLevel, base: { service: name, host: os.hostname(), pid: process.pid } };
  const app = Fastify({ logger, logController: new OneLinePerRequest(), bodyLimit: bodyLimitBytes, return503OnClosing: true });

  const metrics = new Registry();
  metrics.setDefaultLabels({ service: name });
  collectDefaultMetrics({ register: metrics });
  app.decorate("metrics", metrics);

  const duration = new Histogram({
    name: "http_request_duration_seconds",
    help: "HTTP request duration by route (the route's pattern, not the raw URL, to bound cardinality)",
    labelNames: ["method", "route", "status_code"],
    buckets: [0.005, 0.01, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10],
    registers: [metrics],
  });

  app.addHook("onResponse", async (request, reply) => {
    const route = request.routeOptions.url ?? "unmatched";
    duration.observe({ method: request.method, route, status_code: reply.statusCode }, reply.elapsedTime / 1000);
  });

  // 4xx carry a message meant for the caller; 5xx details stay in the log.
  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    if (status >= 500) request.log.error({ err: error }, "request failed");
    return reply.status(status).send({ error: status >= 500 ? "internal error" : error.message });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: `no route for ${request.method} ${request.url}` }),
  );

  // Graceful close: answers still in flight tell keep-alive clients (e.g. workers) to hang up, so the
  // server is not held open by connections that would otherwise idle until their keep-alive timeout.
  let closing = false;
  app.addHook("preClose", async () => {
    closing = true;
  });
  app.addHook("onSend", async (_request, reply) => {
    if (closing) reply.header("connection", "close");
  });

  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/metrics", async (_request, reply) => reply.type(metrics.contentType).send(await metrics.metrics()));
  return app;
}

/** Listens on all interfaces and closes gracefully on SIGTERM/SIGINT, then runs `onClose` (e.g. quit redis). */
export async function runService(app: FastifyInstance, port: number, onClose?: () => Promise<unknown>): Promise<void> {
  const stop = async (signal: string) => {
    app.log.info(`${signal} received, shutting down`);
    const forceExit = setTimeout(() => process.exit(1), 5000).unref();
    try {
      await app.close();
      await onClose?.();
    } finally {
      clearTimeout(forceExit);
      process.exit(0);
    }
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  // "::" is dual-stack (so `httping localhost:8001` works either way); fall back where IPv6 is disabled.
  await app.listen({ host: "::", port }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== "EAFNOSUPPORT" && err.code !== "EADDRNOTAVAIL") throw err;
    return app.listen({ host: "0.0.0.0", port });
  });
}

export const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    // The listener goes when the sleep ends either way: a long-lived stop signal would otherwise collect
    // one per call (the worker sleeps ~10 times a second).
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });

// The plumbing every DockerCoins service shares, written once: logging (one line per request),
// Prometheus metrics, /healthz, one error handler, and listen-until-SIGTERM.
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from "fastify";
import { Registry, Gauge, Histogram, collectDefaultMetrics } from "prom-client";
import http from "node:http";
import os from "node:os";
import type { Duplex } from "node:stream";
import { intEnv } from "./env.js";

export interface ServiceOptions {
  /** Service name, used in logs and as the `service` label on metrics. */
  name: string;
  logLevel?: string;
  bodyLimitBytes?: number;
  /** Default: from the environment (httpTimeoutsFromEnv). */
  timeouts?: HttpTimeouts;
}

/**
 * How long a client may take: without bounds one slow or stalled client holds a connection (and, in rng,
 * a place in line) forever. A request over its time gets 408 and the connection is closed.
 */
export interface HttpTimeouts {
  /** To send the complete request headers (a header trickle). */
  headersMs: number;
  /** To send the whole request, headers and body (a body that never completes). */
  requestMs: number;
  /** A connection with no traffic either way (also between requests on a keep-alive connection). */
  idleMs: number;
}

export function httpTimeoutsFromEnv(): HttpTimeouts {
  return {
    headersMs: intEnv("HTTP_HEADERS_TIMEOUT_MS", 10_000, { min: 1 }),
    requestMs: intEnv("HTTP_REQUEST_TIMEOUT_MS", 30_000, { min: 1 }),
    idleMs: intEnv("HTTP_IDLE_TIMEOUT_MS", 60_000, { min: 1 }),
  };
}

const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
/** A route pattern (`/:size`, `/vendor/*`) as a RegExp over paths. */
const routePattern = (url: string) =>
  new RegExp(`^${url.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/:\w+/g, "[^/]+").replace(/\*/g, ".*")}$`);

/** Node's limit on a request's line and headers together (its --max-http-header-size default). */
const MAX_HEAD_BYTES = http.maxHeaderSize;
/**
 * Whether the packet in which the head crossed the limit shows the request line as the long part: it starts it
 * (`GET /999...`) or ends it (`...999 HTTP/1.1`) and that line is long. A path trickled in small pieces, of which
 * the one crossing the limit shows neither end, still gets Node's 431.
 */
function requestLineTooLong(packet: Buffer): boolean {
  const text = packet.toString("latin1", 0, Math.min(packet.length, 2 * MAX_HEAD_BYTES));
  const end = text.indexOf("\r\n");
  const line = end < 0 ? text : text.slice(0, end);
  return line.length > 1024 && (/^[A-Z]+ \//.test(line) || (end >= 0 && / HTTP\/1\.\d$/.test(line)));
}

declare module "fastify" {
  interface FastifyInstance {
    metrics: Registry;
  }
}

// One readable, structured line per request, like the original's access log (fastify logs two). Its fields
// are what a log store is asked about: `route` groups `/32` and `/1024` as rng's `/:size`, `ms` is the time.
class OneLinePerRequest extends LogController {
  override incomingRequest() {}
  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply) {
    const ms = Math.round(reply.elapsedTime * 10) / 10;
    const line = `${request.method} ${request.url} ${reply.statusCode} ${ms}ms`;
    const route = request.routeOptions.url ?? "(no route)";
    request.log[error ? "error" : "info"]({ method: request.method, url: request.url, route, status: reply.statusCode, ms }, line);
  }
}

/**
 * Every line's own fields: the service, the node it runs on (NODE_NAME, set by Swarm and Kubernetes) and the
 * level as a word (`info`, not pino's 30), so a log store can be asked "errors of rng on node3".
 */
function logFields(name: string): Record<string, string | number> {
  const node = process.env.NODE_NAME;
  return { service: name, ...(node ? { node } : {}), host: os.hostname(), pid: process.pid };
}

export function createService({
  name,
  logLevel = process.env.LOG_LEVEL ?? "info",
  bodyLimitBytes,
  timeouts = httpTimeoutsFromEnv(),
}: ServiceOptions): FastifyInstance {
  const logger: FastifyServerOptions["logger"] = {
    level: logLevel,
    base: logFields(name),
    formatters: { level: (label) => ({ level: label }) },
  };
  const app = Fastify({
    logger,
    logController: new OneLinePerRequest(),
    bodyLimit: bodyLimitBytes,
    return503OnClosing: true,
    requestTimeout: timeouts.requestMs,
    connectionTimeout: timeouts.idleMs,
    keepAliveTimeout: timeouts.idleMs,
    // Node checks the header and request times every connectionsCheckingInterval (30 s by default).
    http: {
      headersTimeout: Math.min(timeouts.headersMs, timeouts.requestMs),
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(timeouts.headersMs / 4))),
    },
    // Long parameters reach the route, which answers 400 with its own short message (not a 414 that echoes
    // the path); Node's 16 KiB head limit bounds the request line anyway, and beyond it the answer is 414 (below).
    routerOptions: { maxParamLength: 16 * 1024 },
  });

  // A client that half-closes after its request (`printf 'GET / ...' | nc -N`) still reads the answer, as with
  // any HTTP/1.1 server; Node takes the half-close for a hang-up unless told (a Server property, no option).
  Object.assign(app.server, { httpAllowHalfOpen: true });

  // Node refuses a request head over its 16 KiB limit as 431 (header fields too large) even when the path is what
  // is long: that is 414. Answered here first (fastify's own handler then finds the socket closed).
  app.server.prependListener("clientError", (err: Error & { code?: string; rawPacket?: Buffer }, socket: Duplex) => {
    if (err.code !== "HPE_HEADER_OVERFLOW" || !err.rawPacket || !requestLineTooLong(err.rawPacket) || !socket.writable) return;
    const body = JSON.stringify({ error: `the path is over ${MAX_HEAD_BYTES} bytes (the request line and headers may hold ${MAX_HEAD_BYTES} in all)` });
    // Written then destroyed, as Node's and fastify's own answers to a head they could not parse.
    socket.write(`HTTP/1.1 414 URI Too Long\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    socket.destroy();
  });

  // A known path with another method is 405 with Allow (RFC 9110), not 404.
  const routes: { pattern: RegExp; method: string }[] = [];
  app.addHook("onRoute", (route) => {
    for (const method of [route.method].flat()) routes.push({ pattern: routePattern(route.url ?? route.path), method });
  });

  const metrics = new Registry();
  metrics.setDefaultLabels({ service: name });
  collectDefaultMetrics({ register: metrics });
  app.decorate("metrics", metrics);

  // Where this replica runs, for webui's replica view: the platform names the node (Swarm's env template
  // {{.Node.Hostname}}, Kubernetes' downward API spec.nodeName); elsewhere the machine is the node.
  new Gauge({
    name: "dockercoins_instance_info",
    help: "Always 1; its labels say which node (NODE_NAME) and container (host) this replica runs on",
    labelNames: ["node", "host"],
    registers: [metrics],
  }).set({ node: process.env.NODE_NAME || os.hostname(), host: os.hostname() }, 1);

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
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split("?")[0];
    const allowed = METHODS.filter((m) => routes.some((r) => r.method === m && r.pattern.test(path)));
    if (allowed.length) {
      return reply
        .status(405)
        .header("allow", allowed.join(", "))
        .send({ error: `${request.method} is not allowed on ${path} (allowed: ${allowed.join(", ")})` });
    }
    return reply.status(404).send({ error: `no route for ${request.method} ${request.url}` });
  });

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

// Slow, abandoned and odd clients, on real sockets against listening services: what a hostile or broken
// client can do to a service, bounded in time.
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { buildHasher } from "../hasher/app.js";
import { buildRng } from "../rng/app.js";
import { connectRedis } from "../lib/redis.js";
import { createService, type HttpTimeouts } from "../lib/service.js";
import { buildWebui } from "../webui/app.js";
import { listen, metric, sleep, until } from "./helpers.js";

const FAST: HttpTimeouts = { headersMs: 400, requestMs: 800, idleMs: 1200 };

/** A raw TCP client: what it received, and when the server closed the connection (ms after connect). */
class RawClient {
  readonly socket: Socket;
  received = "";
  private readonly t0 = performance.now();
  closedAfterMs?: number;
  readonly closed: Promise<void>;

  constructor(url: string) {
    const { hostname, port } = new URL(url);
    this.socket = connect(Number(port), hostname);
    this.socket.setEncoding("latin1");
    this.socket.on("data", (d) => (this.received += d));
    this.socket.on("error", () => {});
    this.closed = new Promise((resolve) =>
      this.socket.on("close", () => {
        this.closedAfterMs = performance.now() - this.t0;
        resolve();
      }),
    );
  }
  write(text: string) {
    if (!this.socket.destroyed) this.socket.write(text);
  }
  /** Waits for the server to close, failing after `ms`. */
  async closedWithin(ms: number): Promise<number> {
    await Promise.race([this.closed, sleep(ms).then(() => Promise.reject(new Error(`still open after ${ms} ms`)))]);
    return this.closedAfterMs!;
  }
}

const apps: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});
async function start<T extends { close(): Promise<unknown>; listen(o: { host: string; port: number }): Promise<string> }>(app: T) {
  apps.push(app);
  return listen(app);
}

describe("bounded header, body and idle times (real sockets)", () => {
  it("a body that never completes (Content-Length 100, 10 bytes sent) is cut with 408 after the request timeout", async () => {
    const url = await start(buildHasher({ delayMs: 0, bodyLimitBytes: 1024, timeouts: FAST }));
    const c = new RawClient(url);
    c.write("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789");
    const after = await c.closedWithin(5000);
    expect(c.received).toMatch(/^HTTP\/1\.1 408/);
    expect(after).toBeGreaterThanOrEqual(FAST.requestMs - 50);
  });

  it("headers trickled one byte at a time are cut after the headers timeout", async () => {
    const url = await start(buildHasher({ delayMs: 0, bodyLimitBytes: 1024, timeouts: FAST }));
    const c = new RawClient(url);
    c.write("GET / HTTP/1.1\r\n");
    const trickle = setInterval(() => c.write("X"), 50);
    try {
      const after = await c.closedWithin(5000);
      expect(c.received).toMatch(/^HTTP\/1\.1 408/);
      expect(after).toBeGreaterThanOrEqual(FAST.headersMs - 50);
    } finally {
      clearInterval(trickle);
    }
  });

  it("a keep-alive connection left idle after its answer is closed after the idle timeout", async () => {
    const url = await start(buildHasher({ delayMs: 0, bodyLimitBytes: 1024, timeouts: FAST }));
    const c = new RawClient(url);
    c.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    const after = await c.closedWithin(5000);
    expect(c.received).toMatch(/^HTTP\/1\.1 200/);
    expect(after).toBeGreaterThanOrEqual(FAST.idleMs - 50);
  });

  it("the defaults are bounded too (10 s headers, 30 s request, 60 s idle), and come from the environment", async () => {
    const app = createService({ name: "t" });
    apps.push(app);
    expect(app.server.headersTimeout).toBe(10_000);
    expect(app.server.requestTimeout).toBe(30_000);
    expect(app.server.keepAliveTimeout).toBe(60_000);
    expect(app.server.timeout).toBe(60_000);
    process.env.HTTP_IDLE_TIMEOUT_MS = "soon";
    try {
      expect(() => createService({ name: "t" })).toThrow(/HTTP_IDLE_TIMEOUT_MS="soon" is invalid/);
    } finally {
      delete process.env.HTTP_IDLE_TIMEOUT_MS;
    }
  });
});

describe("rng's line under many and abandoned clients (real sockets)", () => {
  it("beyond its limit the line answers 503 with Retry-After at once; queued and refused show in metrics", async () => {
    const url = await start(buildRng({ delayMs: 100, concurrency: 1, maxBytes: 64, maxQueue: 5 }));
    const answers = await Promise.all(Array.from({ length: 12 }, () => fetch(`${url}/1`)));
    const statuses = answers.map((r) => r.status).sort();
    // One served at once, five waiting; the other six are refused rather than queued.
    expect(statuses.filter((s) => s === 200)).toHaveLength(6);
    expect(statuses.filter((s) => s === 503)).toHaveLength(6);
    const refused = answers.find((r) => r.status === 503)!;
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect((await refused.json()).error).toMatch(/rng is busy: 5 requests waiting/);
    const m = await (await fetch(`${url}/metrics`)).text();
    expect(metric(m, "rng_requests_refused_total")).toBe(6);
    expect(metric(m, "rng_queue_limit")).toBe(5);
  });

  it("a client that hangs up while waiting leaves the line at once; the next request does not wait for it", async () => {
    const url = await start(buildRng({ delayMs: 200, concurrency: 1, maxBytes: 64, maxQueue: 100 }));
    const depth = async () => metric(await (await fetch(`${url}/metrics`)).text(), "rng_queue_depth");
    const clients = Array.from({ length: 30 }, () => {
      const c = new RawClient(url);
      c.write("GET /1 HTTP/1.1\r\nHost: x\r\n\r\n");
      return c;
    });
    await sleep(300);
    expect(await depth()).toBeGreaterThanOrEqual(25);
    for (const c of clients) c.socket.destroy();
    // A hang-up is a FIN, as a half-close is: rng tells them apart by writing (102 Processing) within a few ms.
    await until("the line emptied", async () => (await depth()) === 0, 1000);
    const t0 = performance.now();
    expect((await fetch(`${url}/1`)).status).toBe(200);
    // At most the one being served (200 ms, cut short too) plus its own 200 ms; 29 x 200 ms if they stayed.
    expect(performance.now() - t0).toBeLessThan(1500);
    const m = await (await fetch(`${url}/metrics`)).text();
    expect(metric(m, "rng_requests_abandoned_total")).toBeGreaterThanOrEqual(29);
  });
});

describe("a client that half-closes after its request (`printf ... | nc -N`) still gets its answer", () => {
  const halfClosed = async (url: string, request: string) => {
    const c = new RawClient(url);
    c.write(request);
    c.socket.end(); // FIN: nothing more to send, still reading
    await c.closedWithin(5000);
    return c.received;
  };

  it("rng, after its wait in line", async () => {
    const url = await start(buildRng({ delayMs: 100, concurrency: 1, maxBytes: 64 }));
    const answer = await halfClosed(url, "GET /32 HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(answer).toMatch(/^HTTP\/1\.1 (102 Processing\r\n\r\nHTTP\/1\.1 )*200 OK\r\n/);
    expect(answer).toMatch(/content-type: application\/octet-stream/i);
    expect(answer.split("\r\n\r\n").at(-1)).toHaveLength(32);
    expect(await halfClosed(url, "GET / HTTP/1.0\r\n\r\n")).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*RNG running on /);
  });

  it("hasher and webui", async () => {
    const hasherUrl = await start(buildHasher({ delayMs: 50, bodyLimitBytes: 1024 }));
    const hashed = await halfClosed(hasherUrl, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
    expect(hashed).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(hashed.endsWith("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")).toBe(true);
    const webui = buildWebui({ redis: connectRedis("redis://127.0.0.1:1") });
    webui.log.level = "silent";
    const webuiUrl = await start(webui);
    expect(await halfClosed(webuiUrl, "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n")).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*Current mining speed/);
  });

  it("while rng's line is long, half-closed clients are served and those that hung up leave it", async () => {
    const url = await start(buildRng({ delayMs: 100, concurrency: 1, maxBytes: 64, maxQueue: 100 }));
    const depth = async () => metric(await (await fetch(`${url}/metrics`)).text(), "rng_queue_depth");
    const send = () => {
      const c = new RawClient(url);
      c.write("GET /1 HTTP/1.1\r\nHost: x\r\n\r\n");
      return c;
    };
    const gone = Array.from({ length: 20 }, send);
    const staying = [send(), send()];
    await sleep(150);
    for (const c of staying) c.socket.end();
    for (const c of gone) c.socket.destroy(); // FIN too, but nobody reads what comes back
    await sleep(500);
    expect(await depth()).toBeLessThanOrEqual(1);
    await Promise.all(staying.map((c) => c.closedWithin(3000)));
    for (const c of staying) expect(c.received).toMatch(/200 OK\r\n/);
  });
});

describe("odd requests get what HTTP and the README promise", () => {
  it("hasher hashes the body whatever its Content-Type says, even one that does not parse", async () => {
    const url = await start(buildHasher({ delayMs: 0, bodyLimitBytes: 1024 }));
    for (const type of [";;;", "text/plain; charset=nonsense", "application/json", "multipart/form-data"]) {
      const res = await fetch(url, { method: "POST", headers: { "content-type": type }, body: "abc" });
      expect(res.status, type).toBe(200);
      expect(await res.text(), type).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
  });

  it("rng answers an over-long size with 400 and a short message (not 414 echoing the path)", async () => {
    const url = await start(buildRng({ delayMs: 0, concurrency: 1, maxBytes: 64 }));
    const size = "9".repeat(400);
    const res = await fetch(`${url}/${size}`);
    expect(res.status).toBe(400);
    const { error } = await res.json();
    expect(error).toMatch(/^size .* is over the limit of 64 bytes$/);
    expect(error.length).toBeLessThan(120);
  });

  it("rng answers a size of any length with 400 or 414 with a message, never Node's 431; long headers stay 431", async () => {
    const url = await start(buildRng({ delayMs: 0, concurrency: 1, maxBytes: 64 }));
    const raw = async (chunks: string[]) => {
      const c = new RawClient(url);
      for (const chunk of chunks) c.write(chunk);
      await c.closedWithin(5000);
      return c.received;
    };
    for (const digits of [16_000, 17_000, 20_000, 100_000]) {
      const answer = await raw([`GET /${"9".repeat(digits)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`]);
      expect(answer, `${digits} digits`).toMatch(/^HTTP\/1\.1 (400 Bad Request|414 URI Too Long)\r\n/);
      expect(answer.split("\r\n\r\n")[1], `${digits} digits`).toMatch(/^\{"error":"(size .* is over the limit of 64 bytes|the path is over 16384 bytes.*)"\}$/);
    }
    const header = await raw([`GET /1 HTTP/1.1\r\nHost: x\r\nCookie: ${"a".repeat(20_000)}\r\n\r\n`]);
    expect(header).toMatch(/^HTTP\/1\.1 431 /);
  });

  it("a wrong method on a known route is 405 with Allow; an unknown route stays 404", async () => {
    const url = await start(buildRng({ delayMs: 0, concurrency: 1, maxBytes: 64 }));
    const post = await fetch(`${url}/32`, { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
    expect((await post.json()).error).toBe("POST is not allowed on /32 (allowed: GET, HEAD)");
    const hasherUrl = await start(buildHasher({ delayMs: 0, bodyLimitBytes: 1024 }));
    const del = await fetch(hasherUrl, { method: "DELETE" });
    expect(del.status).toBe(405);
    expect(del.headers.get("allow")).toBe("GET, HEAD, POST");
    expect((await fetch(`${url}/1/2`)).status).toBe(404);
  });
});

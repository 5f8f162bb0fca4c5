import { afterAll, describe, expect, it } from "vitest";
import { buildRng } from "../rng/app.js";

describe("rng", () => {
  const app = buildRng({ delayMs: 50, concurrency: 1, maxBytes: 1024 });
  afterAll(() => app.close());

  it("returns n random bytes as application/octet-stream", async () => {
    const a = await app.inject("/32");
    const b = await app.inject("/32");
    expect(a.statusCode).toBe(200);
    expect(a.headers["content-type"]).toBe("application/octet-stream");
    expect(a.rawPayload).toHaveLength(32);
    expect(a.rawPayload.equals(b.rawPayload)).toBe(false);
    expect((await app.inject("/0")).rawPayload).toHaveLength(0);
    expect((await app.inject("/1024")).rawPayload).toHaveLength(1024);
  });

  it("answers GET / with its banner", async () => {
    const res = await app.inject("/");
    expect(res.payload).toMatch(/^RNG running on .+\n$/);
  });

  it.each([
    ["/abc", /non-negative integer, got "abc"/],
    ["/-1", /non-negative integer, got "-1"/],
    ["/1.5", /non-negative integer, got "1.5"/],
    ["/0x10", /non-negative integer/],
    ["/1025", /size 1025 is over the limit of 1024 bytes/],
    ["/99999999999999999999999", /over the limit/],
  ])("rejects %s with 400 and a message", async (url, message) => {
    const res = await app.inject(url);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatch(message);
  });

  it("answers unknown routes with 404 and stays up", async () => {
    const res = await app.inject("/1/2");
    expect(res.statusCode).toBe(404);
    expect(res.json().error).toBe("no route for GET /1/2");
    expect((await app.inject({ method: "POST", url: "/32" })).statusCode).toBe(405); // known path, other method
    expect((await app.inject("/8")).statusCode).toBe(200);
  });

  it("serves one request at a time: 10 parallel requests queue behind each other, even GET /", async () => {
    const started = performance.now();
    const finished: number[] = [];
    await Promise.all([...Array(9).keys()].map(() => app.inject("/1").then(() => finished.push(performance.now() - started))).concat(
      app.inject("/").then(() => finished.push(performance.now() - started)),
    ));
    finished.sort((a, b) => a - b);
    // Serialized: the k-th completion cannot come before k delays (concurrent ones would all end at ~50 ms).
    expect(finished[8]).toBeGreaterThanOrEqual(9 * 50 - 5);
    const metrics = (await app.inject("/metrics")).payload;
    expect(metrics).toMatch(/rng_queue_depth\{service="rng"\} 0/);
    expect(metrics).toMatch(/http_request_duration_seconds_count\{service="rng",method="GET",route="\/:size",status_code="200"\} \d+/);
  });

  it("shows the queue depth while requests wait", async () => {
    const pending = Promise.all([1, 2, 3, 4].map(() => app.inject("/1")));
    await new Promise((r) => setTimeout(r, 20));
    expect((await app.inject("/metrics")).payload).toMatch(/rng_queue_depth\{service="rng"\} 3/);
    await pending;
  });

  it("serves /healthz and /metrics without queueing", async () => {
    const pending = Promise.all([1, 2, 3, 4, 5].map(() => app.inject("/1")));
    const started = performance.now();
    expect((await app.inject("/healthz")).json()).toEqual({ status: "ok" });
    expect(performance.now() - started).toBeLessThan(200);
    await pending;
  });

  it("serves requests concurrently when RNG_CONCURRENCY allows it", async () => {
    const wide = buildRng({ delayMs: 200, concurrency: 10, maxBytes: 64 });
    const started = performance.now();
    await Promise.all([...Array(10).keys()].map(() => wide.inject("/4")));
    expect(performance.now() - started).toBeLessThan(10 * 200 / 2);
    await wide.close();
  });
});

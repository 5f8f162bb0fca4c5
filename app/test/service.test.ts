import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import { createService, sleep } from "../lib/service.js";
import { listen } from "./helpers.js";

describe("shared service plumbing", () => {
  it("closes promptly while a keep-alive client has a request in flight, and still answers it", async () => {
    const app = createService({ name: "test" });
    app.get("/slow", async () => (await sleep(300), "done"));
    const url = await listen(app);
    const answer = fetch(`${url}/slow`); // Node's fetch keeps connections alive
    await sleep(50);
    const started = performance.now();
    await app.close();
    const res = await answer;
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("done");
    expect(res.headers.get("connection")).toBe("close");
    // Without the hang-up the idle keep-alive connection would hold close() for fastify's 72 s timeout.
    expect(performance.now() - started).toBeLessThan(5000);
  }, 20_000);

  it("answers errors: 4xx with the message, 5xx without internals", async () => {
    // The 500's details do go to the log (level error): silenced here, it is not the point of this test.
    const app = createService({ name: "test", logLevel: "silent" });
    app.get("/bad", async () => {
      throw Object.assign(new Error("size must be positive"), { statusCode: 400 });
    });
    app.get("/boom", async () => {
      throw new Error("secret database password in stack trace");
    });
    expect((await app.inject("/bad")).json()).toEqual({ error: "size must be positive" });
    const boom = await app.inject("/boom");
    expect(boom.statusCode).toBe(500);
    expect(boom.json()).toEqual({ error: "internal error" });
    expect((await app.inject("/nowhere")).json()).toEqual({ error: "no route for GET /nowhere" });
    await app.close();
  });
});

describe("sleep", () => {
  it("leaves no listener behind on a long-lived signal, however many sleeps it serves", async () => {
    const stop = new AbortController();
    for (let i = 0; i < 50; i++) await sleep(1, stop.signal);
    expect(getEventListeners(stop.signal, "abort")).toHaveLength(0);
  });

  it("ends early when the signal aborts", async () => {
    const stop = new AbortController();
    const t0 = Date.now();
    const slept = sleep(10_000, stop.signal);
    setTimeout(() => stop.abort(), 20);
    await slept;
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(getEventListeners(stop.signal, "abort")).toHaveLength(0);
  });
});

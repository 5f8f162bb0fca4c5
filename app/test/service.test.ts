import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { createService, sleep } from "../lib/service.js";
import { freePort, listen, until } from "./helpers.js";

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

describe("log lines", () => {
  it("carry the fields a log store is asked about: service, node, level word, route, status, ms", async () => {
    const port = await freePort();
    const main = fileURLToPath(new URL("../dist/rng/main.js", import.meta.url));
    const rng = spawn(process.execPath, [main], {
      env: { ...process.env, LOG_LEVEL: "info", PORT: String(port), NODE_NAME: "node7", RNG_DELAY_MS: "0" },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    rng.stdout.on("data", (chunk) => (out += chunk));
    const url = `http://127.0.0.1:${port}`;
    try {
      await until("rng listening", async () => out.includes("Server listening"));
      expect((await fetch(`${url}/32`)).status).toBe(200);
      expect((await fetch(`${url}/nowhere/at/all`)).status).toBe(404);
      const requests = () => out.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l)).filter((r) => r.url !== undefined);
      await until("both request lines", async () => requests().filter((r) => r.url !== "/healthz").length >= 2, 5000);
      const [ok, missing] = requests().filter((r) => r.url !== "/healthz");
      expect(ok).toMatchObject({ service: "rng", node: "node7", level: "info", method: "GET", url: "/32", route: "/:size", status: 200 });
      expect(typeof ok.ms).toBe("number");
      expect(missing).toMatchObject({ service: "rng", node: "node7", url: "/nowhere/at/all", route: "(no route)", status: 404 });
    } finally {
      rng.kill("SIGTERM");
      await once(rng, "exit");
    }
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

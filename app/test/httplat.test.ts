import { afterAll, describe, expect, it } from "vitest";
import { buildHttplat } from "../httplat/app.js";
import { buildRng } from "../rng/app.js";
import { freePort, listen, metric, until } from "./helpers.js";

describe("httplat", () => {
  const apps: { close(): Promise<unknown> }[] = [];
  afterAll(() => Promise.all(apps.map((a) => a.close())));

  it("probes one URL every interval and exports httplat_latency_seconds", async () => {
    const rng = buildRng({ delayMs: 50, concurrency: 1, maxBytes: 8 });
    const target = await listen(rng);
    const httplat = buildHttplat({ url: `${target}/8`, intervalMs: 100, timeoutMs: 1000 });
    apps.push(rng, httplat);
    await httplat.ready();
    const text = await until("three probes", async () => {
      const t = (await httplat.inject("/metrics")).payload;
      return metric(t, "httplat_latency_seconds_count") >= 3 && t;
    });
    // Every probe waited rng's 50 ms: none may land in a faster bucket, and the mean is at least that.
    expect(metric(text, "httplat_latency_seconds_bucket", { le: "0.025" })).toBe(0);
    expect(metric(text, "httplat_latency_seconds_sum") / metric(text, "httplat_latency_seconds_count")).toBeGreaterThanOrEqual(0.05);
    expect(metric(text, "httplat_errors_total")).toBe(0);
  });

  it("counts failed probes (nothing listening) without crashing", async () => {
    const httplat = buildHttplat({ url: `http://127.0.0.1:${await freePort()}/`, intervalMs: 100, timeoutMs: 500 });
    apps.push(httplat);
    await httplat.ready();
    await until("two failures", async () => metric((await httplat.inject("/metrics")).payload, "httplat_errors_total") >= 2);
    expect(metric((await httplat.inject("/metrics")).payload, "httplat_latency_seconds_count")).toBe(0);
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectRedis } from "../lib/redis.js";
import { buildWebui } from "../webui/app.js";
import { startRedis, until, type TestRedis } from "./helpers.js";

describe("webui", () => {
  let redis: TestRedis;
  let app: ReturnType<typeof buildWebui>;
  let client: ReturnType<typeof connectRedis>;

  beforeAll(async () => {
    redis = await startRedis();
    client = connectRedis(redis.url, 300);
    app = buildWebui({ redis: client });
    await until("webui connected to redis", async () => (await app.inject("/json")).statusCode === 200);
  });
  afterAll(async () => {
    await app.close();
    client.disconnect();
    await redis.stop();
  });

  it("redirects / to the page", async () => {
    const res = await app.inject("/");
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe("/index.html");
  });

  it("serves the page and its chart library from its own files (no CDN)", async () => {
    const page = await app.inject("/index.html");
    expect(page.statusCode).toBe(200);
    expect(page.payload).toContain("Current mining speed");
    expect(page.payload).not.toMatch(/src="(https?:)?\/\//);
    const lib = await app.inject("/vendor/uplot/uPlot.iife.min.js");
    expect(lib.statusCode).toBe(200);
    expect(lib.payload).toContain("uPlot");
    expect((await app.inject("/page.js")).statusCode).toBe(200);
  });

  it("reports coins and hashes as numbers, and now as epoch seconds", async () => {
    expect((await app.inject("/json")).json()).toMatchObject({ coins: 0, hashes: 0 });
    await redis.client.incrby("hashes", 42);
    await redis.client.hset("wallet", "0abc", Buffer.alloc(32), "0def", Buffer.alloc(32));
    const before = Date.now() / 1000;
    const stats = (await app.inject("/json")).json();
    expect(stats.coins).toBe(2);
    expect(stats.hashes).toBe(42);
    expect(stats.now).toBeGreaterThanOrEqual(before - 0.01);
    expect(stats.now).toBeLessThan(before + 5);
  });

  it("reports what redis holds when it is not what the workers write: 500 naming the key, never a guess", async () => {
    const json = async () => {
      const res = await app.inject("/json");
      return { status: res.statusCode, body: res.json() };
    };
    for (const [value, says] of [
      ["abc", 'redis key hashes holds "abc", not a count of hashes'],
      ["1.5", 'redis key hashes holds "1.5", not a count of hashes'],
      ["-3", 'redis key hashes holds "-3", not a count of hashes'],
      ["99999999999999999999", 'redis key hashes holds "99999999999999999999", beyond 2^53, which JSON numbers cannot carry exactly'],
    ]) {
      await redis.client.set("hashes", value);
      expect(await json(), value).toEqual({ status: 500, body: { error: says } });
    }
    await redis.client.set("hashes", String(Number.MAX_SAFE_INTEGER));
    expect((await json()).body.hashes).toBe(Number.MAX_SAFE_INTEGER);
    await redis.client.del("hashes");

    // A key of another type: redis answered, so it is not "unavailable".
    await redis.client.set("wallet", "not a hash");
    const wrong = await json();
    expect(wrong.status).toBe(500);
    expect(wrong.body.error).toMatch(/^redis key wallet \(a hash\) holds something else: WRONGTYPE/);
    await redis.client.del("wallet");
    await redis.client.hset("hashes", "x", "1");
    expect((await json()).body.error).toMatch(/^redis key hashes \(a counter\) holds something else: WRONGTYPE/);
    await redis.client.del("hashes");
    expect(await json()).toMatchObject({ status: 200, body: { coins: 0, hashes: 0 } });
  });

  it("answers 503 with a JSON error while redis is down, and recovers without restart", async () => {
    await redis.stop();
    const down = await app.inject("/json");
    expect(down.statusCode).toBe(503);
    expect(down.json()).toEqual({ error: "redis is unavailable, retry shortly" });
    expect((await app.inject("/index.html")).statusCode).toBe(200);
    await redis.restart();
    const back = await until("json answering again", async () => {
      const res = await app.inject("/json");
      return res.statusCode === 200 && res;
    });
    expect(back.json()).toMatchObject({ coins: 0, hashes: 0 });
  });
});

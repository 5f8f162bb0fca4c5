// The page in a real headless Chromium against webui and a real redis, with the counter driven by the test:
// what the chart draws for a counter that moves in steps, and what the page says while redis is down.
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectRedis } from "../lib/redis.js";
import { buildWebui } from "../webui/app.js";
import { listen, startRedis, until, type TestRedis } from "./helpers.js";

describe("the page (real Chromium)", () => {
  let redis: TestRedis;
  let client: ReturnType<typeof connectRedis>;
  let app: ReturnType<typeof buildWebui>;
  let browser: Browser;
  let page: Page;
  let miner: NodeJS.Timeout;

  beforeAll(async () => {
    redis = await startRedis();
    client = connectRedis(redis.url, 300);
    app = buildWebui({ redis: client });
    const url = await listen(app);
    // A miner at 10 hashes/s that reports every 2 s: one-second differences alternate 0 and 20.
    miner = setInterval(() => void redis.client.incrby("hashes", 20).catch(() => {}), 2000);
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    });
    page = await browser.newPage();
    await page.goto(`${url}/index.html`);
  });
  afterAll(async () => {
    clearInterval(miner);
    await browser?.close();
    await app?.close();
    client?.disconnect();
    await redis?.stop();
  });

  it("charts the rate over a window, not one-second steps: ~10 hashes/s, no sawtooth to 0", async () => {
    await page.waitForFunction(() => Number(document.getElementById("chart")!.dataset.points) >= 8, null, { timeout: 30_000 });
    // `chart` is the page script's top-level const: in the global scope, not a property of window.
    const plotted = (await page.evaluate("chart.data[1].slice(-6)")) as number[];
    // Over 5 s the counter moved 2 or 3 steps of 20: 8 to 12 per second, never 0 or 20.
    for (const r of plotted) {
      expect(r).toBeGreaterThan(6);
      expect(r).toBeLessThan(14);
    }
    const shown = parseFloat((await page.locator("#rate").textContent())!.replace("~", ""));
    expect(shown).toBeGreaterThan(7);
    expect(shown).toBeLessThan(13);
  }, 45_000);

  it("while redis is down, the last speed stays visible but is marked stale, with its age", async () => {
    await redis.stop();
    await page.waitForFunction(() => document.getElementById("rate")!.dataset.stale === "true", null, { timeout: 10_000 });
    await until("the age to show", async () => /s ago\.$/.test((await page.locator("#status").textContent()) ?? ""), 10_000);
    expect(await page.locator("#status").textContent()).toMatch(
      /^Cannot read the mining stats: redis is unavailable, retry shortly\. The speed shown is from .+, \d+ s ago\.$/,
    );
    await redis.restart();
    await page.waitForFunction(() => document.getElementById("rate")!.dataset.stale === undefined, null, { timeout: 15_000 });
    expect(await page.locator("#status").textContent()).toBe("");
  }, 45_000);
});

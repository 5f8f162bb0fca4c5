// webui's page in a real headless Chromium, read the way a person reads it: the replica table's rows.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { ROOT } from "./pulumi";

/** Opens `url` in a headless Chromium, hands the page to `use`, and closes the browser whatever happens. */
export async function withPage<T>(url: string, use: (page: Page) => Promise<T>): Promise<T> {
  const browser: Browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1000, height: 1100 } });
    await page.goto(url);
    return await use(page);
  } finally {
    await browser.close();
  }
}

export interface ShownReplica {
  service: string;
  replica: string;
  node: string;
  latencyMs: number | null;
  queue: number | null;
}

export interface ShownService {
  service: string;
  saturated: boolean;
  verdict: string;
  replicas: ShownReplica[];
}

/** What the "Where the time goes" table shows now. */
export async function shownReplicas(page: Page): Promise<ShownService[]> {
  return page.evaluate(() => {
    const services: ShownService[] = [];
    for (const tr of document.querySelectorAll<HTMLTableRowElement>("#replica-rows tr")) {
      const cells = [...tr.cells].map((c) => c.textContent ?? "");
      if (tr.classList.contains("service")) {
        const verdict = (tr.querySelector(".why")?.textContent ?? "").replace(/^: /, "");
        services.push({ service: tr.dataset.service!, saturated: tr.dataset.saturated === "true", verdict, replicas: [] });
      } else {
        const number = (text: string) => (/^\d+(\.\d+)?/.test(text) ? parseFloat(text) : null);
        services[services.length - 1].replicas.push({
          service: tr.dataset.service!,
          replica: cells[1],
          node: cells[2],
          latencyMs: number(cells[3]),
          queue: number(cells[5]),
        });
      }
    }
    return services;
  });
}

/** Polls the table until `check` accepts it (returns undefined) or the time is up; the last reason fails. */
export async function waitForTable(page: Page, check: (services: ShownService[]) => string | undefined, timeoutMs: number): Promise<ShownService[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const services = await shownReplicas(page);
    const wrong = check(services);
    if (!wrong) return services;
    if (Date.now() > deadline) throw new Error(`the page's replica table: ${wrong}\n${JSON.stringify(services, null, 1)}`);
    await page.waitForTimeout(1000);
  }
}

/** Keeps a screenshot under test-artifacts/, once the chart has drawn a dozen seconds. */
export async function keepScreenshot(page: Page, name: string): Promise<string> {
  await page.waitForFunction(() => Number(document.getElementById("chart")!.dataset.points) >= 12, null, { timeout: 30_000 });
  const dir = join(ROOT, "test-artifacts");
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  await page.screenshot({ path, fullPage: true });
  return path;
}

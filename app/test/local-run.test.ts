// The documented local run, driven as a person would: start it, watch the page in a real headless
// Chromium, press Ctrl-C (SIGINT to the process group).
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdirSync } from "node:fs";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, until } from "./helpers.js";

const artifacts = fileURLToPath(new URL("../../test-artifacts/", import.meta.url));
let run: ChildProcess;
let output = "";
let webui: string;
let browser: Browser | undefined;

const alive = (pid: number) => {
  try {
    return process.kill(pid, 0);
  } catch {
    return false;
  }
};

beforeAll(async () => {
  const [w, r, h, redis] = [await freePort(), await freePort(), await freePort(), await freePort()];
  webui = `http://127.0.0.1:${w}`;
  const main = fileURLToPath(new URL("../dist/local/run.js", import.meta.url));
  run = spawn(process.execPath, [main, "--workers", "2", "--webui-port", `${w}`, "--rng-port", `${r}`, "--hasher-port", `${h}`, "--redis-port", `${redis}`, "--worker-metrics-port", "0"], {
    detached: true, // its own process group, so we can send Ctrl-C's SIGINT to the group
    env: { ...process.env, LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  run.stdout!.on("data", (c) => (output += c));
  run.stderr!.on("data", (c) => (output += c));
  await until("the local run to mine", async () => (await (await fetch(`${webui}/json`)).json()).hashes > 0, 20_000);
});

afterAll(async () => {
  await browser?.close();
  // On a failed test the run may still be up: stop it the normal way, then make sure nothing is left.
  if (run.exitCode === null) {
    run.kill("SIGTERM");
    await Promise.race([once(run, "exit"), new Promise((r) => setTimeout(r, 5000))]);
  }
  for (const pid of [run.pid!, ...servicePids()]) if (alive(pid)) process.kill(pid, "SIGKILL");
});

const servicePids = () => [...output.matchAll(/"pid":(\d+)/g)].map((m) => Number(m[1]));

describe("local run (npm run local)", () => {
  it("shows a live chart and a mining speed above zero in a real browser", async () => {
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    });
    const page = await browser.newPage({ viewport: { width: 1000, height: 600 } });
    const errors: string[] = [];
    page.on("pageerror", (err) => errors.push(err.message));
    await page.goto(webui); // redirected to /index.html
    expect(page.url()).toBe(`${webui}/index.html`);

    await page.waitForFunction(() => parseFloat(document.getElementById("rate")!.textContent!.replace("~", "")) > 0, null, { timeout: 20_000 });
    await page.waitForFunction(() => Number(document.getElementById("chart")!.dataset.points) >= 6, null, { timeout: 20_000 });
    const speed = await page.locator("#speed").textContent();
    expect(speed).toMatch(/^Current mining speed: ~\d+\.\d hashes\/second$/);
    expect(parseFloat(speed!.split("~")[1])).toBeGreaterThan(0);

    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: `${artifacts}webui.png` });
    // The chart really drew: the plot canvas holds the series' green (line or area fill) somewhere.
    const filled = await page.evaluate(() => {
      const canvas = document.querySelector<HTMLCanvasElement>("#chart canvas")!;
      const data = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data;
      let count = 0;
      for (let i = 0; i < data.length; i += 4) if (data[i + 3] > 0 && data[i + 1] > data[i] + 25 && data[i + 1] > data[i + 2] + 10) count++;
      return count;
    });
    expect(filled).toBeGreaterThan(100);
    expect(Number(await page.locator("#coins").textContent())).toBeGreaterThanOrEqual(0);
    // Where the time goes: the run's rng and hasher, each with a latency once requests were served.
    await page.waitForFunction(() => [...document.querySelectorAll("#replica-rows tr.replica td.latency")].filter((td) => /ms$/.test(td.textContent!)).length === 2, null, { timeout: 20_000 });
    const services = await page.locator("#replica-rows tr.service").evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.service));
    expect(services).toEqual(["rng", "hasher"]);
    expect(errors).toEqual([]);
  }, 60_000);

  it("stops redis, every service and every worker on Ctrl-C, losing no count", async () => {
    const pids = servicePids();
    expect(new Set(pids).size).toBeGreaterThanOrEqual(5); // rng, hasher, webui, 2 workers
    process.kill(-run.pid!, "SIGINT");
    const [code] = await once(run, "exit");
    expect(code).toBe(0);
    expect(pids.filter(alive)).toEqual([]);
    const finals = [...output.matchAll(/"unitsDone":(\d+),"unreported":(\d+)/g)];
    expect(finals).toHaveLength(2);
    expect(finals.every((m) => m[2] === "0")).toBe(true);
    expect(output).toMatch(/Redis is now ready to exit/);
  }, 30_000);
});

describe("the local run beside something already on its ports", () => {
  it("refuses at once, naming the port and the flag, instead of mining into another redis", async () => {
    const taken = net.createServer().listen(0, "127.0.0.1");
    await once(taken, "listening");
    const port = (taken.address() as net.AddressInfo).port;
    try {
      const main = fileURLToPath(new URL("../dist/local/run.js", import.meta.url));
      const child = spawn(process.execPath, [main, "--workers", "1", "--redis-port", String(port), "--webui-port", String(await freePort()),
        "--rng-port", String(await freePort()), "--hasher-port", String(await freePort())], { stdio: ["ignore", "pipe", "pipe"] });
      let err = "";
      child.stderr!.on("data", (c) => (err += c));
      const [code] = await once(child, "exit");
      expect(code).toBe(2);
      expect(err).toContain(`port ${port} is already in use on 127.0.0.1`);
      expect(err).toContain("--redis-port");
    } finally {
      taken.close();
    }
  }, 20_000);
});

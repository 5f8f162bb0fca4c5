// The workshop's table on this machine, without Docker: hashes/s for 1-10 workers with one rng,
// rng/hasher latency as `httping` sees it, and the zero-delay throughput of one worker with its CPU
// cost per hash. Prints a table and writes bench-results/local.{json,svg,png}.
//   npm run bench [-- --window 15]
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { httpRequest } from "../lib/http-client.js";
import { sleep } from "../lib/service.js";
import { freePort, startLocalStack } from "../local/stack.js";
import { barChartSvg, writeChart } from "./chart.js";

const { values } = parseArgs({ options: { window: { type: "string", default: "15" }, workers: { type: "string", default: "1,2,3,4,5,10" } } });
const windowS = Number(values.window);
const workerCounts = values.workers.split(",").map(Number);
const outDir = fileURLToPath(new URL("../../../bench-results/", import.meta.url));
async function stats(webui: string): Promise<{ hashes: number; now: number }> {
  return (await fetch(`${webui}/json`)).json() as Promise<{ hashes: number; now: number }>;
}

/** hashes/s from webui's /json over the window, as the page computes it. */
async function rate(webui: string, seconds: number): Promise<number> {
  const a = await stats(webui);
  await sleep(seconds * 1000);
  const b = await stats(webui);
  return (b.hashes - a.hashes) / (b.now - a.now);
}

/** One request on a fresh connection (the client's default), like httping: milliseconds to the last byte. */
async function ping(url: string): Promise<number> {
  const started = performance.now();
  await httpRequest(url);
  return performance.now() - started;
}

async function httping(url: string, count = 10): Promise<{ avg: number; min: number; max: number }> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) (times.push(await ping(url)), await sleep(300));
  return { avg: times.reduce((a, b) => a + b) / count, min: Math.min(...times), max: Math.max(...times) };
}

/** CPU seconds (user + system) a process has used so far, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

async function startStack(workers: number, env: Record<string, string> = {}) {
  return startLocalStack({
    workers, env, workerPortBase: 0, onLine: () => {},
    webuiPort: await freePort(), rngPort: await freePort(), hasherPort: await freePort(), redisPort: await freePort(),
  });
}

const rows: { workers: number; hashesPerSecond: number; theory: number }[] = [];
let latency: { rng: Awaited<ReturnType<typeof httping>>; hasher: Awaited<ReturnType<typeof httping>> } | undefined;
const stack = await startStack(0);
try {
  for (const workers of workerCounts) {
    await stack.scaleWorkers(workers);
    await sleep(3000); // warm-up: every worker has reported at least once
    const measured = await rate(stack.urls.webui, windowS);
    rows.push({ workers, hashesPerSecond: measured, theory: Math.min(workers / 0.3, 10) });
    console.log(`${workers} worker(s): ${measured.toFixed(2)} hashes/s`);
    if (workers === Math.max(...workerCounts)) latency = { rng: await httping(`${stack.urls.rng}/`), hasher: await httping(`${stack.urls.hasher}/`) };
  }
} finally {
  await stack.stop();
}

// Zero-delay mode: what one worker costs when nothing sleeps.
const fast = await startStack(1, { RNG_DELAY_MS: "0", HASHER_DELAY_MS: "0", WORKER_SLEEP_MS: "0" });
let zeroDelay;
try {
  await sleep(2000);
  const procs = { worker: fast.workers[0], rng: fast.rng, hasher: fast.hasher, redis: fast.redis };
  const cpuBefore = Object.fromEntries(Object.entries(procs).map(([k, p]) => [k, cpuSeconds(p.child.pid!)]));
  const a = await stats(fast.urls.webui);
  await sleep(windowS * 1000);
  const b = await stats(fast.urls.webui);
  const hashes = b.hashes - a.hashes;
  const cpuUs = Object.fromEntries(Object.entries(procs).map(([k, p]) => [k, ((cpuSeconds(p.child.pid!) - cpuBefore[k]) / hashes) * 1e6]));
  zeroDelay = { hashesPerSecond: hashes / (b.now - a.now), cpuMicrosecondsPerHash: cpuUs };
} finally {
  await fast.stop();
}

const table = [
  "| workers (1 rng) | hashes/s measured | workshop theory min(N x 3.33, 10) |",
  "|---|---|---|",
  ...rows.map((r) => `| ${r.workers} | ${r.hashesPerSecond.toFixed(2)} | ${r.theory.toFixed(2)} |`),
  "",
  `httping with ${Math.max(...workerCounts)} workers (10 pings, fresh connection each):`,
  `  rng    GET /  avg ${latency!.rng.avg.toFixed(0)} ms (min ${latency!.rng.min.toFixed(0)}, max ${latency!.rng.max.toFixed(0)})`,
  `  hasher GET /  avg ${latency!.hasher.avg.toFixed(0)} ms (min ${latency!.hasher.min.toFixed(0)}, max ${latency!.hasher.max.toFixed(0)})`,
  "",
  `zero-delay, 1 worker: ${zeroDelay.hashesPerSecond.toFixed(0)} hashes/s; CPU per hash (us): ` +
    Object.entries(zeroDelay.cpuMicrosecondsPerHash).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(", "),
].join("\n");
console.log(`\n${table}\n`);

mkdirSync(outDir, { recursive: true });
writeFileSync(`${outDir}local.json`, JSON.stringify({ windowS, rows, latency, zeroDelay }, null, 2));
writeFileSync(`${outDir}local.md`, table + "\n");
const svg = barChartSvg("DockerCoins local run: hashes/s by number of workers (1 rng)", "hashes/second",
  rows.map((r) => ({ label: `${r.workers} worker${r.workers > 1 ? "s" : ""}`, value: r.hashesPerSecond, theory: r.theory })));
writeChart(`${outDir}local`, svg);
console.log(`written: ${outDir}local.{json,md,svg,png}`);

// Where each service's memory goes, and hasher's peak under a crowd, read from /proc (not sampled over HTTP):
// idle RSS per service split into the node binary's file pages (shared by every node process on the host) and
// the process' own anonymous memory (V8 heap, malloc), then 200 concurrent POSTs of 1 MiB to hasher with the
// true peak (VmHWM). With --before <git revision>, that revision's services are built too and measured in the
// same run, side by side. Writes bench-results/memory.{json,md}.
//   npm run bench:memory [-- --before <rev>] [--runs 3]
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { sleep } from "../lib/service.js";
import { NODE_FLAGS, freePort, redisServerPath } from "../local/stack.js";

const { values } = parseArgs({ options: { before: { type: "string" }, runs: { type: "string", default: "3" }, "idle-s": { type: "string", default: "5" } } });
const appDir = fileURLToPath(new URL("../../", import.meta.url)); // app/
const outDir = fileURLToPath(new URL("../../../bench-results/", import.meta.url));
const SERVICES = ["rng", "hasher", "webui", "httplat", "worker"] as const;
const MiB = 2 ** 20;

interface Build {
  label: string;
  dist: string;
  flags: string[];
}

/** The app as it was at `rev`, built beside this one (its own dist, this checkout's node_modules). */
function buildRevision(rev: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "dockercoins-before-"));
  const root = execFileSync("git", ["-C", appDir, "rev-parse", "--show-toplevel"], { encoding: "utf8" }).trim();
  execFileSync("sh", ["-c", `git -C "${root}" archive "${rev}" app | tar -x -C "${dir}"`]);
  symlinkSync(path.join(appDir, "node_modules"), path.join(dir, "app", "node_modules"));
  execFileSync(process.execPath, [path.join(appDir, "node_modules/typescript/bin/tsc"), "-p", path.join(dir, "app")], { stdio: "inherit" });
  return path.join(dir, "app", "dist");
}

/** kB fields of /proc/<pid>/status (VmRSS, VmHWM) and /proc/<pid>/smaps_rollup (Rss, Private_Dirty, ...), in MiB. */
function procMiB(pid: number): Record<string, number> {
  const text = readFileSync(`/proc/${pid}/status`, "utf8") + readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  return Object.fromEntries([...text.matchAll(/^(\w+):\s+(\d+) kB$/gm)].map(([, k, v]) => [k, Number(v) / 1024]));
}

async function v8Heap(url: string) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const get = (name: string) => Number(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, "m").exec(text)?.[1] ?? NaN) / MiB;
  return { heapTotal: get("nodejs_heap_size_total_bytes"), heapUsed: get("nodejs_heap_size_used_bytes"), external: get("nodejs_external_memory_bytes") };
}

const children = new Set<ChildProcess>();
process.once("exit", () => children.forEach((c) => c.kill("SIGKILL")));

async function startService(build: Build, name: string, env: Record<string, string>) {
  const port = await freePort();
  const child = spawn(process.execPath, [...build.flags, path.join(build.dist, name, "main.js")], {
    env: { ...process.env, LOG_LEVEL: "warn", PORT: String(port), ...env },
    stdio: "ignore",
  });
  children.add(child);
  const url = `http://127.0.0.1:${port}`;
  for (const deadline = Date.now() + 10_000; ; await sleep(100)) {
    if (await fetch(`${url}/healthz`).then((r) => r.ok, () => false)) break;
    if (Date.now() > deadline) throw new Error(`${name} (${build.label}) did not start`);
  }
  return {
    url,
    pid: child.pid!,
    async stop() {
      child.kill("SIGTERM");
      await once(child, "exit");
      children.delete(child);
    },
  };
}

type IdleRow = { build: string; service: string; rss: number; file: number; anon: number; heapTotal: number; heapUsed: number; external: number };

/** Every service started, left alone idleS seconds (the worker mines as usual against this build's rng and hasher). */
async function idle(build: Build, redisUrl: string, idleS: number): Promise<IdleRow[]> {
  const rng = await startService(build, "rng", {});
  const hasher = await startService(build, "hasher", {});
  const others = {
    webui: await startService(build, "webui", { REDIS_URL: redisUrl, WATCH_REPLICAS: `rng=${rng.url},hasher=${hasher.url}` }),
    httplat: await startService(build, "httplat", { HTTPLAT_URL: `${rng.url}/` }),
    worker: await startService(build, "worker", { REDIS_URL: redisUrl, RNG_URL: rng.url, HASHER_URL: hasher.url }),
  };
  const all = { rng, hasher, ...others };
  await sleep(idleS * 1000);
  const rows: IdleRow[] = [];
  for (const service of SERVICES) {
    const svc = all[service];
    const p = procMiB(svc.pid);
    rows.push({ build: build.label, service, rss: p.VmRSS, file: p.Rss - p.Anonymous, anon: p.Anonymous, ...(await v8Heap(svc.url)) });
  }
  await Promise.all(Object.values(all).map((s) => s.stop()));
  return rows;
}

type CrowdRow = { build: string; run: number; idle: number; peak: number; p50: number; p95: number; max: number; ok: number };

/** 200 concurrent POSTs of 1 MiB to a fresh hasher: peak resident memory (VmHWM) over its idle RSS, and latency. */
async function hasherCrowd(build: Build, run: number): Promise<CrowdRow> {
  const hasher = await startService(build, "hasher", {});
  await sleep(1000);
  const idleMiB = procMiB(hasher.pid).VmRSS;
  const body = Buffer.alloc(MiB, 7);
  const times: number[] = [];
  let ok = 0;
  await Promise.all(
    Array.from({ length: 200 }, async () => {
      const t0 = performance.now();
      const res = await fetch(hasher.url, { method: "POST", body }).catch(() => undefined);
      if ((await res?.text())?.length === 64) ok++;
      times.push((performance.now() - t0) / 1000);
    }),
  );
  const peak = procMiB(hasher.pid).VmHWM;
  await hasher.stop();
  times.sort((a, b) => a - b);
  const q = (f: number) => times[Math.min(times.length - 1, Math.floor(f * times.length))];
  return { build: build.label, run, idle: idleMiB, peak, p50: q(0.5), p95: q(0.95), max: times[times.length - 1], ok };
}

const builds: Build[] = [];
if (values.before) builds.push({ label: `before (${values.before})`, dist: buildRevision(values.before), flags: [] });
builds.push({ label: "after, no flags", dist: path.join(appDir, "dist"), flags: [] });
builds.push({ label: `after (${NODE_FLAGS.join(" ")})`, dist: path.join(appDir, "dist"), flags: NODE_FLAGS });

const redisPort = await freePort();
const redis = spawn(redisServerPath(), ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
children.add(redis);
await sleep(300);
const bare = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
children.add(bare);

try {
  const idleRows: IdleRow[] = [];
  for (const build of builds) idleRows.push(...(await idle(build, `redis://127.0.0.1:${redisPort}`, Number(values["idle-s"]))));
  const bareP = procMiB(bare.pid!);
  const crowdRows: CrowdRow[] = [];
  for (let run = 1; run <= Number(values.runs); run++) for (const build of builds) crowdRows.push(await hasherCrowd(build, run));

  const f = (n: number, digits = 1) => n.toFixed(digits);
  const idleTable = [
    "| service | " + builds.map((b) => b.label).join(" | ") + " |",
    "|---|" + builds.map(() => "---:").join("|") + "|",
    ...SERVICES.map((s) => `| ${s} | ${builds.map((b) => {
      const r = idleRows.find((x) => x.build === b.label && x.service === s)!;
      return `${f(r.rss)} (file ${f(r.file)} + own ${f(r.anon)}; V8 heap ${f(r.heapTotal)}, used ${f(r.heapUsed)})`;
    }).join(" | ")} |`),
    `| \`node -e 'setInterval(...)'\` (the floor) | ${f(bareP.VmRSS)} (file ${f(bareP.Rss - bareP.Anonymous)} + own ${f(bareP.Anonymous)}) |`,
  ].join("\n");
  const crowdTable = [
    "| build | run | answered | idle RSS MiB | peak VmHWM MiB | peak - idle | p50 s | p95 s | max s |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...crowdRows.map((r) => `| ${r.build} | ${r.run} | ${r.ok}/200 | ${f(r.idle)} | ${f(r.peak)} | +${f(r.peak - r.idle)} | ${f(r.p50, 2)} | ${f(r.p95, 2)} | ${f(r.max, 2)} |`),
  ].join("\n");
  const report = `Idle resident memory (MiB, VmRSS after ${values["idle-s"]} s; file = pages of the node binary and libraries, shared by every node process; own = anonymous memory):\n\n${idleTable}\n\nhasher, 200 concurrent POSTs of 1 MiB:\n\n${crowdTable}\n`;
  mkdirSync(outDir, { recursive: true });
  writeFileSync(`${outDir}memory.json`, JSON.stringify({ idle: idleRows, bare: bareP, crowd: crowdRows }, null, 2));
  writeFileSync(`${outDir}memory.md`, report);
  console.log(`\n${report}\nwritten: ${outDir}memory.{json,md}`);
} finally {
  for (const child of children) child.kill("SIGKILL");
}

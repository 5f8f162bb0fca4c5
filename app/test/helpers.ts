// Real parts for the tests: a redis-server on a free port, free ports, service logs.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Redis } from "ioredis";
import { sleep } from "../lib/service.js";
import { freePort, redisServerPath } from "../local/stack.js";

export { freePort, sleep };


export interface TestRedis {
  port: number;
  url: string;
  client: Redis;
  stop(): Promise<void>;
  /** Starts it again on the same port (after stop), as a restarted redis would come back. */
  restart(): Promise<void>;
  /** SIGSTOP: the process stays, connections stay open, nothing is answered (a stall, a GC pause, a VM freeze). */
  freeze(): void;
  /** SIGCONT: it resumes and runs every command that arrived meanwhile, late copies included. */
  thaw(): void;
}

/** A real redis-server on a free port. `durable` keeps data across restart (append-only file, fsync always). */
export async function startRedis({ durable = false } = {}): Promise<TestRedis> {
  const redisPort = await freePort();
  const persistence = durable
    ? ["--appendonly", "yes", "--appendfsync", "always", "--dir", mkdtempSync(path.join(os.tmpdir(), "redis-"))]
    : ["--appendonly", "no"];
  const launch = () => launchRedis(redisPort, persistence);
  let child = await launch();
  const client = new Redis(redisPort, "127.0.0.1", { lazyConnect: false, maxRetriesPerRequest: 1 });
  client.on("error", () => {}); // outages are what some tests make on purpose
  return {
    port: redisPort,
    url: `redis://127.0.0.1:${redisPort}`,
    client,
    async stop() {
      client.disconnect();
      if (child.exitCode === null) {
        child.kill("SIGKILL");
        await once(child, "exit");
      }
    },
    async restart() {
      child = await launch();
      await client.connect().catch(() => {});
    },
    freeze: () => void child.kill("SIGSTOP"),
    thaw: () => void child.kill("SIGCONT"),
  };
}

async function launchRedis(port: number, persistence: string[]) {
  const child = spawn(redisServerPath(), ["--port", String(port), "--bind", "127.0.0.1", "--save", "", ...persistence], { stdio: ["ignore", "pipe", "inherit"] });
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  const deadline = Date.now() + 5000;
  while (!output.includes("Ready to accept connections")) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server did not start on ${port}:\n${output}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return child;
}


export async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** Starts a fastify app on a free port of 127.0.0.1 and returns its base URL. */
export async function listen(app: { listen(o: { host: string; port: number }): Promise<string> }, port = 0): Promise<string> {
  return app.listen({ host: "127.0.0.1", port });
}

/** Reads one sample of a Prometheus text exposition: the series `name` carrying all of `labels` (any order). */
export function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match?.[1] === name && wanted.every((pair) => (match[2] ?? "").split(",").includes(pair))) return Number(match[3]);
  }
  return 0;
}

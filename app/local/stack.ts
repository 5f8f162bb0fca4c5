// Runs DockerCoins as plain processes: redis-server from PATH plus the built services (dist/).
// Used by the `npm run local` command, the tests that need real processes, and the benchmark.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import net from "node:net";
import { fileURLToPath } from "node:url";

const dist = fileURLToPath(new URL("../", import.meta.url)); // app/dist/

export interface LocalStackOptions {
  workers: number;
  webuiPort: number;
  rngPort: number;
  hasherPort: number;
  redisPort: number;
  /** Worker i (from 1) serves /metrics on workerPortBase + i; 0 picks free ports. */
  workerPortBase: number;
  /** Extra environment for every service, e.g. zero delays. */
  env?: Record<string, string>;
  /** Where service output goes; defaults to this process's stdout with a [name] prefix. */
  onLine?: (name: string, line: string) => void;
}

/**
 * Node flags every service runs with, here and in app/Dockerfile's CMD. A young generation of 1 MiB semi-spaces
 * instead of V8's 16: idle services keep fewer young pages resident (bench/memory.ts measures it), and what they
 * allocate per request is small (hasher's body chunks live outside the V8 heap).
 */
export const NODE_FLAGS = ["--max-semi-space-size=1"];

export interface Proc {
  name: string;
  child: ChildProcess;
  exited: Promise<number | null>;
}

/** A TCP port nobody listens on right now, for runs beside other things (tests, the benchmark). */
export async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as net.AddressInfo;
  server.close();
  await once(server, "close");
  return port;
}

/**
 * Refuses to start beside something that already listens on one of the ports: a redis already on 6379
 * (Debian's redis-server package starts one) would otherwise take the counts while ours fails to bind.
 */
export async function assertPortsFree(ports: Record<string, number>): Promise<void> {
  for (const [flag, port] of Object.entries(ports)) {
    if (port === 0) continue;
    const server = net.createServer();
    const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      server.once("error", resolve);
      server.listen(port, "127.0.0.1", () => server.close(() => resolve(undefined)));
    });
    if (error?.code === "EADDRINUSE") {
      throw new Error(`port ${port} is already in use on 127.0.0.1 (another redis-server or DockerCoins?): stop it, or choose another with --${flag}`);
    }
    if (error) throw error;
  }
}

export function redisServerPath(): string {
  const found = spawnSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" }).stdout.trim();
  if (!found) {
    throw new Error("redis-server is not on PATH. Install it: `sudo apt-get install redis-server` (Debian/Ubuntu), `brew install redis` (macOS), or `sudo dnf install redis`.");
  }
  return found;
}

// Detached children outlive a crashed runner: kill whatever is left when this process exits.
const running = new Set<ChildProcess>();
process.once("exit", () => running.forEach((child) => child.kill("SIGKILL")));

function start(name: string, command: string, args: string[], env: Record<string, string>, onLine: LocalStackOptions["onLine"]): Proc {
  // Own process group: Ctrl-C reaches only the runner, which stops workers before redis (no lost counts).
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
  running.add(child);
  child.once("exit", () => running.delete(child));
  for (const stream of [child.stdout!, child.stderr!]) {
    let buffered = "";
    stream.on("data", (chunk: Buffer) => {
      const lines = (buffered + chunk.toString()).split("\n");
      buffered = lines.pop()!;
      for (const line of lines) onLine ? onLine(name, line) : process.stdout.write(`[${name}] ${line}\n`);
    });
  }
  const exited = once(child, "exit").then(([code]) => code as number | null);
  return { name, child, exited };
}

async function waitForHttp(url: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(url, { signal: AbortSignal.timeout(1000) })).ok) return;
    } catch {}
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function stopProc(proc: Proc, timeoutMs = 5000): Promise<number | null> {
  if (proc.child.exitCode === null && proc.child.signalCode === null) {
    proc.child.kill("SIGTERM");
    const timer = setTimeout(() => proc.child.kill("SIGKILL"), timeoutMs);
    await proc.exited;
    clearTimeout(timer);
  }
  return proc.exited;
}

/** One built service (dist/<name>/main.js) on `port`, resolved once it answers /healthz; stop it with stopProc. */
export async function startBuiltService(name: string, port: number, env: Record<string, string> = {}, onLine?: LocalStackOptions["onLine"]) {
  const proc = start(name, process.execPath, [...NODE_FLAGS, `${dist}${name}/main.js`], { ...env, PORT: String(port) }, onLine);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${url}/healthz`);
  } catch (err) {
    await stopProc(proc);
    throw err;
  }
  return { ...proc, url };
}

export async function startLocalStack(opts: LocalStackOptions) {
  await assertPortsFree({ "redis-port": opts.redisPort, "rng-port": opts.rngPort, "hasher-port": opts.hasherPort, "webui-port": opts.webuiPort });
  const env = { ...opts.env, REDIS_URL: `redis://127.0.0.1:${opts.redisPort}` };
  const redis = start("redis", redisServerPath(), ["--port", String(opts.redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {}, opts.onLine);
  const service = (name: string, port: number, extra: Record<string, string> = {}) =>
    start(name, process.execPath, [...NODE_FLAGS, `${dist}${name}/main.js`], { ...env, PORT: String(port), ...extra }, opts.onLine);
  const rng = service("rng", opts.rngPort);
  const hasher = service("hasher", opts.hasherPort);
  // The replica view reads rng and hasher at the URLs of this run.
  const webui = service("webui", opts.webuiPort, { WATCH_REPLICAS: `rng=http://127.0.0.1:${opts.rngPort},hasher=http://127.0.0.1:${opts.hasherPort}` });
  const workers: Proc[] = [];
  const workerEnv = { RNG_URL: `http://127.0.0.1:${opts.rngPort}`, HASHER_URL: `http://127.0.0.1:${opts.hasherPort}` };

  const stack = {
    redis, rng, hasher, webui, workers,
    urls: { webui: `http://127.0.0.1:${opts.webuiPort}`, rng: `http://127.0.0.1:${opts.rngPort}`, hasher: `http://127.0.0.1:${opts.hasherPort}` },
    /** Starts or stops workers until there are `count`; stopped ones flush their counts first. */
    async scaleWorkers(count: number) {
      while (workers.length < count) {
        const port = opts.workerPortBase ? opts.workerPortBase + workers.length + 1 : 0;
        workers.push(service("worker", port, workerEnv));
      }
      await Promise.all(workers.splice(count).map((w) => stopProc(w)));
    },
    /** Workers first, so their last counts reach redis; redis last. */
    async stop() {
      await stack.scaleWorkers(0);
      await Promise.all([rng, hasher, webui].map((p) => stopProc(p)));
      await stopProc(redis);
    },
  };
  try {
    await Promise.all([`${stack.urls.rng}/healthz`, `${stack.urls.hasher}/healthz`, `${stack.urls.webui}/healthz`].map((u) => waitForHttp(u)));
    await stack.scaleWorkers(opts.workers);
  } catch (err) {
    await stack.stop();
    throw err;
  }
  return stack;
}

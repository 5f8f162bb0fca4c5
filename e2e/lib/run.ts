import { spawn } from "node:child_process";

// Child processes for the end-to-end suites: every command is bounded in time, output is captured, and a
// failure says which command failed and what it printed.

export interface RunOptions {
  input?: string | Buffer;
  timeoutMs?: number;
  /** Do not throw on a non-zero exit. */
  allowFailure?: boolean;
  env?: Record<string, string>;
  cwd?: string;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, ...opts.env },
      cwd: opts.cwd,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b) => out.push(b));
    child.stderr.on("data", (b) => err.push(b));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const r = { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
      if ((code !== 0 || signal) && !opts.allowFailure) {
        const why = signal ? `killed by ${signal}${signal === "SIGKILL" ? ` (timeout ${timeoutMs} ms?)` : ""}` : `exit ${code}`;
        reject(new Error(`${cmd} ${args.join(" ").slice(0, 300)}: ${why}\n${r.stderr.slice(-3000)}${r.stdout.slice(-4000)}`));
      } else resolve(r);
    });
    child.stdin.on("error", () => {}); // a command that exits early must not crash us with EPIPE
    child.stdin.end(opts.input ?? "");
  });
}

export const docker = (args: string[], opts?: RunOptions) => run("docker", args, opts);

/**
 * Removes every container (with its anonymous volumes), network and volume carrying `label` (key=value);
 * returns what is still there afterwards, as "kind id".
 */
export async function removeLabelled(label: string): Promise<string[]> {
  const ids = async (kind: "container" | "network" | "volume") =>
    (await docker([kind, "ls", ...(kind === "container" ? ["-a"] : []), "-q", "--filter", `label=${label}`], { allowFailure: true })).stdout
      .split("\n").filter(Boolean);
  const containers = await ids("container");
  if (containers.length) await docker(["rm", "-f", "-v", ...containers], { allowFailure: true, timeoutMs: 180_000 });
  const networks = await ids("network");
  if (networks.length) await docker(["network", "rm", ...networks], { allowFailure: true });
  const volumes = await ids("volume");
  if (volumes.length) await docker(["volume", "rm", "-f", ...volumes], { allowFailure: true, timeoutMs: 180_000 });
  await sleep(200);
  return [
    ...(await ids("container")).map((i) => `container ${i}`),
    ...(await ids("network")).map((i) => `network ${i}`),
    ...(await ids("volume")).map((i) => `volume ${i}`),
  ];
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll `check` until it returns a value (not undefined) or time runs out. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number, everyMs = 1000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
    }
    await sleep(everyMs);
  }
}

/** Phase timings, printed as they end and as a table at the end. */
export class Phases {
  readonly done: { name: string; seconds: number }[] = [];
  constructor(private readonly prefix: string) {}

  async time<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const t0 = Date.now();
    console.log(`[${this.prefix}] ${name} ...`);
    try {
      return await fn();
    } finally {
      const seconds = (Date.now() - t0) / 1000;
      this.done.push({ name, seconds });
      console.log(`[${this.prefix}] ${name}: ${seconds.toFixed(1)} s`);
    }
  }

  table(): string {
    const w = Math.max(...this.done.map((p) => p.name.length), 5);
    const total = this.done.reduce((s, p) => s + p.seconds, 0);
    return [
      ...this.done.map((p) => `${p.name.padEnd(w)}  ${p.seconds.toFixed(1).padStart(7)} s`),
      `${"total".padEnd(w)}  ${total.toFixed(1).padStart(7)} s`,
    ].join("\n");
  }
}

// Configuration comes from environment variables only (12-factor, as orchestrators set it).
// A bad value stops the process at start-up with a message naming the variable.

export class ConfigError extends Error {}

export function intEnv(name: string, fallback: number, { min = 0, max = Number.MAX_SAFE_INTEGER } = {}): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(`${name}=${JSON.stringify(raw)} is invalid: expected an integer from ${min} to ${max}`);
  }
  return Number(raw);
}

/** A URL of one of `schemes` (without the colon): `localhost:6379` parses as a URL of scheme "localhost". */
export function urlEnv(name: string, fallback: string, schemes = ["http", "https"]): string {
  const raw = process.env[name] || fallback;
  const url = URL.parse(raw);
  if (!url || !schemes.includes(url.protocol.slice(0, -1))) {
    const allowed = schemes.map((s) => `${s}://`).join(" or ");
    throw new ConfigError(`${name}=${JSON.stringify(raw)} is invalid: expected a ${allowed} URL such as ${fallback}`);
  }
  return url.toString().replace(/\/$/, "");
}

export const redisUrlEnv = () => urlEnv("REDIS_URL", "redis://redis:6379", ["redis", "rediss"]);

/**
 * DOCKERCOINS_ENV: settings as one JSON object of strings, e.g. {"WORKER_SLEEP_MS":"0"}, as the Swarm deployment
 * passes them (infra/swarm/dockercoins.ts bundleEnv says why: one variable keeps one order). Each one applies
 * where that variable is not set on its own.
 */
export function applyBundledEnv(env: NodeJS.ProcessEnv = process.env): void {
  const raw = env.DOCKERCOINS_ENV;
  if (raw === undefined || raw === "") return;
  let bundle: unknown;
  try {
    bundle = JSON.parse(raw);
  } catch {
    bundle = undefined;
  }
  const entries = bundle !== null && typeof bundle === "object" && !Array.isArray(bundle) ? Object.entries(bundle) : undefined;
  if (!entries || entries.some(([, v]) => typeof v !== "string")) {
    throw new ConfigError(`DOCKERCOINS_ENV=${JSON.stringify(raw)} is invalid: expected a JSON object of strings such as {"WORKER_SLEEP_MS":"100"}`);
  }
  for (const [name, value] of entries) env[name] ??= value as string;
}

/**
 * Runs a service's start-up reading of its environment (DOCKERCOINS_ENV applied first). A bad value is the operator's input, not a bug: one line
 * on stderr naming the variable, its value and what is allowed, and exit code 1, without a stack trace.
 */
export function fromEnv<T>(read: () => T): T {
  try {
    applyBundledEnv();
    return read();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
}

export const portEnv = (fallback: number) => intEnv("PORT", fallback, { min: 0, max: 65535 });

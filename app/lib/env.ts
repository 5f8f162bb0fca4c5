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

export function urlEnv(name: string, fallback: string): string {
  const raw = process.env[name] || fallback;
  try {
    return new URL(raw).toString().replace(/\/$/, "");
  } catch {
    throw new ConfigError(`${name}=${JSON.stringify(raw)} is invalid: expected a URL such as ${fallback}`);
  }
}

export const portEnv = (fallback: number) => intEnv("PORT", fallback, { min: 0, max: 65535 });

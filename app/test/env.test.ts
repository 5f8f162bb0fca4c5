import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { applyBundledEnv, intEnv, urlEnv } from "../lib/env.js";

describe("configuration from the environment", () => {
  afterEach(() => {
    delete process.env.TEST_VALUE;
  });

  it("uses the default when unset and parses integers", () => {
    expect(intEnv("TEST_VALUE", 100)).toBe(100);
    process.env.TEST_VALUE = "0";
    expect(intEnv("TEST_VALUE", 100)).toBe(0);
  });

  it.each(["abc", "-5", "1.5", "1e3", "70000"])("rejects %s naming the variable and the range", (value) => {
    process.env.TEST_VALUE = value;
    expect(() => intEnv("TEST_VALUE", 1, { min: 0, max: 65535 })).toThrow(
      `TEST_VALUE="${value}" is invalid: expected an integer from 0 to 65535`,
    );
  });

  it("normalizes URLs and rejects garbage", () => {
    process.env.TEST_VALUE = "http://rng:8001/";
    expect(urlEnv("TEST_VALUE", "http://rng")).toBe("http://rng:8001");
    process.env.TEST_VALUE = "not a url";
    expect(() => urlEnv("TEST_VALUE", "http://rng")).toThrow('TEST_VALUE="not a url" is invalid: expected a http:// or https:// URL such as http://rng');
  });
});

describe("DOCKERCOINS_ENV, the Swarm deployment's settings in one variable", () => {
  it("sets each variable that is not set on its own", () => {
    const env: NodeJS.ProcessEnv = { DOCKERCOINS_ENV: '{"NODE_NAME":"node2","WORKER_SLEEP_MS":"0"}', WORKER_SLEEP_MS: "100" };
    applyBundledEnv(env);
    expect(env).toMatchObject({ NODE_NAME: "node2", WORKER_SLEEP_MS: "100" });
  });

  it.each(["not json", "[1]", '{"A":1}', "null"])("refuses %s naming the variable and the form", (raw) => {
    expect(() => applyBundledEnv({ DOCKERCOINS_ENV: raw })).toThrow(
      `DOCKERCOINS_ENV=${JSON.stringify(raw)} is invalid: expected a JSON object of strings such as {"WORKER_SLEEP_MS":"100"}`,
    );
  });
});

describe("a service started with a bad environment", () => {
  const run = (service: string, env: Record<string, string>) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const main = fileURLToPath(new URL(`../dist/${service}/main.js`, import.meta.url));
      const child = spawn(process.execPath, [main], { env: { ...process.env, PORT: "0", REDIS_URL: "redis://127.0.0.1:1", ...env }, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (c) => (stdout += c));
      child.stderr.on("data", (c) => (stderr += c));
      const killer = setTimeout(() => child.kill("SIGKILL"), 5000);
      child.on("exit", (code) => (clearTimeout(killer), resolve({ code, stdout, stderr })));
    });

  it.each([
    ["rng", { PORT: "abc" }, 'PORT="abc" is invalid: expected an integer from 0 to 65535'],
    ["rng", { RNG_CONCURRENCY: "0" }, 'RNG_CONCURRENCY="0" is invalid: expected an integer from 1 to 9007199254740991'],
    ["hasher", { HTTP_IDLE_TIMEOUT_MS: "soon" }, 'HTTP_IDLE_TIMEOUT_MS="soon" is invalid: expected an integer from 1 to 9007199254740991'],
    ["worker", { REDIS_URL: "localhost:6379" }, 'REDIS_URL="localhost:6379" is invalid: expected a redis:// or rediss:// URL such as redis://redis:6379'],
    ["webui", { REDIS_URL: "http://redis:6379" }, 'REDIS_URL="http://redis:6379" is invalid: expected a redis:// or rediss:// URL such as redis://redis:6379'],
    ["webui", { WATCH_REPLICAS: "rng" }, 'WATCH_REPLICAS: "rng" is invalid: expected service=dns://name:port (every address of the name) or service=http://host:port, comma-separated'],
    ["worker", { DOCKERCOINS_ENV: "{" }, 'DOCKERCOINS_ENV="{" is invalid: expected a JSON object of strings such as {"WORKER_SLEEP_MS":"100"}'],
    // A bundled value is checked like one set on its own.
    ["rng", { DOCKERCOINS_ENV: '{"RNG_CONCURRENCY":"0"}' }, 'RNG_CONCURRENCY="0" is invalid: expected an integer from 1 to 9007199254740991'],
    ["httplat", { HTTPLAT_URL: "ftp://rng" }, 'HTTPLAT_URL="ftp://rng" is invalid: expected a http:// or https:// URL such as http://rng/'],
  ])("%s with %j: exactly one line on stderr naming it, exit code 1, no stack trace", async (service, env, line) => {
    const { code, stdout, stderr } = await run(service, env);
    expect(stderr).toBe(`${line}\n`);
    expect(stdout).toBe("");
    expect(code).toBe(1);
  });
});

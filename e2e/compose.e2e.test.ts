// The workshop's single-host path, for real: `compose up -d`, scale the workers, restart redis.
// Uses `docker compose` (v2), as the README writes it, on the root compose.yaml (scripts/prepare-machine.sh
// installs the plugin where the engine has none, as Debian 12's docker.io).
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, until } from "../app/test/helpers.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const project = `dockercoins-test-${process.pid}`;
if (spawnSync("docker", ["compose", "version"]).status !== 0) {
  throw new Error("`docker compose` (v2) is missing: scripts/prepare-machine.sh installs it; the README's commands need it");
}
const compose = ["docker", "compose"];
const ports = { WEBUI_PORT: "", RNG_PORT: "", HASHER_PORT: "" };
const run = (...args: string[]) =>
  execFileSync(compose[0], [...compose.slice(1), "-p", project, "-f", `${root}compose.yaml`, ...args], {
    cwd: root, env: { ...process.env, ...ports }, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 << 20,
  });
// Every call has a deadline: while a container starts, its published port can accept and never answer.
const get = (port: string, path: string, init: RequestInit = {}) =>
  fetch(`http://127.0.0.1:${port}${path}`, { ...init, signal: AbortSignal.timeout(5000) });
const stats = async () => {
  const res = await get(ports.WEBUI_PORT, "/json");
  if (!res.ok) throw new Error(`webui answered ${res.status}`); // 503 while redis restarts
  return res.json() as Promise<{ coins: number; hashes: number }>;
};
const containers = (service: string) =>
  execFileSync("docker", ["ps", "-q", "--filter", `label=com.docker.compose.project=${project}`, "--filter", `label=com.docker.compose.service=${service}`], { encoding: "utf8" }).split("\n").filter(Boolean);

beforeAll(async () => {
  ports.WEBUI_PORT = String(await freePort());
  ports.RNG_PORT = String(await freePort());
  ports.HASHER_PORT = String(await freePort());
  const started = Date.now();
  run("up", "-d", "--build");
  console.log(`compose up (with builds) took ${((Date.now() - started) / 1000).toFixed(1)} s`);
}, 900_000);

afterAll(() => {
  run("down", "-v", "--remove-orphans", "-t", "5");
  const left = execFileSync("docker", ["ps", "-aq", "--filter", `label=com.docker.compose.project=${project}`], { encoding: "utf8" }).trim();
  expect(left).toBe("");
}, 120_000);

describe("compose.yaml (single-host workshop)", () => {
  it("mines: webui on its port reports hashes and coins from the worker", async () => {
    const first = await until("hashes counted", async () => { const s = await stats(); return s.hashes > 0 && s; }, 60_000);
    expect(first.coins).toBeGreaterThanOrEqual(0);
    const rng = Buffer.from(await (await get(ports.RNG_PORT, "/32")).arrayBuffer());
    expect(rng).toHaveLength(32);
    const hash = await (await get(ports.HASHER_PORT, "/", { method: "POST", body: rng })).text();
    expect(hash).toBe(createHash("sha256").update(rng).digest("hex"));
  }, 90_000);

  it("runs every service as a non-root user with a passing HEALTHCHECK", async () => {
    for (const service of ["rng", "hasher", "webui", "worker"]) {
      const [id] = containers(service);
      expect(execFileSync("docker", ["inspect", "-f", "{{.Config.User}}", id], { encoding: "utf8" }).trim()).toBe("node");
      await until(`${service} healthy`, async () =>
        execFileSync("docker", ["inspect", "-f", "{{.State.Health.Status}}", id], { encoding: "utf8" }).trim() === "healthy", 60_000);
    }
  }, 240_000);

  it("scales to 10 workers with --scale and keeps the wallet across a redis restart", async () => {
    run("up", "-d", "--scale", "worker=10");
    expect(containers("worker")).toHaveLength(10);
    const before = await until("a coin in the wallet", async () => { const s = await stats(); return s.coins > 0 && s; }, 120_000);
    run("stop", "worker");
    const settled = await stats();
    run("restart", "redis");
    const after = await until("redis back", stats, 30_000);
    expect(after.coins).toBe(settled.coins);
    expect(after.hashes).toBe(settled.hashes);
    expect(after.coins).toBeGreaterThanOrEqual(before.coins);
  }, 240_000);
});

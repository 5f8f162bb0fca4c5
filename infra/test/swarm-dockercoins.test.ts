import { describe, expect, it } from "vitest";
import {
  bundleEnv,
  HEALTHZ_PROBE,
  dockercoinsServices,
  registryService,
  ROLLING_UPDATE,
  type DockerCoinsServicesOptions,
} from "../swarm/dockercoins";
import type { SwarmServiceSpec } from "../swarm/spec";

/** The settings an app service gets through DOCKERCOINS_ENV. */
const envOf = (s: SwarmServiceSpec): Record<string, string> => JSON.parse(s.env?.DOCKERCOINS_ENV ?? "{}");

const img = (s: string) => `127.0.0.1:5000/dockercoins/${s}@sha256:${"a".repeat(64)}`;
const base: DockerCoinsServicesOptions = {
  images: { rng: img("rng"), hasher: img("hasher"), worker: img("worker"), webui: img("webui"), redis: "redis:7-bookworm", httplat: img("httplat"), debug: "dockercoins/debug" },
  replicas: { worker: 10, rng: 1, hasher: 2, webui: 1 },
  rngMode: "replicated",
  endpointMode: "vip",
  webuiPort: 8000,
  timing: "workshop",
};
const byName = (specs: SwarmServiceSpec[]) => Object.fromEntries(specs.map((s) => [s.name, s]));

describe("dockercoinsServices", () => {
  it("declares the five workshop services, in a stable order", () => {
    expect(dockercoinsServices(base).map((s) => s.name)).toEqual(["redis", "rng", "hasher", "worker", "webui"]);
  });

  it("adds httplat and a global debug service only when asked", () => {
    const specs = byName(dockercoinsServices({ ...base, debug: true, httplat: { url: "http://rng/", intervalMs: 10000 } }));
    expect(specs.debug.mode).toEqual({ global: true });
    expect(specs.debug.command).toEqual(["sh", "-c", "trap 'exit 0' TERM; sleep infinity & wait"]);
    // Its port (9080) is the image's own, built in: see images/index.ts HTTPLAT_PORT.
    expect(envOf(specs.httplat)).toEqual({ HTTPLAT_URL: "http://rng/", HTTPLAT_INTERVAL_MS: "10000" });
    expect(() => dockercoinsServices({ ...base, debug: true, images: { ...base.images, debug: undefined } })).toThrow(/images.debug/);
  });

  it("replicated and global rng", () => {
    expect(byName(dockercoinsServices(base)).rng.mode).toEqual({ replicas: 1 });
    expect(byName(dockercoinsServices({ ...base, rngMode: "global" })).rng.mode).toEqual({ global: true });
    expect(byName(dockercoinsServices(base)).worker.mode).toEqual({ replicas: 10 });
    expect(byName(dockercoinsServices(base)).hasher.mode).toEqual({ replicas: 2 });
  });

  it("vip publishes webui through the ingress mesh, anywhere", () => {
    const webui = byName(dockercoinsServices(base)).webui;
    expect(webui.ports).toEqual([{ target: 80, published: 8000, mode: "ingress" }]);
    expect(webui.constraints).toBeUndefined();
    expect(webui.endpointMode).toBe("vip");
    expect([webui.update?.order, webui.rollback?.order]).toEqual(["start-first", "start-first"]);
  });

  it("dnsrr publishes webui in host mode on the node labelled for it", () => {
    const specs = dockercoinsServices({ ...base, endpointMode: "dnsrr", webuiPort: 8080 });
    expect(specs.every((s) => s.endpointMode === "dnsrr")).toBe(true);
    const webui = byName(specs).webui;
    expect(webui.ports).toEqual([{ target: 80, published: 8080, mode: "host" }]);
    expect(webui.constraints).toEqual(["node.labels.dockercoins.webui == true"]);
    // The old task holds the node's port until it stops: start-first would wait forever (seen on day two).
    expect([webui.update?.order, webui.rollback?.order]).toEqual(["stop-first", "stop-first"]);
    expect(webui.update).toMatchObject({ parallelism: 1, failureAction: "rollback" });
  });

  it("workshop timing keeps the 100 ms delays; zero-delay removes them", () => {
    const w = Object.fromEntries(Object.entries(byName(dockercoinsServices(base))).map(([n, s]) => [n, { env: envOf(s) }]));
    // Swarm fills NODE_NAME per task: webui's replica view shows where each rng and hasher runs, every log line its node.
    expect(w.rng.env).toEqual({ RNG_DELAY_MS: "100", NODE_NAME: "{{.Node.Hostname}}" });
    expect(w.hasher.env).toEqual({ HASHER_DELAY_MS: "100", NODE_NAME: "{{.Node.Hostname}}" });
    expect(w.webui.env).toEqual({
      REDIS_URL: "redis://redis:6379", WATCH_REPLICAS: "rng=dns://tasks.rng:80,hasher=dns://tasks.hasher:80", NODE_NAME: "{{.Node.Hostname}}",
    });
    expect(w.worker.env).toEqual({
      REDIS_URL: "redis://redis:6379", RNG_URL: "http://rng", HASHER_URL: "http://hasher", WORKER_SLEEP_MS: "100", NODE_NAME: "{{.Node.Hostname}}",
    });
    const z = Object.fromEntries(Object.entries(byName(dockercoinsServices({ ...base, timing: "zero-delay" }))).map(([n, s]) => [n, { env: envOf(s) }]));
    expect([z.rng.env, z.hasher.env, { WORKER_SLEEP_MS: z.worker.env!.WORKER_SLEEP_MS }]).toEqual([
      { RNG_DELAY_MS: "0", NODE_NAME: "{{.Node.Hostname}}" }, { HASHER_DELAY_MS: "0", NODE_NAME: "{{.Node.Hostname}}" }, { WORKER_SLEEP_MS: "0" },
    ]);
  });

  it("gives each app service its settings as one variable, keys sorted: the provider reorders two or more on every update", () => {
    for (const s of dockercoinsServices({ ...base, httplat: { url: "http://rng/", intervalMs: 1000 } }).filter((s) => s.name !== "redis")) {
      expect(Object.keys(s.env ?? {})).toEqual(["DOCKERCOINS_ENV"]);
      const keys = Object.keys(envOf(s));
      expect(keys).toEqual([...keys].sort());
    }
    expect(bundleEnv({ B: "2", A: "1" })).toEqual({ DOCKERCOINS_ENV: '{"A":"1","B":"2"}' });
  });

  it("redis keeps the wallet: append-only, named volume, pinned, stop-first", () => {
    const redis = byName(dockercoinsServices(base)).redis;
    expect(redis).toMatchObject({
      image: "redis:7-bookworm",
      mode: { replicas: 1 },
      command: ["redis-server", "--appendonly", "yes"],
      mounts: [{ type: "volume", source: "dockercoins-redis", target: "/data" }],
      constraints: ["node.labels.dockercoins.redis == true"],
    });
    expect(redis.update!.order).toBe("stop-first");
    expect(redis.healthcheck!.test).toEqual(["CMD", "redis-cli", "ping"]);
  });

  it("app services roll like the workshop's healthcheck lab", () => {
    expect(ROLLING_UPDATE).toEqual({ parallelism: 1, delayS: 5, monitorS: 5, failureAction: "rollback", maxFailureRatio: 0.5, order: "start-first" });
    for (const name of ["rng", "hasher", "worker", "webui"]) {
      const s = byName(dockercoinsServices(base))[name];
      expect(s.update).toEqual(ROLLING_UPDATE);
      expect(s.rollback).toMatchObject({ parallelism: 1, failureAction: "pause" });
      expect(s.healthcheck).toEqual({ test: ["CMD-SHELL", HEALTHZ_PROBE], intervalS: 2, timeoutS: 3, retries: 3, startPeriodS: 10 });
      expect(s.restart).toEqual({ condition: "any", delayS: 5, maxAttempts: 0, windowS: 120 });
      expect(s.limits!.cpus).toBeGreaterThan(0);
      expect(s.limits!.memoryMiB).toBeGreaterThanOrEqual(96);
    }
    expect(byName(dockercoinsServices(base)).worker.stopGracePeriodS).toBe(15);
    // The others keep Swarm's default (10 s): a grace period given makes the provider's delete wait for it.
    expect(dockercoinsServices({ ...base, debug: true }).filter((s) => s.stopGracePeriodS !== undefined).map((s) => s.name)).toEqual(["worker"]);
  });

  it("validates replicas and port", () => {
    expect(() => dockercoinsServices({ ...base, replicas: { ...base.replicas, worker: -1 } })).toThrow(/replicas.worker/);
    expect(() => dockercoinsServices({ ...base, replicas: { ...base.replicas, hasher: 1.5 } })).toThrow(/replicas.hasher/);
    expect(() => dockercoinsServices({ ...base, webuiPort: 70000 })).toThrow(/webuiPort/);
  });
});

describe("registryService", () => {
  it("runs registry:2 on the labelled node, host-published on 5000, with a volume", () => {
    expect(registryService({ image: "registry:2", endpointMode: "dnsrr" })).toMatchObject({
      name: "registry",
      image: "registry:2",
      mode: { replicas: 1 },
      endpointMode: "dnsrr",
      ports: [{ target: 5000, published: 5000, mode: "host" }],
      mounts: [{ type: "volume", source: "dockercoins-registry", target: "/var/lib/registry" }],
      constraints: ["node.labels.dockercoins.registry == true"],
    });
  });
});

import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { dockercoinsServices, registryService, type DockerCoinsServicesOptions } from "../swarm/dockercoins";
import { logStoreService, shipLogs } from "../swarm/logs";
import { renderStackFile } from "../swarm/stackfile";

const opts: DockerCoinsServicesOptions = {
  images: { rng: "r@sha256:1", hasher: "h@sha256:2", worker: "w@sha256:3", webui: "u@sha256:4", redis: "redis:7-bookworm" },
  replicas: { worker: 1, rng: 1, hasher: 2, webui: 1 },
  rngMode: "global",
  endpointMode: "dnsrr",
  webuiPort: 8000,
  timing: "workshop",
};

describe("renderStackFile", () => {
  const yaml = renderStackFile(dockercoinsServices(opts), { network: "dockercoins" });
  const doc = parse(yaml);

  it("matches its snapshot", () => {
    expect(yaml).toMatchSnapshot();
  });

  it("is compose 3.8 with the exact network and volume names", () => {
    expect(doc.version).toBe("3.8");
    expect(doc.networks).toEqual({ dockercoins: { name: "dockercoins", driver: "overlay", attachable: true } });
    expect(doc.volumes).toEqual({ "dockercoins-redis": { name: "dockercoins-redis" } });
    expect(Object.keys(doc.services)).toEqual(["redis", "rng", "hasher", "worker", "webui"]);
    for (const s of Object.values<any>(doc.services)) expect(s.networks).toEqual(["dockercoins"]);
  });

  it("maps modes, endpoint mode, ports and policies", () => {
    expect(doc.services.rng.deploy).toMatchObject({ mode: "global", endpoint_mode: "dnsrr" });
    expect(doc.services.rng.deploy.replicas).toBeUndefined();
    expect(doc.services.hasher.deploy).toMatchObject({
      mode: "replicated",
      replicas: 2,
      update_config: { parallelism: 1, delay: "5s", monitor: "5s", failure_action: "rollback", max_failure_ratio: 0.5, order: "start-first" },
      restart_policy: { condition: "any", delay: "5s", max_attempts: 5, window: "120s" },
      resources: { limits: { cpus: "0.5", memory: "128M" }, reservations: { cpus: "0.05", memory: "32M" } },
    });
    expect(doc.services.webui.ports).toEqual([{ target: 80, published: 8000, protocol: "tcp", mode: "host" }]);
    expect(doc.services.webui.deploy.placement).toEqual({ constraints: ["node.labels.dockercoins.webui == true"] });
    expect(doc.services.redis.command).toEqual(["redis-server", "--appendonly", "yes"]);
    expect(doc.services.redis.volumes).toEqual([{ type: "volume", source: "dockercoins-redis", target: "/data" }]);
    expect(doc.services.worker.stop_grace_period).toBe("15s");
    expect(doc.services.hasher.healthcheck).toEqual({
      test: ["CMD", "node", "dist/lib/healthcheck.js"], interval: "5s", timeout: "3s", retries: 3, start_period: "10s",
    });
  });

  it("keeps strings strings for docker's YAML 1.1 parser (`yes` is not a boolean)", () => {
    expect(yaml).toContain('- "yes"');
    expect(parse(yaml, { version: "1.1" })).toEqual(doc);
  });

  it("renders the log store and each service's log driver, its options strings for docker's YAML 1.1 parser", () => {
    const specs = [...shipLogs(dockercoinsServices(opts), "http://10.0.0.11:9428"), logStoreService({ image: "vl", endpointMode: "dnsrr", port: 9428, retention: "7d" })];
    const text = renderStackFile(specs, { network: "dockercoins" });
    const logged = parse(text, { version: "1.1" });
    expect(logged.services.rng.logging).toEqual({
      driver: "splunk",
      options: {
        "splunk-url": "http://10.0.0.11:9428", "splunk-token": "dockercoins", "splunk-format": "json", "splunk-source": "rng",
        "splunk-verify-connection": "false", tag: "{{.Name}}", mode: "non-blocking", "max-buffer-size": "4m",
      },
    });
    expect(logged.services.logs.logging).toBeUndefined();
    expect(logged.services.logs.ports).toEqual([{ target: 9428, published: 9428, protocol: "tcp", mode: "host" }]);
    expect(logged.services.logs.deploy.placement).toEqual({ constraints: ["node.labels.dockercoins.logs == true"] });
    expect(logged.volumes["dockercoins-logs"]).toEqual({ name: "dockercoins-logs" });
  });

  it("renders without a network (the registry's own stack)", () => {
    const reg = parse(renderStackFile([registryService({ image: "registry:2", endpointMode: "dnsrr" })]));
    expect(reg.networks).toBeUndefined();
    expect(reg.services.registry.networks).toBeUndefined();
    expect(reg.services.registry.ports).toEqual([{ target: 5000, published: 5000, protocol: "tcp", mode: "host" }]);
  });

  it("refuses duplicate service names", () => {
    const specs = dockercoinsServices(opts);
    expect(() => renderStackFile([...specs, specs[0]])).toThrow(/duplicate service name "redis"/);
  });
});

import { describe, expect, it } from "vitest";
import { planNodes } from "../swarm/cluster";
import { failureRatio, goDuration, toServiceArgs } from "../swarm/services";
import { dockercoinsServices, HEALTHZ_PROBE, registryService, type DockerCoinsServicesOptions } from "../swarm/dockercoins";

const opts: DockerCoinsServicesOptions = {
  images: { rng: "r@sha256:1", hasher: "h@sha256:2", worker: "w@sha256:3", webui: "u@sha256:4", redis: "redis:7-bookworm" },
  replicas: { worker: 10, rng: 1, hasher: 2, webui: 1 },
  rngMode: "replicated",
  endpointMode: "dnsrr",
  webuiPort: 8000,
  timing: "workshop",
};
const spec = (name: string, o = opts) => dockercoinsServices(o).find((s) => s.name === name)!;

describe("planNodes", () => {
  const names = ["node1", "node2", "node3", "node4", "node5"];

  it("1 manager: node1 initialises and carries the redis/registry/webui/logs labels", () => {
    const plan = planNodes(names, 1);
    expect(plan.map((n) => n.role)).toEqual(["manager", "worker", "worker", "worker", "worker"]);
    expect(plan.map((n) => n.initialises)).toEqual([true, false, false, false, false]);
    expect(plan[0].labels).toEqual({
      "dockercoins.node": "node1", "dockercoins.redis": "true", "dockercoins.registry": "true", "dockercoins.webui": "true",
      "dockercoins.logs": "true",
    });
    expect(plan[3].labels).toEqual({ "dockercoins.node": "node4" });
  });

  it("3 managers: the first three", () => {
    expect(planNodes(names, 3).map((n) => n.role)).toEqual(["manager", "manager", "manager", "worker", "worker"]);
  });

  it("rejects even or too many managers and duplicate names", () => {
    expect(() => planNodes(names, 2)).toThrow(/managerCount must be 1, 3 or 5/);
    expect(() => planNodes(["a", "b"], 3)).toThrow(/cannot exceed the number of hosts \(2\)/);
    expect(() => planNodes(["a", "a", "b"], 1)).toThrow(/unique/);
  });
});

describe("toServiceArgs", () => {
  it("maps a replicated app service exactly", () => {
    expect(toServiceArgs(spec("hasher"), "net-id")).toEqual({
      name: "hasher",
      mode: { replicated: { replicas: 2 } },
      endpointSpec: { mode: "dnsrr" },
      taskSpec: {
        containerSpec: {
          image: "h@sha256:2",
          env: { DOCKERCOINS_ENV: '{"HASHER_DELAY_MS":"100","NODE_NAME":"{{.Node.Hostname}}"}' },
          healthcheck: { tests: ["CMD-SHELL", HEALTHZ_PROBE], interval: "2s", timeout: "3s", retries: 3, startPeriod: "10s" },
        },
        networksAdvanceds: [{ id: "net-id" }],
        // As the provider reads them back from Swarm: "2m", not "120s"; "0.0", not "0".
        restartPolicy: { condition: "any", delay: "5s", maxAttempts: 0, window: "2m" },
        resources: {
          limits: { nanoCpus: 500_000_000, memoryBytes: 128 * 1024 * 1024 },
          reservation: { nanoCpus: 50_000_000, memoryBytes: 32 * 1024 * 1024 },
        },
      },
      updateConfig: { parallelism: 1, delay: "5s", monitor: "5s", failureAction: "rollback", maxFailureRatio: "0.5", order: "start-first" },
      rollbackConfig: { parallelism: 1, delay: "0s", monitor: "5s", failureAction: "pause", maxFailureRatio: "0", order: "start-first" },
      convergeConfig: { delay: "5s", timeout: "5m" },
    });
  });

  it("global mode, without convergeConfig (the provider refuses it there)", () => {
    const a = toServiceArgs(spec("rng", { ...opts, rngMode: "global" }), "n");
    expect(a.mode).toEqual({ global: true });
    expect(a).not.toHaveProperty("convergeConfig");
    expect(toServiceArgs(spec("rng"), "n").convergeConfig).toEqual({ delay: "5s", timeout: "5m" });
  });

  it("no convergeConfig when the program waits on a manager instead (the rollout wait, faster)", () => {
    expect(toServiceArgs(spec("worker"), "n", false)).not.toHaveProperty("convergeConfig");
  });

  it("host-mode port under dnsrr, ingress under vip", () => {
    expect(toServiceArgs(spec("webui"), "n").endpointSpec).toEqual({
      mode: "dnsrr",
      ports: [{ targetPort: 80, publishedPort: 8000, publishMode: "host", protocol: "tcp" }],
    });
    expect(toServiceArgs(spec("webui", { ...opts, endpointMode: "vip" }), "n").endpointSpec).toEqual({
      mode: "vip",
      ports: [{ targetPort: 80, publishedPort: 8000, publishMode: "ingress", protocol: "tcp" }],
    });
  });

  it("redis: command as args (the image's entrypoint stays), volume, placement", () => {
    const a = toServiceArgs(spec("redis"), "n") as any;
    expect(a.taskSpec.containerSpec.args).toEqual(["redis-server", "--appendonly", "yes"]);
    expect(a.taskSpec.containerSpec.commands).toBeUndefined();
    expect(a.taskSpec.containerSpec.mounts).toEqual([{ type: "volume", source: "dockercoins-redis", target: "/data" }]);
    expect(a.taskSpec.placement).toEqual({ constraints: ["node.labels.dockercoins.redis == true"] });
    expect(a.updateConfig.order).toBe("stop-first");
  });

  it("registry", () => {
    const a = toServiceArgs(registryService({ image: "registry:2", endpointMode: "vip" }), "n") as any;
    expect(a.endpointSpec.ports).toEqual([{ targetPort: 5000, publishedPort: 5000, publishMode: "host", protocol: "tcp" }]);
  });
});

describe("values written as the provider reads them back", () => {
  it.each([
    [0, "0s"], [5, "5s"], [60, "1m"], [90, "1m30s"], [120, "2m"], [3600, "1h"], [3660, "1h1m"], [3601, "1h0m1s"], [7322, "2h2m2s"],
  ])("goDuration(%i) = %s (Go's Duration.String, trailing zero units cut)", (s, text) => {
    expect(goDuration(s)).toBe(text);
  });

  it("rejects what Swarm would round", () => {
    expect(() => goDuration(1.5)).toThrow(/whole seconds/);
    expect(() => failureRatio(0.25)).toThrow(/one decimal/);
    expect([failureRatio(0), failureRatio(0.5), failureRatio(1)]).toEqual(["0", "0.5", "1"]);
  });
});

import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { countByType, named, ofType, reads, registrations, reset, resolve, settle, setupMocks } from "./harness";

let parseConfig: typeof import("../config").parseConfig;
let stack: typeof import("../stacks/minikube");
let autoscaling: typeof import("../kubernetes/autoscaling");
let manifests: typeof import("../kubernetes/manifests");
beforeAll(async () => {
  await setupMocks();
  ({ parseConfig } = await import("../config"));
  stack = await import("../stacks/minikube");
  autoscaling = await import("../kubernetes/autoscaling");
  manifests = await import("../kubernetes/manifests");
});
beforeEach(async () => {
  await settle();
  reset();
});

const CTX = { stack: "test", projectDir: "..", stateDir: "/state/test", homeDir: "/home/me", providerPath: (p: string) => p };
async function run(raw: Record<string, string>) {
  const out = stack.minikubeStack(parseConfig({ target: "minikube", ...raw }), CTX);
  await settle();
  return out;
}
const deployment = (svc: string) => named(`dockercoins-${svc}`).inputs;
const container = (svc: string) => deployment(svc).spec.template.spec.containers[0];

describe("minikube stack", () => {
  it("default: namespace, 5 Deployments, 6 Services (2 headless for the replica view), Prometheus, httplat, CPU HPA; exact counts", async () => {
    await run({});
    expect(countByType()).toEqual({
      "pulumi:providers:kubernetes": 1,
      "pulumi:providers:docker": 1,
      "dockercoins:images:Images": 1,
      "docker:index/image:Image": 5,
      "docker:index/tag:Tag": 5,
      "dockercoins:kubernetes:DockerCoins": 1,
      "kubernetes:core/v1:Namespace": 1,
      "kubernetes:core/v1:PersistentVolumeClaim": 1,
      "kubernetes:apps/v1:Deployment": 6,
      "kubernetes:core/v1:Service": 7,
      "dockercoins:kubernetes:Monitoring": 1,
      "kubernetes:helm.sh/v3:Release": 1,
      "dockercoins:kubernetes:RngAutoscaler": 1,
      "kubernetes:autoscaling/v2:HorizontalPodAutoscaler": 1,
    });
    expect(named("minikube").inputs.context).toBe("minikube");
    expect(named("minikube-docker").inputs).toMatchObject({ host: "tcp://192.168.49.2:2376", certPath: "/home/me/.minikube/certs" });
  });

  it("Services: rng, hasher, redis ClusterIP with explicit names, webui NodePort, none for worker; rng and hasher headless too", async () => {
    await run({});
    const svcs = ofType("kubernetes:core/v1:Service").map((s) => [s.inputs.metadata.name, s.inputs.spec.type ?? "ClusterIP", s.inputs.spec.ports[0].port, s.inputs.spec.clusterIP ?? "-"]);
    expect(svcs.sort()).toEqual([
      ["hasher", "ClusterIP", 80, "-"],
      ["hasher-replicas", "ClusterIP", 80, "None"],
      ["httplat", "ClusterIP", 9080, "-"],
      ["redis", "ClusterIP", 6379, "-"],
      ["rng", "ClusterIP", 80, "-"],
      ["rng-replicas", "ClusterIP", 80, "None"],
      ["webui", "NodePort", 80, "-"],
    ]);
    expect(named("dockercoins-rng-replicas-svc").inputs.spec.selector).toEqual({ app: "rng" });
    expect(named("monitoring-httplat-svc").inputs.metadata.annotations).toEqual({
      "prometheus.io/scrape": "true", "prometheus.io/port": "9080", "prometheus.io/path": "/metrics",
    });
  });

  it("images are built into minikube's engine, tagged by image ID, never pulled", async () => {
    await run({});
    const images = ofType("docker:index/image:Image");
    expect(images.map((i) => i.inputs.imageName).sort()).toEqual(
      ["dockercoins/hasher:latest", "dockercoins/httplat:latest", "dockercoins/rng:latest", "dockercoins/webui:latest", "dockercoins/worker:latest"],
    );
    expect(images.every((i) => i.inputs.skipPush === true)).toBe(true);
    const platform = (await import("../images")).buildPlatform(); // the provider's own default, said
    expect(named("images-rng").inputs.build).toEqual({ context: "../app", dockerfile: "../app/Dockerfile", args: { NODE_IMAGE: "node:24-bookworm-slim", SERVICE: "rng" }, platform });
    for (const svc of ["rng", "hasher", "worker", "webui"]) {
      expect(container(svc).image).toMatch(new RegExp(`^dockercoins/${svc}:[0-9a-f]{12}$`));
      expect(container(svc).imagePullPolicy).toBe("Never");
    }
    expect(container("redis")).toMatchObject({ image: "redis:7-bookworm", args: ["--appendonly", "yes"] });
  });

  it("replicas follow config; rng has no replicas field while an HPA owns it", async () => {
    await run({ workerReplicas: "10", hasherReplicas: "3", webuiReplicas: "2" });
    expect(deployment("worker").spec.replicas).toBe(10);
    expect(deployment("hasher").spec.replicas).toBe(3);
    expect(deployment("webui").spec.replicas).toBe(2);
    expect(deployment("redis").spec.replicas).toBe(1);
    expect("replicas" in deployment("rng").spec).toBe(false);
  });

  it("without an HPA, rng takes rngReplicas", async () => {
    await run({ hpa: "none", rngReplicas: "5" });
    expect(deployment("rng").spec.replicas).toBe(5);
    expect(ofType("kubernetes:autoscaling/v2:HorizontalPodAutoscaler")).toHaveLength(0);
  });

  it("CPU HPA: 5% of requests (the seeds' hpa.yaml), 1-10 replicas, on the rng Deployment", async () => {
    await run({});
    expect(named("rng-autoscaler-hpa").inputs.spec).toEqual({
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "rng" },
      minReplicas: 1,
      maxReplicas: 10,
      metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 5 } } }],
    });
    expect(container("rng").resources.requests.cpu).toBe("100m");
  });

  it("latency HPA: Object metric on httplat, 100m target, 1-20, windows 60/180 s, adapter installed after Prometheus", async () => {
    await run({ hpa: "latency" });
    expect(named("rng-autoscaler-hpa").inputs.spec).toEqual({
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "rng" },
      minReplicas: 1,
      maxReplicas: 20,
      metrics: [{
        type: "Object",
        object: {
          describedObject: { apiVersion: "v1", kind: "Service", name: "httplat" },
          metric: { name: "httplat_latency_seconds" },
          target: { type: "Value", value: "100m" },
        },
      }],
      behavior: { scaleUp: { stabilizationWindowSeconds: 60 }, scaleDown: { stabilizationWindowSeconds: 180 } },
    });
    const releases = ofType("kubernetes:helm.sh/v3:Release");
    expect(releases.map((r) => [r.inputs.name, r.inputs.chart, r.inputs.version, r.inputs.repositoryOpts.repo])).toEqual([
      ["prometheus", "prometheus", "27.20.0", "https://prometheus-community.github.io/helm-charts"],
      ["prometheus-adapter", "prometheus-adapter", "4.14.1", "https://prometheus-community.github.io/helm-charts"],
    ]);
    expect(named("monitoring-adapter").inputs.values.prometheus).toEqual({ url: "http://prometheus-server.dockercoins.svc", port: 80 });
    expect(named("monitoring-httplat").inputs.spec.template.spec.containers[0].env).toEqual([{ name: "HTTPLAT_URL", value: "http://rng/" }]);
  });

  it("probes hit /healthz with generous liveness, never a dependency", async () => {
    await run({});
    for (const svc of ["rng", "hasher", "worker", "webui"]) {
      expect(container(svc).livenessProbe).toEqual({ httpGet: { path: "/healthz", port: 80 }, initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6 });
      expect(container(svc).readinessProbe).toEqual({ httpGet: { path: "/healthz", port: 80 }, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 3 });
    }
    expect(container("redis").livenessProbe.exec).toEqual({ command: ["redis-cli", "ping"] });
  });

  it("non-root images may bind port 80 (a safe sysctl), redis needs nothing", async () => {
    await run({});
    for (const svc of ["rng", "hasher", "worker", "webui"]) {
      expect(deployment(svc).spec.template.spec.securityContext).toEqual({ sysctls: [{ name: "net.ipv4.ip_unprivileged_port_start", value: "0" }] });
    }
    expect(deployment("redis").spec.template.spec.securityContext).toBeUndefined();
  });

  it("zero-delay timing sets the delay variables to 0", async () => {
    await run({ timing: "zero-delay" });
    const nodeName = { name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } };
    expect(container("rng").env).toEqual([{ name: "RNG_DELAY_MS", value: "0" }, nodeName]);
    expect(container("hasher").env).toEqual([{ name: "HASHER_DELAY_MS", value: "0" }, nodeName]);
    expect(container("worker").env).toEqual([{ name: "WORKER_SLEEP_MS", value: "0" }]);
    // webui finds the replicas it shows through the headless Services.
    expect(container("webui").env).toEqual([{ name: "WATCH_REPLICAS", value: "rng=dns://rng-replicas:80,hasher=dns://hasher-replicas:80" }]);
  });

  it("load test: a siege Job, 15 concurrent, 4 minutes, against the chosen service, not awaited", async () => {
    await run({ loadTest: "hasher", prometheus: "false", hpa: "cpu" });
    const job = named("loadtest-job").inputs;
    expect(job.spec.template.spec.containers[0]).toEqual({
      name: "siege", image: "schoolofdevops/loadtest:v1", command: ["siege", "--concurrent=15", "--benchmark", "--time=4m", "http://hasher"],
    });
    expect(job.spec.template.spec.restartPolicy).toBe("Never");
    expect(job.metadata.annotations).toEqual({ "pulumi.com/skipAwait": "true" });
    expect(ofType("kubernetes:helm.sh/v3:Release")).toHaveLength(0);
    expect(ofType("docker:index/image:Image")).toHaveLength(4);
  });

  it("changing only workerReplicas changes only the worker Deployment's inputs", async () => {
    await run({ workerReplicas: "1" });
    const before = new Map(registrations.map((r) => [r.name, JSON.stringify(r.inputs)]));
    await settle();
    reset();
    await run({ workerReplicas: "7" });
    const after = new Map(registrations.map((r) => [r.name, JSON.stringify(r.inputs)]));
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    const changed = [...after.keys()].filter((k) => after.get(k) !== before.get(k));
    expect(changed).toEqual(["dockercoins-worker"]);
  });

  it("outputs", async () => {
    const out = await run({ workerReplicas: "3" });
    expect(await resolve(out.webuiUrl)).toBe("http://192.168.49.2:30080");
    expect(out.managerAddress).toBe("192.168.49.2");
    expect(out.sshCommand).toBe("minikube ssh -p minikube");
    expect(out.nodes).toEqual(["minikube 192.168.49.2"]);
    expect(out.replicas).toEqual({ worker: 3, rng: "HPA cpu 1-10", hasher: 1, webui: 1, redis: 1 });
    // Prometheus' UI on the NodePort of the chart's server Service, read back after the release.
    expect(reads).toEqual([{ type: "kubernetes:core/v1:Service", name: "monitoring-prometheus-server", id: "dockercoins/prometheus-server" }]);
    expect(await resolve(out.prometheusUrl)).toBe("http://192.168.49.2:30090");
  });

  it("Prometheus: only the server the lesson reads (no alertmanager, pushgateway, node-exporter, kube-state-metrics), on a NodePort", async () => {
    await run({});
    expect(named("monitoring-prometheus").inputs.values).toEqual({
      alertmanager: { enabled: false },
      "prometheus-pushgateway": { enabled: false },
      "prometheus-node-exporter": { enabled: false },
      "kube-state-metrics": { enabled: false },
      server: { global: { scrape_interval: "10s" }, service: { type: "NodePort" }, persistentVolume: { size: "2Gi" }, retentionSize: "1GB" },
    });
  });

  it("charts from a directory of archives where the repository cannot be reached: the archive named by chart and version", async () => {
    await run({ hpa: "latency", prometheusChartRepo: "/cache/charts/", prometheusChartVersion: "27.19.0" });
    const releases = ofType("kubernetes:helm.sh/v3:Release").map((r) => [r.inputs.name, r.inputs.chart, r.inputs.version, r.inputs.repositoryOpts]);
    expect(releases).toEqual([
      ["prometheus", "/cache/charts/prometheus-27.19.0.tgz", undefined, undefined],
      ["prometheus-adapter", "/cache/charts/prometheus-adapter-4.14.1.tgz", undefined, undefined],
    ]);
  });

  it("no Prometheus: no release, no httplat, no prometheusUrl", async () => {
    const out = await run({ prometheus: "false" });
    expect(ofType("kubernetes:helm.sh/v3:Release")).toEqual([]);
    expect(reads).toEqual([]);
    expect(out.prometheusUrl).toBeUndefined();
  });
});

describe("minikube stack with logging", () => {
  it("off by default; on: the store with its claim and NodePort, vlagent as a DaemonSet with read-only RBAC", async () => {
    await run({});
    expect(registrations.some((r) => r.name.startsWith("logs"))).toBe(false);
    reset();
    const out = await run({ logging: "true" });
    const counts = countByType();
    expect(counts["dockercoins:kubernetes:Logs"]).toBe(1);
    expect(counts["kubernetes:apps/v1:DaemonSet"]).toBe(1);
    expect(counts["kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"]).toBe(1);
    const store = named("logs-store").inputs.spec.template.spec;
    expect(store.containers[0].image).toBe("victoriametrics/victoria-logs:v1.52.1");
    expect(store.containers[0].args).toEqual(["-storageDataPath=/data", "-retentionPeriod=7d", "-retention.maxDiskSpaceUsageBytes=1GiB"]);
    expect(store.volumes).toEqual([{ name: "data", persistentVolumeClaim: { claimName: "logs-data" } }]);
    // The claim is twice the store's cap: a full store still has room to merge its parts.
    expect(named("logs-data").inputs.spec.resources.requests.storage).toBe("2Gi");
    const agent = named("logs-agent").inputs.spec.template.spec;
    expect(agent.containers[0].args).toContain("-remoteWrite.url=http://victoria-logs.dockercoins.svc:9428/insert/native");
    // Only DockerCoins' pods by default (the store has no login), never its own lines.
    expect(agent.containers[0].args).toContain('-kubernetesCollector.excludeFilter=kubernetes.pod_name:=%{HOSTNAME} or not kubernetes.pod_namespace:="dockercoins"');
    reset();
    await run({ logging: "true", logsAllNamespaces: "true" });
    expect(named("logs-agent").inputs.spec.template.spec.containers[0].args).toContain("-kubernetesCollector.excludeFilter=kubernetes.pod_name:=%{HOSTNAME}");
    expect(agent.containers[0].volumeMounts.filter((v: { readOnly?: boolean }) => v.readOnly).map((v: { mountPath: string }) => v.mountPath)).toEqual([
      "/var/log", "/var/lib/docker/containers",
    ]);
    // Read-only access to the API: pods of its node, the node, namespaces.
    expect(named("logs-agent-role").inputs.rules.flatMap((r: { verbs: string[] }) => r.verbs)).not.toContain("create");
    expect(named("logs-store-svc").inputs.spec.type).toBe("NodePort");
    expect(await resolve(out.logsUrl)).toMatch(/^http:\/\/192\.168\.49\.2:\d+\/select\/vmui\/$/);
  });
});

describe("pure helpers", () => {
  it("minikubeTag", () => {
    expect(stack.minikubeTag("rng", "sha256:0123456789abcdef0123")).toBe("dockercoins/rng:0123456789ab");
  });
  it("latency adapter rule: the workshop's PromQL, rate over 2m of sum / count", () => {
    expect(autoscaling.latencyAdapterRules()).toEqual({
      default: false,
      custom: [{
        seriesQuery: 'httplat_latency_seconds_sum{namespace!="",service!=""}',
        resources: { overrides: { namespace: { resource: "namespace" }, service: { resource: "service" } } },
        name: { matches: "^(.*)_sum$", as: "${1}" },
        metricsQuery: "sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>) / sum(rate(httplat_latency_seconds_count{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)",
      }],
    });
  });
  it("timingEnv is empty in workshop mode", () => {
    expect(["rng", "hasher", "worker", "webui", "redis"].map((s) => manifests.timingEnv(s as "rng", "workshop"))).toEqual([{}, {}, {}, {}, {}]);
  });
});

// DockerCoins on Kubernetes as plain API objects, written once: the program deploys them as Pulumi resources
// (app.ts, autoscaling.ts) and the tests apply the very same objects to a real API server (e2e), as the
// Swarm side shares its service specs with the stack file. Only `pulumi.Input` values (image references)
// differ between the two uses: plain strings in the tests.
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { Replicas, Timing } from "../config";
import { logsManifests, logsObjects, type LogsManifestArgs } from "./logs";

export type K8sService = "rng" | "hasher" | "worker" | "webui" | "redis";
export const K8S_SERVICES: K8sService[] = ["redis", "rng", "hasher", "worker", "webui"];
const PORTS: Record<K8sService, number> = { rng: 80, hasher: 80, worker: 80, webui: 80, redis: 6379 };
/** The claim redis keeps the wallet on. */
export const REDIS_CLAIM = "redis-data";

/** Zero-delay removes the workshop's 100 ms waits (rng, hasher) and the worker's 100 ms sleep. */
export function timingEnv(svc: K8sService, timing: Timing): Record<string, string> {
  if (timing === "workshop") return {};
  return ({ rng: { RNG_DELAY_MS: "0" }, hasher: { HASHER_DELAY_MS: "0" }, worker: { WORKER_SLEEP_MS: "0" } } as Partial<Record<K8sService, Record<string, string>>>)[svc] ?? {};
}

/**
 * Probes on the process's own /healthz (which answers without waiting in rng's one-at-a-time queue), so a
 * slow dependency never fails a probe: the original workshop's warning about liveness probes that check
 * dependencies and restart everything in cascade. Liveness is generous (1 min of failures) so a busy rng
 * is not killed; readiness reacts faster and only takes a pod out of its Service.
 */
export function probes(svc: K8sService): Pick<k8s.types.input.core.v1.Container, "readinessProbe" | "livenessProbe"> {
  if (svc === "redis") {
    const exec = { command: ["redis-cli", "ping"] };
    return {
      readinessProbe: { exec, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 3 },
      livenessProbe: { exec, initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6 },
    };
  }
  const httpGet = { path: "/healthz", port: 80 };
  return {
    readinessProbe: { httpGet, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 3 },
    livenessProbe: { httpGet, initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6 },
  };
}

/** The services webui's replica view shows; each has a headless `<svc>-replicas` Service listing its pods. */
const WATCHED: K8sService[] = ["rng", "hasher"];
const WATCH_REPLICAS = WATCHED.map((svc) => `${svc}=dns://${svc}-replicas:${PORTS[svc]}`).join(",");

export interface DockerCoinsManifestArgs {
  namespace: string;
  /** Image per DockerCoins service (not redis). */
  images: Record<"rng" | "hasher" | "worker" | "webui", pulumi.Input<string>>;
  /** Never for images built into the cluster's engine; IfNotPresent for a registry. */
  imagePullPolicy: "Never" | "IfNotPresent";
  redisImage: string;
  replicas: Replicas;
  timing: Timing;
  /** An HPA owns rng's replica count: the Deployment then has no `replicas` to fight it. */
  rngAutoscaled: boolean;
}

export interface DockerCoinsManifests {
  namespace: k8s.core.v1.NamespaceArgs;
  redisClaim: k8s.core.v1.PersistentVolumeClaimArgs;
  deployments: Record<K8sService, k8s.apps.v1.DeploymentArgs>;
  /**
   * None for worker: nobody calls it. webui is a NodePort, the others ClusterIP; rng-replicas and
   * hasher-replicas are headless: their DNS name lists every ready pod, for webui's replica view.
   */
  services: Record<Exclude<K8sService, "worker"> | "rng-replicas" | "hasher-replicas", k8s.core.v1.ServiceArgs>;
}

/** The namespace, redis' claim, five Deployments and four Services, each named as the service. */
export function dockerCoinsManifests(a: DockerCoinsManifestArgs): DockerCoinsManifests {
  const namespace = a.namespace;
  const replicas: Record<K8sService, number | undefined> = {
    rng: a.rngAutoscaled ? undefined : a.replicas.rng,
    hasher: a.replicas.hasher,
    worker: a.replicas.worker,
    webui: a.replicas.webui,
    redis: 1,
  };
  const deployment = (svc: K8sService): k8s.apps.v1.DeploymentArgs => {
    const labels = { app: svc };
    const env: k8s.types.input.core.v1.EnvVar[] = [
      ...Object.entries(timingEnv(svc, a.timing)).map(([name, value]) => ({ name, value })),
      ...(svc === "webui" ? [{ name: "WATCH_REPLICAS", value: WATCH_REPLICAS }] : []),
      // The node each replica runs on, for webui's replica view (the downward API).
      ...(WATCHED.includes(svc) ? [{ name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } }] : []),
    ];
    const redis = svc === "redis";
    return {
      metadata: { name: svc, namespace, labels },
      spec: {
        ...(replicas[svc] === undefined ? {} : { replicas: replicas[svc] }),
        selector: { matchLabels: labels },
        // One redis owns its volume: stop the old pod before the new one mounts it.
        ...(redis ? { strategy: { type: "Recreate" } } : {}),
        template: {
          metadata: { labels },
          spec: {
            containers: [
              {
                name: svc,
                image: redis ? a.redisImage : a.images[svc],
                imagePullPolicy: redis ? "IfNotPresent" : a.imagePullPolicy,
                ...(redis ? { args: ["--appendonly", "yes"] } : {}),
                ports: [{ containerPort: PORTS[svc] }],
                ...(env.length ? { env } : {}),
                ...probes(svc),
                // Requests make CPU-based autoscaling meaningful (utilisation is relative to them).
                resources: { requests: { cpu: "100m", memory: "64Mi" }, limits: { memory: "256Mi" } },
                ...(redis ? { volumeMounts: [{ name: "data", mountPath: "/data" }] } : {}),
              },
            ],
            // The wallet survives redis updates and restarts (the original lost it).
            ...(redis ? { volumes: [{ name: "data", persistentVolumeClaim: { claimName: REDIS_CLAIM } }] } : {}),
            // The worker flushes its count on SIGTERM within 2 s.
            terminationGracePeriodSeconds: 10,
            // The images run as the non-root `node` user on port 80, as on Swarm where Docker allows it.
            ...(redis ? {} : { securityContext: { sysctls: [{ name: "net.ipv4.ip_unprivileged_port_start", value: "0" }] } }),
          },
        },
      },
    };
  };
  // Explicit names: workers and webui find them by DNS (rng, hasher, redis).
  const service = (svc: K8sService, type: "ClusterIP" | "NodePort", headless = false): k8s.core.v1.ServiceArgs => ({
    metadata: { name: headless ? `${svc}-replicas` : svc, namespace, labels: { app: svc } },
    spec: {
      type,
      ...(headless ? { clusterIP: "None" } : {}),
      selector: { app: svc },
      ports: [{ port: PORTS[svc], targetPort: PORTS[svc] }],
    },
  });
  return {
    namespace: { metadata: { name: namespace } },
    redisClaim: {
      metadata: { name: REDIS_CLAIM, namespace },
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
    },
    deployments: Object.fromEntries(K8S_SERVICES.map((s) => [s, deployment(s)])) as Record<K8sService, k8s.apps.v1.DeploymentArgs>,
    services: {
      redis: service("redis", "ClusterIP"),
      rng: service("rng", "ClusterIP"),
      hasher: service("hasher", "ClusterIP"),
      webui: service("webui", "NodePort"),
      "rng-replicas": service("rng", "ClusterIP", true),
      "hasher-replicas": service("hasher", "ClusterIP", true),
    },
  };
}

/** The latency exporter's metric, as the original `httplat` names it. */
export const LATENCY_METRIC = "httplat_latency_seconds";

export interface RngHpaOptions {
  mode: "cpu" | "latency";
  minReplicas: number;
  maxReplicas: number;
  /** Target average CPU utilisation (cpu mode), as `kubectl autoscale --cpu-percent`. */
  cpuPercent: number;
  /** Target mean latency of rng as httplat sees it (latency mode). */
  latencyTargetMs: number;
}

/**
 * autoscaling/v2 spec for rng. CPU mode is the seeds' `kubectl autoscale --min=1 --max=10` at their hpa.yaml's
 * target; latency mode is the original's: an Object metric on the httplat Service, scale-up window 60 s,
 * scale-down 180 s (the metric lags 1-2 min behind, so shorter windows oscillate).
 */
export function rngHpaSpec(deploymentName: string, o: RngHpaOptions): k8s.types.input.autoscaling.v2.HorizontalPodAutoscalerSpec {
  const scaleTargetRef = { apiVersion: "apps/v1", kind: "Deployment", name: deploymentName };
  if (o.mode === "cpu") {
    return {
      scaleTargetRef,
      minReplicas: o.minReplicas,
      maxReplicas: o.maxReplicas,
      metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: o.cpuPercent } } }],
    };
  }
  return {
    scaleTargetRef,
    minReplicas: o.minReplicas,
    maxReplicas: o.maxReplicas,
    metrics: [
      {
        type: "Object",
        object: {
          describedObject: { apiVersion: "v1", kind: "Service", name: "httplat" },
          metric: { name: LATENCY_METRIC },
          // A quantity in seconds: 100 ms is "100m".
          target: { type: "Value", value: `${o.latencyTargetMs}m` },
        },
      },
    ],
    behavior: { scaleUp: { stabilizationWindowSeconds: 60 }, scaleDown: { stabilizationWindowSeconds: 180 } },
  };
}

/** The HPA that owns rng's replica count (named as the seeds' `kubectl autoscale deployment rng`). */
export function rngHpaManifest(namespace: string, o: RngHpaOptions): k8s.autoscaling.v2.HorizontalPodAutoscalerArgs {
  return { metadata: { name: "rng", namespace }, spec: rngHpaSpec("rng", o) };
}

/** The workshop's latency exporter: probes one URL every 10 s; its Service is annotated for Prometheus. */
export function httplatManifests(a: {
  namespace: string;
  image: pulumi.Input<string>;
  imagePullPolicy: "Never" | "IfNotPresent";
  url: string;
}): { deployment: k8s.apps.v1.DeploymentArgs; service: k8s.core.v1.ServiceArgs } {
  const labels = { app: "httplat" };
  return {
    deployment: {
      metadata: { name: "httplat", namespace: a.namespace, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            containers: [
              {
                name: "httplat",
                image: a.image,
                imagePullPolicy: a.imagePullPolicy,
                env: [{ name: "HTTPLAT_URL", value: a.url }],
                ports: [{ containerPort: 9080 }],
                readinessProbe: { httpGet: { path: "/healthz", port: 9080 }, periodSeconds: 10 },
              },
            ],
          },
        },
      },
    },
    // The Prometheus chart scrapes Services annotated like this (the seeds' `kubectl annotate`).
    service: {
      metadata: {
        name: "httplat",
        namespace: a.namespace,
        labels,
        annotations: { "prometheus.io/scrape": "true", "prometheus.io/port": "9080", "prometheus.io/path": "/metrics" },
      },
      spec: { selector: labels, ports: [{ port: 9080, targetPort: 9080 }] },
    },
  };
}

/** The seeds' load test: `siege --concurrent=15 --benchmark --time=4m http://<target>`. */
export function siegeCommand(target: "rng" | "hasher"): string[] {
  return ["siege", "--concurrent=15", "--benchmark", "--time=4m", `http://${target}`];
}

/** A 4-minute siege Job against rng or hasher, to watch the HPA react. */
export function loadTestJobManifest(namespace: string, target: "rng" | "hasher", image: string): k8s.batch.v1.JobArgs {
  return {
    // Do not hold `pulumi up` for the 4 minutes the Job runs.
    metadata: { name: "loadtest", namespace, labels: { app: "loadtest" }, annotations: { "pulumi.com/skipAwait": "true" } },
    spec: {
      backoffLimit: 4,
      template: { spec: { restartPolicy: "Never", containers: [{ name: "siege", image, command: siegeCommand(target) }] } },
    },
  };
}

/** Everything a Kubernetes target deploys as objects (Helm charts aside). */
export interface K8sPlan {
  app: DockerCoinsManifestArgs;
  httplat?: { image: pulumi.Input<string>; imagePullPolicy: "Never" | "IfNotPresent"; url: string };
  hpa?: RngHpaOptions;
  loadTest?: { target: "rng" | "hasher"; image: string };
  /** The optional log store and its collector. */
  logs?: LogsManifestArgs;
}

/**
 * The plan as one `kubectl apply -f` list, in creation order, for a plan whose images are plain strings:
 * what the tests apply to a real API server, and a way to see exactly what the program deploys.
 */
export function manifestList(plan: K8sPlan): { apiVersion: "v1"; kind: "List"; items: object[] } {
  const m = dockerCoinsManifests(plan.app);
  const ns = plan.app.namespace;
  const object = (apiVersion: string, kind: string, args: object) => ({ apiVersion, kind, ...args });
  const h = plan.httplat ? httplatManifests({ namespace: ns, ...plan.httplat }) : undefined;
  return {
    apiVersion: "v1",
    kind: "List",
    items: [
      object("v1", "Namespace", m.namespace),
      object("v1", "PersistentVolumeClaim", m.redisClaim),
      ...K8S_SERVICES.map((svc) => object("apps/v1", "Deployment", m.deployments[svc])),
      ...Object.values(m.services).map((s) => object("v1", "Service", s)),
      ...(h ? [object("apps/v1", "Deployment", h.deployment), object("v1", "Service", h.service)] : []),
      ...(plan.hpa ? [object("autoscaling/v2", "HorizontalPodAutoscaler", rngHpaManifest(ns, plan.hpa))] : []),
      ...(plan.loadTest ? [object("batch/v1", "Job", loadTestJobManifest(ns, plan.loadTest.target, plan.loadTest.image))] : []),
      ...(plan.logs ? logsObjects(logsManifests(plan.logs)).map(([apiVersion, kind, args]) => object(apiVersion, kind, args)) : []),
    ],
  };
}

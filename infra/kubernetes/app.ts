import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Replicas, Timing } from "../config";

export type K8sService = "rng" | "hasher" | "worker" | "webui" | "redis";

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

export interface DockerCoinsK8sArgs {
  /** Namespace for everything DockerCoins. */
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

const PORTS: Record<K8sService, number> = { rng: 80, hasher: 80, worker: 80, webui: 80, redis: 6379 };

/** The five DockerCoins Deployments and the Services others reach by DNS (none for worker). */
export class DockerCoinsK8s extends pulumi.ComponentResource {
  public readonly namespace: k8s.core.v1.Namespace;
  public readonly deployments: Record<K8sService, k8s.apps.v1.Deployment>;
  public readonly webuiNodePort: pulumi.Output<number>;

  constructor(name: string, args: DockerCoinsK8sArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dockercoins:kubernetes:DockerCoins", name, {}, opts);
    this.namespace = new k8s.core.v1.Namespace(`${name}-ns`, { metadata: { name: args.namespace } }, { parent: this });
    const ns = this.namespace.metadata.name;

    const replicas: Record<K8sService, number | undefined> = {
      rng: args.rngAutoscaled ? undefined : args.replicas.rng,
      hasher: args.replicas.hasher,
      worker: args.replicas.worker,
      webui: args.replicas.webui,
      redis: 1,
    };
    // The wallet survives redis updates and restarts (the original lost it).
    const redisData = new k8s.core.v1.PersistentVolumeClaim(
      `${name}-redis-data`,
      { metadata: { namespace: ns }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } },
      { parent: this },
    );
    const image = (svc: K8sService) => (svc === "redis" ? args.redisImage : args.images[svc]);

    const deploy = (svc: K8sService): k8s.apps.v1.Deployment => {
      const labels = { app: svc };
      const env = Object.entries(timingEnv(svc, args.timing)).map(([n, value]) => ({ name: n, value }));
      return new k8s.apps.v1.Deployment(
        `${name}-${svc}`,
        {
          metadata: { namespace: ns, labels },
          spec: {
            ...(replicas[svc] === undefined ? {} : { replicas: replicas[svc] }),
            selector: { matchLabels: labels },
            // One redis owns its volume: stop the old pod before the new one mounts it.
            ...(svc === "redis" ? { strategy: { type: "Recreate" } } : {}),
            template: {
              metadata: { labels },
              spec: {
                containers: [
                  {
                    name: svc,
                    image: image(svc),
                    imagePullPolicy: svc === "redis" ? "IfNotPresent" : args.imagePullPolicy,
                    ...(svc === "redis" ? { args: ["--appendonly", "yes"] } : {}),
                    ports: [{ containerPort: PORTS[svc] }],
                    ...(env.length ? { env } : {}),
                    ...probes(svc),
                    // Requests make CPU-based autoscaling meaningful (utilisation is relative to them).
                    resources: { requests: { cpu: "100m", memory: "64Mi" }, limits: { memory: "256Mi" } },
                    ...(svc === "redis" ? { volumeMounts: [{ name: "data", mountPath: "/data" }] } : {}),
                  },
                ],
                ...(svc === "redis" ? { volumes: [{ name: "data", persistentVolumeClaim: { claimName: redisData.metadata.name } }] } : {}),
                // The worker flushes its count on SIGTERM within 2 s.
                terminationGracePeriodSeconds: 10,
                // The images run as the non-root `node` user on port 80, as on Swarm where Docker allows it.
                ...(svc === "redis" ? {} : { securityContext: { sysctls: [{ name: "net.ipv4.ip_unprivileged_port_start", value: "0" }] } }),
              },
            },
          },
        },
        { parent: this },
      );
    };
    this.deployments = {
      redis: deploy("redis"),
      rng: deploy("rng"),
      hasher: deploy("hasher"),
      worker: deploy("worker"),
      webui: deploy("webui"),
    };

    const service = (svc: K8sService, type: "ClusterIP" | "NodePort") =>
      new k8s.core.v1.Service(
        `${name}-${svc}-svc`,
        {
          // Explicit names: workers and webui find them by DNS (rng, hasher, redis).
          metadata: { name: svc, namespace: ns, labels: { app: svc } },
          spec: { type, selector: { app: svc }, ports: [{ port: PORTS[svc], targetPort: PORTS[svc] }] },
        },
        { parent: this },
      );
    service("redis", "ClusterIP");
    service("rng", "ClusterIP");
    service("hasher", "ClusterIP");
    const webui = service("webui", "NodePort");
    this.webuiNodePort = webui.spec.ports[0].nodePort;

    this.registerOutputs({ namespace: ns, webuiNodePort: this.webuiNodePort });
  }
}

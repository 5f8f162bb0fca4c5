import * as docker from "@pulumi/docker";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import type { DockerCoinsConfig } from "../config";
import { ImageName, Images } from "../images";
import { DockerCoinsK8s } from "../kubernetes/app";
import type { K8sPlan } from "../kubernetes/manifests";
import { LoadTest, Monitoring, RngAutoscaler } from "../kubernetes/autoscaling";
import { KubernetesLogs } from "../kubernetes/logs";
import type { StackContext, StackOutputs } from "./types";

export const NAMESPACE = "dockercoins";

/** Images become `dockercoins/<svc>:<12 hex of the image ID>`: a new build is a new tag, hence a rollout. */
export function minikubeTag(svc: string, imageId: string): string {
  return `dockercoins/${svc}:${imageId.replace(/^sha256:/, "").slice(0, 12)}`;
}

/** The minikube node's IP, read off its engine's address (`minikube docker-env` prints tcp://<ip>:2376). */
export function minikubeIp(dockerHost: string): string {
  return new URL(dockerHost).hostname;
}

/**
 * What the minikube target deploys, from the stack's config, as the arguments of the manifest functions
 * (kubernetes/manifests.ts): the program makes Pulumi resources of them; the tests apply the same objects to a
 * real API server. Helm releases (Prometheus, its adapter) are not in it: they are charts, not objects.
 */
export function minikubePlan(cfg: DockerCoinsConfig, images: Record<ImageName, pulumi.Input<string>>): K8sPlan {
  const m = cfg.minikube;
  return {
    app: {
      namespace: NAMESPACE,
      images: { rng: images.rng, hasher: images.hasher, worker: images.worker, webui: images.webui },
      imagePullPolicy: "Never" as const,
      redisImage: cfg.redisImage,
      replicas: cfg.replicas,
      timing: cfg.timing,
      rngAutoscaled: m.hpa !== "none",
    },
    httplat: m.prometheus ? { image: images.httplat, imagePullPolicy: "Never" as const, url: `http://${m.httplatTarget}/` } : undefined,
    hpa:
      m.hpa === "none"
        ? undefined
        : { mode: m.hpa, minReplicas: m.hpaMinReplicas, maxReplicas: m.hpaMaxReplicas, cpuPercent: m.hpaCpuPercent, latencyTargetMs: m.hpaLatencyTargetMs },
    loadTest: m.loadTest === "none" ? undefined : { target: m.loadTest, image: m.loadTestImage },
    logs: cfg.logs.enabled ? { namespace: NAMESPACE, image: cfg.logs.image, agentImage: cfg.logs.agentImage, retention: cfg.logs.retention, maxDisk: cfg.logs.maxDisk, allNamespaces: cfg.logs.allNamespaces } : undefined,
  };
}

/** minikube: images built straight into its Docker engine, DockerCoins as Deployments, HPA on rng. */
export function minikubeStack(cfg: DockerCoinsConfig, ctx: StackContext): StackOutputs {
  const m = cfg.minikube;
  const k8sProvider = new k8s.Provider("minikube", { context: m.kubeContext });
  const engine = new docker.Provider("minikube-docker", {
    host: m.dockerHost,
    certPath: m.dockerCertPath ?? path.join(ctx.homeDir, ".minikube", "certs"),
  });

  const names: ImageName[] = ["rng", "hasher", "worker", "webui", ...(m.prometheus ? (["httplat"] as const) : [])];
  const images = new Images(
    "images",
    { names, context: path.join(ctx.projectDir, "app"), nodeImage: cfg.nodeImage },
    { provider: engine },
  );
  const ref = (svc: ImageName) =>
    new docker.Tag(`image-${svc}-tag`, { sourceImage: images.refs[svc], targetImage: images.refs[svc].apply((id) => minikubeTag(svc, id)) }, { provider: engine }).targetImage;

  const plan = minikubePlan(cfg, { rng: ref("rng"), hasher: ref("hasher"), worker: ref("worker"), webui: ref("webui"), httplat: m.prometheus ? ref("httplat") : "" });
  const app = new DockerCoinsK8s("dockercoins", plan.app, { provider: k8sProvider });
  // The namespace's name is known; depending on the namespace resource keeps creation and deletion in order.
  const inApp = { provider: k8sProvider, dependsOn: [app.namespace] };
  const monitoring = m.prometheus
    ? new Monitoring(
        "monitoring",
        {
          namespace: NAMESPACE,
          prometheusChartVersion: m.prometheusChartVersion,
          chartRepo: m.prometheusChartRepo,
          latencyMetrics: m.hpa === "latency",
          adapterChartVersion: m.prometheusAdapterChartVersion,
          httplat: plan.httplat,
        },
        inApp,
      )
    : undefined;
  if (plan.hpa) new RngAutoscaler("rng-autoscaler", { namespace: NAMESPACE, ...plan.hpa }, { provider: k8sProvider, dependsOn: [app.deployments.rng] });
  if (plan.loadTest) new LoadTest("loadtest", { namespace: NAMESPACE, ...plan.loadTest }, { provider: k8sProvider, dependsOn: [app] });
  const autoscaled = plan.hpa !== undefined;
  const logs = plan.logs ? new KubernetesLogs("logs", plan.logs, inApp) : undefined;

  return {
    webuiUrl: app.webuiNodePort.apply((p) => `http://${minikubeIp(m.dockerHost)}:${p}`),
    managerAddress: minikubeIp(m.dockerHost),
    sshCommand: `minikube ssh -p ${m.kubeContext}`,
    nodes: [`${m.kubeContext} ${minikubeIp(m.dockerHost)}`],
    replicas: {
      worker: cfg.replicas.worker,
      rng: autoscaled ? `HPA ${m.hpa} ${m.hpaMinReplicas}-${m.hpaMaxReplicas}` : cfg.replicas.rng,
      hasher: cfg.replicas.hasher,
      webui: cfg.replicas.webui,
      redis: 1,
    },
    logsUrl: logs?.nodePort.apply((p) => `http://${minikubeIp(m.dockerHost)}:${p}/select/vmui/`),
    prometheusUrl: monitoring?.nodePort.apply((p) => `http://${minikubeIp(m.dockerHost)}:${p}`),
  };
}

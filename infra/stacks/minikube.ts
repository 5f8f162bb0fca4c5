import * as docker from "@pulumi/docker";
import * as k8s from "@pulumi/kubernetes";
import * as path from "path";
import type { DockerCoinsConfig } from "../config";
import { ImageName, Images } from "../images";
import { DockerCoinsK8s } from "../kubernetes/app";
import { LoadTest, Monitoring, RngAutoscaler } from "../kubernetes/autoscaling";
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

  const autoscaled = m.hpa !== "none";
  const app = new DockerCoinsK8s(
    "dockercoins",
    {
      namespace: NAMESPACE,
      images: { rng: ref("rng"), hasher: ref("hasher"), worker: ref("worker"), webui: ref("webui") },
      imagePullPolicy: "Never",
      redisImage: cfg.redisImage,
      replicas: cfg.replicas,
      timing: cfg.timing,
      rngAutoscaled: autoscaled,
    },
    { provider: k8sProvider },
  );
  const ns = app.namespace.metadata.name;

  if (m.prometheus) {
    new Monitoring(
      "monitoring",
      {
        namespace: ns,
        prometheusChartVersion: m.prometheusChartVersion,
        latencyMetrics: m.hpa === "latency",
        adapterChartVersion: m.prometheusAdapterChartVersion,
        httplat: { image: ref("httplat"), imagePullPolicy: "Never", url: `http://${m.httplatTarget}/` },
      },
      { provider: k8sProvider },
    );
  }
  if (m.hpa !== "none") {
    new RngAutoscaler(
      "rng-autoscaler",
      {
        namespace: ns,
        deploymentName: app.deployments.rng.metadata.name,
        mode: m.hpa,
        minReplicas: m.hpaMinReplicas,
        maxReplicas: m.hpaMaxReplicas,
        cpuPercent: m.hpaCpuPercent,
        latencyTargetMs: m.hpaLatencyTargetMs,
      },
      { provider: k8sProvider },
    );
  }
  if (m.loadTest !== "none") {
    new LoadTest("loadtest", { namespace: ns, target: m.loadTest, image: m.loadTestImage }, { provider: k8sProvider, dependsOn: [app] });
  }

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
  };
}

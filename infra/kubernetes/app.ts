import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { dockerCoinsManifests, K8S_SERVICES, type DockerCoinsManifestArgs, type K8sService } from "./manifests";

export type DockerCoinsK8sArgs = DockerCoinsManifestArgs;

/** The five DockerCoins Deployments and the Services others reach by DNS (none for worker). */
export class DockerCoinsK8s extends pulumi.ComponentResource {
  public readonly namespace: k8s.core.v1.Namespace;
  public readonly deployments: Record<K8sService, k8s.apps.v1.Deployment>;
  public readonly webuiNodePort: pulumi.Output<number>;

  constructor(name: string, args: DockerCoinsK8sArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dockercoins:kubernetes:DockerCoins", name, {}, opts);
    const m = dockerCoinsManifests(args);
    this.namespace = new k8s.core.v1.Namespace(`${name}-ns`, m.namespace, { parent: this });
    // Everything else lives in the namespace: created after it, deleted before it.
    const inNamespace = { parent: this, dependsOn: [this.namespace] };
    const claim = new k8s.core.v1.PersistentVolumeClaim(`${name}-redis-data`, m.redisClaim, inNamespace);
    this.deployments = Object.fromEntries(
      K8S_SERVICES.map((svc) => [
        svc,
        new k8s.apps.v1.Deployment(`${name}-${svc}`, m.deployments[svc], svc === "redis" ? { ...inNamespace, dependsOn: [this.namespace, claim] } : inNamespace),
      ]),
    ) as Record<K8sService, k8s.apps.v1.Deployment>;
    const services = Object.fromEntries(
      Object.entries(m.services).map(([svc, spec]) => [svc, new k8s.core.v1.Service(`${name}-${svc}-svc`, spec, inNamespace)]),
    );
    this.webuiNodePort = services.webui.spec.ports[0].nodePort;
    this.registerOutputs({ namespace: this.namespace.metadata.name, webuiNodePort: this.webuiNodePort });
  }
}

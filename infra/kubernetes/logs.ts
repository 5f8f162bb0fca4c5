// The optional log store on Kubernetes (config `logging`), as plain API objects like manifests.ts: one
// VictoriaLogs with its own claim, reachable on a NodePort like webui, and the cluster's usual collector, a
// DaemonSet: vlagent reads every container's log files on its node, adds the pod's Kubernetes fields, unpacks
// JSON lines into fields and ships them to the store. Nothing here runs unless logging is on.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

export const LOGS_STORE = "victoria-logs";
export const LOGS_AGENT = "vlagent";
export const LOGS_CLAIM = "logs-data";
const STORE_PORT = 9428;

export interface LogsManifestArgs {
  namespace: string;
  /** victoriametrics/victoria-logs:<version> */
  image: string;
  /** victoriametrics/vlagent:<version> */
  agentImage: string;
  /** How long lines are kept, e.g. 7d. */
  retention: string;
  /** The most disk the store may use, e.g. 1GiB; its volume claims twice that (room for the store's merges). */
  maxDisk: string;
  /** Collect every namespace's pods; by default only `namespace`'s (other teams' lines have no place in a store without login). */
  allNamespaces?: boolean;
}

export interface LogsManifests {
  claim: k8s.core.v1.PersistentVolumeClaimArgs;
  store: k8s.apps.v1.DeploymentArgs;
  /** NodePort: the UI at http://<node>:<port>/select/vmui/, the query API beside it. */
  service: k8s.core.v1.ServiceArgs;
  serviceAccount: k8s.core.v1.ServiceAccountArgs;
  /** What vlagent reads: the pods of its node, the node, the namespaces. */
  clusterRole: k8s.rbac.v1.ClusterRoleArgs;
  clusterRoleBinding: k8s.rbac.v1.ClusterRoleBindingArgs;
  agent: k8s.apps.v1.DaemonSetArgs;
}

/** Twice the store's cap, in Kubernetes' units ("1GiB" -> "2Gi"): a full store still has room to merge. */
function claimFor(maxDisk: string): string {
  const m = /^(\d+)(MiB|GiB)$/.exec(maxDisk);
  if (!m) throw new Error(`maxDisk must be a size such as 512MiB or 2GiB, got ${JSON.stringify(maxDisk)}`);
  return `${2 * Number(m[1])}${m[2] === "GiB" ? "Gi" : "Mi"}`;
}

export function logsManifests(a: LogsManifestArgs): LogsManifests {
  const { namespace } = a;
  const storeLabels = { app: LOGS_STORE };
  const agentLabels = { app: LOGS_AGENT };
  // Cluster-wide names carry the namespace: two stacks in two namespaces do not collide.
  const clusterName = `${LOGS_AGENT}-${namespace}`;
  const http = { path: "/health", port: STORE_PORT };
  return {
    claim: {
      metadata: { name: LOGS_CLAIM, namespace },
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: claimFor(a.maxDisk) } } },
    },
    store: {
      metadata: { name: LOGS_STORE, namespace, labels: storeLabels },
      spec: {
        replicas: 1,
        selector: { matchLabels: storeLabels },
        // One store owns its volume: stop the old pod before the new one mounts it.
        strategy: { type: "Recreate" },
        template: {
          metadata: { labels: storeLabels },
          spec: {
            containers: [
              {
                name: LOGS_STORE,
                image: a.image,
                imagePullPolicy: "IfNotPresent",
                args: ["-storageDataPath=/data", `-retentionPeriod=${a.retention}`, `-retention.maxDiskSpaceUsageBytes=${a.maxDisk}`],
                ports: [{ containerPort: STORE_PORT }],
                readinessProbe: { httpGet: http, periodSeconds: 5 },
                livenessProbe: { httpGet: http, initialDelaySeconds: 10, periodSeconds: 10, failureThreshold: 6 },
                // VictoriaLogs sizes its caches from this limit (60 % of it by default).
                resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "512Mi" } },
                volumeMounts: [{ name: "data", mountPath: "/data" }],
              },
            ],
            volumes: [{ name: "data", persistentVolumeClaim: { claimName: LOGS_CLAIM } }],
          },
        },
      },
    },
    service: {
      metadata: { name: LOGS_STORE, namespace, labels: storeLabels },
      spec: { type: "NodePort", selector: storeLabels, ports: [{ port: STORE_PORT, targetPort: STORE_PORT }] },
    },
    serviceAccount: { metadata: { name: LOGS_AGENT, namespace } },
    clusterRole: {
      metadata: { name: clusterName },
      rules: [
        { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] },
        { apiGroups: [""], resources: ["nodes"], verbs: ["get"] },
        { apiGroups: [""], resources: ["namespaces"], verbs: ["list"] },
      ],
    },
    clusterRoleBinding: {
      metadata: { name: clusterName },
      subjects: [{ kind: "ServiceAccount", name: LOGS_AGENT, namespace }],
      roleRef: { kind: "ClusterRole", name: clusterName, apiGroup: "rbac.authorization.k8s.io" },
    },
    agent: {
      metadata: { name: LOGS_AGENT, namespace, labels: agentLabels },
      spec: {
        selector: { matchLabels: agentLabels },
        template: {
          metadata: { labels: agentLabels },
          spec: {
            serviceAccountName: LOGS_AGENT,
            containers: [
              {
                name: LOGS_AGENT,
                image: a.agentImage,
                imagePullPolicy: "IfNotPresent",
                args: [
                  "-kubernetesCollector",
                  `-remoteWrite.url=http://${LOGS_STORE}.${namespace}.svc:${STORE_PORT}/insert/native`,
                  // Its checkpoints and its buffer while the store is away stay on the node across restarts.
                  "-tmpDataPath=/vlagent-data",
                  // Not its own lines (it would log about shipping them), expanded from the pod's name; and,
                  // unless asked, no other namespace's (the store has no login).
                  "-envflag.enable",
                  `-kubernetesCollector.excludeFilter=kubernetes.pod_name:=%{HOSTNAME}${a.allNamespaces ? "" : ` or not kubernetes.pod_namespace:="${namespace}"`}`,
                ],
                env: [{ name: "HOSTNAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }],
                ports: [{ containerPort: 9429 }],
                resources: { requests: { cpu: "20m", memory: "32Mi" }, limits: { memory: "256Mi" } },
                volumeMounts: [
                  { name: "varlog", mountPath: "/var/log", readOnly: true },
                  // With the Docker runtime (minikube's default) the files in /var/log/pods link into Docker's.
                  { name: "docker-logs", mountPath: "/var/lib/docker/containers", readOnly: true },
                  { name: "state", mountPath: "/vlagent-data" },
                ],
              },
            ],
            volumes: [
              { name: "varlog", hostPath: { path: "/var/log" } },
              { name: "docker-logs", hostPath: { path: "/var/lib/docker/containers" } },
              { name: "state", hostPath: { path: `/var/lib/vlagent-${namespace}`, type: "DirectoryOrCreate" } },
            ],
          },
        },
      },
    },
  };
}

/** The objects in creation order, as [apiVersion, kind, args]. */
export function logsObjects(m: LogsManifests): [string, string, object][] {
  return [
    ["v1", "PersistentVolumeClaim", m.claim],
    ["apps/v1", "Deployment", m.store],
    ["v1", "Service", m.service],
    ["v1", "ServiceAccount", m.serviceAccount],
    ["rbac.authorization.k8s.io/v1", "ClusterRole", m.clusterRole],
    ["rbac.authorization.k8s.io/v1", "ClusterRoleBinding", m.clusterRoleBinding],
    ["apps/v1", "DaemonSet", m.agent],
  ];
}

/** The store, its NodePort Service and the collector DaemonSet with its RBAC, as Pulumi resources. */
export class KubernetesLogs extends pulumi.ComponentResource {
  public readonly nodePort: pulumi.Output<number>;

  constructor(name: string, args: LogsManifestArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dockercoins:kubernetes:Logs", name, {}, opts);
    const m = logsManifests(args);
    const child = { parent: this };
    const claim = new k8s.core.v1.PersistentVolumeClaim(`${name}-data`, m.claim, child);
    new k8s.apps.v1.Deployment(`${name}-store`, m.store, { ...child, dependsOn: [claim] });
    const service = new k8s.core.v1.Service(`${name}-store-svc`, m.service, child);
    const account = new k8s.core.v1.ServiceAccount(`${name}-agent-sa`, m.serviceAccount, child);
    const role = new k8s.rbac.v1.ClusterRole(`${name}-agent-role`, m.clusterRole, child);
    const binding = new k8s.rbac.v1.ClusterRoleBinding(`${name}-agent-binding`, m.clusterRoleBinding, { ...child, dependsOn: [role, account] });
    new k8s.apps.v1.DaemonSet(`${name}-agent`, m.agent, { ...child, dependsOn: [binding] });
    this.nodePort = service.spec.ports[0].nodePort;
    this.registerOutputs({ nodePort: this.nodePort });
  }
}

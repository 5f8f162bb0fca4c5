// The Kubernetes target's objects on a real API server: the very objects the program deploys for the
// minikube example stack (infra/kubernetes/manifests.ts via minikubePlan), applied with kubectl to etcd and
// kube-apiserver v1.34 built from the Go module proxy. The server validates and defaults them as a cluster
// does, so a field it would refuse or rewrite (a perpetual diff) shows here, with no Pulumi engine needed.
// Nothing runs pods yet (no kubelet): these checks are about the objects.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exampleObjects, goMissing, KubeControlPlane, kubeBinaries } from "./lib/kube";
import { Phases } from "./lib/run";

const IMAGES = { rng: "dockercoins/rng:e2e", hasher: "dockercoins/hasher:e2e", worker: "dockercoins/worker:e2e", webui: "dockercoins/webui:e2e", httplat: "dockercoins/httplat:e2e" };
/** The example stack's objects, with config overrides (`pulumi config set`). */
const objects = (overrides: Record<string, string> = {}) => exampleObjects(IMAGES, overrides);

if (goMissing) console.warn("[kubernetes objects] SKIPPED: no `go` on PATH to build etcd and kube-apiserver (scripts/kube-build.sh needs Go 1.24+)");

describe.skipIf(goMissing)("the minikube target's objects on a real kube-apiserver", () => {
  const phases = new Phases("kubernetes objects");
  let kube: KubeControlPlane;

  beforeAll(async () => {
    const bin = await phases.time("Kubernetes binaries (scripts/kube-build.sh)", kubeBinaries);
    kube = new KubeControlPlane(bin);
    await phases.time("etcd and kube-apiserver up", () => kube.up());
  }, 60 * 60_000);
  afterAll(async () => {
    await kube?.down();
    console.log(`[kubernetes objects] wall time per step\n${phases.table()}`);
  });

  it("is a v1.34 API server", async () => {
    const v = JSON.parse((await kube.kubectl(["version", "-o", "json"])).stdout);
    expect(v.serverVersion.gitVersion).toBe("v1.34.4");
  });

  it("accepts every object of the example stack (server-side dry run, then for real)", async () => {
    const list = JSON.parse(objects());
    const kinds = list.items.map((o: { kind: string; metadata: { name: string } }) => `${o.kind}/${o.metadata.name}`);
    expect(kinds).toEqual([
      "Namespace/dockercoins", "PersistentVolumeClaim/redis-data",
      "Deployment/redis", "Deployment/rng", "Deployment/hasher", "Deployment/worker", "Deployment/webui",
      "Service/redis", "Service/rng", "Service/hasher", "Service/webui", "Service/rng-replicas", "Service/hasher-replicas",
      "Deployment/httplat", "Service/httplat", "HorizontalPodAutoscaler/rng",
    ]);
    // The namespace must exist before a dry run of what is in it.
    await kube.kubectl(["apply", "--server-side", "-f", "-"], { input: JSON.stringify({ ...list, items: [list.items[0]] }) });
    const dry = await kube.kubectl(["apply", "--server-side", "--dry-run=server", "-f", "-"], { input: objects() });
    expect(dry.stdout.trim().split("\n")).toHaveLength(16);
    const applied = await kube.kubectl(["apply", "--server-side", "-f", "-"], { input: objects() });
    expect(applied.stdout).toContain("deployment.apps/rng serverside-applied");
  });

  it("reads back as written: names, probes on /healthz, the HPA on Deployment rng, webui a NodePort", async () => {
    const get = async (what: string) => JSON.parse((await kube.kubectl(["-n", "dockercoins", "get", what, "-o", "json"])).stdout);
    const rng = await get("deployment/rng");
    expect(rng.spec.template.spec.containers[0].livenessProbe.httpGet.path).toBe("/healthz");
    expect(rng.spec.template.spec.securityContext.sysctls).toEqual([{ name: "net.ipv4.ip_unprivileged_port_start", value: "0" }]);
    expect((await get("deployment/worker")).spec.replicas).toBe(10);
    const hpa = await get("hpa/rng");
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: "apps/v1", kind: "Deployment", name: "rng" });
    expect(hpa.spec.metrics[0].resource.target.averageUtilization).toBe(5);
    const webui = await get("service/webui");
    expect(webui.spec.type).toBe("NodePort");
    expect(webui.spec.ports[0].nodePort).toBeGreaterThanOrEqual(30000);
    expect((await get("pvc/redis-data")).spec.resources.requests.storage).toBe("1Gi");
  });

  it("no drift: applying the same objects again changes nothing", async () => {
    // kubectl diff exits 0 when the server's result equals what is stored, 1 when it differs.
    const diff = await kube.kubectl(["diff", "--server-side", "-f", "-"], { input: objects(), allowFailure: true });
    expect(diff.code, diff.stdout).toBe(0);
  });

  it("config set workerReplicas 5: exactly one object changes, the worker Deployment's replicas", async () => {
    const diff = await kube.kubectl(["diff", "--server-side", "-f", "-"], { input: objects({ "dockercoins:workerReplicas": "5" }), allowFailure: true });
    expect(diff.code).toBe(1);
    const changed = [...diff.stdout.matchAll(/^\+\+\+ \S+\/([\w.]+\.\w+\.\w+\.[\w-]+)/gm)].map((m) => m[1]);
    expect(changed).toEqual(["apps.v1.Deployment.dockercoins.worker"]);
    expect(diff.stdout).toMatch(/^-\s+replicas: 10$/m);
    expect(diff.stdout).toMatch(/^\+\s+replicas: 5$/m);
  });

  it("the other variants are valid too: latency HPA, zero-delay, the load-test Job, no HPA", async () => {
    for (const overrides of <Record<string, string>[]>[
      { "dockercoins:hpa": "latency" },
      { "dockercoins:timing": "zero-delay", "dockercoins:loadTest": "rng" },
      { "dockercoins:hpa": "none", "dockercoins:prometheus": "false", "dockercoins:rngReplicas": "3" },
    ]) {
      const r = await kube.kubectl(["apply", "--server-side", "--dry-run=server", "-f", "-"], { input: objects(overrides), allowFailure: true });
      expect(r.code, `${JSON.stringify(overrides)}: ${r.stderr}`).toBe(0);
    }
  });

  it("logging on adds the store, its claim and NodePort, and the collector with read-only RBAC; all accepted; nothing else changes", async () => {
    const list = JSON.parse(objects({ "dockercoins:logging": "true" }));
    const extra = list.items.slice(16).map((o: { kind: string; metadata: { name: string } }) => `${o.kind}/${o.metadata.name}`);
    expect(extra).toEqual([
      "PersistentVolumeClaim/logs-data", "Deployment/victoria-logs", "Service/victoria-logs",
      "ServiceAccount/vlagent", "ClusterRole/vlagent-dockercoins", "ClusterRoleBinding/vlagent-dockercoins", "DaemonSet/vlagent",
    ]);
    const applied = await kube.kubectl(["apply", "--server-side", "-f", "-"], { input: JSON.stringify(list) });
    expect(applied.stdout).toContain("daemonset.apps/vlagent serverside-applied");
    const agent = JSON.parse((await kube.kubectl(["-n", "dockercoins", "get", "daemonset/vlagent", "-o", "json"])).stdout);
    expect(agent.spec.template.spec.serviceAccountName).toBe("vlagent");
    // The collector may read what it needs and nothing more: the API server answers for its account.
    const can = async (verb: string, what: string) =>
      (await kube.kubectl(["auth", "can-i", verb, what, "--as=system:serviceaccount:dockercoins:vlagent"], { allowFailure: true })).stdout.trim();
    expect([await can("watch", "pods"), await can("get", "nodes"), await can("list", "namespaces")]).toEqual(["yes", "yes", "yes"]);
    expect([await can("delete", "pods"), await can("get", "secrets"), await can("create", "deployments")]).toEqual(["no", "no", "no"]);
    // Turning it off again: the 16 objects of the app are as they were (a server-side diff finds nothing).
    const diff = await kube.kubectl(["diff", "--server-side", "-f", "-"], { input: objects(), allowFailure: true });
    expect(diff.code, diff.stdout).toBe(0);
    await kube.kubectl(["delete", "-f", "-", "--wait=false"], { input: JSON.stringify({ ...list, items: list.items.slice(16) }) });
  });

  it("the server does refuse what is invalid (this check can fail)", async () => {
    const list = JSON.parse(objects());
    list.items.find((o: { kind: string; metadata: { name: string } }) => o.kind === "Deployment" && o.metadata.name === "rng").spec.template.spec.containers[0].ports[0].containerPort = 0;
    const r = await kube.kubectl(["apply", "--server-side", "--dry-run=server", "-f", "-"], { input: JSON.stringify(list), allowFailure: true });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/The Deployment "rng" is invalid: spec.template.spec.containers\[0\].ports\[0\].containerPort/);
  });
});

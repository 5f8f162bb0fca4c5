import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { freePort } from "../../app/test/helpers.js";
import { parseConfig } from "../../infra/config";
import type { ImageName } from "../../infra/images";
import { manifestList } from "../../infra/kubernetes/manifests";
import { minikubePlan } from "../../infra/stacks/minikube";
import { ROOT } from "./pulumi";
import { run, waitFor, type RunResult } from "./run";

// A real Kubernetes control plane (etcd and kube-apiserver, built from the Go module proxy by
// scripts/kube-build.sh) as two local processes on free ports: the API server validates, defaults and
// stores objects exactly as a cluster's does. Nothing runs pods: that needs a kubelet (a later stage).

/** The binaries are built with Go: a machine without it cannot build them (the suites then skip, saying so). */
export const goMissing = spawnSync("go", ["version"]).status !== 0;

/** infra/examples/Pulumi.minikube.yaml's config, as a user copies it. */
export const exampleConfig = parse(readFileSync(join(ROOT, "infra/examples/Pulumi.minikube.yaml"), "utf8")).config as Record<string, string>;

/**
 * What the minikube target deploys for the example stack with `pulumi config set` overrides and these
 * images, as one `kubectl apply -f -` list (JSON).
 */
export function exampleObjects(images: Record<ImageName, string>, overrides: Record<string, string> = {}): string {
  return JSON.stringify(manifestList(minikubePlan(parseConfig({ ...exampleConfig, ...overrides }), images)));
}

/** scripts/kube-build.sh's bin directory (builds what is missing: minutes on a cold cache). */
export async function kubeBinaries(): Promise<string> {
  const r = await run(join(ROOT, "scripts/kube-build.sh"), [], { timeoutMs: 60 * 60_000 });
  process.stderr.write(r.stderr.split("\n").filter((l) => l.startsWith("[kube-build]")).join("\n") + "\n");
  return r.stdout.trim().split("\n").pop()!;
}

/** An address other than loopback: the API server advertises it in the `kubernetes` Service. */
function advertiseAddress(): string {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  return "10.0.0.1";
}

export class KubeControlPlane {
  readonly dir = mkdtempSync(join(tmpdir(), "dockercoins-kube-"));
  readonly kubeconfig = join(this.dir, "kubeconfig");
  private readonly procs: ChildProcess[] = [];
  private readonly logs: Record<string, string> = {};

  constructor(private readonly bin: string) {}

  private start(name: string, args: string[]): void {
    const p = spawn(join(this.bin, name), args, { stdio: ["ignore", "pipe", "pipe"] });
    this.logs[name] = "";
    const keep = (b: Buffer) => (this.logs[name] = (this.logs[name] + b.toString()).slice(-20_000));
    p.stdout!.on("data", keep);
    p.stderr!.on("data", keep);
    this.procs.push(p);
  }

  /** The last lines a component printed, for a failure message. */
  log(name: string): string {
    return (this.logs[name] ?? "").split("\n").slice(-30).join("\n");
  }

  async up(): Promise<void> {
    const [client, peer, secure] = [await freePort(), await freePort(), await freePort()];
    this.start("etcd", [
      "--name=default", `--data-dir=${join(this.dir, "etcd")}`,
      `--listen-client-urls=http://127.0.0.1:${client}`, `--advertise-client-urls=http://127.0.0.1:${client}`,
      `--listen-peer-urls=http://127.0.0.1:${peer}`, `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-cluster=default=http://127.0.0.1:${peer}`, "--log-level=warn",
    ]);
    // The service-account signing key, and one static admin token (group system:masters).
    await run("openssl", ["genrsa", "-out", join(this.dir, "sa.key"), "2048"]);
    await run("openssl", ["rsa", "-in", join(this.dir, "sa.key"), "-pubout", "-out", join(this.dir, "sa.pub")]);
    const token = `e2e-${Math.random().toString(36).slice(2)}`;
    writeFileSync(join(this.dir, "tokens.csv"), `${token},admin,admin,"system:masters"\n`);
    this.start("kube-apiserver", [
      `--etcd-servers=http://127.0.0.1:${client}`, "--bind-address=127.0.0.1", `--secure-port=${secure}`,
      `--advertise-address=${advertiseAddress()}`, `--cert-dir=${join(this.dir, "certs")}`,
      `--token-auth-file=${join(this.dir, "tokens.csv")}`, "--authorization-mode=RBAC",
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      `--service-account-key-file=${join(this.dir, "sa.pub")}`, `--service-account-signing-key-file=${join(this.dir, "sa.key")}`,
      "--service-cluster-ip-range=10.96.0.0/16", "--v=0",
    ]);
    writeFileSync(this.kubeconfig, [
      "apiVersion: v1", "kind: Config", "current-context: e2e",
      "clusters: [{name: e2e, cluster: {server: 'https://127.0.0.1:" + secure + "', insecure-skip-tls-verify: true}}]",
      `users: [{name: admin, user: {token: '${token}'}}]`,
      "contexts: [{name: e2e, context: {cluster: e2e, user: admin}}]", "",
    ].join("\n"));
    await waitFor("kube-apiserver ready", async () => {
      for (const p of this.procs) if (p.exitCode !== null) throw new Error(`${p.spawnfile} exited:\n${this.log(p.spawnfile.split("/").pop()!)}`);
      const r = await this.kubectl(["get", "--raw", "/readyz"], { allowFailure: true });
      return r.stdout.trim() === "ok" ? true : undefined;
    }, 90_000);
  }

  kubectl(args: string[], opts: { input?: string; allowFailure?: boolean } = {}): Promise<RunResult> {
    return run(join(this.bin, "kubectl"), ["--kubeconfig", this.kubeconfig, ...args], { timeoutMs: 60_000, ...opts });
  }

  async down(): Promise<void> {
    for (const p of this.procs.reverse()) if (p.exitCode === null) p.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 500));
    for (const p of this.procs) if (p.exitCode === null) p.kill("SIGKILL");
    if (existsSync(this.dir)) rmSync(this.dir, { recursive: true, force: true });
  }
}

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { NODE_CAPABILITIES, NODE_SECURITY_OPTS, nodeAddress } from "../../infra/hosts/local";
import { planNodes } from "../../infra/swarm/cluster";
import {
  bootstrapDockerScript,
  checkJoinToken,
  joinTokenScript,
  labelNodeScript,
  remoteBash,
  swarmInitScript,
  swarmJoinScript,
  waitForSshScript,
} from "../../infra/swarm/scripts";
import {
  dockercoinsServices,
  NETWORK_NAME,
  REGISTRY_PORT,
  registryService,
  type DockerCoinsServicesOptions,
} from "../../infra/swarm/dockercoins";
import type { LabAccess } from "../../infra/netlab/lab";
import { renderStackFile } from "../../infra/swarm/stackfile";
import { docker, Phases, removeLabelled, run, waitFor, type RunOptions } from "./run";

// A 5-node Swarm on this machine built the way the Pulumi program's `local` target builds it: the same
// node image and container settings (infra/hosts/local.ts), the same rendered bootstrap scripts run over
// SSH (infra/swarm/scripts.ts), the same registry and service specs (infra/swarm/dockercoins.ts), deployed
// as a stack file (infra/swarm/stackfile.ts) on the manager. Everything it makes carries the label
// org.dockercoins.e2e=<prefix>, so teardown finds it even after a crash.

export const ROOT = resolve(__dirname, "../..");
export const STACK = "dockercoins";
/** The app images the e2e builds from app/<name>/Dockerfile. */
export const APP_SERVICES = ["rng", "hasher", "worker", "webui"] as const;

export interface PlaygroundOptions {
  /** Prefix of container, network and volume names, and the cleanup label's value. */
  prefix: string;
  nodeCount: number;
  managerCount: 1 | 3 | 5;
  /** Private bridge subnet (a /24) for the nodes. */
  subnet: string;
  webuiPort: number;
}

export interface PlaygroundNode {
  name: string;
  container: string;
  address: string;
  sshPort: number;
}

export type Images = DockerCoinsServicesOptions["images"];

export class SwarmPlayground {
  readonly label: string;
  readonly phases: Phases;
  nodes: PlaygroundNode[] = [];
  registryHostPort = 0;
  webuiHostPort = 0;
  images?: Images;
  private keyDir?: string;
  private currentRngMode?: DockerCoinsServicesOptions["rngMode"];

  constructor(readonly opts: PlaygroundOptions) {
    this.label = `org.dockercoins.e2e=${opts.prefix}`;
    this.phases = new Phases(opts.prefix);
  }

  get manager(): PlaygroundNode {
    return this.nodes[0];
  }

  get webuiUrl(): string {
    return `http://127.0.0.1:${this.webuiHostPort}`;
  }

  private get network(): string {
    return `${this.opts.prefix}-nodes`;
  }

  // ---------------------------------------------------------------- SSH, as Pulumi's remote.Command does it
  private sshArgs(node: PlaygroundNode): string[] {
    return [
      "-i", join(this.keyDir!, "id_ed25519"),
      "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
      "-o", "BatchMode=yes", "-o", "ConnectTimeout=5",
      "-o", "ControlMaster=auto", "-o", `ControlPath=${this.keyDir}/cm-%p`, "-o", "ControlPersist=120",
      "-p", String(node.sshPort), "root@127.0.0.1",
    ];
  }

  /** Runs a rendered script on a node exactly as SwarmCluster does: `bash -c '<script>'` over SSH. */
  script(node: PlaygroundNode, script: string, opts: RunOptions = {}) {
    return run("ssh", [...this.sshArgs(node), remoteBash(script)], { timeoutMs: 300_000, ...opts });
  }

  /** Any shell command on a node. */
  /** How the network lab reaches this Swarm: what a stack's sshCommand and nodes outputs would say. */
  labAccess(): LabAccess {
    return {
      keyPath: join(this.keyDir!, "id_ed25519"),
      user: "root",
      host: "127.0.0.1",
      port: this.manager.sshPort,
      nodes: this.nodes.map((n) => ({ name: n.name, address: n.address })),
      overlay: NETWORK_NAME,
    };
  }

  sh(node: PlaygroundNode, command: string, opts: RunOptions = {}) {
    return run("ssh", [...this.sshArgs(node), command], { timeoutMs: 120_000, ...opts });
  }

  async managerSh(command: string, opts: RunOptions = {}): Promise<string> {
    return (await this.sh(this.manager, command, opts)).stdout;
  }

  // ---------------------------------------------------------------- bring-up
  async up(): Promise<void> {
    const p = this.phases;
    await p.time("prepare machine (packages, dockerd, base images)", async () => {
      await run("bash", [join(ROOT, "scripts/prepare-machine.sh")], { timeoutMs: 900_000 });
    });
    await this.down(); // leftovers of an earlier, killed run
    this.keyDir = mkdtempSync(join(tmpdir(), `${this.opts.prefix}-ssh-`));
    await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", this.opts.prefix, "-f", join(this.keyDir, "id_ed25519")]);

    await p.time("build node image", () =>
      docker(["build", "-q", "--force-rm", "-t", `${this.opts.prefix}-node:latest`, join(ROOT, "infra/node-image")], { timeoutMs: 900_000 }),
    );
    await p.time(`start ${this.opts.nodeCount} node containers`, () => this.startNodes());
    await p.time("form the swarm over SSH (rendered scripts)", () => this.formSwarm());
    await p.time("registry on the manager", () => this.startRegistry());
    this.images = await p.time("build and push images (by digest)", () => this.buildAndPushImages());
  }

  private async startNodes(): Promise<void> {
    const { prefix, nodeCount, subnet, webuiPort } = this.opts;
    await docker(["network", "create", "--driver", "bridge", "--subnet", subnet, "--label", this.label, this.network]);
    const publicKey = readFileSync(join(this.keyDir!, "id_ed25519.pub"), "utf8").trim();
    for (let i = 1; i <= nodeCount; i++) {
      const name = `node${i}`;
      const container = `${prefix}-${name}`;
      const volume = `${prefix}-${name}-docker`;
      await docker(["volume", "create", "--label", this.label, volume]);
      // Ports on 127.0.0.1 only, picked by the engine (no clash with a running Pulumi playground).
      const ports = ["-p", "127.0.0.1::22", ...(i === 1 ? ["-p", `127.0.0.1::${REGISTRY_PORT}`, "-p", `127.0.0.1::${webuiPort}`] : [])];
      await docker([
        "run", "-d", "--name", container, "--hostname", name, "--label", this.label,
        ...NODE_CAPABILITIES.adds.flatMap((c) => ["--cap-add", c]),
        ...NODE_CAPABILITIES.drops.flatMap((c) => ["--cap-drop", c]),
        ...NODE_SECURITY_OPTS.flatMap((o) => ["--security-opt", o]),
        "--cgroupns", "private", "--tmpfs", "/run", "--tmpfs", "/tmp",
        "-v", `${volume}:/var/lib/docker`,
        "--network", this.network, "--ip", nodeAddress(subnet, i),
        "-e", `SSH_AUTHORIZED_KEY=${publicKey}`,
        ...ports,
        `${prefix}-node:latest`,
      ]);
    }
    this.nodes = [];
    for (let i = 1; i <= nodeCount; i++) {
      const container = `${prefix}-node${i}`;
      const port = async (p: number) => Number((await docker(["port", container, `${p}/tcp`])).stdout.trim().split(":").pop());
      this.nodes.push({ name: `node${i}`, container, address: nodeAddress(subnet, i), sshPort: await port(22) });
      if (i === 1) {
        this.registryHostPort = await port(REGISTRY_PORT);
        this.webuiHostPort = await port(webuiPort);
      }
    }
  }

  private async formSwarm(): Promise<void> {
    const registry = `${this.manager.address}:${REGISTRY_PORT}`;
    await Promise.all(
      this.nodes.map(async (n) => {
        await waitFor(`ssh to ${n.name}`, async () => ((await this.script(n, waitForSshScript(), { timeoutMs: 10_000 })).code === 0 ? true : undefined), 60_000, 500);
        await this.script(n, bootstrapDockerScript({ insecureRegistries: [registry] }));
      }),
    );
    await this.script(this.manager, swarmInitScript({ advertiseAddr: this.manager.address }));
    const token = async (role: "manager" | "worker") => (await this.script(this.manager, joinTokenScript(role))).stdout.trim();
    const tokens = { manager: await token("manager"), worker: await token("worker") };
    const plan = planNodes(this.nodes.map((n) => n.name), this.opts.managerCount);
    const join = (i: number) =>
      this.script(this.nodes[i], swarmJoinScript({ managerAddr: this.manager.address, advertiseAddr: this.nodes[i].address }), {
        input: checkJoinToken(tokens[plan[i].role]),
      });
    // Managers one at a time (Raft), then workers together: SwarmCluster's order.
    for (let i = 1; i < plan.length; i++) if (plan[i].role === "manager") await join(i);
    await Promise.all(plan.map((n, i) => (i > 0 && n.role === "worker" ? join(i) : null)));
    for (let i = 0; i < plan.length; i++) {
      await this.script(this.manager, labelNodeScript({ nodeAddress: this.nodes[i].address, labels: plan[i].labels }));
    }
  }

  private async startRegistry(): Promise<void> {
    // The registry's own image cannot come from the registry: load it (on clouds it is pulled from Hub).
    const saved = await run("bash", ["-c", `docker save registry:2 | ssh ${this.sshArgs(this.manager).map((a) => `'${a}'`).join(" ")} docker load`], { timeoutMs: 180_000 });
    void saved;
    const stack = renderStackFile([registryService({ image: "registry:2", endpointMode: "dnsrr" })]);
    await this.sh(this.manager, "docker stack deploy --resolve-image never -c - registry", { input: stack });
    await waitFor("the registry on 127.0.0.1", async () => {
      const res = await fetch(`http://127.0.0.1:${this.registryHostPort}/v2/`, { signal: AbortSignal.timeout(2000) });
      return res.ok ? true : undefined;
    }, 120_000);
  }

  /** Builds on this machine's engine, pushes through the manager's published registry port, returns digest refs. */
  private async buildAndPushImages(): Promise<Images> {
    const local = `127.0.0.1:${this.registryHostPort}`;
    const remote = `${this.manager.address}:${REGISTRY_PORT}`;
    const push = async (source: string, repo: string): Promise<string> => {
      await docker(["tag", source, `${local}/${repo}:e2e`]);
      const out = (await docker(["push", `${local}/${repo}:e2e`], { timeoutMs: 600_000 })).stdout;
      const digest = /digest: (sha256:[0-9a-f]{64})/.exec(out)?.[1];
      if (!digest) throw new Error(`no digest in the output of docker push ${repo}:\n${out}`);
      return `${remote}/${repo}@${digest}`;
    };
    const build = (tag: string, dockerfile: string, context: string) =>
      docker(["build", "-q", "--force-rm", "-f", dockerfile, "-t", tag, context], { timeoutMs: 900_000 });
    for (const svc of APP_SERVICES) {
      await build(`dockercoins/${svc}:e2e`, join(ROOT, "app", svc, "Dockerfile"), join(ROOT, "app"));
    }
    await build("dockercoins/debug:e2e", join(ROOT, "e2e/debug-image/Dockerfile"), join(ROOT, "e2e/debug-image"));
    const refs: Record<string, string> = {};
    for (const svc of APP_SERVICES) refs[svc] = await push(`dockercoins/${svc}:e2e`, `dockercoins/${svc}`);
    refs.redis = await push("redis:7-bookworm", "dockercoins/redis");
    refs.debug = await push("dockercoins/debug:e2e", "dockercoins/debug");
    return refs as unknown as Images;
  }

  // ---------------------------------------------------------------- DockerCoins
  servicesOptions(over: Partial<Omit<DockerCoinsServicesOptions, "replicas">> & { replicas?: Partial<DockerCoinsServicesOptions["replicas"]> } = {}): DockerCoinsServicesOptions {
    return {
      images: this.images!,
      rngMode: "replicated",
      endpointMode: "dnsrr", // no IPVS on this kernel: see shared/ENVIRONMENT.md
      webuiPort: this.opts.webuiPort,
      timing: "workshop",
      debug: true,
      ...over,
      replicas: { worker: 1, rng: 1, hasher: 2, webui: 1, ...over.replicas },
    };
  }

  /**
   * Renders the specs and `docker stack deploy`s them on the manager, then waits for every service to
   * converge. A change of rng mode first removes rng (Swarm cannot switch it; Pulumi replaces it too).
   */
  async deploy(opts: DockerCoinsServicesOptions): Promise<void> {
    if (this.currentRngMode && this.currentRngMode !== opts.rngMode) {
      await this.managerSh(`docker service rm ${STACK}_rng`);
      await waitFor("old rng tasks to go", async () => {
        const out = (await this.sh(this.manager, `docker ps -q --filter label=com.docker.swarm.service.name=${STACK}_rng`)).stdout.trim();
        return out === "" ? true : undefined;
      }, 60_000);
    }
    const stack = renderStackFile(dockercoinsServices(opts), { network: NETWORK_NAME });
    await this.sh(this.manager, `docker stack deploy --resolve-image never -c - ${STACK}`, { input: stack });
    this.currentRngMode = opts.rngMode;
    await this.waitConverged();
  }

  /** Every service of the stack at its desired task count, no update in progress. */
  async waitConverged(timeoutMs = 300_000): Promise<void> {
    let last = "";
    await waitFor(`stack ${STACK} to converge`, async () => {
      last = await this.managerSh(
        `docker service ls --filter label=com.docker.stack.namespace=${STACK} --format '{{.Name}} {{.Replicas}}' && ` +
          `for s in $(docker service ls -q --filter label=com.docker.stack.namespace=${STACK}); do ` +
          `docker service inspect -f '{{.Spec.Name}} update={{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}' $s; done`,
      );
      const replicasOk = last
        .split("\n")
        .filter((l) => /^\S+ \d+\/\d+/.test(l))
        .every((l) => {
          const [a, b] = l.split(" ")[1].split("/").map(Number);
          return a === b && b > 0 ? true : a === b;
        });
      const updating = /update=(updating|rollback_started|paused|rollback_paused)/.test(last);
      return replicasOk && !updating ? true : undefined;
    }, timeoutMs, 2000).catch((e) => {
      throw new Error(`${(e as Error).message}\nlast state:\n${last}`);
    });
  }

  /** Node name -> running task count of a service. */
  async tasksByNode(service: string): Promise<Record<string, number>> {
    const out = await this.managerSh(`docker service ps ${STACK}_${service} --filter desired-state=running --format '{{.Node}} {{.CurrentState}}'`);
    const byNode: Record<string, number> = {};
    for (const line of out.trim().split("\n").filter(Boolean)) {
      const [node, state] = line.split(" ");
      if (state === "Running") byNode[node] = (byNode[node] ?? 0) + 1;
    }
    return byNode;
  }

  /** Runs a command in the debug task on the manager: a shell inside the overlay network. */
  async inOverlay(command: string, timeoutMs = 120_000): Promise<string> {
    const id = (await this.managerSh(`docker ps -q --filter label=com.docker.swarm.service.name=${STACK}_debug | head -1`)).trim();
    if (!id) throw new Error("no debug task on the manager");
    return (await this.sh(this.manager, `docker exec ${id} sh -c ${JSON.stringify(command).replace(/\$/g, "\\$")}`, { timeoutMs })).stdout;
  }

  // ---------------------------------------------------------------- teardown
  /** Removes every container, network and volume carrying our label; returns what is still there. */
  async down(): Promise<string[]> {
    const left = await removeLabelled(this.label);
    if (this.keyDir) {
      rmSync(this.keyDir, { recursive: true, force: true });
      this.keyDir = undefined;
    }
    return left;
  }

}

import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import type { DockerCoinsConfig } from "../config";
import type { Host } from "../hosts/host";
import { knownHostsLine } from "../hosts/host-key";
import { knownHostsPath, writeKnownHosts } from "../hosts/sshkey";
import { DOCKERCOINS_SERVICES, Images } from "../images";
import { SwarmCluster } from "../swarm/cluster";
import { SwarmServices } from "../swarm/services";
import { dockercoinsServices, NODE_LABELS, REGISTRY_PORT, registryService } from "../swarm/dockercoins";
import { Login } from "../swarm/login";
import { LOGS_UI_PATH, logStoreService, shipLogs } from "../swarm/logs";
import type { SwarmServiceSpec } from "../swarm/spec";
import { pinImageScript, remoteBash } from "../swarm/scripts";
import type { StackContext, StackOutputs } from "./types";

/**
 * With dnsrr, webui is published in host mode and constrained to nodes labelled for it: label the first
 * `webuiReplicas` nodes (node1 first, the one whose port the playground publishes). With vip the routing
 * mesh publishes it on every node and no extra label is needed.
 */
export function webuiLabels(hostNames: string[], cfg: Pick<DockerCoinsConfig, "endpointMode" | "replicas">): Record<string, Record<string, string>> {
  if (cfg.endpointMode === "vip") return {};
  return Object.fromEntries(hostNames.slice(0, cfg.replicas.webui).map((n) => [n, { [NODE_LABELS.webui]: "true" }]));
}

/**
 * ssh options of the Docker provider's \`ssh://\` transport: the manager must offer the host key the stack
 * learned (a known_hosts file of that one key), or the connection stops. Without a learned key (under mocks)
 * nothing is checked.
 */
export function dockerSshOpts(keyPath: string, knownHosts: string | undefined): string[] {
  const hostKeys =
    knownHosts === undefined
      ? ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
      : ["-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${knownHosts}`];
  return ["-i", keyPath, "-o", "IdentitiesOnly=yes", ...hostKeys, "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=20"];
}

/** A non-root login needs the docker group for the Docker provider's `docker system dial-stdio`. */
export const DOCKER_GROUP_SCRIPT =
  'set -eu; if [ "$(id -u)" -ne 0 ] && ! id -nG | grep -qw docker; then sudo usermod -aG docker "$(id -un)"; fi; echo ok';

export interface SwarmDeployment {
  hosts: Host[];
  privateKey: pulumi.Input<string>;
  privateKeyPath: pulumi.Output<string>;
  /**
   * Where images are built and pushed: `local` builds on this machine's engine and pushes to the
   * manager's registry through a published port; `manager` builds on the manager's engine over SSH and
   * pushes to 127.0.0.1:5000 there.
   */
  build: { on: "local"; pushRegistry: string } | { on: "manager" };
  /** Resources the manager's Docker provider needs (the generated key file), so they outlive its resources. */
  dependsOn?: pulumi.Resource[];
  /** Machines nothing else guards: the registry, the log store and Swarm's ports for the nodes and these CIDRs only. */
  guard?: { adminCidrs: string[] };
}

/** Swarm -> registry -> images -> DockerCoins services: the part every Swarm target shares. */
export function deploySwarm(
  cfg: DockerCoinsConfig,
  ctx: Pick<StackContext, "projectDir" | "providerPath">,
  d: SwarmDeployment,
): Omit<StackOutputs, "webuiUrl" | "sshCommand"> & { services: SwarmServices; sshToManager: pulumi.Output<string> } {
  const first = d.hosts[0];
  const pullRegistry = pulumi.interpolate`${first.privateAddress}:${REGISTRY_PORT}`;

  const cluster = new SwarmCluster("swarm", {
    hosts: d.hosts,
    managerCount: cfg.managerCount,
    privateKey: d.privateKey,
    insecureRegistries: [pullRegistry],
    registryMirrors: cfg.registryMirror ? [cfg.registryMirror] : [],
    defaultAddrPool: cfg.swarmAddressPool,
    extraLabels: webuiLabels(d.hosts.map((h) => h.name), cfg),
    ...(d.guard ? { guard: { publishedPorts: [REGISTRY_PORT, cfg.logs.port], adminCidrs: d.guard.adminCidrs } } : {}),
  });

  // The manager's learned host key goes to known_hosts beside the key file as soon as it is known, on its way
  // into the manager's commands: the Docker provider (which waits for one of them) and sshCommand read it there.
  // The file's path is known in a preview even while the key is not (node1 being re-created).
  const knownHosts = first.hostKey === undefined ? undefined : d.privateKeyPath.apply((keyPath) => knownHostsPath(path.dirname(keyPath)));
  const managerHostKey =
    first.hostKey === undefined
      ? undefined
      : pulumi.all([d.privateKeyPath, first.sshHost, first.sshPort, first.hostKey]).apply(([keyPath, host, port, key]) => {
          writeKnownHosts(path.dirname(keyPath), knownHostsLine(host, port, key));
          return key;
        });
  const managerConnection = {
    host: first.sshHost,
    port: first.sshPort,
    user: first.sshUser,
    privateKey: d.privateKey,
    ...(managerHostKey === undefined ? {} : { hostKey: managerHostKey }),
  };
  const dockerGroup = new command.remote.Command(
    "manager-docker-group",
    {
      connection: managerConnection,
      create: DOCKER_GROUP_SCRIPT,
    },
    { dependsOn: cluster.ready },
  );

  const manager = new docker.Provider(
    "manager",
    {
      // Known only once the manager is ready: on a first preview the provider stays unconfigured (its
      // resources show as creates) instead of dialling a machine that does not exist yet.
      host: pulumi.all([cluster.managerDockerHost, dockerGroup.id]).apply(([host]) => host),
      sshOpts: pulumi
        .all([d.privateKeyPath, knownHosts])
        .apply(([keyPath, file]) => dockerSshOpts(ctx.providerPath(keyPath), file === undefined ? undefined : ctx.providerPath(file))),
    },
    // A generated key file (SshKey) is what `ssh -i` reads: created before, deleted after, every use of this provider.
    { dependsOn: [...cluster.ready, dockerGroup, ...(d.dependsOn ?? [])] },
  );

  // Images given by tag (registry, redis, debug) are pinned by digest on the manager: Swarm would resolve
  // the tag itself and every later preview would show the difference.
  const pin = (name: string, image: string) =>
    specImage(
      new command.remote.Command(
        `${name}-image-pin`,
        { connection: managerConnection, create: remoteBash(pinImageScript(image)) },
        { dependsOn: [dockerGroup] },
      ).stdout.apply((out) => out.trim().split("\n").pop() || image),
    );

  // The optional log store, on the first manager; every other service's engine ships its lines there.
  const logStore = cfg.logs.enabled
    ? new SwarmServices("logs", {
        provider: manager,
        specs: [logStoreService({ image: pin("logs", cfg.logs.image), endpointMode: cfg.endpointMode, port: cfg.logs.port, retention: cfg.logs.retention, maxDisk: cfg.logs.maxDisk })],
        // Its own network: the engines reach the store through its host-mode port, not through an overlay.
        networkName: "dockercoins-logs",
      })
    : undefined;
  const storeUrl = specString(pulumi.interpolate`http://${first.privateAddress}:${cfg.logs.port}`);
  const shipped = (specs: SwarmServiceSpec[]) => (logStore ? shipLogs(specs, storeUrl) : specs);

  const registry = new SwarmServices("registry", {
    provider: manager,
    specs: shipped([registryService({ image: pin("registry", cfg.registryImage), endpointMode: cfg.endpointMode })]),
    // Its own network: the registry is reached through its host-mode port, not the app's overlay.
    networkName: "dockercoins-registry",
  });

  const images = new Images(
    "images",
    {
      names: DOCKERCOINS_SERVICES,
      context: path.join(ctx.projectDir, "app"),
      nodeImage: cfg.nodeImage,
      registry: {
        push: d.build.on === "local" ? d.build.pushRegistry : `127.0.0.1:${REGISTRY_PORT}`,
        pull: pullRegistry,
        // A new registry service (a new Swarm: new machines, or a lone first manager whose host was lost) is
        // an empty registry. Its id is known in a preview unless it is being re-created, so a preview shows
        // the images replaced exactly when they will be. (The same service on a new first host, whose volume
        // was lost with the old one, keeps its id: scripts/up.sh's heal asks for the push itself.)
        identity: registry.services.registry.id,
      },
    },
    // Pushes need the registry running (Images hands this dependsOn to each image).
    { dependsOn: [registry], ...(d.build.on === "manager" ? { provider: manager } : {}) },
  );

  // The app services wait for their images through the digest refs in their inputs.
  const services = new SwarmServices("dockercoins", {
    provider: manager,
    managerConnection,
    hostIdentities: d.hosts.map((h) => h.identity ?? ""),
    specs: shipped(dockercoinsServices({
      images: { ...digestRefs(images.refs), redis: pin("redis", cfg.redisImage), ...(cfg.debugService ? { debug: pin("debug", cfg.debugImage) } : {}) },
      replicas: cfg.replicas,
      rngMode: cfg.rngMode,
      endpointMode: cfg.endpointMode,
      webuiPort: cfg.webuiPort,
      timing: cfg.timing,
      debug: cfg.debugService,
    })),
  });

  // The login of the person the cluster is for (a class's student), once Docker (its group) is there.
  const login = cfg.login && new Login("login", { hosts: d.hosts, privateKey: d.privateKey, ...cfg.login, dependsOn: cluster.ready });

  return {
    managerAddress: cluster.managerAddress,
    ...(login ? { loginCommand: login.sshCommand } : {}),
    nodes: cluster.nodes.apply((ns) => ns.map((n) => `${n.name} ${n.role} ${n.address}`)),
    replicas: swarmReplicas(cfg),
    services,
    // The stack's sshCommand: the key file, and the manager's learned host key where there is one.
    sshToManager: pulumi
      .all([d.privateKeyPath, knownHosts, first.sshHost, first.sshPort, first.sshUser])
      .apply(([keyPath, file, host, port, user]) =>
        ["ssh", "-i", keyPath, ...(file ? ["-o", `UserKnownHostsFile=${file}`] : []), ...(port === 22 ? [] : ["-p", String(port)]), `${user}@${host}`].join(" "),
      ),
  };
}

/** The log store's web UI at `host` (how the user reaches the first manager), when logging is on. */
export function logsUiUrl(cfg: Pick<DockerCoinsConfig, "logs">, host: pulumi.Input<string>): pulumi.Output<string> | undefined {
  return cfg.logs.enabled ? pulumi.interpolate`http://${host}:${cfg.logs.port}${LOGS_UI_PATH}` : undefined;
}

/**
 * The image digests are Outputs (known after the push) while SwarmServiceSpec.image is a plain string,
 * because the same specs render the stack file. toServiceArgs and dockercoinsServices only pass `image`
 * through, never read it, so the Output travels inside the spec to docker.Service's inputs, where Pulumi
 * resolves it. Tested in swarm-stacks.test.ts; drop this once the spec accepts pulumi.Input<string>.
 */
export function digestRefs(refs: Record<string, pulumi.Output<string>>): Record<"rng" | "hasher" | "worker" | "webui", string> {
  return { rng: specImage(refs.rng), hasher: specImage(refs.hasher), worker: specImage(refs.worker), webui: specImage(refs.webui) };
}

/** An image reference known later (an Output) where a spec takes a string: see digestRefs. */
export function specImage(ref: pulumi.Output<string>): string {
  return specString(ref);
}

/** Any value known later (an image digest, a node's address) where a spec takes a string: see digestRefs. */
export function specString(value: pulumi.Output<string>): string {
  return value as unknown as string;
}

/** Replica counts as the user sees them; a global rng runs one task per node. */
export function swarmReplicas(cfg: Pick<DockerCoinsConfig, "replicas" | "rngMode" | "nodeCount" | "logs">): Record<string, number | string> {
  return {
    worker: cfg.replicas.worker,
    rng: cfg.rngMode === "global" ? `global (${cfg.nodeCount})` : cfg.replicas.rng,
    hasher: cfg.replicas.hasher,
    webui: cfg.replicas.webui,
    redis: 1,
    registry: 1,
    ...(cfg.logs.enabled ? { logs: 1 } : {}),
  };
}

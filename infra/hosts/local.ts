import * as command from "@pulumi/command";
import { execFileSync } from "node:child_process";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { buildPlatform } from "../images";
import { normalizeContextModes } from "../images/context-modes";
import { ADDR_POOL_FORMAT, DOCKER_ADDR_POOL } from "../swarm/scripts";
import { Host } from "./host";
import { HostKey } from "./host-key";

/**
 * The subnet of the playground's live node network, or undefined when there is none: what \`docker network
 * inspect\` of this machine's engine says (the engine the playground runs on).
 */
export function liveSubnet(network: string): string | undefined {
  try {
    return execFileSync("docker", ["network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}} {{end}}", network], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim().split(" ")[0] || undefined;
  } catch {
    return undefined; // no such network (a fresh up) or no engine answering (the up says so itself)
  }
}

/**
 * Why a subnet change is refused on a live playground, or undefined when there is none: every node's address
 * comes from it, so a new subnet means five new machines whose Swarm state names the old addresses, and
 * the network (a fixed name) would have to go while the nodes are still on it. Refused in the preview.
 */
export function subnetChangeRefusal(network: string, live: string | undefined, wanted: string): string | undefined {
  if (live === undefined || live === wanted) return undefined;
  return (
    `dockercoins:localSubnet = "${wanted}" cannot be applied to the live playground: its nodes are on ${live} ` +
    `(network ${network}), and every node's address and Swarm membership comes from it. ` +
    `Set it back (pulumi config set dockercoins:localSubnet ${live}), or run \`pulumi destroy\` first and then \`pulumi up\` ` +
    `with the new subnet (a new cluster: the wallet and the logs start empty).`
  );
}

/**
 * The overlay address pool the playground's Swarm was formed with, read from the first node's engine ("a b"
 * for several); undefined when that node is not there or in no Swarm (a fresh up: nothing to compare).
 */
export function liveAddressPool(firstNode: string): string | undefined {
  try {
    const out = execFileSync(
      "docker",
      ["exec", firstNode, "docker", "info", "--format", `{{.Swarm.LocalNodeState}} ${ADDR_POOL_FORMAT}`],
      { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 20_000 },
    ).trim().split(" ");
    return out[0] === "active" && out.length > 1 ? out.slice(1).join(" ") : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Why a swarmAddressPool change is refused on a live playground, or undefined: Swarm fixes its pool when it
 * forms. Refused in the preview here; on other targets the init step stops the up with the same reason.
 */
export function addressPoolChangeRefusal(live: string | undefined, wanted: string | undefined): string | undefined {
  const want = wanted ?? DOCKER_ADDR_POOL;
  if (live === undefined || live === want) return undefined;
  return (
    `dockercoins:swarmAddressPool = ${wanted === undefined ? `unset (Docker's ${DOCKER_ADDR_POOL})` : `"${wanted}"`} cannot be applied ` +
    `to the live playground: its Swarm was formed with ${live}, and a Swarm's address pool is fixed when it forms. ` +
    `Set it back (${live === DOCKER_ADDR_POOL ? "pulumi config rm dockercoins:swarmAddressPool" : `pulumi config set dockercoins:swarmAddressPool ${live}`}), ` +
    `or run \`pulumi destroy\` first and then \`pulumi up\` (a new Swarm: the wallet and the logs start empty).`
  );
}

export interface PublishedPort {
  internal: number;
  external: number;
}

/** Where the playground's node addresses come from: a private /24, node i at .(10 + i). */
export function nodeAddress(subnet: string, index: number): string {
  const base = subnet.split("/")[0].split(".").slice(0, 3).join(".");
  return `${base}.${10 + index}`;
}

/**
 * Ports a node publishes on 127.0.0.1 of the machine: every node its SSH (for Pulumi), and the first node
 * (the manager, which runs the registry and, in the playground, the webui) the registry, webui and log store ports.
 */
export function nodePorts(index: number, p: { sshBasePort: number; registryPort: number; webuiPort: number; logsPort: number }): PublishedPort[] {
  const ssh = { internal: 22, external: p.sshBasePort + index - 1 };
  // The log store's port is published whether logging is on or not: turning it on must not re-create node1.
  return index === 1
    ? [ssh, { internal: 5000, external: p.registryPort }, { internal: p.webuiPort, external: p.webuiPort }, { internal: p.logsPort, external: p.logsPort }]
    : [ssh];
}

// docker-in-docker without --privileged (which fails where CAP_SYS_RESOURCE is withheld): every capability
// but that one, and no seccomp/apparmor, so the inner dockerd can mount cgroups and overlays. Written as the
// engine reports them back ("CAP_SYS_RESOURCE"), else a refresh finds a difference that replaces every node.
// `systempaths=unconfined` is left out for the same reason (the engine applies it but does not list it): the
// node's entrypoint unmounts the read-only /proc paths itself.
export const NODE_CAPABILITIES = { adds: ["ALL"], drops: ["CAP_SYS_RESOURCE"] };
export const NODE_SECURITY_OPTS = ["seccomp=unconfined", "apparmor=unconfined"];

/**
 * Copies images from this machine's engine into a node's engine: the Swarm's own singletons (registry,
 * redis) then start without pulling, so the playground works offline (with the images present here) and
 * pulls each image once instead of once per node. Missing images are pulled here first.
 */
export function preloadScript(): string {
  return [
    "set -eu",
    'for img in $IMAGES; do docker image inspect "$img" >/dev/null 2>&1 || docker pull "$img"; done',
    'for _ in $(seq 1 60); do docker exec "$NODE" docker info >/dev/null 2>&1 && break; sleep 1; done',
    'docker save $IMAGES | docker exec -i "$NODE" docker load',
  ].join("\n");
}

export interface LocalHostsArgs {
  /** Number of node containers. */
  count: number;
  /** Prefix of container, network and volume names, e.g. `dockercoins-dev`. */
  prefix: string;
  /** Private bridge subnet (a /24) the nodes live on. */
  subnet: string;
  /** Build context of the node image (dockerd + sshd). */
  nodeImageContext: string;
  /** Public half of the key Pulumi logs in with; the image installs it for root. */
  sshPublicKey: pulumi.Input<string>;
  sshBasePort: number;
  registryPort: number;
  webuiPort: number;
  /** The optional log store's port (see nodePorts). */
  logsPort: number;
  /** Images to copy from this machine's engine into every node (empty: the nodes pull what they need). */
  preloadImages: string[];
}

/** N node containers on the local Docker engine, each running dockerd and sshd: a 5-VM lab on one machine. */
export class LocalHosts extends pulumi.ComponentResource {
  public readonly hosts: Host[];
  public readonly containers: docker.Container[];
  public readonly network: docker.Network;

  constructor(name: string, args: LocalHostsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dockercoins:hosts:LocalHosts", name, {}, opts);
    const child = { parent: this };

    // Built on this machine's engine and never pushed: the containers use its image ID. Its context's modes
    // made umask-independent first: a changed digest would re-create every node.
    normalizeContextModes(args.nodeImageContext);
    const image = new docker.Image(
      `${name}-node-image`,
      {
        imageName: `${args.prefix}-node:latest`,
        build: { context: args.nodeImageContext, platform: buildPlatform() },
        skipPush: true,
      },
      child,
    );

    this.network = new docker.Network(
      `${name}-net`,
      { name: `${args.prefix}-nodes`, driver: "bridge", ipamConfigs: [{ subnet: args.subnet }] },
      child,
    );

    this.containers = Array.from({ length: args.count }, (_, i) => {
      const node = `node${i + 1}`;
      // A named volume: the inner engine gets overlay2 storage, and destroy removes it.
      const volume = new docker.Volume(`${name}-${node}-docker`, { name: `${args.prefix}-${node}-docker` }, child);
      return new docker.Container(
        `${name}-${node}`,
        {
          name: `${args.prefix}-${node}`,
          hostname: node,
          image: image.repoDigest,
          capabilities: NODE_CAPABILITIES,
          securityOpts: NODE_SECURITY_OPTS,
          // Private cgroup namespace: what the inner dockerd needs on cgroup v2 hosts (Docker Desktop).
          cgroupnsMode: "private",
          tmpfs: { "/run": "", "/tmp": "" },
          volumes: [{ volumeName: volume.name, containerPath: "/var/lib/docker" }],
          envs: [pulumi.interpolate`SSH_AUTHORIZED_KEY=${args.sshPublicKey}`],
          networksAdvanced: [{ name: this.network.name, ipv4Address: nodeAddress(args.subnet, i + 1) }],
          ports: nodePorts(i + 1, args).map((p) => ({ ...p, ip: "127.0.0.1", protocol: "tcp" })),
          restart: "unless-stopped",
          mustRun: true,
        },
        child,
      );
    });

    const ready = this.containers.map((c, i) =>
      args.preloadImages.length === 0
        ? c
        : new command.local.Command(
            `${name}-node${i + 1}-preload`,
            {
              create: preloadScript(),
              environment: { NODE: c.name, IMAGES: args.preloadImages.join(" ") },
              triggers: [c.id],
            },
            { parent: this, dependsOn: [c] },
          ),
    );

    this.hosts = this.containers.map((c, i) => ({
      name: `node${i + 1}`,
      sshHost: "127.0.0.1",
      sshPort: args.sshBasePort + i,
      sshUser: "root",
      privateAddress: nodeAddress(args.subnet, i + 1),
      dependsOn: [ready[i]],
      identity: c.id,
      // Each node's sshd makes its keys when the container first starts: learned then, on this machine.
      hostKey: new HostKey(`${name}-node${i + 1}-host-key`, { host: "127.0.0.1", port: args.sshBasePort + i, identity: c.id }, { parent: this, dependsOn: [ready[i]] }).hostKey,
    }));

    this.registerOutputs({ containers: this.containers.map((c) => c.name), network: this.network.name });
  }
}

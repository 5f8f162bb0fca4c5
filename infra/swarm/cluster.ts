import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { Host } from "../hosts/host";
import {
  bootstrapDockerScript,
  drainAndRemoveNodeScript,
  joinTokenScript,
  leaveSwarmScript,
  labelNodeScript,
  remoteBash,
  scriptHash,
  swarmInitScript,
  swarmJoinScript,
  waitForSshScript,
} from "./scripts";
import { NETWORK_NAME, NODE_LABELS } from "./services";
import type { SwarmServiceSpec } from "./spec";

export type NodeRole = "manager" | "worker";

export interface NodePlan {
  name: string;
  role: NodeRole;
  /** The first manager runs `swarm init`; the others join it. */
  initialises: boolean;
  labels: Record<string, string>;
}

/**
 * Who is what: the first `managerCount` hosts are managers (the first of them initialises the Swarm),
 * the rest workers. The first host also carries the labels that pin redis, the registry and (host-mode)
 * webui, so the node whose ports the playground publishes is the one running them.
 */
export function planNodes(hostNames: string[], managerCount: number): NodePlan[] {
  if (![1, 3, 5].includes(managerCount)) {
    throw new Error(`managerCount must be 1, 3 or 5 (an odd number keeps Raft's quorum), got ${managerCount}`);
  }
  if (hostNames.length < managerCount) {
    throw new Error(`managerCount (${managerCount}) cannot exceed the number of hosts (${hostNames.length})`);
  }
  if (new Set(hostNames).size !== hostNames.length) throw new Error(`host names must be unique, got ${hostNames.join(", ")}`);
  return hostNames.map((name, i) => ({
    name,
    role: i < managerCount ? "manager" : "worker",
    initialises: i === 0,
    labels: {
      "dockercoins.node": name,
      ...(i === 0 ? { [NODE_LABELS.redis]: "true", [NODE_LABELS.registry]: "true", [NODE_LABELS.webui]: "true" } : {}),
    },
  }));
}

export interface SwarmClusterArgs {
  /** Machines reachable over SSH, in order; node names come from Host.name. */
  hosts: Host[];
  /** Managers among them (the first ones). */
  managerCount: 1 | 3 | 5;
  /** SSH private key for every host, a secret. */
  privateKey: pulumi.Input<string>;
  /** Registries every engine may use over plain HTTP, e.g. `<first manager address>:5000`. */
  insecureRegistries: pulumi.Input<string>[];
  /** Extra node labels by host name, merged over planNodes' defaults. */
  extraLabels?: Record<string, Record<string, string>>;
}

export interface SwarmNodeOutput {
  name: string;
  role: NodeRole;
  address: string;
  nodeId: string;
}

/**
 * A Docker Swarm formed over SSH on the given hosts with the rendered scripts of scripts.ts:
 * wait for SSH -> bootstrap Docker on every host -> init on the first manager -> read join tokens ->
 * join the other managers one by one, then the workers -> label the nodes. Destroy drains and removes
 * each node, and the nodes leave the Swarm.
 */
export class SwarmCluster extends pulumi.ComponentResource {
  /** Address (private) of the manager that initialised the Swarm. */
  public readonly managerAddress: pulumi.Output<string>;
  /** `ssh://user@host:port` of that manager, for a docker.Provider. */
  public readonly managerDockerHost: pulumi.Output<string>;
  public readonly nodes: pulumi.Output<SwarmNodeOutput[]>;
  /** Depend on these to run after the Swarm is complete and labelled. */
  public readonly ready: pulumi.Resource[];

  constructor(name: string, args: SwarmClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dockercoins:swarm:Cluster", name, {}, opts);
    const plan = planNodes(args.hosts.map((h) => h.name), args.managerCount);
    const byName = new Map(args.hosts.map((h) => [h.name, h]));
    const first = args.hosts[0];

    const connection = (h: Host): command.types.input.remote.ConnectionArgs => ({
      host: h.sshHost,
      port: h.sshPort,
      user: h.sshUser,
      privateKey: args.privateKey,
      // Fresh VMs and containers take a while before sshd answers.
      dialErrorLimit: 60,
      perDialTimeout: 10,
    });
    const connections = new Map(args.hosts.map((h) => [h.name, connection(h)]));

    const run = (
      resourceName: string,
      host: Host,
      create: pulumi.Input<string>,
      extra: { delete?: pulumi.Input<string>; dependsOn?: pulumi.Input<pulumi.Resource>[]; secretStdout?: boolean } = {},
    ) =>
      new command.remote.Command(
        resourceName,
        {
          connection: connections.get(host.name)!,
          create: pulumi.output(create).apply(remoteBash),
          delete: extra.delete === undefined ? undefined : pulumi.output(extra.delete).apply(remoteBash),
          triggers: [pulumi.output(create).apply(scriptHash)],
          ...(extra.secretStdout ? { logging: "none" as const } : {}),
        },
        {
          parent: this,
          dependsOn: extra.dependsOn,
          ...(extra.secretStdout ? { additionalSecretOutputs: ["stdout"] } : {}),
        },
      );

    const bootstrapScript = pulumi.all(args.insecureRegistries).apply((insecureRegistries) =>
      bootstrapDockerScript({ insecureRegistries }),
    );

    const engines = new Map(
      args.hosts.map((h) => {
        const ssh = run(`${name}-${h.name}-ssh`, h, waitForSshScript(), { dependsOn: h.dependsOn ?? [] });
        return [h.name, run(`${name}-${h.name}-docker`, h, bootstrapScript, { dependsOn: [ssh] })] as const;
      }),
    );

    const init = run(
      `${name}-init`,
      first,
      pulumi.output(first.privateAddress).apply((advertiseAddr) => swarmInitScript({ advertiseAddr })),
      { delete: leaveSwarmScript(), dependsOn: [engines.get(first.name)!] },
    );
    const token = (role: NodeRole) =>
      run(`${name}-${role}-token`, first, joinTokenScript(role), { dependsOn: [init], secretStdout: true }).stdout;
    const tokens = { manager: token("manager"), worker: token("worker") };

    // Raft wants managers added one at a time; workers may join in parallel once managers are in.
    const joins = new Map<string, pulumi.Resource>([[first.name, init]]);
    const nodeIds = new Map<string, pulumi.Output<string>>([[first.name, init.stdout]]);
    let previousManager: pulumi.Resource = init;
    const managerJoins: pulumi.Resource[] = [];
    for (const node of plan.filter((n) => !n.initialises)) {
      const host = byName.get(node.name)!;
      const script = pulumi
        .all([tokens[node.role], first.privateAddress, host.privateAddress])
        .apply(([t, managerAddr, advertiseAddr]) => swarmJoinScript({ token: t, managerAddr, advertiseAddr }));
      const join = run(`${name}-${node.name}-join`, host, pulumi.secret(script), {
        delete: leaveSwarmScript(),
        dependsOn: [engines.get(node.name)!, ...(node.role === "manager" ? [previousManager] : managerJoins)],
      });
      if (node.role === "manager") {
        previousManager = join;
        managerJoins.push(join);
      }
      joins.set(node.name, join);
      nodeIds.set(node.name, join.stdout);
    }

    this.ready = plan.map((node) => {
      const host = byName.get(node.name)!;
      const labels = { ...node.labels, ...(args.extraLabels?.[node.name] ?? {}) };
      const label = pulumi.output(host.privateAddress).apply((nodeAddress) => labelNodeScript({ nodeAddress, labels }));
      // The initialising manager cannot remove itself; the others are drained and removed from it.
      const remove = node.initialises
        ? undefined
        : pulumi.output(host.privateAddress).apply((nodeAddress) => drainAndRemoveNodeScript({ nodeAddress }));
      return run(`${name}-${node.name}-labels`, first, label, { delete: remove, dependsOn: [joins.get(node.name)!] });
    });

    this.managerAddress = pulumi.output(first.privateAddress);
    this.managerDockerHost = pulumi.interpolate`ssh://${first.sshUser}@${first.sshHost}:${first.sshPort}`;
    this.nodes = pulumi.all(
      plan.map((node) =>
        pulumi.all([byName.get(node.name)!.privateAddress, nodeIds.get(node.name)!]).apply(([address, id]) => ({
          name: node.name,
          role: node.role,
          address,
          nodeId: id.trim().split("\n").pop() ?? "",
        })),
      ),
    );
    this.registerOutputs({ managerAddress: this.managerAddress, managerDockerHost: this.managerDockerHost, nodes: this.nodes });
  }
}

/**
 * A duration as the docker provider reads it back from Swarm (Go's time.Duration text, without a trailing
 * "0s"/"0m": 5 -> "5s", 120 -> "2m", 90 -> "1m30s", 3600 -> "1h"). Written any other way ("120s"), every
 * preview shows an update that never settles (pulumi/pulumi-docker#1285).
 */
export function goDuration(seconds: number): string {
  if (!Number.isInteger(seconds) || seconds < 0) throw new Error(`durations are whole seconds >= 0, got ${seconds}`);
  if (seconds === 0) return "0s";
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  let text = h > 0 ? `${h}h${m}m${s}s` : m > 0 ? `${m}m${s}s` : `${s}s`;
  if (text.endsWith("m0s")) text = text.slice(0, -2);
  if (text.endsWith("h0m")) text = text.slice(0, -2);
  return text;
}

/** A failure ratio as the provider reads it back: one decimal ("0.0", "0.5"). */
export function failureRatio(ratio: number): string {
  const text = ratio.toFixed(1);
  if (Number(text) !== ratio) throw new Error(`maxFailureRatio takes one decimal (the provider keeps no more), got ${ratio}`);
  return text;
}

const duration = goDuration;
const MiB = 1024 * 1024;

/**
 * The docker.Service arguments for one spec: exactly what the stack file says, in the provider's terms.
 * spec.command becomes the container's args (the image's ENTRYPOINT stays), as in Compose.
 */
export function toServiceArgs(spec: SwarmServiceSpec, networkId: pulumi.Input<string>): docker.ServiceArgs {
  const update = (u: NonNullable<SwarmServiceSpec["update"]>) => ({
    parallelism: u.parallelism,
    delay: duration(u.delayS),
    monitor: duration(u.monitorS),
    failureAction: u.failureAction,
    maxFailureRatio: failureRatio(u.maxFailureRatio),
    order: u.order,
  });
  const resources = (r: { cpus: number; memoryMiB: number }) => ({
    nanoCpus: Math.round(r.cpus * 1e9),
    memoryBytes: r.memoryMiB * MiB,
  });
  const global = "global" in spec.mode;
  return {
    name: spec.name,
    mode: "global" in spec.mode ? { global: true } : { replicated: { replicas: spec.mode.replicas } },
    endpointSpec: {
      mode: spec.endpointMode,
      ...(spec.ports?.length
        ? {
            ports: spec.ports.map((p) => ({
              targetPort: p.target,
              publishedPort: p.published,
              publishMode: p.mode,
              protocol: "tcp",
            })),
          }
        : {}),
    },
    taskSpec: {
      containerSpec: {
        image: spec.image,
        ...(spec.command ? { args: spec.command } : {}),
        ...(spec.env ? { env: spec.env } : {}),
        ...(spec.healthcheck
          ? {
              healthcheck: {
                tests: spec.healthcheck.test,
                interval: duration(spec.healthcheck.intervalS),
                timeout: duration(spec.healthcheck.timeoutS),
                retries: spec.healthcheck.retries,
                startPeriod: duration(spec.healthcheck.startPeriodS),
              },
            }
          : {}),
        ...(spec.mounts?.length ? { mounts: spec.mounts.map((m) => ({ type: m.type, source: m.source, target: m.target })) } : {}),
        ...(spec.stopGracePeriodS !== undefined ? { stopGracePeriod: duration(spec.stopGracePeriodS) } : {}),
      },
      networksAdvanceds: [{ name: networkId }],
      ...(spec.constraints?.length ? { placement: { constraints: spec.constraints } } : {}),
      ...(spec.restart
        ? {
            restartPolicy: {
              condition: spec.restart.condition,
              delay: duration(spec.restart.delayS),
              maxAttempts: spec.restart.maxAttempts,
              window: duration(spec.restart.windowS),
            },
          }
        : {}),
      ...(spec.limits || spec.reservations
        ? {
            resources: {
              ...(spec.limits ? { limits: resources(spec.limits) } : {}),
              ...(spec.reservations ? { reservation: resources(spec.reservations) } : {}),
            },
          }
        : {}),
    },
    ...(spec.update ? { updateConfig: update(spec.update) } : {}),
    ...(spec.rollback ? { rollbackConfig: update(spec.rollback) } : {}),
    // `pulumi up` returns only once every replicated service has converged (all tasks running). The
    // provider refuses convergeConfig on a global service ("conflicts with mode.0.global").
    ...(global ? {} : { convergeConfig: { delay: "5s", timeout: "5m" } }),
  };
}

export interface SwarmServicesArgs {
  /** A docker.Provider talking to a Swarm manager (e.g. host `ssh://root@127.0.0.1:2221`). */
  provider: docker.Provider;
  /** The services, e.g. dockercoinsServices(...) plus registryService(...). */
  specs: SwarmServiceSpec[];
  /** Overlay network name; `dockercoins` unless told otherwise. */
  networkName?: string;
}

/** The attachable overlay network `dockercoins` and one docker.Service per spec. */
export class SwarmServices extends pulumi.ComponentResource {
  public readonly network: docker.Network;
  public readonly services: Record<string, docker.Service>;

  constructor(name: string, args: SwarmServicesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dockercoins:swarm:Services", name, {}, opts);
    const child = { parent: this, provider: args.provider };
    this.network = new docker.Network(
      `${name}-network`,
      { name: args.networkName ?? NETWORK_NAME, driver: "overlay", attachable: true },
      child,
    );
    this.services = Object.fromEntries(
      args.specs.map((spec) => [
        spec.name,
        new docker.Service(`${name}-${spec.name}`, toServiceArgs(spec, this.network.id), {
          ...child,
          // Swarm cannot switch a service between replicated and global: replace it (the workshop's
          // `docker service rm rng` + `create --mode global`). Only on that switch: "mode" would also
          // match mode.replicated.replicas and replace the service on every scale.
          replaceOnChanges: ["mode.global"],
          deleteBeforeReplace: true,
          // Swarm adds the platforms of a registry image's manifest to the placement, and a refresh reads
          // them back: they are Swarm's, never the program's.
          ignoreChanges: ["taskSpec.placement.platforms"],
        }),
      ]),
    );
    this.registerOutputs({ network: this.network.name, services: Object.keys(this.services) });
  }
}

/** Alias under the workshop's name. */
export { SwarmServices as DockerCoinsSwarm };

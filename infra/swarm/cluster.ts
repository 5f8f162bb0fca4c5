import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { Host } from "../hosts/host";
import { knownHostsLine } from "../hosts/host-key";
import { bootstrapDockerScript, engineConfigScript } from "./engine";
import {
  drainAndRemoveNodeScript,
  forHosts,
  joinTokenScript,
  leaveOrSkipScript,
  leaveSwarmScript,
  labelNodeScript,
  liveManagerScript,
  checkJoinToken,
  remoteBash,
  swarmInitScript,
  swarmJoinScript,
  waitForSshScript,
} from "./scripts";
import { NODE_LABELS } from "./dockercoins";

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
 * the rest workers. The first host also carries the labels that pin redis, the registry, the log store and
 * (host-mode) webui, so the node whose ports the playground publishes is the one running them.
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
      ...(i === 0
        ? { [NODE_LABELS.redis]: "true", [NODE_LABELS.registry]: "true", [NODE_LABELS.webui]: "true", [NODE_LABELS.logs]: "true" }
        : {}),
    },
  }));
}

/** How a remote.Command reaches a host: as its admin, with the stack's key, checking the host key learned for it. */
export function hostConnection(h: Host, privateKey: pulumi.Input<string>): command.types.input.remote.ConnectionArgs {
  return {
    host: h.sshHost,
    port: h.sshPort,
    user: h.sshUser,
    privateKey,
    // Checked on every dial: the key learned for this host (infra/hosts/host-key.ts).
    ...(h.hostKey === undefined ? {} : { hostKey: h.hostKey }),
    // Fresh VMs and containers take a while before sshd answers.
    dialErrorLimit: 60,
    perDialTimeout: 10,
  };
}

/** What a script printed last: the node ID that init and join end with. */
const lastLine = (out: string): string => out.trim().split("\n").pop() ?? "";

/** The alias of a resource named after a host that had another name before (`swarm-node3-join` -> its old name's). */
function formerly(resourceName: string, host: Host | undefined): { aliases?: pulumi.Alias[] } {
  return host?.formerName ? { aliases: [{ name: resourceName.replace(`-${host.name}-`, `-${host.formerName}-`) }] } : {};
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
  /** Docker Hub mirrors every engine pulls through (see BootstrapDockerOptions). */
  registryMirrors?: string[];
  /** Where Swarm takes its overlay subnets from (`swarm init --default-addr-pool`); Docker's 10.0.0.0/8 if unset. */
  defaultAddrPool?: string;
  /** Extra node labels by host name, merged over planNodes' defaults. */
  extraLabels?: Record<string, Record<string, string>>;
  /**
   * Machines nothing else guards (`vms`): these host-mode ports and Swarm's own answer the hosts' private
   * addresses and adminCidrs only (firewall.ts).
   */
  guard?: { publishedPorts: number[]; adminCidrs: string[] };
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

    const connections = new Map(args.hosts.map((h) => [h.name, hostConnection(h, args.privateKey)]));
    // For the scripts that ssh from this machine: the learned keys of these hosts, as known_hosts lines.
    const knownHosts = (hosts: Host[]) =>
      pulumi
        .all(hosts.map((h) => pulumi.all([h.sshHost, h.sshPort, h.hostKey ?? ""])))
        .apply((keys) => keys.filter(([, , key]) => key !== "").map(([host, port, key]) => knownHostsLine(host, port, key)).join("\n"));

    const run = (
      resourceName: string,
      host: Host,
      create: pulumi.Input<string>,
      extra: {
        delete?: pulumi.Input<string>;
        dependsOn?: pulumi.Input<pulumi.Resource>[];
        /** Secrets go in on standard input, never in the script text (which a failed command prints). */
        stdin?: pulumi.Input<string>;
        secretStdout?: boolean;
        /** The hosts the script sets up, when not only the one it runs on (a node's labels, set on the manager). */
        about?: Host[];
        /** The node the resource is named after, whose former name (if any) it is also known by. */
        of?: Host;
      } = {},
    ) =>
      new command.remote.Command(
        resourceName,
        {
          connection: connections.get(host.name)!,
          create: pulumi
            .all([create, ...(extra.about ?? [host]).map((h) => h.identity ?? "")])
            .apply(([script, ...identities]) => remoteBash(forHosts(identities, script))),
          delete: extra.delete === undefined ? undefined : pulumi.output(extra.delete).apply(remoteBash),
          // No `triggers`: they replace the command, and a replaced command runs its delete script (leave
          // the Swarm, drain and remove the node) after the new one. A changed script is an update, which
          // runs the new script again: every script here is idempotent.
          ...(extra.stdin === undefined ? {} : { stdin: extra.stdin }),
          ...(extra.secretStdout ? { logging: "none" as const } : {}),
        },
        {
          parent: this,
          dependsOn: extra.dependsOn,
          ...formerly(resourceName, extra.of),
          ...(extra.secretStdout ? { additionalSecretOutputs: ["stdout"] } : {}),
        },
      );

    const guard = args.guard;
    const engineOptions = pulumi
      .all([pulumi.all(args.insecureRegistries), pulumi.all(args.hosts.map((h) => h.privateAddress))])
      .apply(([insecureRegistries, addresses]) => ({
        insecureRegistries,
        registryMirrors: args.registryMirrors,
        ...(guard ? { guard: { publishedPorts: guard.publishedPorts, allow: [...addresses, ...guard.adminCidrs] } } : {}),
      }));

    const sshReady = new Map(args.hosts.map((h) => [h.name, run(`${name}-${h.name}-ssh`, h, waitForSshScript(), { dependsOn: h.dependsOn ?? [], of: h })]));
    const engines = new Map(
      args.hosts.map((h) => [h.name, run(`${name}-${h.name}-docker`, h, engineOptions.apply(bootstrapDockerScript), { dependsOn: [sshReady.get(h.name)!], of: h })]),
    );
    // A changed engine configuration reaches live Swarm nodes one at a time, each back before the next.
    // Init and joins wait for their node's turn: its engine may be restarting until then.
    let previousTurn: pulumi.Resource | undefined;
    const engineConfigs = new Map(
      args.hosts.map((h) => {
        previousTurn = run(`${name}-${h.name}-engine-config`, h, engineOptions.apply(engineConfigScript), {
          dependsOn: [engines.get(h.name)!, ...(previousTurn ? [previousTurn] : [])],
          of: h,
        });
        return [h.name, previousTurn] as const;
      }),
    );

    // A first manager that is a new machine joins the other managers' Swarm if it is still live (they kept
    // Raft's quorum); the search runs again whenever a manager's host is a new one. With one manager there
    // is no one to ask, but the step stays, so a managerCount change creates and deletes nothing.
    const peers = plan.filter((n) => n.role === "manager" && !n.initialises).map((n) => byName.get(n.name)!);
    const liveManager = new command.local.Command(
      `${name}-live-manager`,
      {
        create: pulumi.all([first, ...peers].map((h) => h.identity ?? "")).apply((ids) => forHosts(ids, liveManagerScript())),
        environment: {
          SSH_KEY: pulumi.secret(args.privateKey),
          PEERS: pulumi.all(peers.map((h) => pulumi.interpolate`${h.sshUser}|${h.sshHost}|${h.sshPort}|${h.privateAddress}`)).apply((p) => p.join(" ")),
          SELF_ADDRESS: first.privateAddress,
          KNOWN_HOSTS: knownHosts(peers),
        },
        interpreter: ["/bin/bash", "-c"],
        logging: "stderr",
      },
      // After the first manager's engine is set up: an engine restarting there must not look like a lost machine.
      { parent: this, dependsOn: [...peers.map((h) => sshReady.get(h.name)!), engineConfigs.get(first.name)!], additionalSecretOutputs: ["stdout"] },
    );
    const init = run(
      `${name}-init`,
      first,
      pulumi.output(first.privateAddress).apply((advertiseAddr) => swarmInitScript({ advertiseAddr, defaultAddrPool: args.defaultAddrPool })),
      { delete: leaveSwarmScript(), dependsOn: [engineConfigs.get(first.name)!, liveManager], stdin: liveManager.stdout },
    );
    const token = (role: NodeRole) =>
      run(`${name}-${role}-token`, first, joinTokenScript(role), { dependsOn: [init], secretStdout: true }).stdout;
    const tokens = { manager: token("manager"), worker: token("worker") };

    // Raft wants managers added one at a time; workers may join in parallel once managers are in.
    // What a node's labels wait for: the init on the first node, each other node's leave (after its join).
    const members = new Map<string, pulumi.Resource>([[first.name, init]]);
    const nodeIds = new Map<string, pulumi.Output<string>>([[first.name, init.stdout]]);
    const firstNodeId = init.stdout.apply(lastLine);
    let previousManager: pulumi.Resource = init;
    const managerJoins: pulumi.Resource[] = [];
    for (const node of plan.filter((n) => !n.initialises)) {
      const host = byName.get(node.name)!;
      // The first manager's node ID is in the script: when its Swarm is formed again (its host lost), every
      // join runs again and leaves the dead Swarm for the new one.
      const script = pulumi
        .all([first.privateAddress, host.privateAddress, firstNodeId])
        .apply(([managerAddr, advertiseAddr, managerNodeId]) => swarmJoinScript({ managerAddr, advertiseAddr, managerNodeId }));
      const join = run(`${name}-${node.name}-join`, host, script, {
        stdin: pulumi.secret(tokens[node.role].apply(checkJoinToken)),
        dependsOn: [engineConfigs.get(node.name)!, ...(node.role === "manager" ? [previousManager] : managerJoins)],
        of: host,
      });
      if (node.role === "manager") {
        previousManager = join;
        managerJoins.push(join);
      }
      // Leaving is a command of its own, run from here over ssh at destroy time: a host already gone is
      // skipped in seconds instead of failing the destroy after minutes of dialling. The labels (drain and
      // remove, on the manager) depend on it, so the node is drained and removed before it leaves.
      const leave = new command.local.Command(
        `${name}-${node.name}-leave`,
        {
          delete: leaveOrSkipScript(),
          environment: {
            SSH_KEY: pulumi.secret(args.privateKey),
            SSH_HOST: pulumi.output(host.sshHost),
            SSH_PORT: pulumi.output(host.sshPort).apply(String),
            SSH_USER: pulumi.output(host.sshUser),
            NODE: node.name,
            KNOWN_HOSTS: knownHosts([host]),
          },
          interpreter: ["/bin/bash", "-c"],
        },
        {
          parent: this,
          dependsOn: [join],
          ...formerly(`${name}-${node.name}-leave`, host),
        },
      );
      members.set(node.name, leave);
      nodeIds.set(node.name, join.stdout);
    }

    // Role and labels, one node after the other: a managerCount change promotes or demotes live nodes,
    // and one demotion at a time keeps Raft's quorum.
    let previousLabels: pulumi.Resource | undefined;
    const labelled = plan.map((node) => {
      const host = byName.get(node.name)!;
      const labels = { ...node.labels, ...(args.extraLabels?.[node.name] ?? {}) };
      const label = pulumi
        .output(host.privateAddress)
        .apply((nodeAddress) => labelNodeScript({ nodeAddress, labels, role: node.initialises ? undefined : node.role }));
      // The initialising manager cannot remove itself; the others are drained and removed from it.
      const remove = node.initialises
        ? undefined
        : pulumi.output(host.privateAddress).apply((nodeAddress) => drainAndRemoveNodeScript({ nodeAddress }));
      previousLabels = run(`${name}-${node.name}-labels`, first, label, {
        about: [first, host],
        of: host,
        delete: remove,
        dependsOn: [members.get(node.name)!, ...(previousLabels ? [previousLabels] : [])],
      });
      return previousLabels;
    });
    this.ready = [...labelled, ...engineConfigs.values()];

    this.managerAddress = pulumi.output(first.privateAddress);
    this.managerDockerHost = pulumi.interpolate`ssh://${first.sshUser}@${first.sshHost}:${first.sshPort}`;
    this.nodes = pulumi.all(
      plan.map((node) =>
        pulumi.all([byName.get(node.name)!.privateAddress, nodeIds.get(node.name)!]).apply(([address, id]) => ({
          name: node.name,
          role: node.role,
          address,
          nodeId: lastLine(id),
        })),
      ),
    );
    this.registerOutputs({ managerAddress: this.managerAddress, managerDockerHost: this.managerDockerHost, nodes: this.nodes });
  }
}

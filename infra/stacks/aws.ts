import * as pulumi from "@pulumi/pulumi";
import type { DockerCoinsConfig } from "../config";
import { AwsHosts } from "../hosts/aws";
import { SshKey } from "../hosts/sshkey";
import { deploySwarm, logsUiUrl } from "./swarm";
import type { StackContext, StackOutputs } from "./types";

/** EC2 instances (5 x m4.large by default) in the default VPC, then Swarm over SSH. */
export function awsStack(cfg: DockerCoinsConfig, ctx: StackContext): StackOutputs {
  const key = new SshKey("ssh-key", { dir: `${ctx.stateDir}/ssh`, privateKey: cfg.sshPrivateKey });
  const aws = new AwsHosts("aws", {
    region: cfg.aws.region,
    count: cfg.nodeCount,
    instanceType: cfg.aws.instanceType,
    // parseConfig guarantees both for target aws.
    adminCidr: cfg.aws.adminCidr as string,
    sshPublicKey: cfg.sshPublicKey as string,
    webuiPort: cfg.webuiPort,
    // The log store's UI and API: from the admin's address only (it has no login); shipping stays inside the group.
    logsPort: cfg.logs.enabled ? cfg.logs.port : undefined,
    sshUser: cfg.aws.sshUser,
    rootVolumeGiB: cfg.aws.rootVolumeGiB,
    tags: { Project: "dockercoins", Stack: ctx.stack, ManagedBy: "pulumi" },
  });
  const swarm = deploySwarm(cfg, ctx, {
    hosts: aws.hosts,
    privateKey: key.privateKey,
    privateKeyPath: key.privateKeyPath,
    build: { on: "manager" },
    dependsOn: [key],
  });
  const manager = aws.instances[0];
  return {
    webuiUrl: pulumi.interpolate`http://${manager.publicIp}:${cfg.webuiPort}`,
    managerAddress: swarm.managerAddress,
    sshCommand: swarm.sshToManager,
    loginCommand: swarm.loginCommand,
    nodes: swarm.nodes,
    replicas: swarm.replicas,
    logsUrl: logsUiUrl(cfg, manager.publicIp),
  };
}

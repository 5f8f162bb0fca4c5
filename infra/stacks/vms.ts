import * as pulumi from "@pulumi/pulumi";
import type { DockerCoinsConfig } from "../config";
import { SshKey } from "../hosts/sshkey";
import { VmHosts } from "../hosts/vms";
import { deploySwarm, logsUiUrl } from "./swarm";
import type { StackContext, StackOutputs } from "./types";

/** Machines the user already has (the seeds' five VMs): Swarm over SSH, images built on the manager. */
export function vmsStack(cfg: DockerCoinsConfig, ctx: StackContext): StackOutputs {
  const key = new SshKey("ssh-key", { dir: `${ctx.stateDir}/ssh`, privateKey: cfg.sshPrivateKey });
  const vms = new VmHosts("vms", { machines: cfg.vmHosts, privateKey: key.privateKey });
  const swarm = deploySwarm(cfg, ctx, {
    hosts: vms.hosts,
    privateKey: key.privateKey,
    privateKeyPath: key.privateKeyPath,
    build: { on: "manager" },
    dependsOn: [key],
    // On the user's own machines nothing stands in front of Docker's NAT (AWS has its security group).
    guard: { adminCidrs: cfg.vmsAdminCidr ? [cfg.vmsAdminCidr] : [] },
  });
  const first = cfg.vmHosts[0];
  return {
    webuiUrl: `http://${first.address}:${cfg.webuiPort}`,
    managerAddress: swarm.managerAddress,
    sshCommand: swarm.sshToManager,
    loginCommand: swarm.loginCommand,
    nodes: swarm.nodes,
    replicas: swarm.replicas,
    logsUrl: logsUiUrl(cfg, first.address),
  };
}

import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import type { DockerCoinsConfig } from "../config";
import { ConfigRefusal } from "../config";
import { addressPoolChangeRefusal, LocalHosts, liveAddressPool, liveSubnet, subnetChangeRefusal } from "../hosts/local";
import { SshKey } from "../hosts/sshkey";
import { deploySwarm, logsUiUrl } from "./swarm";
import type { StackContext, StackOutputs } from "./types";

/** The playground: N dind node containers on this machine's engine, then the same Swarm path as VMs. */
export function localStack(cfg: DockerCoinsConfig, ctx: StackContext): StackOutputs {
  const prefix = `dockercoins-${ctx.stack}`;
  // Settings a live playground cannot take, refused in the preview (read from this machine's engine).
  const refusal =
    subnetChangeRefusal(`${prefix}-nodes`, liveSubnet(`${prefix}-nodes`), cfg.local.subnet) ??
    addressPoolChangeRefusal(liveAddressPool(`${prefix}-node1`), cfg.swarmAddressPool);
  if (refusal) throw new ConfigRefusal(refusal);
  const key = new SshKey("ssh-key", { dir: `${ctx.stateDir}/ssh`, privateKey: cfg.sshPrivateKey });
  const nodes = new LocalHosts("local", {
    count: cfg.nodeCount,
    prefix,
    subnet: cfg.local.subnet,
    nodeImageContext: path.join(ctx.projectDir, "infra", "node-image"),
    // parseConfig requires both halves or neither for local: without config, the key is generated.
    sshPublicKey: cfg.sshPublicKey ?? (key.publicKey as pulumi.Output<string>),
    sshBasePort: cfg.local.sshBasePort,
    registryPort: cfg.local.registryPort,
    webuiPort: cfg.webuiPort,
    logsPort: cfg.logs.port,
    // The log store's image too when logging is on: the playground's nodes may have no registry to pull from.
    preloadImages: cfg.logs.enabled ? [...new Set([...cfg.local.preloadImages, cfg.logs.image])] : cfg.local.preloadImages,
  });
  const swarm = deploySwarm(cfg, ctx, {
    hosts: nodes.hosts,
    privateKey: key.privateKey,
    privateKeyPath: key.privateKeyPath,
    // Built on this machine's engine, pushed through node1's registry port published on 127.0.0.1.
    build: { on: "local", pushRegistry: `127.0.0.1:${cfg.local.registryPort}` },
    dependsOn: [key],
  });
  return {
    webuiUrl: `http://127.0.0.1:${cfg.webuiPort}`,
    managerAddress: swarm.managerAddress,
    sshCommand: swarm.sshToManager,
    nodes: swarm.nodes,
    replicas: swarm.replicas,
    logsUrl: logsUiUrl(cfg, "127.0.0.1"),
  };
}

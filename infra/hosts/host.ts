import * as pulumi from "@pulumi/pulumi";

// What every host provider (AwsHosts, VmHosts, LocalHosts) ends in: machines reachable over SSH.
// SwarmCluster only ever sees this shape, so the choice of target stays in infra/stacks/.
export interface Host {
  /** Node name, also the Swarm node label `dockercoins.node`: node1..nodeN, or the name a vms host is given. */
  name: string;
  /** The name this host's resources had before (an alias, so a rename moves them instead of re-creating them). */
  formerName?: string;
  /** Address Pulumi's SSH connections use (public IP, VM address, or 127.0.0.1 for local nodes). */
  sshHost: pulumi.Input<string>;
  sshPort: pulumi.Input<number>;
  sshUser: pulumi.Input<string>;
  /** Address the other nodes reach this one at: Swarm's advertise address. */
  privateAddress: pulumi.Input<string>;
  /** Resources the host needs before SSH can be attempted (instance, container). */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
  /**
   * What changes when the machine is a new one (the node container's id, the EC2 instance id). The scripts
   * that set the machine up carry it, so a re-created host changes them and `pulumi up` runs them again.
   */
  identity?: pulumi.Input<string>;
  /**
   * The host's SSH public key (`type base64`, see host-key.ts), which every connection to it checks. Absent:
   * connections take whatever key answers (mocks only; every target sets it).
   */
  hostKey?: pulumi.Input<string>;
}

export interface SshCredentials {
  /** Private key in OpenSSH/PEM form, kept as a Pulumi secret. */
  privateKey: pulumi.Input<string>;
}

import * as pulumi from "@pulumi/pulumi";
import { Host } from "./host";
import { MachineId } from "./machine-id";

export interface VmHostSpec {
  /** Node name: stable whatever the machine's place in the list (config: its name or privateAddress). */
  name: string;
  /** Address Pulumi's SSH connections use. */
  address: string;
  user: string;
  port: number;
  /** Address the other machines reach this one at (Swarm's advertise address). */
  privateAddress: string;
}

/**
 * Existing machines, each under its own name: removing one from the middle of the list removes exactly that
 * machine from the Swarm. Stacks made when hosts were named node1..nodeN by position keep their resources
 * through an alias to that name (upgrade with the list unchanged, then edit it).
 */
export function vmHostList(specs: VmHostSpec[]): Host[] {
  return specs.map((s, i) => ({
    name: s.name,
    formerName: `node${i + 1}` === s.name ? undefined : `node${i + 1}`,
    sshHost: s.address,
    sshPort: s.port,
    sshUser: s.user,
    privateAddress: s.privateAddress,
  }));
}

export interface VmHostsArgs {
  /** The machines, from stack config `dockercoins:vmHosts`. */
  machines: VmHostSpec[];
  /** SSH private key for every machine, a secret. */
  privateKey: pulumi.Input<string>;
}

/**
 * Machines the user already has: nothing to create, only the shape every target ends in, and each machine's
 * identity (its /etc/machine-id, read again by `pulumi up --refresh`: a machine reinstalled is set up again)
 * and SSH host key (learned at first contact, checked on every run).
 */
export class VmHosts extends pulumi.ComponentResource {
  public readonly hosts: Host[];

  constructor(name: string, args: VmHostsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dockercoins:hosts:VmHosts", name, {}, opts);
    this.hosts = vmHostList(args.machines).map((h) => {
      const machine = new MachineId(`${name}-${h.name}-machine-id`, { host: h.sshHost, port: h.sshPort, user: h.sshUser, privateKey: args.privateKey }, { parent: this });
      return { ...h, identity: machine.machineId, hostKey: machine.hostKey };
    });
    this.registerOutputs({ addresses: args.machines.map((m) => m.address) });
  }
}

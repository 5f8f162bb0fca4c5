import * as aws from "@pulumi/aws";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { Host } from "./host";

// Canonical's account: the only owner whose Ubuntu AMIs we accept.
export const CANONICAL_OWNER = "099720109477";
// Current Ubuntu LTS (24.04 "noble"), amd64 to match m4.large.
export const UBUNTU_AMI_NAME = "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*";

export interface IngressRule {
  description: string;
  ipProtocol: "tcp" | "udp";
  port: number;
  /** A CIDR, or "self" for members of the same security group only. */
  source: string;
  /** Tells two rules on one port apart in their resource names. */
  key?: string;
}

/**
 * Least privilege for a Swarm: SSH from the admin only, the webui to the world, and everything Swarm and
 * the registry need only between members of the group.
 */
export function swarmIngressRules(adminCidr: string, webuiPort: number, logsPort?: number): IngressRule[] {
  const logs: IngressRule[] =
    logsPort === undefined
      ? []
      : [
          // No login on the store: its UI and query API to the admin only, like SSH.
          { description: "Log store UI and API from the admin", ipProtocol: "tcp", port: logsPort, source: adminCidr },
          { description: "Log shipping from the nodes' engines", ipProtocol: "tcp", port: logsPort, source: "self", key: "nodes" },
        ];
  return [
    { description: "SSH from the admin", ipProtocol: "tcp", port: 22, source: adminCidr },
    { description: "DockerCoins webui", ipProtocol: "tcp", port: webuiPort, source: "0.0.0.0/0" },
    { description: "Swarm cluster management", ipProtocol: "tcp", port: 2377, source: "self" },
    { description: "Swarm node gossip (tcp)", ipProtocol: "tcp", port: 7946, source: "self" },
    { description: "Swarm node gossip (udp)", ipProtocol: "udp", port: 7946, source: "self" },
    { description: "Swarm overlay network (VXLAN)", ipProtocol: "udp", port: 4789, source: "self" },
    { description: "Private image registry", ipProtocol: "tcp", port: 5000, source: "self" },
    ...logs,
  ];
}

/**
 * The region's default VPC, where the instances and their security group go. Many organisations delete it;
 * then EC2 fails late and obscurely, so say it first and how to fix it.
 */
export function defaultVpcId(ids: string[], region: string): string {
  if (ids.length === 0) {
    throw new pulumi.RunError(
      `the AWS region ${region} has no default VPC, which this stack uses: create one (aws ec2 create-default-vpc --region ${region}) or choose another region (dockercoins:awsRegion)`,
    );
  }
  return ids[0];
}

/**
 * One ed25519 host key pair, made on the machine running Pulumi in a directory removed afterwards: the private
 * half, then the public one. Each node's pair is made once and kept in the stack (a secret), so SSH to the
 * node checks a key the program knew before the instance existed, not one learned on first use.
 */
export const HOST_KEY_PAIR_SCRIPT =
  'set -eu; d=$(mktemp -d); trap \'rm -rf "$d"\' EXIT; ssh-keygen -q -t ed25519 -N "" -C dockercoins-host -f "$d/key"; cat "$d/key" "$d/key.pub"';

export function splitHostKeyPair(out: string): { privateKey: string; publicKey: string } {
  const end = "-----END OPENSSH PRIVATE KEY-----";
  const at = out.indexOf(end);
  const publicKey = out.slice(at + end.length).trim().split(/\s+/).slice(0, 2).join(" ");
  if (at < 0 || !publicKey.startsWith("ssh-ed25519 ")) throw new Error("the generated host key pair is not an OpenSSH ed25519 pair");
  return { privateKey: `${out.slice(0, at + end.length).trim()}\n`, publicKey };
}

/** cloud-init user data: the node's sshd offers this key pair and no other (cloud-init makes none of its own). */
export function hostKeyUserData(pair: { privateKey: string; publicKey: string }): string {
  const indented = pair.privateKey.trim().split("\n").map((l) => `    ${l}`).join("\n");
  return ["#cloud-config", "ssh_deletekeys: true", "ssh_genkeytypes: []", "ssh_keys:", "  ed25519_private: |", indented, `  ed25519_public: ${pair.publicKey}`, ""].join("\n");
}

export interface AwsHostsArgs {
  /** Region the instances run in. */
  region: string;
  /** Number of instances (Swarm nodes). */
  count: number;
  /** EC2 instance type; the workshop uses m4.large. */
  instanceType: string;
  /** CIDR that may reach SSH. */
  adminCidr: string;
  /** Port the webui is published on, open to the world. */
  webuiPort: number;
  /** The log store's port, when logging is on: the admin reads it, the nodes ship to it. */
  logsPort?: number;
  /** OpenSSH public key installed for the login user. */
  sshPublicKey: string;
  /** Login user of the AMI (ubuntu for Canonical's images). */
  sshUser: string;
  /** Size of the encrypted root volume. */
  rootVolumeGiB: number;
  /** Tags on every resource that takes them. */
  tags: Record<string, string>;
}

export class AwsHosts extends pulumi.ComponentResource {
  public readonly hosts: Host[];
  public readonly instances: aws.ec2.Instance[];
  public readonly securityGroup: aws.ec2.SecurityGroup;

  constructor(name: string, args: AwsHostsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dockercoins:hosts:AwsHosts", name, {}, opts);
    const provider = new aws.Provider(`${name}-provider`, { region: args.region }, { parent: this });
    const child = { parent: this, provider };

    const ami = aws.ec2.getAmiOutput(
      {
        mostRecent: true,
        owners: [CANONICAL_OWNER],
        filters: [
          { name: "name", values: [UBUNTU_AMI_NAME] },
          { name: "architecture", values: ["x86_64"] },
          { name: "virtualization-type", values: ["hvm"] },
        ],
      },
      { parent: this, provider },
    );

    const keyPair = new aws.ec2.KeyPair(`${name}-key`, { publicKey: args.sshPublicKey, tags: args.tags }, child);

    const vpcId = aws.ec2
      .getVpcsOutput({ filters: [{ name: "is-default", values: ["true"] }] }, { parent: this, provider })
      .ids.apply((ids) => defaultVpcId(ids, args.region));
    this.securityGroup = new aws.ec2.SecurityGroup(
      `${name}-sg`,
      { description: "DockerCoins Swarm nodes", vpcId, tags: args.tags },
      child,
    );
    const sgId = this.securityGroup.id;
    const rules: pulumi.Resource[] = swarmIngressRules(args.adminCidr, args.webuiPort, args.logsPort).map((r) =>
      new aws.vpc.SecurityGroupIngressRule(
        `${name}-in-${r.ipProtocol}-${r.port}${r.key ? `-${r.key}` : ""}`,
        {
          securityGroupId: sgId,
          description: r.description,
          ipProtocol: r.ipProtocol,
          fromPort: r.port,
          toPort: r.port,
          ...(r.source === "self" ? { referencedSecurityGroupId: sgId } : { cidrIpv4: r.source }),
          tags: args.tags,
        },
        child,
      ),
    );
    // Nodes install Docker and pull images from the internet.
    rules.push(
      new aws.vpc.SecurityGroupEgressRule(
        `${name}-out-all`,
        { securityGroupId: sgId, description: "All outbound", ipProtocol: "-1", cidrIpv4: "0.0.0.0/0", tags: args.tags },
        child,
      ),
    );

    const hostKeys = Array.from({ length: args.count }, (_, i) =>
      new command.local.Command(
        `${name}-node${i + 1}-host-key`,
        // logging "none": the output is a private key (a secret output alone does not keep it out of the log).
        { create: HOST_KEY_PAIR_SCRIPT, logging: "none" },
        { parent: this, additionalSecretOutputs: ["stdout"] },
      ).stdout.apply(splitHostKeyPair),
    );

    this.instances = Array.from({ length: args.count }, (_, i) => {
      const node = `node${i + 1}`;
      return new aws.ec2.Instance(
        `${name}-${node}`,
        {
          ami: ami.id,
          instanceType: args.instanceType,
          keyName: keyPair.keyName,
          userData: pulumi.secret(hostKeys[i].apply(hostKeyUserData)),
          vpcSecurityGroupIds: [sgId],
          associatePublicIpAddress: true,
          metadataOptions: { httpTokens: "required", httpEndpoint: "enabled", httpPutResponseHopLimit: 1 },
          rootBlockDevice: { encrypted: true, volumeType: "gp3", volumeSize: args.rootVolumeGiB, deleteOnTermination: true },
          tags: { ...args.tags, Name: `dockercoins-${node}` },
          volumeTags: { ...args.tags, Name: `dockercoins-${node}` },
        },
        // The AMI lookup follows Canonical's newest image; a new one must not replace running nodes (and
        // lose the registry and the wallet). New instances get it; `pulumi up --replace <urn>` renews one.
        { ...child, ignoreChanges: ["ami"] },
      );
    });

    this.hosts = this.instances.map((inst, i) => ({
      name: `node${i + 1}`,
      sshHost: inst.publicIp,
      sshPort: 22,
      sshUser: args.sshUser,
      privateAddress: inst.privateIp,
      // Everything done over SSH waits for the firewall rules, so destroy revokes them last: after the
      // services are deleted and the nodes have left the Swarm, not before (cutting its own SSH).
      dependsOn: [inst, ...rules],
      identity: inst.id,
      hostKey: pulumi.unsecret(hostKeys[i].apply((k) => k.publicKey)),
    }));

    this.registerOutputs({ instanceIds: this.instances.map((i) => i.id), securityGroupId: sgId });
  }
}

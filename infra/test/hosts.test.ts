import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { countByType, isSecret, named, ofType, plain, registrations, reset, resolve, settle, setupMocks, sha } from "./harness";

// Import the program only after the mocks are in place.
let aws: typeof import("../hosts/aws");
let local: typeof import("../hosts/local");
let vms: typeof import("../hosts/vms");
let sshkey: typeof import("../hosts/sshkey");
beforeAll(async () => {
  await setupMocks();
  aws = await import("../hosts/aws");
  local = await import("../hosts/local");
  vms = await import("../hosts/vms");
  sshkey = await import("../hosts/sshkey");
});
// Let a previous test's asynchronous registrations land before clearing them.
beforeEach(async () => {
  await settle();
  reset();
});

const AWS_ARGS = {
  region: "eu-west-1",
  count: 5,
  instanceType: "m4.large",
  adminCidr: "203.0.113.7/32",
  webuiPort: 8000,
  sshPublicKey: "ssh-ed25519 AAAA me",
  sshUser: "ubuntu",
  rootVolumeGiB: 30,
  tags: { Project: "dockercoins", Stack: "test" },
};

describe("AwsHosts", () => {
  it("creates exactly 5 m4.large instances, one key pair, one group with 7 ingress rules and 1 egress rule", async () => {
    new aws.AwsHosts("aws", AWS_ARGS);
    await settle();
    expect(countByType()).toEqual({
      "dockercoins:hosts:AwsHosts": 1,
      "pulumi:providers:aws": 1,
      "aws:ec2/keyPair:KeyPair": 1,
      "aws:ec2/securityGroup:SecurityGroup": 1,
      "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": 7,
      "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": 1,
      "aws:ec2/instance:Instance": 5,
      "command:local:Command": 5, // each node's SSH host key pair
    });
    expect(named("aws-provider").inputs.region).toBe("eu-west-1");
    const instances = ofType("aws:ec2/instance:Instance");
    expect(instances.map((i) => i.name)).toEqual(["aws-node1", "aws-node2", "aws-node3", "aws-node4", "aws-node5"]);
    for (const [i, inst] of instances.entries()) {
      expect(inst.inputs.instanceType).toBe("m4.large");
      expect(inst.inputs.ami).toBe("ami-0ubuntu2404");
      expect(inst.inputs.vpcSecurityGroupIds).toEqual(["aws-sg-id"]);
      expect(inst.inputs.metadataOptions).toEqual({ httpTokens: "required", httpEndpoint: "enabled", httpPutResponseHopLimit: 1 });
      expect(inst.inputs.rootBlockDevice).toEqual({ encrypted: true, volumeType: "gp3", volumeSize: 30, deleteOnTermination: true });
      expect(inst.inputs.tags).toEqual({ Project: "dockercoins", Stack: "test", Name: `dockercoins-node${i + 1}` });
    }
    expect(named("aws-key").inputs.publicKey).toBe("ssh-ed25519 AAAA me");
  });

  it("opens SSH to the admin only, the webui to all, Swarm and registry ports only inside the group", async () => {
    new aws.AwsHosts("aws", AWS_ARGS);
    await settle();
    const rules = ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").map((r) => {
      const { ipProtocol, fromPort, toPort, cidrIpv4, referencedSecurityGroupId, securityGroupId } = r.inputs;
      return { ipProtocol, fromPort, toPort, cidrIpv4, referencedSecurityGroupId, securityGroupId };
    });
    const self = { cidrIpv4: undefined, referencedSecurityGroupId: "aws-sg-id", securityGroupId: "aws-sg-id" };
    expect(rules).toEqual([
      { ipProtocol: "tcp", fromPort: 22, toPort: 22, cidrIpv4: "203.0.113.7/32", referencedSecurityGroupId: undefined, securityGroupId: "aws-sg-id" },
      { ipProtocol: "tcp", fromPort: 8000, toPort: 8000, cidrIpv4: "0.0.0.0/0", referencedSecurityGroupId: undefined, securityGroupId: "aws-sg-id" },
      { ipProtocol: "tcp", fromPort: 2377, toPort: 2377, ...self },
      { ipProtocol: "tcp", fromPort: 7946, toPort: 7946, ...self },
      { ipProtocol: "udp", fromPort: 7946, toPort: 7946, ...self },
      { ipProtocol: "udp", fromPort: 4789, toPort: 4789, ...self },
      { ipProtocol: "tcp", fromPort: 5000, toPort: 5000, ...self },
    ]);
    expect(named("aws-sg").inputs.ingress).toBeUndefined();
  });

  it("looks up the newest Canonical Ubuntu 24.04 amd64 AMI, and a newer one never replaces running nodes", async () => {
    expect(aws.CANONICAL_OWNER).toBe("099720109477");
    expect(aws.UBUNTU_AMI_NAME).toBe("ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*");
    new aws.AwsHosts("aws", AWS_ARGS);
    await settle();
    // `ami` forces a replacement in the AWS provider: ignored once an instance exists.
    for (const inst of ofType("aws:ec2/instance:Instance")) expect(inst.ignoreChanges).toEqual(["ami"]);
  });

  it("puts the security group in the region's default VPC, and says what to do when there is none", async () => {
    new aws.AwsHosts("aws", AWS_ARGS);
    await settle();
    expect(named("aws-sg").inputs.vpcId).toBe("vpc-0default");
    expect(aws.defaultVpcId(["vpc-1", "vpc-2"], "eu-west-1")).toBe("vpc-1");
    expect(() => aws.defaultVpcId([], "eu-west-1")).toThrow(
      "the AWS region eu-west-1 has no default VPC, which this stack uses: create one (aws ec2 create-default-vpc --region eu-west-1) or choose another region (dockercoins:awsRegion)",
    );
  });

  it("every host waits for the firewall rules, so destroy revokes SSH only after everything done over it", async () => {
    const c = new aws.AwsHosts("aws", AWS_ARGS);
    await settle();
    const rules = [
      ...ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"),
      ...ofType("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"),
    ];
    expect(rules).toHaveLength(8);
    for (const h of c.hosts) {
      expect(h.dependsOn).toHaveLength(1 + rules.length);
      expect(h.dependsOn).toEqual(expect.arrayContaining(rules.map((r) => expect.objectContaining({ __name: r.name }))));
    }
  });

  it("ends in hosts named node1..5 reached on their public IP, advertising their private IP", async () => {
    const c = new aws.AwsHosts("aws", AWS_ARGS);
    const hosts = await Promise.all(c.hosts.map(async (h) => ({ ...h, sshHost: await resolve(h.sshHost), privateAddress: await resolve(h.privateAddress), identity: await resolve(h.identity), hostKey: await resolve(h.hostKey), dependsOn: undefined })));
    // The instance id is the host's identity: a replaced instance is a new host to set up. Its host key is
    // the one the program made for that node.
    expect(hosts).toEqual([1, 2, 3, 4, 5].map((n) => ({
      name: `node${n}`, sshHost: `198.51.100.${n}`, sshPort: 22, sshUser: "ubuntu", privateAddress: `172.31.0.${10 + n}`, dependsOn: undefined, identity: `aws-node${n}-id`,
      hostKey: `ssh-ed25519 AAAAhost${sha(`aws-node${n}-host-key`).slice(0, 8)}`,
    })));
  });

  it("each node's sshd gets a host key the program made, through cloud-init, kept secret; a replaced instance gets the same one", async () => {
    new aws.AwsHosts("aws", AWS_ARGS);
    await settle();
    for (const n of [1, 2, 3, 4, 5]) {
      const pair = named(`aws-node${n}-host-key`);
      expect(pair.inputs).toMatchObject({ create: aws.HOST_KEY_PAIR_SCRIPT, logging: "none" });
      expect(pair.inputs.triggers).toBeUndefined(); // made once per node, whatever happens to the instance
      const userData = named(`aws-node${n}`).inputs.userData;
      expect(isSecret(userData)).toBe(true);
      expect(plain(userData)).toBe(
        [
          "#cloud-config", "ssh_deletekeys: true", "ssh_genkeytypes: []", "ssh_keys:", "  ed25519_private: |",
          "    -----BEGIN OPENSSH PRIVATE KEY-----", `    host aws-node${n}-host-key`, "    -----END OPENSSH PRIVATE KEY-----",
          `  ed25519_public: ssh-ed25519 AAAAhost${sha(`aws-node${n}-host-key`).slice(0, 8)}`, "",
        ].join("\n"),
      );
    }
    // A real pair, as ssh-keygen makes it, splits into what cloud-init and the connections take.
    const real = execFileSync("bash", ["-c", aws.HOST_KEY_PAIR_SCRIPT], { encoding: "utf8" });
    const pair = aws.splitHostKeyPair(real);
    expect(pair.privateKey).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n[\s\S]+\n-----END OPENSSH PRIVATE KEY-----\n$/);
    expect(pair.publicKey).toMatch(/^ssh-ed25519 AAAA[0-9A-Za-z+/=]+$/);
    expect(() => aws.splitHostKeyPair("ssh-rsa AAAA x")).toThrow("not an OpenSSH ed25519 pair");
  });
});

describe("VmHosts", () => {
  it("keeps each machine's own name whatever its place in the list; creates only each one's machine-id reader", async () => {
    const v = new vms.VmHosts("vms", {
      machines: [
        { name: "10.0.0.11", address: "10.0.0.11", user: "root", port: 22, privateAddress: "10.0.0.11" },
        { name: "node2", address: "vm2.example", user: "admin", port: 2222, privateAddress: "192.168.1.12" },
        { name: "edge", address: "vm3.example", user: "admin", port: 22, privateAddress: "192.168.1.13" },
      ],
      privateKey: "KEY",
    });
    await settle();
    expect(countByType()).toEqual({ "dockercoins:hosts:VmHosts": 1, "pulumi-nodejs:dynamic:Resource": 3 });
    expect(v.hosts.map(({ identity: _, hostKey: __, ...h }) => h)).toEqual([
      { name: "10.0.0.11", formerName: "node1", sshHost: "10.0.0.11", sshPort: 22, sshUser: "root", privateAddress: "10.0.0.11" },
      { name: "node2", formerName: undefined, sshHost: "vm2.example", sshPort: 2222, sshUser: "admin", privateAddress: "192.168.1.12" },
      { name: "edge", formerName: "node3", sshHost: "vm3.example", sshPort: 22, sshUser: "admin", privateAddress: "192.168.1.13" },
    ]);
    // Each host's identity is its reader's machineId; the reader dials the host as the connection says.
    const reader = named("vms-edge-machine-id").inputs;
    expect(reader).toMatchObject({ host: "vm3.example", port: 22, user: "admin" });
    expect(isSecret(reader.privateKey)).toBe(true);
    expect(await resolve(v.hosts[2].identity!)).toBe(sha("vms-edge-machine-id").slice(0, 32));
    // Its host key too: learned at first contact, checked on every run.
    expect(await resolve(v.hosts[2].hostKey!)).toBe(`ssh-ed25519 AAAAvm${sha("vms-edge-machine-id").slice(0, 8)}`);
  });
});

const LOCAL_ARGS = {
  count: 5,
  prefix: "dockercoins-test",
  subnet: "10.213.0.0/24",
  nodeImageContext: "../infra/node-image",
  sshPublicKey: "ssh-ed25519 AAAA me",
  sshBasePort: 22001,
  registryPort: 15000,
  webuiPort: 8000,
  logsPort: 9428,
  preloadImages: [] as string[],
};

describe("LocalHosts", () => {
  it("pure: node addresses and published ports", () => {
    expect([1, 2, 5].map((i) => local.nodeAddress("10.213.0.0/24", i))).toEqual(["10.213.0.11", "10.213.0.12", "10.213.0.15"]);
    expect(local.nodePorts(1, LOCAL_ARGS)).toEqual([
      { internal: 22, external: 22001 },
      { internal: 5000, external: 15000 },
      { internal: 8000, external: 8000 },
      { internal: 9428, external: 9428 },
    ]);
    expect(local.nodePorts(3, LOCAL_ARGS)).toEqual([{ internal: 22, external: 22003 }]);
  });

  it("a localSubnet change on a live playground is refused with why and what to do; a fresh one or the same is not", () => {
    expect(local.subnetChangeRefusal("dockercoins-dev-nodes", undefined, "10.214.0.0/24")).toBeUndefined();
    expect(local.subnetChangeRefusal("dockercoins-dev-nodes", "10.213.0.0/24", "10.213.0.0/24")).toBeUndefined();
    const refusal = local.subnetChangeRefusal("dockercoins-dev-nodes", "10.213.0.0/24", "10.214.0.0/24");
    expect(refusal).toContain('dockercoins:localSubnet = "10.214.0.0/24" cannot be applied to the live playground: its nodes are on 10.213.0.0/24');
    expect(refusal).toContain("pulumi config set dockercoins:localSubnet 10.213.0.0/24");
    expect(refusal).toContain("`pulumi destroy` first");
  });

  it("reads the live subnet from this machine's engine; none for a network that does not exist", () => {
    expect(local.liveSubnet("dockercoins-no-such-network-here")).toBeUndefined();
  });

  it("a swarmAddressPool change on a live playground is refused with the pool it was formed with; a fresh one or the same is not", () => {
    expect(local.addressPoolChangeRefusal(undefined, "10.20.0.0/16")).toBeUndefined();
    expect(local.addressPoolChangeRefusal("10.0.0.0/8", undefined)).toBeUndefined();
    expect(local.addressPoolChangeRefusal("10.20.0.0/16", "10.20.0.0/16")).toBeUndefined();
    const set = local.addressPoolChangeRefusal("10.0.0.0/8", "10.20.0.0/16");
    expect(set).toContain('dockercoins:swarmAddressPool = "10.20.0.0/16" cannot be applied to the live playground: its Swarm was formed with 10.0.0.0/8');
    expect(set).toContain("pulumi config rm dockercoins:swarmAddressPool");
    const unset = local.addressPoolChangeRefusal("10.20.0.0/16", undefined);
    expect(unset).toContain("dockercoins:swarmAddressPool = unset (Docker's 10.0.0.0/8) cannot be applied");
    expect(unset).toContain("pulumi config set dockercoins:swarmAddressPool 10.20.0.0/16");
  });

  it("reads no live address pool where the first node's container does not exist", () => {
    expect(local.liveAddressPool("dockercoins-no-such-node-here")).toBeUndefined();
  });

  it("builds the node image once and runs 5 unprivileged dind containers on a private bridge", async () => {
    new local.LocalHosts("local", LOCAL_ARGS);
    await settle();
    expect(countByType()).toEqual({
      "dockercoins:hosts:LocalHosts": 1,
      "docker:index/image:Image": 1,
      "docker:index/network:Network": 1,
      "docker:index/volume:Volume": 5,
      "docker:index/container:Container": 5,
      "pulumi-nodejs:dynamic:Resource": 5, // each node's SSH host key
    });
    expect(named("local-node-image").inputs).toMatchObject({ imageName: "dockercoins-test-node:latest", build: { context: "../infra/node-image", platform: (await import("../images")).buildPlatform() }, skipPush: true });
    expect(named("local-net").inputs).toMatchObject({ name: "dockercoins-test-nodes", driver: "bridge", ipamConfigs: [{ subnet: "10.213.0.0/24" }] });
    const containers = ofType("docker:index/container:Container").sort((a, b) => a.name.localeCompare(b.name));
    for (const [i, c] of containers.entries()) {
      const n = i + 1;
      expect(c.inputs.privileged).toBeUndefined();
      expect(c.inputs).toMatchObject({
        name: `dockercoins-test-node${n}`,
        hostname: `node${n}`,
        image: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
        capabilities: { adds: ["ALL"], drops: ["CAP_SYS_RESOURCE"] },
        securityOpts: ["seccomp=unconfined", "apparmor=unconfined"],
        cgroupnsMode: "private",
        tmpfs: { "/run": "", "/tmp": "" },
        volumes: [{ volumeName: `dockercoins-test-node${n}-docker`, containerPath: "/var/lib/docker" }],
        envs: ["SSH_AUTHORIZED_KEY=ssh-ed25519 AAAA me"],
        networksAdvanced: [{ name: "dockercoins-test-nodes", ipv4Address: `10.213.0.${10 + n}` }],
      });
      // Everything is published on loopback only.
      expect(c.inputs.ports.every((p: any) => p.ip === "127.0.0.1")).toBe(true);
    }
    expect(containers[0].inputs.ports.map((p: any) => [p.internal, p.external])).toEqual([[22, 22001], [5000, 15000], [8000, 8000], [9428, 9428]]);
    expect(containers[4].inputs.ports.map((p: any) => [p.internal, p.external])).toEqual([[22, 22005]]);
  });

  it("ends in hosts on 127.0.0.1 with one SSH port each, advertising the bridge address", async () => {
    const l = new local.LocalHosts("local", LOCAL_ARGS);
    const hosts = await Promise.all(l.hosts.map(async ({ dependsOn, ...h }) => ({ ...h, identity: await resolve(h.identity), hostKey: await resolve(h.hostKey) })));
    // The node container's id is the host's identity: a re-created container is a new host to set up, whose
    // host key is learned anew (the container's id is an input of its HostKey).
    expect(hosts).toEqual([1, 2, 3, 4, 5].map((n) => ({
      name: `node${n}`, sshHost: "127.0.0.1", sshPort: 22000 + n, sshUser: "root", privateAddress: `10.213.0.${10 + n}`, identity: `local-node${n}-id`,
      hostKey: `ssh-ed25519 AAAAnode${sha(`local-node${n}-host-key`).slice(0, 8)}`,
    })));
    await settle();
    for (const n of [1, 2, 3, 4, 5]) expect(named(`local-node${n}-host-key`).inputs).toMatchObject({ name: `local-node${n}-host-key`, host: "127.0.0.1", port: 22000 + n, identity: `local-node${n}-id` });
    expect(l.hosts.every((h, i) => h.dependsOn?.[0] === l.containers[i])).toBe(true);
  });

  it("preloads images into every node once its engine answers, and hosts wait for that", async () => {
    const l = new local.LocalHosts("local", { ...LOCAL_ARGS, preloadImages: ["registry:2", "redis:7-bookworm"] });
    await settle();
    const preloads = ofType("command:local:Command").sort((a, b) => a.name.localeCompare(b.name));
    expect(preloads.map((p) => p.name)).toEqual([1, 2, 3, 4, 5].map((n) => `local-node${n}-preload`));
    expect(preloads.map((p) => p.inputs.environment)).toEqual([1, 2, 3, 4, 5].map((n) => ({ NODE: `dockercoins-test-node${n}`, IMAGES: "registry:2 redis:7-bookworm" })));
    expect(preloads.every((p) => p.inputs.create === local.preloadScript())).toBe(true);
    expect(preloads.map((p) => p.dependencies)).toEqual([1, 2, 3, 4, 5].map((n) => [`local-node${n}`]));
    expect(local.preloadScript()).toBe(
      'set -eu\nfor img in $IMAGES; do docker image inspect "$img" >/dev/null 2>&1 || docker pull "$img"; done\nfor _ in $(seq 1 60); do docker exec "$NODE" docker info >/dev/null 2>&1 && break; sleep 1; done\ndocker save $IMAGES | docker exec -i "$NODE" docker load',
    );
    const { local: cmd } = await import("@pulumi/command");
    expect(l.hosts.every((h) => h.dependsOn?.length === 1 && h.dependsOn[0] instanceof cmd.Command)).toBe(true);
  });
});

describe("SshKey", () => {
  it("script: generates once, prints the public half", () => {
    expect(sshkey.keyFileScript()).toBe(
      'set -eu\numask 077\nmkdir -p "$DIR"\n[ -f "$DIR/id" ] || ssh-keygen -q -t ed25519 -N "" -C dockercoins-playground -f "$DIR/id"\nssh-keygen -y -f "$DIR/id"',
    );
  });

  it("script, run for real: idempotent, the key file private", async () => {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "dc-key-")), "ssh");
    const run = () => execFileSync("bash", ["-c", sshkey.keyFileScript()], { env: { ...process.env, DIR: dir }, encoding: "utf8" });
    const first = run();
    expect(first).toMatch(/^ssh-ed25519 AAAA\S+/);
    expect(run()).toBe(first);
    expect(fs.statSync(path.join(dir, "id")).mode & 0o777).toBe(0o600);
    fs.rmSync(path.dirname(dir), { recursive: true });
  });

  it("writeKeyFile: mode 600 in a 700 directory, newline-terminated, overwrites", () => {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "dc-key-")), "ssh");
    expect(sshkey.writeKeyFile(dir, "KEY-1")).toBe(path.join(dir, "id"));
    expect(fs.readFileSync(path.join(dir, "id"), "utf8")).toBe("KEY-1\n");
    expect(fs.statSync(path.join(dir, "id")).mode & 0o777).toBe(0o600);
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    sshkey.writeKeyFile(dir, "KEY-2\n");
    expect(fs.readFileSync(path.join(dir, "id"), "utf8")).toBe("KEY-2\n");
    fs.rmSync(path.dirname(dir), { recursive: true });
  });

  it("generated: two local commands, the private key read back as a secret", async () => {
    const k = new sshkey.SshKey("key", { dir: "/state/ssh/dev" });
    await settle();
    expect(countByType()).toEqual({ "dockercoins:hosts:SshKey": 1, "command:local:Command": 2 });
    expect(named("key-file").inputs).toMatchObject({ create: sshkey.keyFileScript(), environment: { DIR: "/state/ssh/dev" }, delete: 'rm -rf "$DIR"' });
    expect(named("key-read").inputs.create).toBe('cat "$DIR/id"');
    expect(named("key-read").dependencies).toEqual(["key-file"]);
    expect(await resolve(k.privateKeyPath)).toBe("/state/ssh/dev/id");
    expect(await resolve(k.publicKey as pulumi.Output<string>)).toBe("ssh-ed25519 AAAAC3Nza generated");
    expect(await resolve(k.privateKey)).toContain("generated");
  });

  it("configured: no resources; the program writes the key file on every run (any machine, no diff)", async () => {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "dc-key-")), "ssh");
    const k = new sshkey.SshKey("key", { dir, privateKey: pulumi.secret("PRIVATE") });
    await settle();
    expect(countByType()).toEqual({ "dockercoins:hosts:SshKey": 1 });
    expect(await resolve(k.privateKeyPath)).toBe(path.join(dir, "id"));
    expect(fs.readFileSync(path.join(dir, "id"), "utf8")).toBe("PRIVATE\n");
    expect(k.publicKey).toBeUndefined();
    expect(await pulumi.isSecret(k.privateKey)).toBe(true);
    expect(await pulumi.isSecret(k.privateKeyPath)).toBe(false);
    fs.rmSync(path.dirname(dir), { recursive: true });
  });
});

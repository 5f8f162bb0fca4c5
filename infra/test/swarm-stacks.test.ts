import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { dockercoinsServices, type DockerCoinsServicesOptions } from "../swarm/dockercoins";
import { liveManagerScript } from "../swarm/scripts";
import { countByType, isSecret, named, ofType, pathContains, plain, registrations, reset, resolve, settle, setupMocks, sha } from "./harness";

let parseConfig: typeof import("../config").parseConfig;
let STACKS: typeof import("../stacks").STACKS;
let swarm: typeof import("../stacks/swarm");
let rolloutKey: typeof import("../swarm/services").rolloutKey;
beforeAll(async () => {
  await setupMocks();
  ({ rolloutKey } = await import("../swarm/services"));
  ({ parseConfig } = await import("../config"));
  ({ STACKS } = await import("../stacks"));
  swarm = await import("../stacks/swarm");
});
beforeEach(async () => {
  await settle();
  reset();
});

// Configured keys are written to <stateDir>/ssh/id by the program itself: keep that in a scratch directory.
const STATE = fs.mkdtempSync(path.join(os.tmpdir(), "dc-state-"));
afterAll(() => fs.rmSync(STATE, { recursive: true, force: true }));
// As Pulumi runs the program: in infra/, so providers get paths relative to it.
const PROGRAM_DIR = path.resolve(__dirname, "..");
const CTX = { stack: "test", projectDir: "..", stateDir: STATE, homeDir: "/home/me", providerPath: (p: string) => path.relative(PROGRAM_DIR, p) };
const fromProgram = (p: string) => path.relative(PROGRAM_DIR, p);
const KEY = {
  sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nuser\n-----END OPENSSH PRIVATE KEY-----\n",
  sshPublicKey: "ssh-ed25519 AAAAC3Nza user@laptop",
};
const VMS = JSON.stringify([1, 2, 3, 4, 5].map((n) => ({ name: `node${n}`, address: `192.168.1.10${n}`, user: "root" })));
const AWS = { target: "aws", awsAdminCidr: "203.0.113.7/32", awsRegion: "eu-west-1", ...KEY };
const DEV = { target: "local", endpointMode: "dnsrr" };
const BASE_SERVICES: DockerCoinsServicesOptions = {
  images: { rng: "r@sha256:1", hasher: "h@sha256:2", worker: "w@sha256:3", webui: "u@sha256:4", redis: "redis:7-bookworm" },
  replicas: { worker: 1, rng: 1, hasher: 1, webui: 1 },
  rngMode: "replicated",
  endpointMode: "dnsrr",
  webuiPort: 8000,
  timing: "workshop",
};

async function run(raw: Record<string, string>) {
  const cfg = parseConfig(raw);
  const out = STACKS[cfg.target](cfg, CTX);
  await settle();
  return out;
}
const service = (svc: string) => named(`dockercoins-${svc}`).inputs;
const remote = () => ofType("command:remote:Command");

/** The remote commands as name -> names of what they wait for, resolved through component parents. */
function commandOrder(): Record<string, string[]> {
  return Object.fromEntries(remote().map((c) => [c.name, c.dependencies]));
}

describe("every Swarm target: exact resource counts", () => {
  it("local (Pulumi.dev.yaml): key, 5 node containers, Swarm, registry, 4 images, 5 services", async () => {
    await run(DEV);
    expect(countByType()).toEqual({
      "dockercoins:hosts:SshKey": 1,
      "command:local:Command": 7, // the SSH key (write, read back), the live-manager search, each joined node's leave at destroy (4)
      "dockercoins:hosts:LocalHosts": 1,
      "pulumi-nodejs:dynamic:Resource": 5, // each node's SSH host key, learned when its container first starts
      "docker:index/image:Image": 5, // node image + rng, hasher, worker, webui
      "docker:index/network:Network": 3, // node bridge, registry overlay, dockercoins overlay
      "docker:index/volume:Volume": 5,
      "docker:index/container:Container": 5,
      "dockercoins:swarm:Cluster": 1,
      // per node: wait-for-ssh, docker, engine-config, labels (20); init, 2 token reads, 4 joins; docker group on
      // the manager; the app's rollout wait; the registry and redis images pinned by digest
      "command:remote:Command": 32,
      "pulumi:providers:docker": 1,
      "dockercoins:swarm:Services": 2,
      "docker:index/service:Service": 6, // registry + redis, rng, hasher, worker, webui
      "dockercoins:images:Images": 1,
    });
  });

  it("vms: no machines created, images built on the manager", async () => {
    await run({ target: "vms", vmHosts: VMS, sshPrivateKey: KEY.sshPrivateKey });
    expect(countByType()).toEqual({
      "dockercoins:hosts:SshKey": 1,
      "dockercoins:hosts:VmHosts": 1,
      "pulumi-nodejs:dynamic:Resource": 5, // each machine's /etc/machine-id (its identity) and SSH host key
      "dockercoins:swarm:Cluster": 1,
      "command:remote:Command": 32,
      "command:local:Command": 5, // the live-manager search, each joined node's leave at destroy
      "pulumi:providers:docker": 1,
      "dockercoins:swarm:Services": 2,
      "docker:index/network:Network": 2,
      "docker:index/service:Service": 6,
      "dockercoins:images:Images": 1,
      "docker:index/image:Image": 4,
    });
  });

  it("vms: each machine's bootstrap guards the registry, the log store and Swarm's ports (the nodes and vmsAdminCidr only); the playground's does not", async () => {
    await run({ target: "vms", vmHosts: VMS, sshPrivateKey: KEY.sshPrivateKey, vmsAdminCidr: "203.0.113.7/32" });
    const bootstraps = await Promise.all(remote().filter((c) => /^swarm-node\d-docker$/.test(c.name)).map((c) => resolve(c.inputs.create)));
    expect(bootstraps).toHaveLength(5);
    for (const text of bootstraps) {
      expect(text).toContain("for source in 127.0.0.0/8 192.168.1.101 192.168.1.102 192.168.1.103 192.168.1.104 192.168.1.105 203.0.113.7/32; do");
      expect(text).toContain("hook DOCKER-USER -p tcp -m conntrack --ctstate DNAT --ctorigdstport 5000 --ctdir ORIGINAL");
      expect(text).toContain("hook DOCKER-USER -p tcp -m conntrack --ctstate DNAT --ctorigdstport 9428 --ctdir ORIGINAL");
      expect(text).toContain("hook INPUT -p udp --dport 4789");
    }
    reset();
    await run(DEV);
    const local = await Promise.all(remote().filter((c) => /^swarm-node\d-docker$/.test(c.name)).map((c) => resolve(c.inputs.create)));
    expect(local).toHaveLength(5);
    for (const text of local) expect(text).not.toContain("DOCKERCOINS-GUARD");
  });

  it("aws: 5 x m4.large plus the same Swarm path", async () => {
    await run(AWS);
    const counts = countByType();
    expect(counts["aws:ec2/instance:Instance"]).toBe(5);
    expect(counts["aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"]).toBe(7);
    expect(counts["command:remote:Command"]).toBe(32);
    expect(counts["docker:index/service:Service"]).toBe(6);
    expect(ofType("aws:ec2/instance:Instance").every((i) => i.inputs.instanceType === "m4.large")).toBe(true);
    expect(named("aws-provider").inputs.region).toBe("eu-west-1");
    // The first SSH command waits for port 22's rule: destroy deletes that rule only after every command.
    expect(named("swarm-node1-ssh").dependencies).toEqual(expect.arrayContaining(["aws-node1", "aws-in-tcp-22", "aws-out-all"]));
  });
});

describe("local target", () => {
  it("images: built locally, pushed through 127.0.0.1:15000, services pull by digest from node1:5000", async () => {
    await run(DEV);
    const appImages = ofType("docker:index/image:Image").filter((i) => i.name.startsWith("images-"));
    expect(appImages.map((i) => i.inputs.imageName).sort()).toEqual(
      ["hasher", "rng", "webui", "worker"].map((s) => `127.0.0.1:15000/dockercoins/${s}:latest`),
    );
    expect(appImages.every((i) => !i.provider?.includes("::manager::"))).toBe(true);
    for (const svc of ["rng", "hasher", "worker", "webui"]) {
      expect(service(svc).taskSpec.containerSpec.image).toMatch(new RegExp(`^10\\.213\\.0\\.11:5000/dockercoins/${svc}@sha256:[0-9a-f]{64}$`));
    }
    // Configured by tag, deployed by the digest the manager resolved (what Swarm would otherwise store itself).
    expect(plain(named("redis-image-pin").inputs.create)).toContain("img='\\''redis:7-bookworm'\\''");
    expect(plain(named("registry-image-pin").inputs.create)).toContain("img='\\''registry:2'\\''");
    expect(service("redis").taskSpec.containerSpec.image).toMatch(/^redis@sha256:[0-9a-f]+$/);
    expect(named("registry-registry").inputs.taskSpec.containerSpec.image).toMatch(/^registry@sha256:[0-9a-f]+$/);
  });

  it("the Docker provider reaches node1 over SSH with the key file, and only if node1 offers the host key learned for it", async () => {
    await run(DEV);
    expect(named("manager").inputs).toMatchObject({
      host: "ssh://root@127.0.0.1:22001",
      sshOpts: JSON.stringify([
        // Relative to the program's folder: the provider's config is the same from any checkout.
        "-i", fromProgram(`${STATE}/ssh/id`), "-o", "IdentitiesOnly=yes",
        "-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${fromProgram(`${STATE}/ssh/known_hosts`)}`,
        "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=20",
      ]),
    });
    const node1Key = `ssh-ed25519 AAAAnode${sha("local-node1-host-key").slice(0, 8)}`;
    expect(fs.readFileSync(path.join(STATE, "ssh", "known_hosts"), "utf8")).toBe(`[127.0.0.1]:22001 ${node1Key}\n`);
    // Every remote command checks the key of the node it runs on; the manager's too.
    for (const n of [1, 2, 3, 4, 5]) {
      const key = `ssh-ed25519 AAAAnode${sha(`local-node${n}-host-key`).slice(0, 8)}`;
      for (const step of ["ssh", "docker", "engine-config"]) expect(plain(named(`swarm-node${n}-${step}`).inputs.connection).hostKey).toBe(key);
      expect(named(`local-node${n}-host-key`).inputs).toMatchObject({ host: "127.0.0.1", port: 22000 + n, identity: `local-node${n}-id` });
    }
    expect(plain(named("manager-docker-group").inputs.connection).hostKey).toBe(node1Key);
    expect(plain(named("dockercoins-rollout").inputs.connection).hostKey).toBe(node1Key);
    // The scripts that ssh from this machine (leaving at destroy) check it too.
    expect(plain(named("swarm-node3-leave").inputs.environment).KNOWN_HOSTS).toBe(`[127.0.0.1]:22003 ssh-ed25519 AAAAnode${sha("local-node3-host-key").slice(0, 8)}`);
  });

  it("nodes get the generated public key; every remote command uses the generated private key as a secret", async () => {
    await run(DEV);
    expect(ofType("docker:index/container:Container").every((c) => c.inputs.envs[0] === "SSH_AUTHORIZED_KEY=ssh-ed25519 AAAAC3Nza generated")).toBe(true);
    for (const c of remote()) {
      expect(isSecret(c.inputs.connection)).toBe(true);
      expect(plain(c.inputs.connection).privateKey).toContain("generated");
    }
    const ports = remote().map((c) => plain(c.inputs.connection).port);
    expect(new Set(ports)).toEqual(new Set([22001, 22002, 22003, 22004, 22005]));
  });

  it("dnsrr: every service in dnsrr mode, webui published in host mode on node1 (labelled)", async () => {
    await run(DEV);
    for (const svc of ["redis", "rng", "hasher", "worker", "webui"]) expect(service(svc).endpointSpec.mode).toBe("dnsrr");
    expect(service("webui").endpointSpec.ports).toEqual([{ targetPort: 80, publishedPort: 8000, publishMode: "host", protocol: "tcp" }]);
    expect(service("webui").taskSpec.placement).toEqual({ constraints: ["node.labels.dockercoins.webui == true"] });
    expect(named("swarm-node1-labels").inputs.create).toContain("dockercoins.webui");
    expect(named("swarm-node2-labels").inputs.create).not.toContain("dockercoins.webui");
  });

  it("vip: ingress publish and no extra webui labels", async () => {
    await run({ ...DEV, endpointMode: "vip" });
    expect(service("webui").endpointSpec).toMatchObject({ mode: "vip", ports: [{ targetPort: 80, publishedPort: 8000, publishMode: "ingress", protocol: "tcp" }] });
    expect(service("webui").taskSpec.placement).toBeUndefined();
  });

  it("replicas follow config; rng global mode when asked", async () => {
    await run({ ...DEV, workerReplicas: "10", hasherReplicas: "3", webuiReplicas: "1" });
    expect(service("worker").mode).toEqual({ replicated: { replicas: 10 } });
    expect(service("hasher").mode).toEqual({ replicated: { replicas: 3 } });
    expect(service("rng").mode).toEqual({ replicated: { replicas: 1 } });
    await settle();
    reset();
    await run({ ...DEV, rngMode: "global" });
    expect(service("rng").mode).toEqual({ global: true });
  });

  it("debug service: global, on the overlay, from debugImage", async () => {
    await run({ ...DEV, debugService: "true" });
    expect(service("debug")).toMatchObject({ mode: { global: true }, taskSpec: { containerSpec: { image: expect.stringMatching(/^debug@sha256:/), args: ["sh", "-c", "trap 'exit 0' TERM; sleep infinity & wait"] } } });
    expect(ofType("docker:index/service:Service")).toHaveLength(7);
  });

  it("changing only workerReplicas changes only the worker service's inputs, and the rollout wait's (up waits for the tasks)", async () => {
    await run({ ...DEV, workerReplicas: "1" });
    const before = new Map(registrations.map((r) => [r.name, JSON.stringify(r.inputs)]));
    await settle();
    reset();
    await run({ ...DEV, workerReplicas: "4" });
    const after = new Map(registrations.map((r) => [r.name, JSON.stringify(r.inputs)]));
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    expect([...after.keys()].filter((k) => after.get(k) !== before.get(k)).sort()).toEqual(["dockercoins-rollout", "dockercoins-worker"]);
    expect(service("worker").mode).toEqual({ replicated: { replicas: 4 } });
  });

  it("switching rng to global mode replaces rng (Swarm cannot change a service's mode in place)", async () => {
    await run(DEV);
    expect(named("dockercoins-rng").replaceOnChanges.some((p) => pathContains(p, "mode.global"))).toBe(true);
  });

  // Pulumi's path matching makes "mode" cover "mode.replicated.replicas": with replaceOnChanges ["mode"]
  // scaling would delete and re-create the service (deleteBeforeReplace) instead of updating it.
  it("scaling (mode.replicated.replicas) updates the worker in place, never replaces it", async () => {
    await run(DEV);
    expect(named("dockercoins-worker").replaceOnChanges.some((p) => pathContains(p, "mode.replicated.replicas"))).toBe(false);
  });

  it("outputs", async () => {
    const out = await run(DEV);
    expect(out.webuiUrl).toBe("http://127.0.0.1:8000");
    expect(await resolve(out.managerAddress)).toBe("10.213.0.11");
    // node1's learned host key, in the known_hosts file beside the key: the user's ssh checks it too.
    expect(await resolve(out.sshCommand)).toBe(`ssh -i ${STATE}/ssh/id -o UserKnownHostsFile=${STATE}/ssh/known_hosts -p 22001 root@127.0.0.1`);
    expect(out.replicas).toEqual({ worker: 1, rng: 1, hasher: 1, webui: 1, redis: 1, registry: 1 });
    const nodes = (await resolve(out.nodes)) as string[];
    expect(nodes.map((n) => n.split(" ").slice(0, 2).join(" "))).toEqual(["node1 manager", "node2 worker", "node3 worker", "node4 worker", "node5 worker"]);
  });
});

describe("logging (the optional log store)", () => {
  it("off by default: no store, no log driver, no logs output", async () => {
    const out = await run(DEV);
    expect(registrations.some((r) => r.name.startsWith("logs"))).toBe(false);
    expect(ofType("docker:index/service:Service").every((s) => s.inputs.taskSpec.logDriver === undefined)).toBe(true);
    expect(out.logsUrl).toBeUndefined();
  });

  it("on: the store on node1 (host-mode port, own volume), every other service ships to node1's address", async () => {
    const out = await run({ ...DEV, logging: "true" });
    const store = named("logs-logs").inputs;
    expect(store.taskSpec.placement.constraints).toEqual(["node.labels.dockercoins.logs == true"]);
    expect(store.endpointSpec.ports).toEqual([{ targetPort: 9428, publishedPort: 9428, publishMode: "host", protocol: "tcp" }]);
    expect(store.taskSpec.containerSpec.image).toMatch(/@sha256:/); // pinned by digest on the manager, as redis
    expect(named("logs-image-pin").inputs.create).toContain("victoriametrics/victoria-logs:v1.52.1");
    expect(store.taskSpec.containerSpec.mounts).toEqual([{ type: "volume", source: "dockercoins-logs", target: "/victoria-logs-data" }]);
    expect(store.taskSpec.logDriver).toBeUndefined(); // never its own lines: a loop
    const shipping = ofType("docker:index/service:Service").filter((s) => s.name !== "logs-logs");
    expect(shipping.map((s) => s.inputs.name).sort()).toEqual(["hasher", "redis", "registry", "rng", "webui", "worker"]);
    for (const s of shipping) {
      expect(s.inputs.taskSpec.logDriver).toMatchObject({
        name: "splunk",
        options: { "splunk-url": "http://10.213.0.11:9428", "splunk-source": s.inputs.name, "splunk-format": "json", mode: "non-blocking" },
      });
    }
    expect(await resolve(out.logsUrl)).toBe("http://127.0.0.1:9428/select/vmui/");
    expect(out.replicas).toMatchObject({ logs: 1 });
    // The playground's nodes get the store's image from this machine, like registry and redis.
    expect(named("local-node1-preload").inputs.environment.IMAGES).toContain("victoriametrics/victoria-logs:v1.52.1");
  });

  it("turning it on changes no node container (node1 publishes the port either way) and replaces no service", async () => {
    const dev = { ...DEV, localPreloadImages: "registry:2,redis:7-bookworm" }; // as Pulumi.dev.yaml
    await run(dev);
    const before = new Map(registrations.map((r) => [r.name, JSON.stringify(r.inputs)]));
    await settle();
    reset();
    await run({ ...dev, logging: "true" });
    const changed = registrations.filter((r) => before.has(r.name) && before.get(r.name) !== JSON.stringify(r.inputs)).map((r) => r.name);
    expect(changed.filter((n) => /^local-node\d$/.test(n))).toEqual([]);
    // In place: the services' log driver (and so the wait for their rollout), the preload lists that now carry
    // the store's image.
    expect(changed.sort()).toEqual(
      ["dockercoins-hasher", "dockercoins-redis", "dockercoins-rng", "dockercoins-rollout", "dockercoins-webui", "dockercoins-worker", "registry-registry",
        ...[1, 2, 3, 4, 5].map((n) => `local-node${n}-preload`)].sort(),
    );
    expect(named("dockercoins-worker").replaceOnChanges.some((p) => pathContains(p, "taskSpec.logDriver"))).toBe(false);
  });

  it("aws: the store's port open to the admin's CIDR and to the group's nodes, nothing else", async () => {
    const out = await run({ ...AWS, logging: "true" });
    const rules = ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter((r) => r.inputs.fromPort === 9428);
    expect(rules.map((r) => [r.name, r.inputs.cidrIpv4 ?? "self"]).sort()).toEqual([
      ["aws-in-tcp-9428", "203.0.113.7/32"],
      ["aws-in-tcp-9428-nodes", "self"],
    ]);
    expect(await resolve(out.logsUrl)).toMatch(/^http:\/\/.*:9428\/select\/vmui\/$/);
  });
});

describe("remote and manager targets", () => {
  it("vms: configured key written to the state directory, images built through the manager's engine and pushed to its 127.0.0.1:5000", async () => {
    await run({ target: "vms", vmHosts: VMS, sshPrivateKey: KEY.sshPrivateKey, managerCount: "3" });
    expect(fs.readFileSync(path.join(STATE, "ssh", "id"), "utf8")).toBe(KEY.sshPrivateKey);
    const images = ofType("docker:index/image:Image");
    expect(images.map((i) => i.inputs.imageName).sort()).toEqual(["hasher", "rng", "webui", "worker"].map((s) => `127.0.0.1:5000/dockercoins/${s}:latest`));
    expect(images.every((i) => i.provider?.includes("::manager::"))).toBe(true);
    expect(service("rng").taskSpec.containerSpec.image).toMatch(/^192\.168\.1\.101:5000\/dockercoins\/rng@sha256:[0-9a-f]{64}$/);
    expect(named("manager").inputs.host).toBe("ssh://root@192.168.1.101:22");
    expect(JSON.parse(named("manager").inputs.sshOpts)).toEqual([
      "-i", fromProgram(`${STATE}/ssh/id`), "-o", "IdentitiesOnly=yes",
      "-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${fromProgram(`${STATE}/ssh/known_hosts`)}`,
      "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=20",
    ]);
    // 3 managers: node2 and node3 join with the manager token, handed over on standard input (a secret),
    // never in the command text that a failed command prints.
    expect(plain(named("swarm-node2-join").inputs.stdin)).toBe("SWMTKN-1-0cluster0-m4nager\n");
    expect(plain(named("swarm-node4-join").inputs.stdin)).toBe("SWMTKN-1-0cluster0-w0rker\n");
    expect(isSecret(named("swarm-node2-join").inputs.stdin)).toBe(true);
    for (const n of [2, 3, 4, 5]) expect(plain(named(`swarm-node${n}-join`).inputs.create)).not.toMatch(/0cluster0/);
    // ... and are given their role by the first manager, so a later managerCount change promotes or demotes.
    expect(plain(named("swarm-node3-labels").inputs.create)).toContain("--role manager");
    expect(plain(named("swarm-node4-labels").inputs.create)).toContain("--role worker");
    // No command is replaced by a changed script (a replacement would run its delete: leave, drain, remove).
    for (const c of ofType("command:remote:Command").filter((c) => c.name.startsWith("swarm-"))) expect(c.inputs.triggers).toBeUndefined();
  });

  it("aws: webui URL and SSH command use node1's public IP; the SSH user is ubuntu", async () => {
    const out = await run(AWS);
    expect(await resolve(out.webuiUrl)).toBe("http://198.51.100.1:8000");
    expect(await resolve(out.sshCommand)).toBe(`ssh -i ${STATE}/ssh/id -o UserKnownHostsFile=${STATE}/ssh/known_hosts ubuntu@198.51.100.1`);
    // The key the program made for node1, which cloud-init gave its sshd.
    expect(fs.readFileSync(path.join(STATE, "ssh", "known_hosts"), "utf8")).toBe(`198.51.100.1 ssh-ed25519 AAAAhost${sha("aws-node1-host-key").slice(0, 8)}\n`);
    expect(named("manager").inputs.host).toBe("ssh://ubuntu@198.51.100.1:22");
    expect(named("manager-docker-group").inputs.create).toBe(swarm.DOCKER_GROUP_SCRIPT);
  });
});

describe("a login for the cluster's person (loginUser, loginPassword)", () => {
  const ADMIN_VMS = VMS.replace(/"root"/g, '"admin"');

  it("vms: one login per machine once its engine is set up; the password only on standard input, a secret; loginCommand names the first machine", async () => {
    const out = await run({ target: "vms", vmHosts: ADMIN_VMS, sshPrivateKey: KEY.sshPrivateKey, loginPassword: "correct horse battery", loginUser: "alice" });
    const logins = remote().filter((c) => c.name.startsWith("login-"));
    expect(logins.map((c) => c.name)).toEqual(["login-node1", "login-node2", "login-node3", "login-node4", "login-node5"]);
    for (const [i, c] of logins.entries()) {
      expect(isSecret(c.inputs.stdin)).toBe(true);
      expect(plain(c.inputs.stdin)).toBe("correct horse battery\n");
      expect(JSON.stringify(plain([c.inputs.create, c.inputs.delete]))).not.toContain("correct horse");
      expect(plain(c.inputs.connection)).toMatchObject({ host: `192.168.1.10${i + 1}`, user: "admin" });
      expect(c.inputs.create).toContain("useradd --create-home --shell /bin/bash alice");
      expect(c.inputs.delete).toContain("userdel --remove alice");
      // After the Swarm is labelled and every engine configured (the docker group is there).
      expect(c.dependencies).toEqual(expect.arrayContaining([`swarm-node${i + 1}-engine-config`]));
    }
    expect(await resolve(out.loginCommand!)).toBe("ssh alice@192.168.1.101");
  });

  it("aws: the same login on every instance, reached as ubuntu at its public address", async () => {
    const out = await run({ ...AWS, loginPassword: "correct horse battery" });
    const logins = remote().filter((c) => c.name.startsWith("login-"));
    expect(logins.map((c) => plain(c.inputs.connection)).map((c) => `${c.user}@${c.host}`)).toEqual([1, 2, 3, 4, 5].map((n) => `ubuntu@198.51.100.${n}`));
    expect(await resolve(out.loginCommand!)).toBe("ssh student@198.51.100.1");
  });

  it("none unless asked for", async () => {
    const out = await run({ target: "vms", vmHosts: ADMIN_VMS, sshPrivateKey: KEY.sshPrivateKey });
    expect(remote().filter((c) => c.name.startsWith("login-"))).toEqual([]);
    expect(out.loginCommand).toBeUndefined();
  });
});

describe("pure helpers", () => {
  it("webuiLabels: first webuiReplicas nodes with dnsrr, none with vip", () => {
    const names = ["node1", "node2", "node3"];
    expect(swarm.webuiLabels(names, { endpointMode: "dnsrr", replicas: { worker: 1, rng: 1, hasher: 1, webui: 2 } })).toEqual({
      node1: { "dockercoins.webui": "true" },
      node2: { "dockercoins.webui": "true" },
    });
    expect(swarm.webuiLabels(names, { endpointMode: "vip", replicas: { worker: 1, rng: 1, hasher: 1, webui: 2 } })).toEqual({});
  });
  it("swarmReplicas reports a global rng per node", () => {
    const cfg = { nodeCount: 5, rngMode: "global", replicas: { worker: 10, rng: 1, hasher: 1, webui: 1 } } as const;
    const logs = { enabled: false, image: "vl", agentImage: "vla", port: 9428, retention: "7d", maxDisk: "1GiB", allNamespaces: false };
    expect(swarm.swarmReplicas({ ...cfg, logs })).toEqual({ worker: 10, rng: "global (5)", hasher: 1, webui: 1, redis: 1, registry: 1 });
    expect(swarm.swarmReplicas({ ...cfg, logs: { ...logs, enabled: true } })).toMatchObject({ logs: 1 });
  });
});

describe("a re-created host is set up again (its identity is in its scripts)", () => {
  const naming = (id: string) => remote().filter((c) => String(plain(c.inputs.create)).includes(id)).map((c) => c.name).sort();

  it("a worker node's container id: its own scripts and its labels on the manager, nothing else", async () => {
    await run(DEV);
    expect(naming("local-node3-id")).toEqual(["dockercoins-spread", "swarm-node3-docker", "swarm-node3-engine-config", "swarm-node3-join", "swarm-node3-labels", "swarm-node3-ssh"]);
    expect(String(plain(named("swarm-node3-docker").inputs.create))).toMatch(/^bash -c '# hosts: local-node3-id\n/);
  });

  it("the first manager's: its scripts, the join tokens and every node's labels; no other node's engine or join", async () => {
    await run(DEV);
    expect(naming("local-node1-id")).toEqual([
      "dockercoins-spread", "swarm-init", "swarm-manager-token", "swarm-node1-docker", "swarm-node1-engine-config", "swarm-node1-labels", "swarm-node1-ssh",
      "swarm-node2-labels", "swarm-node3-labels", "swarm-node4-labels", "swarm-node5-labels", "swarm-worker-token",
    ]);
  });

  it("any new host makes the services with tasks on every node spread them again (worker, rng, hasher: unpinned, replicated)", async () => {
    await run(DEV);
    const spread = String(plain(named("dockercoins-spread").inputs.create));
    expect(spread).toMatch(/^bash -c '# hosts: local-node1-id local-node2-id local-node3-id local-node4-id local-node5-id\n/);
    expect(spread).toContain("for svc in rng hasher worker; do");
    expect(named("dockercoins-spread").dependencies).toEqual(expect.arrayContaining(["dockercoins-worker", "dockercoins-rng", "dockercoins-hasher"]));
  });

  it("with 3 managers, a new first manager joins the live managers' Swarm: the search runs when any manager is new", async () => {
    await run({ ...DEV, managerCount: "3" });
    const probe = named("swarm-live-manager");
    expect(probe.type).toBe("command:local:Command");
    expect(probe.inputs.create).toBe(`# hosts: local-node1-id local-node2-id local-node3-id\n${liveManagerScript()}`);
    // The other managers, in order, as "user|sshHost|sshPort|address"; the key in the environment, a secret.
    expect(plain(probe.inputs.environment).PEERS).toBe("root|127.0.0.1|22002|10.213.0.12 root|127.0.0.1|22003|10.213.0.13");
    // The first manager's address: a live peer removes the lost machine's entry before the new one joins.
    expect(plain(probe.inputs.environment).SELF_ADDRESS).toBe("10.213.0.11");
    expect(isSecret(probe.inputs.environment)).toBe(true);
    expect(probe.inputs.logging).toBe("stderr"); // its stdout holds a manager token
    // After the first manager's engine settings: an engine restarting there never looks like a lost machine.
    expect(probe.dependencies).toEqual([
      "local-node1", "local-node2", "local-node2-host-key", "local-node3", "local-node3-host-key", "ssh-key-read",
      "swarm-node1-engine-config", "swarm-node2-ssh", "swarm-node3-ssh",
    ]);
    // It asks the peers for a token only if they offer the host keys learned for them.
    expect(plain(probe.inputs.environment).KNOWN_HOSTS).toBe(
      [2, 3].map((n) => `[127.0.0.1]:2200${n} ssh-ed25519 AAAAnode${sha(`local-node${n}-host-key`).slice(0, 8)}`).join("\n"),
    );
    // The init reads what it found on standard input, and joins through it if it found one.
    expect(named("swarm-init").dependencies).toContain("swarm-live-manager");
    expect(String(plain(named("swarm-init").inputs.create))).toContain("read -r via token || true");
    // One manager: no one to ask (the init forms the Swarm), but the step stays: a managerCount change
    // creates and deletes nothing.
    reset();
    await run(DEV);
    expect(plain(named("swarm-live-manager").inputs.environment).PEERS).toBe("");
    expect(named("swarm-live-manager").inputs.create).toBe(`# hosts: local-node1-id\n${liveManagerScript()}`);
  });

  it("an EC2 instance id likewise (a key or region change replaces the instances)", async () => {
    await run(AWS);
    expect(naming("aws-node2-id")).toEqual(["dockercoins-spread", "swarm-node2-docker", "swarm-node2-engine-config", "swarm-node2-join", "swarm-node2-labels", "swarm-node2-ssh"]);
  });

  it("images are pushed again into a new registry: the registry service's id replaces them", async () => {
    for (const cfg of [AWS, DEV]) {
      reset();
      await run(cfg);
      // Under mocks, the registry service's id is made of its name.
      for (const svc of ["rng", "hasher", "worker", "webui"]) {
        expect(named(`images-${svc}`).replacementTrigger).toBe("registry-registry-id");
      }
    }
  });

  it("every join carries the first manager's node ID: a Swarm formed again there makes each node run its join again", async () => {
    await run(DEV);
    const initId = sha("swarm-init").slice(0, 25); // the mock's node ID for it
    for (const n of [2, 3, 4, 5]) expect(named(`swarm-node${n}-join`).inputs.create).toContain(`*" ${initId}@"*`);
  });
});

describe("ordering (local target)", () => {
  it("remote commands chain: node container -> ssh -> docker -> engine settings -> init -> tokens -> joins -> labels -> provider", async () => {
    await run(DEV);
    const deps = (name: string) => named(name).dependencies;
    // Every script also depends on the node containers it sets up: their ids are in its text.
    for (const n of [1, 2, 3, 4, 5]) {
      // The host key too: every connection checks it.
      expect(deps(`swarm-node${n}-ssh`)).toEqual([`local-node${n}`, `local-node${n}-host-key`, "ssh-key-read"]);
      expect(deps(`swarm-node${n}-docker`)).toEqual([`local-node${n}`, `local-node${n}-host-key`, "ssh-key-read", `swarm-node${n}-ssh`]);
    }
    expect(deps("swarm-init")).toEqual(["local-node1", "local-node1-host-key", "ssh-key-read", "swarm-live-manager", "swarm-node1-engine-config"]);
    expect(deps("swarm-manager-token")).toEqual(["local-node1", "local-node1-host-key", "ssh-key-read", "swarm-init"]);
    expect(deps("swarm-worker-token")).toEqual(["local-node1", "local-node1-host-key", "ssh-key-read", "swarm-init"]);
    for (const n of [2, 3, 4, 5]) {
      // The init too: its node ID is in every join (a Swarm formed again makes them run again).
      expect(deps(`swarm-node${n}-join`)).toEqual([`local-node${n}`, `local-node${n}-host-key`, "ssh-key-read", "swarm-init", `swarm-node${n}-engine-config`, "swarm-worker-token"]);
      // Leaving (at destroy, from here) comes after the drain and removal on the manager.
      expect(deps(`swarm-node${n}-leave`)).toEqual([`local-node${n}-host-key`, "ssh-key-read", `swarm-node${n}-join`]);
      // One node after the other (promotions and demotions keep Raft's quorum).
      expect(deps(`swarm-node${n}-labels`)).toEqual(["local-node1", "local-node1-host-key", `local-node${n}`, "ssh-key-read", `swarm-node${n - 1}-labels`, `swarm-node${n}-leave`].sort());
      // Engine settings roll one node after the other too.
      expect(deps(`swarm-node${n}-engine-config`)).toEqual([`local-node${n}`, `local-node${n}-host-key`, "ssh-key-read", `swarm-node${n - 1}-engine-config`, `swarm-node${n}-docker`]);
    }
    expect(deps("swarm-node1-engine-config")).toEqual(["local-node1", "local-node1-host-key", "ssh-key-read", "swarm-node1-docker"]);
    const ready = [...[1, 2, 3, 4, 5].map((n) => `swarm-node${n}-labels`), ...[1, 2, 3, 4, 5].map((n) => `swarm-node${n}-engine-config`)];
    expect(deps("manager-docker-group")).toEqual(["local-node1-host-key", "ssh-key-read", ...ready].sort());
    // The provider takes node1's host key through manager-docker-group (whose connection wrote known_hosts):
    // its own config holds only the file's path, known in a preview even while node1 is being re-created.
    expect(deps("manager")).toEqual(["manager-docker-group", "ssh-key-file", "ssh-key-read", ...ready].sort());
  });

  it("every engine trusts node1's registry; 3 managers join one at a time, then the workers", async () => {
    await run({ ...DEV, managerCount: "3" });
    for (const n of [1, 2, 3, 4, 5]) expect(plain(named(`swarm-node${n}-docker`).inputs.create)).toContain('"10.213.0.11:5000"');
    const deps = (name: string) => named(name).dependencies;
    expect(deps("swarm-node2-join")).toEqual(["local-node2", "local-node2-host-key", "ssh-key-read", "swarm-init", "swarm-manager-token", "swarm-node2-engine-config"]);
    expect(deps("swarm-node3-join")).toEqual(["local-node3", "local-node3-host-key", "ssh-key-read", "swarm-init", "swarm-manager-token", "swarm-node2-join", "swarm-node3-engine-config"]);
    for (const n of [4, 5]) {
      expect(deps(`swarm-node${n}-join`)).toEqual([`local-node${n}`, `local-node${n}-host-key`, "ssh-key-read", "swarm-init", "swarm-node2-join", "swarm-node3-join", `swarm-node${n}-engine-config`, "swarm-worker-token"]);
    }
  });

  it("images wait for the registry service; app services wait for their image", async () => {
    await run(DEV);
    for (const svc of ["rng", "hasher", "worker", "webui"]) {
      expect(named(`images-${svc}`).dependencies).toEqual(["registry-network", "registry-registry"]);
      expect(named(`dockercoins-${svc}`).dependencies).toEqual(["dockercoins-network", `images-${svc}`]);
    }
    expect(named("dockercoins-redis").dependencies).toEqual(["dockercoins-network", "redis-image-pin"]);
    // Everything on the Swarm goes through the manager's provider.
    for (const r of ofType("docker:index/service:Service")) expect(r.provider).toContain("::manager::");
  });

  it("`pulumi up` ends with a wait on the manager for every app service's rollout; the registry has none", async () => {
    await run(DEV);
    const rollout = named("dockercoins-rollout");
    // The services, plus what its inputs come from: the images (in the key) and the login key.
    expect(rollout.dependencies).toEqual([
      "dockercoins-hasher", "dockercoins-redis", "dockercoins-rng", "dockercoins-webui", "dockercoins-worker",
      "images-hasher", "images-rng", "images-webui", "images-worker", "local-node1-host-key", "redis-image-pin", "ssh-key-read",
    ]);
    expect(plain(rollout.inputs.create)).toContain("for svc in redis rng hasher worker webui; do");
    expect(rollout.inputs.connection).toBeDefined();
    expect(ofType("command:remote:Command").filter((c) => c.name.endsWith("-rollout")).map((c) => c.name)).toEqual(["dockercoins-rollout"]);
    // The wait is the manager's: the provider's own (convergeConfig, 7 s then every 5 s) is left out.
    const app = ofType("docker:index/service:Service").filter((r) => r.name.startsWith("dockercoins-"));
    expect(app).toHaveLength(5);
    for (const r of app) expect(r.inputs, r.name).not.toHaveProperty("convergeConfig");
    // The registry has no wait of its own on the manager: the provider waits for it.
    expect(named("registry-registry").inputs.convergeConfig).toEqual({ delay: "5s", timeout: "5m" });
  });
});

describe("rollout key: a scale, a new spec or a new image makes `pulumi up` wait for the tasks", () => {
  const key = (o: Partial<DockerCoinsServicesOptions>) =>
    resolve(rolloutKey(dockercoinsServices({ ...BASE_SERVICES, ...o })));
  it.each([
    ["worker replicas", { replicas: { ...BASE_SERVICES.replicas, worker: 10 } }, true],
    ["rng replicas", { replicas: { ...BASE_SERVICES.replicas, rng: 3 } }, true],
    ["nothing", {}, false],
    ["timing", { timing: "zero-delay" }, true],
    ["rng mode", { rngMode: "global" }, true],
    ["an image digest", { images: { ...BASE_SERVICES.images, worker: "w@sha256:9" } }, true],
  ] as const)("%s changes it: %s", async (_what, change, changes) => {
    expect((await key(change as Partial<DockerCoinsServicesOptions>)) !== (await key({}))).toBe(changes);
  });
});

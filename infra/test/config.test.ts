import { describe, expect, it } from "vitest";
import { ConfigError, isCidr, KNOWN_KEYS, parseConfig } from "../config";

const AWS_OK = {
  "dockercoins:target": "aws",
  "dockercoins:awsAdminCidr": "203.0.113.7/32",
  "dockercoins:sshPrivateKey": "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n",
  "dockercoins:sshPublicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITEST me@laptop",
};
const VMS = JSON.stringify([
  { address: "10.0.0.11", user: "root" },
  { address: "10.0.0.12", user: "root", port: 2222, privateAddress: "192.168.1.12" },
  { name: "node3", address: "10.0.0.13", user: "root" },
]);

describe("parseConfig defaults", () => {
  it("an empty stack is the local playground with the workshop's defaults", () => {
    const c = parseConfig({});
    expect(c.target).toBe("local");
    expect(c.nodeCount).toBe(5);
    expect(c.managerCount).toBe(1);
    expect(c.replicas).toEqual({ worker: 1, rng: 1, hasher: 1, webui: 1 });
    expect(c.rngMode).toBe("replicated");
    expect(c.endpointMode).toBe("vip");
    expect(c.webuiPort).toBe(8000);
    expect(c.timing).toBe("workshop");
    expect(c.debugService).toBe(false);
    expect(c.aws).toEqual({ region: "us-east-1", instanceType: "m4.large", adminCidr: undefined, rootVolumeGiB: 30, sshUser: "ubuntu" });
    expect(c.local).toEqual({ sshBasePort: 22001, registryPort: 15000, subnet: "10.213.0.0/24", preloadImages: [] });
    expect(c.minikube.hpa).toBe("cpu");
    expect(c.minikube.hpaMaxReplicas).toBe(10);
    expect(c.minikube.hpaCpuPercent).toBe(5);
    expect(c.minikube.loadTest).toBe("none");
    expect(c.logs).toEqual({
      enabled: false, image: "victoriametrics/victoria-logs:v1.52.1", agentImage: "victoriametrics/vlagent:v1.52.1", port: 9428, retention: "7d", maxDisk: "1GiB", allNamespaces: false,
    });
  });

  it("reads namespaced and bare keys and ignores other namespaces", () => {
    const c = parseConfig({ "dockercoins:workerReplicas": "10", rngReplicas: "3", "aws:region": "nowhere" });
    expect(c.replicas.worker).toBe(10);
    expect(c.replicas.rng).toBe(3);
  });

  it("takes vms node count from the host list and fills port, private address and name", () => {
    const c = parseConfig({ target: "vms", vmHosts: VMS, sshPrivateKey: "k", swarmAddressPool: "10.20.0.0/16" });
    expect(c.swarmAddressPool).toBe("10.20.0.0/16");
    expect(c.nodeCount).toBe(3);
    expect(c.vmHosts).toEqual([
      { name: "10.0.0.11", address: "10.0.0.11", user: "root", port: 22, privateAddress: "10.0.0.11" },
      { name: "192.168.1.12", address: "10.0.0.12", user: "root", port: 2222, privateAddress: "192.168.1.12" },
      { name: "node3", address: "10.0.0.13", user: "root", port: 22, privateAddress: "10.0.0.13" },
    ]);
  });

  it("takes a registry mirror URL, and names the key when it is not one", () => {
    expect(parseConfig({ registryMirror: "http://10.0.0.5:5000" }).registryMirror).toBe("http://10.0.0.5:5000");
    expect(parseConfig({}).registryMirror).toBeUndefined();
    expect(() => parseConfig({ registryMirror: "10.0.0.5:5000" })).toThrowError(/dockercoins:registryMirror = "10.0.0.5:5000" is not allowed; expected a registry URL/);
  });

  it("splits the preload image list", () => {
    expect(parseConfig({ localPreloadImages: "registry:2, redis:7-bookworm,," }).local.preloadImages).toEqual(["registry:2", "redis:7-bookworm"]);
  });

  it("latency HPA defaults to 1-20 replicas and a 100 ms target, as the original", () => {
    const c = parseConfig({ target: "minikube", hpa: "latency" });
    expect([c.minikube.hpaMinReplicas, c.minikube.hpaMaxReplicas, c.minikube.hpaLatencyTargetMs]).toEqual([1, 20, 100]);
  });

  it("a login for the cluster's person: student by default, the password as given", () => {
    expect(parseConfig({ ...AWS_OK, "dockercoins:loginPassword": "correct horse" }).login).toEqual({ user: "student", password: "correct horse" });
    expect(parseConfig(AWS_OK).login).toBeUndefined();
  });

  it("accepts a complete aws stack", () => {
    expect(parseConfig(AWS_OK).aws.adminCidr).toBe("203.0.113.7/32");
  });
});

describe("parseConfig errors name the key, the value and what is allowed", () => {
  const cases: [string, Record<string, string>, string | RegExp][] = [
    ["target", { target: "gcp" }, 'dockercoins:target = "gcp" is not allowed; expected one of local, vms, aws, minikube'],
    ["managerCount not 1/3/5", { managerCount: "2" }, 'dockercoins:managerCount = "2" is not allowed; expected one of 1, 3, 5'],
    ["managerCount > nodeCount", { nodeCount: "3", managerCount: "5" }, 'dockercoins:managerCount = "5" is not allowed; expected at most nodeCount (3)'],
    ["nodeCount zero", { nodeCount: "0" }, 'dockercoins:nodeCount = "0" is not allowed; expected an integer from 1 to 20'],
    ["replicas not a number", { workerReplicas: "ten" }, 'dockercoins:workerReplicas = "ten" is not allowed; expected an integer from 0 to 100'],
    ["replicas negative", { rngReplicas: "-1" }, 'dockercoins:rngReplicas = "-1" is not allowed; expected an integer from 1 to 100'],
    ["replicas fractional", { hasherReplicas: "1.5" }, 'dockercoins:hasherReplicas = "1.5" is not allowed; expected an integer from 1 to 100'],
    ["rngMode", { rngMode: "daemonset" }, 'dockercoins:rngMode = "daemonset" is not allowed; expected one of replicated, global'],
    ["endpointMode", { endpointMode: "ipvs" }, 'dockercoins:endpointMode = "ipvs" is not allowed; expected one of vip, dnsrr'],
    ["webuiPort", { webuiPort: "70000" }, 'dockercoins:webuiPort = "70000" is not allowed; expected an integer from 1 to 65535'],
    ["timing", { timing: "fast" }, 'dockercoins:timing = "fast" is not allowed; expected one of workshop, zero-delay'],
    ["debugService", { debugService: "yes" }, 'dockercoins:debugService = "yes" is not allowed; expected true or false'],
    ["logging", { logging: "on" }, 'dockercoins:logging = "on" is not allowed; expected true or false'],
    ["logsPort on webui's", { logsPort: "8000" }, 'dockercoins:logsPort = "8000" is not allowed; expected a port the first manager does not already use (8000 is webuiPort)'],
    ["logsPort on the registry's", { logsPort: "5000" }, 'dockercoins:logsPort = "5000" is not allowed; expected a port the first manager does not already use (5000 is registry)'],
    ["logsRetention", { logsRetention: "7 days" }, 'dockercoins:logsRetention = "7 days" is not allowed; expected a duration such as 12h, 7d, 4w or 1y'],
    ["logsRetention zero", { logsRetention: "0d" }, 'dockercoins:logsRetention = "0d" is not allowed; expected a duration such as 12h, 7d, 4w or 1y'],
    ["logsMaxDisk", { logsMaxDisk: "2 GB" }, 'dockercoins:logsMaxDisk = "2 GB" is not allowed; expected a size such as 512MiB or 2GiB'],
    ["logsMaxDisk zero", { logsMaxDisk: "0GiB" }, 'dockercoins:logsMaxDisk = "0GiB" is not allowed; expected a size such as 512MiB or 2GiB'],
    ["vmsAdminCidr", { vmsAdminCidr: "my laptop" }, 'dockercoins:vmsAdminCidr = "my laptop" is not allowed; expected an IPv4 CIDR such as 203.0.113.7/32'],
    ["webui over nodes in dnsrr", { endpointMode: "dnsrr", nodeCount: "2", managerCount: "1", webuiReplicas: "3" },
      'dockercoins:webuiReplicas = "3" is not allowed; expected at most nodeCount (2) with endpointMode dnsrr (host-mode publish)'],
    ["unknown key", { workerReplica: "3" }, 'dockercoins:workerReplica = "3" is not allowed; expected no such key; known keys: ' + KNOWN_KEYS.join(", ")],
    ["aws without adminCidr", { ...AWS_OK, "dockercoins:awsAdminCidr": undefined as unknown as string },
      "dockercoins:awsAdminCidr = undefined is not allowed; expected your IPv4 CIDR (e.g. 203.0.113.7/32): SSH is open to it only"],
    ["bad adminCidr", { ...AWS_OK, "dockercoins:awsAdminCidr": "203.0.113.7" },
      'dockercoins:awsAdminCidr = "203.0.113.7" is not allowed; expected an IPv4 CIDR such as 203.0.113.7/32'],
    ["aws without key", { ...AWS_OK, "dockercoins:sshPrivateKey": undefined as unknown as string },
      "dockercoins:sshPrivateKey = undefined is not allowed; expected a private key set with `pulumi config set --secret dockercoins:sshPrivateKey < key` when target is aws"],
    ["bad public key", { sshPrivateKey: "k", sshPublicKey: "AAAA" },
      'dockercoins:sshPublicKey = "AAAA" is not allowed; expected an OpenSSH public key line (ssh-ed25519 AAAA... or ssh-rsa AAAA...)'],
    ["ECDSA key on aws", { ...AWS_OK, "dockercoins:sshPublicKey": "ecdsa-sha2-nistp256 AAAA me" },
      'dockercoins:sshPublicKey = "ecdsa-sha2-nistp256 AAAA me" is not allowed; expected an ssh-ed25519 or ssh-rsa public key when target is aws (EC2 imports no other type)'],
    ["vms machines where Swarm puts its overlays", { target: "vms", vmHosts: VMS, sshPrivateKey: "k" },
      "dockercoins:swarmAddressPool = undefined is not allowed; expected a CIDR away from your machines (e.g. 10.20.0.0/16): 10.0.0.11 is in 10.0.0.0/16, where Swarm's overlay networks go by default"],
    ["Graviton instance type", { ...AWS_OK, "dockercoins:awsInstanceType": "m7g.large" },
      'dockercoins:awsInstanceType = "m7g.large" is not allowed; expected an x86_64 instance type (the AMI is Ubuntu amd64; Graviton types such as m7g are arm64)'],
    ["vms host name as the advertise address", { target: "vms", vmHosts: '[{"address":"vm1.example","user":"u"}]', sshPrivateKey: "k" },
      'dockercoins:vmHosts[0].privateAddress = "vm1.example" is not allowed; expected the IP address the other hosts reach this one at (Swarm advertises an IP, not a host name; set privateAddress when address is a name)'],
    ["local with half a key pair", { sshPrivateKey: "k" },
      "dockercoins:sshPublicKey = undefined is not allowed; expected both sshPrivateKey and sshPublicKey, or neither (a playground key is generated)"],
    ["vms host name not a node name", { target: "vms", vmHosts: '[{"name":"node 1","address":"10.1.0.1","user":"u"}]', sshPrivateKey: "k" },
      `dockercoins:vmHosts[0].name = "node 1" is not allowed; expected a node name of letters, digits, '.', '_' and '-' (at most 63), e.g. node1`],
    ["vms hosts under one name", { target: "vms", vmHosts: '[{"name":"a","address":"10.1.0.1","user":"u"},{"address":"10.1.0.2","user":"u","name":"a"}]', sshPrivateKey: "k" },
      /^dockercoins:vmHosts = .* is not allowed; expected hosts with different names \(name, or privateAddress when no name is given\): "a" is there twice$/],
    ["vms without hosts", { target: "vms", sshPrivateKey: "k" }, "dockercoins:vmHosts = undefined is not allowed; expected a non-empty host list when target is vms"],
    ["vms hosts not JSON", { target: "vms", vmHosts: "a,b", sshPrivateKey: "k" },
      'dockercoins:vmHosts = "a,b" is not allowed; expected a JSON list like [{"name": "node1", "address": "10.0.0.11", "user": "ubuntu", "port": 22}] (name, port and privateAddress optional)'],
    ["vms host without user", { target: "vms", vmHosts: '[{"address":"h"}]', sshPrivateKey: "k" },
      "dockercoins:vmHosts[0].user = undefined is not allowed; expected an SSH user name"],
    ["vms host bad port", { target: "vms", vmHosts: '[{"address":"h","user":"u","port":0}]', sshPrivateKey: "k" },
      "dockercoins:vmHosts[0].port = 0 is not allowed; expected an integer from 1 to 65535"],
    ["vms nodeCount mismatch", { target: "vms", vmHosts: VMS, nodeCount: "5", sshPrivateKey: "k" },
      'dockercoins:nodeCount = "5" is not allowed; expected 3 (the number of vmHosts) when target is vms'],
    ["hpa", { hpa: "memory" }, 'dockercoins:hpa = "memory" is not allowed; expected one of none, cpu, latency'],
    ["latency hpa without prometheus", { hpa: "latency", prometheus: "false" },
      'dockercoins:prometheus = "false" is not allowed; expected true when hpa is latency (the metric comes from Prometheus)'],
    ["a chart version range", { prometheusChartVersion: "^27" }, 'dockercoins:prometheusChartVersion = "^27" is not allowed; expected an exact chart version such as 27.20.0'],
    ["a relative chart directory", { prometheusChartRepo: "charts" },
      'dockercoins:prometheusChartRepo = "charts" is not allowed; expected an http(s) Helm repository URL, or an absolute directory holding the chart archives (prometheus-<version>.tgz)'],
    ["hpa max < min", { hpaMinReplicas: "5", hpaMaxReplicas: "2" }, 'dockercoins:hpaMaxReplicas = "2" is not allowed; expected at least hpaMinReplicas (5)'],
    ["loadTest", { loadTest: "webui" }, 'dockercoins:loadTest = "webui" is not allowed; expected one of none, rng, hasher'],
    ["localSubnet not a /24", { localSubnet: "10.0.0.0/16" }, 'dockercoins:localSubnet = "10.0.0.0/16" is not allowed; expected an IPv4 /24 such as 10.213.0.0/24'],
    ["a login on the local target", { loginPassword: "correct horse" },
      'dockercoins:loginPassword = "[secret]" is not allowed; expected unset when target is local: a login of its own is made on vms and aws machines'],
    ["a short login password", { target: "vms", vmHosts: VMS, sshPrivateKey: "k", swarmAddressPool: "10.20.0.0/16", loginPassword: "short" },
      'dockercoins:loginPassword = "[secret]" is not allowed; expected 8 to 128 characters on one line'],
    ["a login user without a password", { target: "vms", vmHosts: VMS, sshPrivateKey: "k", swarmAddressPool: "10.20.0.0/16", loginUser: "alice" },
      "dockercoins:loginPassword = undefined is not allowed; expected a password (pulumi config set --secret) when loginUser is set"],
    ["the admin's login as the student's", { target: "vms", vmHosts: VMS.replace(/"root"/g, '"admin"'), sshPrivateKey: "k", swarmAddressPool: "10.20.0.0/16", loginPassword: "correct horse", loginUser: "admin" },
      'dockercoins:loginUser = "admin" is not allowed; expected a name other than root and the admin logins the program uses (admin)'],
    ["ubuntu as the student's login on aws", { ...AWS_OK, "dockercoins:loginPassword": "correct horse", "dockercoins:loginUser": "ubuntu" },
      'dockercoins:loginUser = "ubuntu" is not allowed; expected a name other than root and the admin login the program uses (ubuntu)'],
    ["a login name that is not one", { ...AWS_OK, "dockercoins:loginPassword": "correct horse", "dockercoins:loginUser": "Student 1" },
      'dockercoins:loginUser = "Student 1" is not allowed; expected a Unix login name: lower-case letters, digits, _ and -, at most 32'],
    ["empty image", { nodeImage: " " }, 'dockercoins:nodeImage = " " is not allowed; expected a non-empty string'],
  ];
  it.each(cases)("%s", (_name, raw, message) => {
    const clean = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined));
    expect(() => parseConfig(clean)).toThrowError(ConfigError);
    expect(() => parseConfig(clean)).toThrowError(message);
  });
});

describe("isCidr", () => {
  it.each([
    ["10.0.0.0/8", true], ["203.0.113.7/32", true], ["0.0.0.0/0", true],
    ["256.0.0.0/8", false], ["10.0.0.0/33", false], ["10.0.0.0", false], ["::/0", false],
  ])("%s -> %s", (v, ok) => expect(isCidr(v)).toBe(ok));
});

import * as pulumi from "@pulumi/pulumi";

// Stack configuration, namespace `dockercoins`. `parseConfig` is pure: it takes the raw strings Pulumi
// holds for the stack and returns typed values or throws, so a wrong value fails before any resource is
// registered. Components never read config; the entry point calls `readConfig()` once.

export const NAMESPACE = "dockercoins";

export type Target = "local" | "vms" | "aws" | "minikube";
export type RngMode = "replicated" | "global";
export type EndpointMode = "vip" | "dnsrr";
export type Timing = "workshop" | "zero-delay";
export type HpaMode = "none" | "cpu" | "latency";
export type LoadTestTarget = "none" | "rng" | "hasher";

export interface VmHostConfig {
  /**
   * What the program calls this machine (its node name, label and resource names): given by the user or
   * its privateAddress, never its place in the list, so removing one host leaves the others as they are.
   */
  name: string;
  /** Address Pulumi connects to over SSH. */
  address: string;
  user: string;
  port: number;
  /** Address the other VMs reach this one at; defaults to `address`. */
  privateAddress: string;
}

export interface Replicas {
  worker: number;
  rng: number;
  hasher: number;
  webui: number;
}

export interface DockerCoinsConfig {
  target: Target;
  /** Swarm nodes (local, aws); for vms it is the length of `vmHosts`. */
  nodeCount: number;
  managerCount: 1 | 3 | 5;
  replicas: Replicas;
  rngMode: RngMode;
  /** `vip` needs IPVS in the kernel; `dnsrr` (with host-mode publish) works everywhere. */
  endpointMode: EndpointMode;
  webuiPort: number;
  /** `workshop` keeps the 100 ms delays that make the lesson; `zero-delay` is for throughput work. */
  timing: Timing;
  /** A global `debug` service attached to the overlay, for drill/ab/httping from inside it. */
  debugService: boolean;
  /** Base image of app/Dockerfile, every service's (build arg NODE_IMAGE). */
  nodeImage: string;
  registryImage: string;
  redisImage: string;
  /** Image of the optional `debug` service: needs a shell and `sleep` (the workshop used alpine). */
  debugImage: string;
  /** A Docker Hub mirror every node's engine pulls through (daemon.json `registry-mirrors`), e.g. http://10.0.0.5:5000. */
  registryMirror?: string;
  /** Swarm's pool for overlay subnets (`swarm init --default-addr-pool`); Docker's 10.0.0.0/8 if unset. */
  swarmAddressPool?: string;
  /**
   * The optional log store: every service's lines in one searchable place (VictoriaLogs, shipped by Docker's
   * splunk log driver on Swarm, by vlagent on Kubernetes). Off unless asked for.
   */
  logs: {
    enabled: boolean;
    image: string;
    /** The collector on Kubernetes (a DaemonSet); Swarm needs none. */
    agentImage: string;
    /** Where the store's UI and API are published (host mode on the first manager; the playground's 127.0.0.1). */
    port: number;
    /** How long lines are kept, e.g. 7d. */
    retention: string;
    /** The most disk the store may use (VictoriaLogs' units, e.g. 2GiB): past it, the oldest days go first. */
    maxDisk: string;
    /** Kubernetes: collect every namespace's pods, not only DockerCoins' (the store has no login). */
    allNamespaces: boolean;
  };
  /** Private key (a Pulumi secret after readConfig) and its public half; local generates one if absent. */
  sshPrivateKey?: pulumi.Input<string>;
  sshPublicKey?: string;
  aws: {
    region: string;
    instanceType: string;
    /** CIDR allowed to reach SSH; the only inbound source outside the group besides the webui port. */
    adminCidr?: string;
    rootVolumeGiB: number;
    sshUser: string;
  };
  vmHosts: VmHostConfig[];
  /**
   * vms, aws: a login for the person the cluster is for (a student of a class), besides the admin's: a user
   * with this password (a Pulumi secret after readConfig) in the docker group, let in by sshd.
   */
  login?: { user: string; password: pulumi.Input<string> };
  /** vms: besides the nodes, who may reach node1's registry and log store (and Swarm's ports); unset: nobody. */
  vmsAdminCidr?: string;
  local: {
    /** Node i (1-based) publishes SSH on 127.0.0.1:(sshBasePort + i - 1). */
    sshBasePort: number;
    /** The first node's registry port 5000, published on 127.0.0.1 for pushes from this machine. */
    registryPort: number;
    /** Private bridge network of the node containers, a /24; node i gets .(10 + i). */
    subnet: string;
    /** Images copied from this machine into each node (pulled here once if missing), comma-separated. */
    preloadImages: string[];
  };
  minikube: {
    kubeContext: string;
    /** DOCKER_HOST of minikube's engine (`minikube docker-env`), images are built straight into it. */
    dockerHost: string;
    /** Directory with ca.pem/cert.pem/key.pem for that engine (`minikube docker-env` prints it). */
    dockerCertPath?: string;
    hpa: HpaMode;
    hpaMinReplicas: number;
    hpaMaxReplicas: number;
    hpaCpuPercent: number;
    hpaLatencyTargetMs: number;
    prometheus: boolean;
    prometheusChartVersion: string;
    prometheusAdapterChartVersion: string;
    /** A Helm repository URL, or a directory of chart archives (`prometheus-<version>.tgz`) standing in for it. */
    prometheusChartRepo: string;
    /** What the httplat exporter probes. */
    httplatTarget: "rng" | "hasher";
    loadTest: LoadTestTarget;
    loadTestImage: string;
  };
}

// A RunError: Pulumi prints its message without a stack trace, which says nothing to the user here.
export class ConfigError extends pulumi.RunError {
  constructor(key: string, value: unknown, allowed: string) {
    super(`${NAMESPACE}:${key} = ${JSON.stringify(value)} is not allowed; expected ${allowed}`);
    this.name = "ConfigError";
  }
}

/** A value that is valid but cannot be applied to the live stack; the message says why and what to do. */
export class ConfigRefusal extends pulumi.RunError {
  constructor(message: string) {
    super(message);
    this.name = "ConfigRefusal";
  }
}

/** Every key this program reads; anything else in the namespace is a typo and is rejected. */
export const KNOWN_KEYS = [
  "target", "nodeCount", "managerCount",
  "workerReplicas", "rngReplicas", "hasherReplicas", "webuiReplicas",
  "rngMode", "endpointMode", "webuiPort", "timing", "debugService",
  "nodeImage", "registryImage", "redisImage", "debugImage", "registryMirror", "swarmAddressPool",
  "sshPrivateKey", "sshPublicKey",
  "awsRegion", "awsInstanceType", "awsAdminCidr", "awsRootVolumeGiB", "awsSshUser",
  "vmHosts", "vmsAdminCidr", "loginUser", "loginPassword",
  "localSshBasePort", "localRegistryPort", "localSubnet", "localPreloadImages",
  "kubeContext", "minikubeDockerHost", "minikubeDockerCertPath",
  "hpa", "hpaMinReplicas", "hpaMaxReplicas", "hpaCpuPercent", "hpaLatencyTargetMs",
  "prometheus", "prometheusChartVersion", "prometheusAdapterChartVersion", "prometheusChartRepo",
  "httplatTarget", "loadTest", "loadTestImage",
  "logging", "logsImage", "logsAgentImage", "logsPort", "logsRetention", "logsMaxDisk", "logsAllNamespaces",
] as const;
export type ConfigKey = (typeof KNOWN_KEYS)[number];

/** Keys whose values are secrets (set with `pulumi config set --secret`). */
export const SECRET_KEYS: ConfigKey[] = ["sshPrivateKey", "loginPassword"];

/** prometheus-community's Helm repository (the seed's `helm repo add prometheus-community ...`). */
export const PROMETHEUS_REPO = "https://prometheus-community.github.io/helm-charts";

type Raw = Partial<Record<string, string>>;

function oneOf<T extends string>(raw: Raw, key: ConfigKey, allowed: readonly T[], dflt: T): T {
  const v = raw[key];
  if (v === undefined) return dflt;
  if (!(allowed as readonly string[]).includes(v)) throw new ConfigError(key, v, `one of ${allowed.join(", ")}`);
  return v as T;
}

function int(raw: Raw, key: ConfigKey, min: number, max: number, dflt: number): number {
  const v = raw[key];
  if (v === undefined) return dflt;
  if (!/^\d+$/.test(v.trim()) || Number(v) < min || Number(v) > max) {
    throw new ConfigError(key, v, `an integer from ${min} to ${max}`);
  }
  return Number(v);
}

function bool(raw: Raw, key: ConfigKey, dflt: boolean): boolean {
  const v = raw[key];
  if (v === undefined) return dflt;
  if (v !== "true" && v !== "false") throw new ConfigError(key, v, "true or false");
  return v === "true";
}

function str(raw: Raw, key: ConfigKey, dflt: string): string {
  const v = raw[key];
  if (v === undefined) return dflt;
  if (v.trim() === "") throw new ConfigError(key, v, "a non-empty string");
  return v;
}

/** A chart's exact version: a pin, never a range (the archive's name is built from it). */
function chartVersion(raw: Raw, key: ConfigKey, dflt: string): string {
  const v = raw[key] ?? dflt;
  if (!/^\d+\.\d+\.\d+$/.test(v)) throw new ConfigError(key, v, "an exact chart version such as 27.20.0");
  return v;
}

/** A Helm repository's URL, as opposed to a directory of chart archives standing in for it. */
export function isHelmRepository(source: string): boolean {
  return /^https?:\/\/\S+$/.test(source);
}

/** Where the charts come from: a Helm repository, or a directory of their archives where it cannot be reached. */
function chartRepo(raw: Raw, key: ConfigKey, dflt: string): string {
  const v = raw[key] ?? dflt;
  if (!isHelmRepository(v) && !v.startsWith("/")) {
    throw new ConfigError(key, v, "an http(s) Helm repository URL, or an absolute directory holding the chart archives (prometheus-<version>.tgz)");
  }
  return v.replace(/\/+$/, "");
}

const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

export function isIpAddress(v: string): boolean {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(v);
  if (v4) return v4.slice(1).every((o) => Number(o) <= 255);
  return /^[0-9A-Fa-f:]+$/.test(v) && v.includes(":") && (v.match(/::/g) ?? []).length <= 1;
}

export function isCidr(v: string): boolean {
  const m = CIDR.exec(v);
  return m !== null && m.slice(1, 5).every((o) => Number(o) <= 255) && Number(m[5]) <= 32;
}

function parseVmHosts(v: string | undefined): VmHostConfig[] {
  if (v === undefined) return [];
  const allowed = 'a JSON list like [{"name": "node1", "address": "10.0.0.11", "user": "ubuntu", "port": 22}] (name, port and privateAddress optional)';
  let list: unknown;
  try {
    list = JSON.parse(v);
  } catch {
    throw new ConfigError("vmHosts", v, allowed);
  }
  if (!Array.isArray(list) || list.length === 0) throw new ConfigError("vmHosts", v, allowed);
  const hosts = list.map((h, i): VmHostConfig => {
    const key = `vmHosts[${i}]`;
    if (typeof h !== "object" || h === null) throw new ConfigError("vmHosts", h, allowed);
    const { address, user, port = 22, privateAddress = address, name = privateAddress } = h as Record<string, unknown>;
    if (typeof address !== "string" || address === "") throw new ConfigError(`${key}.address`, address, "a host name or IP address");
    if (typeof user !== "string" || user === "") throw new ConfigError(`${key}.user`, user, "an SSH user name");
    if (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65535) {
      throw new ConfigError(`${key}.port`, port, "an integer from 1 to 65535");
    }
    // Swarm's --advertise-addr takes an IP (or an interface), never a host name.
    if (typeof privateAddress !== "string" || !isIpAddress(privateAddress)) {
      throw new ConfigError(
        `${key}.privateAddress`,
        privateAddress,
        "the IP address the other hosts reach this one at (Swarm advertises an IP, not a host name; set privateAddress when address is a name)",
      );
    }
    if (typeof name !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(name)) {
      throw new ConfigError(`${key}.name`, name, "a node name of letters, digits, '.', '_' and '-' (at most 63), e.g. node1");
    }
    return { name, address, user, port: port as number, privateAddress };
  });
  const names = hosts.map((h) => h.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) throw new ConfigError("vmHosts", v, `hosts with different names (name, or privateAddress when no name is given): ${JSON.stringify(twice)} is there twice`);
  return hosts;
}

/** Login names the program creates (loginUser): a plain Unix name. */
export const LOGIN_USER = /^[a-z_][a-z0-9_-]{0,31}$/;

/**
 * loginUser/loginPassword: a login of its own on each machine (infra/swarm/login.ts). Never the admins'
 * (their password would change) nor root; the password is a secret and never appears in an error.
 */
function parseLogin(raw: Raw, target: string, admins: string[]): { user: string; password: string } | undefined {
  if (raw.loginPassword === undefined) {
    if (raw.loginUser !== undefined) throw new ConfigError("loginPassword", undefined, "a password (pulumi config set --secret) when loginUser is set");
    return undefined;
  }
  if (target !== "vms" && target !== "aws") {
    throw new ConfigError("loginPassword", "[secret]", `unset when target is ${target}: a login of its own is made on vms and aws machines`);
  }
  if (!/^[^\r\n]{8,128}$/.test(raw.loginPassword)) throw new ConfigError("loginPassword", "[secret]", "8 to 128 characters on one line");
  const user = raw.loginUser ?? "student";
  if (!LOGIN_USER.test(user)) throw new ConfigError("loginUser", user, "a Unix login name: lower-case letters, digits, _ and -, at most 32");
  if (user === "root" || admins.includes(user)) {
    throw new ConfigError("loginUser", user, `a name other than root and the admin login${admins.length > 1 ? "s" : ""} the program uses (${[...new Set(admins)].join(", ")})`);
  }
  return { user, password: raw.loginPassword };
}

/**
 * Validate the raw stack configuration. Keys may be given bare (`workerReplicas`) or namespaced
 * (`dockercoins:workerReplicas`, as `pulumi.runtime.allConfig()` returns them); other namespaces are ignored.
 */
export function parseConfig(input: Raw): DockerCoinsConfig {
  const raw: Raw = {};
  for (const [k, v] of Object.entries(input)) {
    const [ns, key] = k.includes(":") ? k.split(":", 2) : [NAMESPACE, k];
    if (ns !== NAMESPACE) continue;
    if (!(KNOWN_KEYS as readonly string[]).includes(key)) throw new ConfigError(key, v, `no such key; known keys: ${KNOWN_KEYS.join(", ")}`);
    raw[key] = v;
  }

  const target = oneOf(raw, "target", ["local", "vms", "aws", "minikube"] as const, "local");
  const vmHosts = parseVmHosts(raw.vmHosts);
  if (target === "vms" && vmHosts.length === 0) throw new ConfigError("vmHosts", raw.vmHosts, "a non-empty host list when target is vms");

  const nodeCount = int(raw, "nodeCount", 1, 20, target === "vms" ? vmHosts.length : 5);
  if (target === "vms" && nodeCount !== vmHosts.length) {
    throw new ConfigError("nodeCount", raw.nodeCount, `${vmHosts.length} (the number of vmHosts) when target is vms`);
  }
  const managerCount = Number(oneOf(raw, "managerCount", ["1", "3", "5"] as const, "1")) as 1 | 3 | 5;
  if (target !== "minikube" && managerCount > nodeCount) {
    throw new ConfigError("managerCount", raw.managerCount, `at most nodeCount (${nodeCount})`);
  }

  const endpointMode = oneOf(raw, "endpointMode", ["vip", "dnsrr"] as const, "vip");
  const webuiReplicas = int(raw, "webuiReplicas", 1, 100, 1);
  // Host-mode publishing binds the node's port, so at most one webui task fits on a node.
  if (target !== "minikube" && endpointMode === "dnsrr" && webuiReplicas > nodeCount) {
    throw new ConfigError("webuiReplicas", raw.webuiReplicas, `at most nodeCount (${nodeCount}) with endpointMode dnsrr (host-mode publish)`);
  }

  const vmsAdminCidr = raw.vmsAdminCidr;
  if (vmsAdminCidr !== undefined && !isCidr(vmsAdminCidr)) throw new ConfigError("vmsAdminCidr", vmsAdminCidr, "an IPv4 CIDR such as 203.0.113.7/32");
  const adminCidr = raw.awsAdminCidr;
  if (adminCidr !== undefined && !isCidr(adminCidr)) throw new ConfigError("awsAdminCidr", adminCidr, "an IPv4 CIDR such as 203.0.113.7/32");
  if (target === "aws" && adminCidr === undefined) throw new ConfigError("awsAdminCidr", undefined, "your IPv4 CIDR (e.g. 203.0.113.7/32): SSH is open to it only");
  if ((target === "aws" || target === "vms") && raw.sshPrivateKey === undefined) {
    throw new ConfigError("sshPrivateKey", undefined, `a private key set with \`pulumi config set --secret ${NAMESPACE}:sshPrivateKey < key\` when target is ${target}`);
  }
  if (target === "aws" && raw.sshPublicKey === undefined) {
    throw new ConfigError("sshPublicKey", undefined, "the OpenSSH public key matching sshPrivateKey when target is aws");
  }
  if ((raw.sshPrivateKey === undefined) !== (raw.sshPublicKey === undefined) && target === "local") {
    throw new ConfigError(raw.sshPublicKey === undefined ? "sshPublicKey" : "sshPrivateKey", undefined, "both sshPrivateKey and sshPublicKey, or neither (a playground key is generated)");
  }
  if (target === "aws" && raw.sshPublicKey !== undefined && !/^ssh-(ed25519|rsa) \S+/.test(raw.sshPublicKey)) {
    throw new ConfigError("sshPublicKey", raw.sshPublicKey, "an ssh-ed25519 or ssh-rsa public key when target is aws (EC2 imports no other type)");
  }
  if (raw.sshPublicKey !== undefined && !/^(ssh-(ed25519|rsa)|ecdsa-sha2-\S+) \S+/.test(raw.sshPublicKey)) {
    throw new ConfigError("sshPublicKey", raw.sshPublicKey, "an OpenSSH public key line (ssh-ed25519 AAAA... or ssh-rsa AAAA...)");
  }

  const login = parseLogin(raw, target, target === "aws" ? [str(raw, "awsSshUser", "ubuntu")] : vmHosts.map((h) => h.user));

  const registryMirror = raw.registryMirror;
  if (registryMirror !== undefined && !/^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?\/?$/.test(registryMirror)) {
    throw new ConfigError("registryMirror", registryMirror, "a registry URL such as http://10.0.0.5:5000 or https://mirror.example.com");
  }

  const swarmAddressPool = raw.swarmAddressPool;
  if (swarmAddressPool !== undefined && !isCidr(swarmAddressPool)) {
    throw new ConfigError("swarmAddressPool", swarmAddressPool, "an IPv4 CIDR such as 10.20.0.0/16");
  }
  // Swarm carves its overlay /24s from 10.0.0.0/8 starting at 10.0.0.0: machines there would be unreachable.
  const clash = vmHosts.find((h) => /^10\.0\.\d+\.\d+$/.test(h.privateAddress));
  if (target === "vms" && clash && swarmAddressPool === undefined) {
    throw new ConfigError("swarmAddressPool", undefined, `a CIDR away from your machines (e.g. 10.20.0.0/16): ${clash.privateAddress} is in 10.0.0.0/16, where Swarm's overlay networks go by default`);
  }
  if (target === "aws" && /^[a-z]+\d+[a-z]*g[a-z]*\./.test(raw.awsInstanceType ?? "")) {
    throw new ConfigError("awsInstanceType", raw.awsInstanceType, "an x86_64 instance type (the AMI is Ubuntu amd64; Graviton types such as m7g are arm64)");
  }

  const localSubnet = raw.localSubnet ?? "10.213.0.0/24";
  if (!isCidr(localSubnet) || !localSubnet.endsWith("/24")) throw new ConfigError("localSubnet", localSubnet, "an IPv4 /24 such as 10.213.0.0/24");

  const webuiPort = int(raw, "webuiPort", 1, 65535, 8000);
  const logsPort = int(raw, "logsPort", 1, 65535, 9428);
  // Published in host mode on the first manager, beside what already listens there.
  const busy = { webuiPort, ssh: 22, registry: 5000, "Swarm's control plane": 2377, "Swarm's gossip": 7946 };
  const clashWith = Object.entries(busy).find(([, port]) => port === logsPort);
  if (clashWith) throw new ConfigError("logsPort", raw.logsPort, `a port the first manager does not already use (${clashWith[1]} is ${clashWith[0]})`);
  const logsRetention = raw.logsRetention ?? "7d";
  if (!/^\d+[hdwy]$/.test(logsRetention) || Number.parseInt(logsRetention) === 0) {
    throw new ConfigError("logsRetention", logsRetention, "a duration such as 12h, 7d, 4w or 1y");
  }
  // The store shares the first manager's disk with redis and the Raft log: it drops its oldest days past this.
  const logsMaxDisk = raw.logsMaxDisk ?? "1GiB";
  if (!/^\d+(MiB|GiB)$/.test(logsMaxDisk) || Number.parseInt(logsMaxDisk) === 0) {
    throw new ConfigError("logsMaxDisk", logsMaxDisk, "a size such as 512MiB or 2GiB");
  }

  const hpa = oneOf(raw, "hpa", ["none", "cpu", "latency"] as const, "cpu");
  const prometheus = bool(raw, "prometheus", true);
  if (hpa === "latency" && !prometheus) throw new ConfigError("prometheus", raw.prometheus, "true when hpa is latency (the metric comes from Prometheus)");
  const hpaMinReplicas = int(raw, "hpaMinReplicas", 1, 100, 1);
  const hpaMaxReplicas = int(raw, "hpaMaxReplicas", 1, 100, hpa === "latency" ? 20 : 10);
  if (hpaMaxReplicas < hpaMinReplicas) throw new ConfigError("hpaMaxReplicas", raw.hpaMaxReplicas, `at least hpaMinReplicas (${hpaMinReplicas})`);

  return {
    target,
    nodeCount,
    managerCount,
    replicas: {
      worker: int(raw, "workerReplicas", 0, 100, 1),
      rng: int(raw, "rngReplicas", 1, 100, 1),
      hasher: int(raw, "hasherReplicas", 1, 100, 1),
      webui: webuiReplicas,
    },
    rngMode: oneOf(raw, "rngMode", ["replicated", "global"] as const, "replicated"),
    endpointMode,
    webuiPort,
    timing: oneOf(raw, "timing", ["workshop", "zero-delay"] as const, "workshop"),
    debugService: bool(raw, "debugService", false),
    nodeImage: str(raw, "nodeImage", "node:24-bookworm-slim"),
    registryImage: str(raw, "registryImage", "registry:2"),
    redisImage: str(raw, "redisImage", "redis:7-bookworm"),
    debugImage: str(raw, "debugImage", "alpine:3"),
    logs: {
      enabled: bool(raw, "logging", false),
      image: str(raw, "logsImage", "victoriametrics/victoria-logs:v1.52.1"),
      agentImage: str(raw, "logsAgentImage", "victoriametrics/vlagent:v1.52.1"),
      port: logsPort,
      retention: logsRetention,
      maxDisk: logsMaxDisk,
      allNamespaces: bool(raw, "logsAllNamespaces", false),
    },
    registryMirror,
    swarmAddressPool,
    sshPrivateKey: raw.sshPrivateKey,
    sshPublicKey: raw.sshPublicKey,
    aws: {
      region: str(raw, "awsRegion", "us-east-1"),
      instanceType: str(raw, "awsInstanceType", "m4.large"),
      adminCidr,
      rootVolumeGiB: int(raw, "awsRootVolumeGiB", 8, 1000, 30),
      sshUser: str(raw, "awsSshUser", "ubuntu"),
    },
    vmHosts,
    login,
    vmsAdminCidr,
    local: {
      sshBasePort: int(raw, "localSshBasePort", 1024, 65000, 22001),
      // Not 5000: macOS binds it for AirPlay.
      registryPort: int(raw, "localRegistryPort", 1024, 65535, 15000),
      subnet: localSubnet,
      preloadImages: (raw.localPreloadImages ?? "").split(",").map((x) => x.trim()).filter((x) => x !== ""),
    },
    minikube: {
      kubeContext: str(raw, "kubeContext", "minikube"),
      dockerHost: str(raw, "minikubeDockerHost", "tcp://192.168.49.2:2376"),
      dockerCertPath: raw.minikubeDockerCertPath,
      hpa,
      hpaMinReplicas,
      hpaMaxReplicas,
      hpaCpuPercent: int(raw, "hpaCpuPercent", 1, 100, 5),
      hpaLatencyTargetMs: int(raw, "hpaLatencyTargetMs", 1, 60000, 100),
      prometheus,
      prometheusChartVersion: chartVersion(raw, "prometheusChartVersion", "27.20.0"),
      prometheusAdapterChartVersion: chartVersion(raw, "prometheusAdapterChartVersion", "4.14.1"),
      prometheusChartRepo: chartRepo(raw, "prometheusChartRepo", PROMETHEUS_REPO),
      httplatTarget: oneOf(raw, "httplatTarget", ["rng", "hasher"] as const, "rng"),
      loadTest: oneOf(raw, "loadTest", ["none", "rng", "hasher"] as const, "none"),
      loadTestImage: str(raw, "loadTestImage", "schoolofdevops/loadtest:v1"),
    },
  };
}

/** The only place that reads Pulumi config: the entry point calls it once. */
export function readConfig(): DockerCoinsConfig {
  const parsed = parseConfig(pulumi.runtime.allConfig());
  return {
    ...parsed,
    sshPrivateKey: parsed.sshPrivateKey === undefined ? undefined : pulumi.secret(parsed.sshPrivateKey),
    login: parsed.login && { user: parsed.login.user, password: pulumi.secret(parsed.login.password) },
  };
}

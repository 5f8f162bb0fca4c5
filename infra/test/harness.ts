// Shared Pulumi mocks for the infra tests. Each test file runs in its own vitest worker, so each gets its
// own copy of this module and of the registrations it captures.
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";

export interface Registration {
  type: string;
  name: string;
  inputs: any;
  provider?: string;
  /** Names of the resources this one waits for (dependsOn and input dependencies). */
  dependencies: string[];
  /** The resource's replaceOnChanges option (property paths). */
  replaceOnChanges: string[];
  /** The resource's ignoreChanges option (property paths). */
  ignoreChanges: string[];
  /** The resource's replacementTrigger option, as sent to the engine (a change replaces the resource). */
  replacementTrigger?: unknown;
}

export const registrations: Registration[] = [];
/** Resources the program reads (`Resource.get`), by type and ID: not created, so not among the registrations. */
export const reads: { type: string; name: string; id: string }[] = [];

export const sha = (s: string) => crypto.createHash("sha256").update(s).digest("hex");

/** Values a real provider would compute, enough for the program's outputs to resolve. */
function computed(type: string, name: string, inputs: any): Record<string, any> {
  switch (type) {
    case "docker:index/image:Image": {
      const repo = String(inputs.imageName).replace(/:[^:/]+$/, "");
      return { repoDigest: inputs.skipPush ? `sha256:${sha(name)}` : `${repo}@sha256:${sha(name)}` };
    }
    case "aws:ec2/instance:Instance": {
      const n = Number(/node(\d+)$/.exec(name)?.[1] ?? 0);
      return { publicIp: `198.51.100.${n}`, privateIp: `172.31.0.${10 + n}` };
    }
    case "command:local:Command":
      // AwsHosts' host key pairs print the private half then the public one, as ssh-keygen's files.
      if (/host-key$/.test(name)) return { stdout: `-----BEGIN OPENSSH PRIVATE KEY-----\nhost ${name}\n-----END OPENSSH PRIVATE KEY-----\nssh-ed25519 AAAAhost${sha(name).slice(0, 8)} dockercoins-host\n` };
      return { stdout: /read$/.test(name) ? "-----BEGIN OPENSSH PRIVATE KEY-----\ngenerated\n" : "ssh-ed25519 AAAAC3Nza generated" };
    case "command:remote:Command":
      // Join tokens look like Swarm's (SWMTKN-1-<cluster>-<role secret>); init and joins print node IDs.
      // Image pins print the reference pinned by digest, as on a manager that reaches a registry.
      if (name.endsWith("-image-pin")) return { stdout: `pulling\n${name.replace(/-image-pin$/, "")}@sha256:${sha(name)}\n` };
      // A node ID is 25 lower-case letters and digits, as Swarm's.
      return { stdout: name.endsWith("-token") ? `SWMTKN-1-0cluster0-${name.includes("manager") ? "m4nager" : "w0rker"}\n` : `${sha(name).slice(0, 25)}\n` };
    case "pulumi-nodejs:dynamic:Resource":
      // The vms hosts' machine-id readers (infra/hosts/machine-id.ts): 32 hex digits, as /etc/machine-id.
      // Each learns the machine's SSH host key; the playground's host keys (host-key.ts) learn only that.
      if (name.endsWith("-machine-id")) return { machineId: sha(name).slice(0, 32), hostKey: `ssh-ed25519 AAAAvm${sha(name).slice(0, 8)}` };
      return name.endsWith("-host-key") ? { hostKey: `ssh-ed25519 AAAAnode${sha(name).slice(0, 8)}` } : {};
    case "kubernetes:core/v1:Service":
      return { spec: { ...inputs.spec, ports: (inputs.spec?.ports ?? []).map((p: any) => ({ ...p, nodePort: 30080 })) } };
    case "kubernetes:apps/v1:Deployment":
      return { metadata: { ...inputs.metadata, name: inputs.metadata?.name ?? `${name}-abc123` } };
    case "kubernetes:helm.sh/v3:Release":
      // The provider reports the installed release's name and namespace in its status.
      return { status: { name: inputs.name, namespace: inputs.namespace, status: "deployed" } };
    case "kubernetes:core/v1:Namespace":
      return { metadata: { ...inputs.metadata, name: inputs.metadata?.name ?? name } };
    default:
      return {};
  }
}

/** What a read returns: the prometheus chart's server Service, its port 80 on a NodePort. */
function readState(type: string): Record<string, any> {
  return type === "kubernetes:core/v1:Service" ? { spec: { type: "NodePort", ports: [{ name: "http", port: 80, nodePort: 30090 }] } } : {};
}

/** `preview`: run as `pulumi preview` on an empty stack, where new resources have no IDs yet. */
export async function setupMocks(config: Record<string, string> = {}, { preview = false } = {}): Promise<void> {
  setConfig(config);
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        if (args.id) {
          reads.push({ type: args.type, name: args.name, id: args.id });
          return { id: args.id, state: readState(args.type) };
        }
        registrations.push({ type: args.type, name: args.name, inputs: args.inputs, provider: args.provider, dependencies: pendingDeps.get(args.name) ?? [], replaceOnChanges: pendingReplace.get(args.name) ?? [], ignoreChanges: pendingIgnore.get(args.name) ?? [], replacementTrigger: pendingTrigger.get(args.name) });
        if (preview) return { id: undefined, state: args.inputs };
        return { id: `${args.name}-id`, state: { ...args.inputs, ...computed(args.type, args.name, args.inputs) } };
      },
      call(args) {
        if (args.token === "aws:ec2/getAmi:getAmi") return { id: "ami-0ubuntu2404", imageId: "ami-0ubuntu2404", name: "ubuntu-noble" };
        // An account that kept its default VPC (defaultVpcId covers the other case).
        if (args.token === "aws:ec2/getVpcs:getVpcs") return { id: "eu-west-1", ids: ["vpc-0default"] };
        return {};
      },
    },
    "dockercoins",
    "test",
    preview,
  );
  // The mock monitor does not hand dependencies to newResource: read them off the request on the way in.
  const monitor = (pulumi.runtime as any).getMonitor();
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req: any, cb: any) => {
    const urns: string[] = [...req.getDependenciesList()];
    req.getPropertydependenciesMap().forEach((deps: any) => urns.push(...deps.getUrnsList()));
    pendingDeps.set(req.getName(), [...new Set(urns.map((u: string) => u.split("::").pop() as string))].sort());
    pendingReplace.set(req.getName(), req.getReplaceonchangesList());
    pendingIgnore.set(req.getName(), req.getIgnorechangesList());
    pendingTrigger.set(req.getName(), req.getReplacementTrigger()?.toJavaScript());
    return register(req, cb);
  };
}

const pendingDeps = new Map<string, string[]>();
const pendingReplace = new Map<string, string[]>();
const pendingIgnore = new Map<string, string[]>();
const pendingTrigger = new Map<string, unknown>();

/** Pulumi's PropertyPath.Contains for dotted paths: a prefix match where `*` matches any one key. */
export function pathContains(path: string, other: string): boolean {
  const p = path.split(".");
  const o = other.split(".");
  return o.length >= p.length && p.every((k, i) => k === "*" || k === o[i]);
}

export function setConfig(config: Record<string, string>): void {
  pulumi.runtime.setAllConfig(Object.fromEntries(Object.entries(config).map(([k, v]) => [k.includes(":") ? k : `dockercoins:${k}`, v])));
}

/** Wait until the program stops registering resources (registrations are asynchronous). */
export async function settle(): Promise<void> {
  let last = -1;
  let stable = 0;
  while (stable < 3) {
    await new Promise((r) => setTimeout(r, 15));
    stable = registrations.length === last ? stable + 1 : 0;
    last = registrations.length;
  }
}

export function reset(): void {
  registrations.length = 0;
  reads.length = 0;
}

export const ofType = (type: string) => registrations.filter((r) => r.type === type);
export const named = (name: string) => {
  const r = registrations.find((x) => x.name === name);
  if (!r) throw new Error(`no resource named ${name}; have ${registrations.map((x) => x.name).join(", ")}`);
  return r;
};
/** Count of registrations per type token, for exact-count assertions. */
export const countByType = () =>
  registrations.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.type]: (acc[r.type] ?? 0) + 1 }), {});

const SECRET_SIG = "4dabf18193072939515e22adb298388d";
/** Inputs holding secrets arrive wrapped ({<sig>: ..., value}); unwrap them for assertions. */
export function plain(v: any): any {
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === "object") {
    if (SECRET_SIG in v) return plain(v.value);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  }
  return v;
}
export const isSecret = (v: any) => !!v && typeof v === "object" && SECRET_SIG in v;

/** Resolve an Output in tests. */
export function resolve<T>(o: pulumi.Input<T>): Promise<T> {
  return new Promise((r) => pulumi.output(o).apply((v) => r(v as T)));
}

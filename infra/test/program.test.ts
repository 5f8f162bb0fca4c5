// The entry point as Pulumi runs it: config from the stack, one target chosen, outputs exported.
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { countByType, resolve, settle, setupMocks } from "./harness";

const ROOT = path.resolve(__dirname, "../..");

/** A stack file's config as the engine hands it to the program: strings, structured values as JSON. */
function stackConfig(file: string): Record<string, string> {
  const doc = parse(fs.readFileSync(file, "utf8"));
  return Object.fromEntries(
    Object.entries(doc.config as Record<string, unknown>).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
  );
}

let program: typeof import("../index");
beforeAll(async () => {
  // Pulumi.dev.yaml, exactly as committed.
  await setupMocks(stackConfig(path.join(ROOT, "Pulumi.dev.yaml")));
  program = await import("../index");
  await settle();
});

describe("infra/index.ts on the dev stack", () => {
  it("builds the local playground: 5 node containers, one Swarm, 6 services", () => {
    const counts = countByType();
    expect(counts["docker:index/container:Container"]).toBe(5);
    expect(counts["dockercoins:swarm:Cluster"]).toBe(1);
    expect(counts["docker:index/service:Service"]).toBe(6);
    // The SSH key (write, read back), one image preload per node (registry:2, redis:7-bookworm), the
    // live-manager search and each joined node's leave at destroy.
    expect(counts["command:local:Command"]).toBe(12);
    expect(counts["aws:ec2/instance:Instance"]).toBeUndefined();
    expect(counts["pulumi:providers:kubernetes"]).toBeUndefined();
  });

  it("exports the outputs a user needs", async () => {
    expect(program.target).toBe("local");
    expect(program.webuiUrl).toBe("http://127.0.0.1:8000");
    expect(await resolve(program.managerAddress)).toBe("10.213.0.11");
    expect(await resolve(program.sshCommand)).toMatch(/^ssh -i \/.+\/\.pulumi-state\/dockercoins\/test\/ssh\/id .* -p 22001 root@127\.0\.0\.1$/);
    expect(((await resolve(program.nodes)) as string[]).length).toBe(5);
    expect(program.replicas).toEqual({ worker: 1, rng: 1, hasher: 1, webui: 1, redis: 1, registry: 1 });
    // No log store, no logsUrl at all: an undefined export would warn on every up and preview.
    expect(Object.keys(program)).not.toContain("logsUrl");
  });
});

describe("target selection", () => {
  it("maps every target, and only those, to its stack function", async () => {
    const { STACKS } = await import("../stacks");
    const { awsStack } = await import("../stacks/aws");
    const { localStack } = await import("../stacks/local");
    const { minikubeStack } = await import("../stacks/minikube");
    const { vmsStack } = await import("../stacks/vms");
    expect(STACKS).toEqual({ local: localStack, vms: vmsStack, aws: awsStack, minikube: minikubeStack });
  });
});

describe("committed stack configs", () => {
  const KEYS = {
    "dockercoins:sshPrivateKey": "-----BEGIN OPENSSH PRIVATE KEY-----\nk\n-----END OPENSSH PRIVATE KEY-----\n",
    "dockercoins:sshPublicKey": "ssh-ed25519 AAAAC3Nza me",
    "dockercoins:awsAdminCidr": "203.0.113.7/32",
  };
  it.each([
    ["Pulumi.dev.yaml", "local", {}],
    ["infra/examples/Pulumi.aws.yaml", "aws", KEYS],
    ["infra/examples/Pulumi.vms.yaml", "vms", { "dockercoins:sshPrivateKey": KEYS["dockercoins:sshPrivateKey"] }],
    ["infra/examples/Pulumi.minikube.yaml", "minikube", {}],
  ])("%s is valid (with the secrets its comments ask for)", async (file, target, secrets) => {
    const { parseConfig } = await import("../config");
    const cfg = parseConfig({ ...stackConfig(path.join(ROOT, file)), ...secrets });
    expect(cfg.target).toBe(target);
  });

  // The README's figures, the e2e suites and the workshop all start from this file: a key tried on a live
  // stack by hand must not stay in it (a committed managerCount 3 once failed the whole e2e suite).
  it("Pulumi.dev.yaml is the workshop's starting point: one manager, one task of each service, workshop timing", async () => {
    const { parseConfig } = await import("../config");
    const cfg = parseConfig(stackConfig(path.join(ROOT, "Pulumi.dev.yaml")));
    expect(cfg).toMatchObject({ nodeCount: 5, managerCount: 1, rngMode: "replicated", timing: "workshop", debugService: false });
    expect(cfg.replicas).toEqual({ worker: 1, rng: 1, hasher: 1, webui: 1 });
  });

  it("the vms example lists the seeds' five machines", async () => {
    const { parseConfig } = await import("../config");
    const cfg = parseConfig({ ...stackConfig(path.join(ROOT, "infra/examples/Pulumi.vms.yaml")), "dockercoins:sshPrivateKey": "k" });
    expect(cfg.nodeCount).toBe(5);
    expect(cfg.vmHosts[4]).toEqual({ name: "node5", address: "192.168.1.105", user: "root", port: 22, privateAddress: "192.168.1.105" });
  });

  it("Pulumi.yaml points at the entry point", () => {
    const project = parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"));
    expect(project).toMatchObject({ name: "dockercoins", runtime: { name: "nodejs" }, main: "infra/index.ts" });
  });
});

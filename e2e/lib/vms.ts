import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NODE_CAPABILITIES, NODE_SECURITY_OPTS } from "../../infra/hosts/local";
import { ROOT } from "./pulumi";
import { docker, removeLabelled, run, waitFor } from "./run";

// Five stand-ins for a user's own VMs, for the `vms` target: Debian containers with sshd and sudo but no
// Docker (e2e/vm-image), on a private bridge, SSH published on 127.0.0.1. Nothing can be pulled from Docker
// Hub here, so a registry on the same bridge serves as the Docker Hub mirror the stack is configured with
// (dockercoins:registryMirror), holding the base images the VMs pull: node, redis, registry.

export interface VmFixtureOptions {
  prefix: string;
  /** A /24 for the VMs: the mirror is .2, VM i is .(10 + i). */
  subnet: string;
  count: number;
  sshBasePort: number;
  /** Host port of the mirror, for pushing into it from this machine. */
  mirrorPushPort: number;
}

/** Docker Hub images the stack needs, pushed into the mirror under Docker Hub's names (library/...). */
// Docker Hub images the machines pull through the mirror (the log store's too: the vms stack ships logs).
const MIRRORED = ["node:24-bookworm-slim", "redis:7-bookworm", "registry:2", "victoriametrics/victoria-logs:v1.52.1"];

export class VmFixture {
  readonly keyDir = mkdtempSync(join(tmpdir(), "dockercoins-vms-key-"));
  readonly label: string;

  constructor(readonly opts: VmFixtureOptions) {
    this.label = `org.dockercoins.e2e=${opts.prefix}`;
  }

  private address(last: number): string {
    return `${this.opts.subnet.split(".").slice(0, 3).join(".")}.${last}`;
  }
  get mirrorUrl(): string {
    return `http://${this.address(2)}:5000`;
  }
  get network(): string {
    return `${this.opts.prefix}-net`;
  }
  vm(i: number) {
    return { name: `vm${i}`, container: `${this.opts.prefix}-vm${i}`, address: this.address(10 + i), sshPort: this.opts.sshBasePort + i - 1 };
  }
  get vms() {
    return Array.from({ length: this.opts.count }, (_, i) => this.vm(i + 1));
  }
  get privateKey(): string {
    return readFileSync(join(this.keyDir, "id"), "utf8");
  }
  /** The stack's `dockercoins:vmHosts`: reached on 127.0.0.1 ports, advertised on the bridge. */
  get vmHosts(): string {
    return JSON.stringify(this.vms.map((v) => ({ address: "127.0.0.1", port: v.sshPort, user: "admin", privateAddress: v.address })));
  }

  async up(): Promise<void> {
    await this.down();
    await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "dockercoins-e2e-vms", "-f", join(this.keyDir, "id")]);
    const pub = readFileSync(join(this.keyDir, "id.pub"), "utf8").trim();
    await docker(["build", "-q", "-t", `${this.opts.prefix}-vm:latest`, "-f", join(ROOT, "e2e/vm-image/Dockerfile"), join(ROOT, "infra/node-image")], {
      timeoutMs: 10 * 60_000,
    });
    await docker(["network", "create", "--label", this.label, "--subnet", this.opts.subnet, this.network]);

    // The mirror: a plain registry holding library/<image> as Docker Hub would.
    await docker([
      "run", "-d", "--name", `${this.opts.prefix}-mirror`, "--label", this.label, "--network", this.network, "--ip", this.address(2),
      "-p", `127.0.0.1:${this.opts.mirrorPushPort}:5000`, "registry:2",
    ]);
    const local = `127.0.0.1:${this.opts.mirrorPushPort}`;
    await waitFor("the mirror", async () => ((await fetch(`http://${local}/v2/`)).ok ? true : undefined), 30_000, 500);
    for (const image of MIRRORED) {
      // Docker Hub's official images live under library/, the others under their own namespace.
      const mirrored = `${local}/${image.includes("/") ? "" : "library/"}${image}`;
      await docker(["tag", image, mirrored]);
      await docker(["push", mirrored], { timeoutMs: 5 * 60_000 });
      await docker(["rmi", mirrored], { allowFailure: true });
    }

    for (const v of this.vms) {
      await docker([
        "run", "-d", "--name", v.container, "--hostname", v.name, "--label", this.label,
        ...NODE_CAPABILITIES.adds.flatMap((c) => ["--cap-add", c]),
        ...NODE_CAPABILITIES.drops.flatMap((c) => ["--cap-drop", c]),
        ...NODE_SECURITY_OPTS.flatMap((o) => ["--security-opt", o]),
        "--cgroupns", "private", "--tmpfs", "/run", "--tmpfs", "/tmp",
        "--mount", `type=volume,dst=/var/lib/docker,volume-label=${this.label}`,
        "--network", this.network, "--ip", v.address, "-p", `127.0.0.1:${v.sshPort}:22`,
        "-e", `SSH_AUTHORIZED_KEY=${pub}`, `${this.opts.prefix}-vm:latest`,
      ]);
    }
  }

  /** A shell command on VM i as root (through docker exec: the test's view, not the program's). */
  async sh(i: number, command: string): Promise<string> {
    return (await docker(["exec", this.vm(i).container, "sh", "-c", command])).stdout.trim();
  }

  /** Removes every container, network and volume of the fixture; returns what is still there. */
  down(): Promise<string[]> {
    return removeLabelled(this.label);
  }


  removeKey(): void {
    rmSync(this.keyDir, { recursive: true, force: true });
  }
}

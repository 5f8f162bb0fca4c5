// Host keys learned and checked (infra/hosts/host-key.ts, machine-id.ts) against a real sshd on a port of
// this machine, whose key is changed between steps as a reinstall or an impostor would.
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostKeyFingerprint, hostKeyProvider, knownHostsLine, scanHostKey, type HostKeyState } from "../hosts/host-key";
import { learnMachine, machineIdProvider, readMachineId, type MachineIdState } from "../hosts/machine-id";
import { leaveOrSkipScript } from "../swarm/scripts";

const SSHD = "/usr/sbin/sshd";
const haveSshd = fs.existsSync(SSHD) && process.getuid?.() === 0;
if (!haveSshd) console.warn("SKIPPED host-key tests: they need root and /usr/sbin/sshd (scripts/prepare-machine.sh installs openssh-server)");

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "host-key-test-"));
const file = (name: string) => path.join(dir, name);
const pub = (name: string) => fs.readFileSync(file(`${name}.pub`), "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
let port = 0;
let sshd: ChildProcess | undefined;

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });

/** (Re)starts sshd offering the host key `key`; none: stopped. */
async function serve(key: string | undefined) {
  if (sshd) {
    const exited = new Promise((r) => sshd!.once("exit", r));
    sshd.kill();
    await exited;
    sshd = undefined;
  }
  if (!key) return;
  fs.mkdirSync("/run/sshd", { recursive: true });
  sshd = spawn(SSHD, ["-D", "-e", "-f", "/dev/null", "-p", String(port), "-h", file(key),
    "-o", "ListenAddress=127.0.0.1", "-o", `AuthorizedKeysFile=${file("client.pub")}`, "-o", "StrictModes=no",
    "-o", "PermitRootLogin=prohibit-password", "-o", "PasswordAuthentication=no", "-o", "UsePAM=no", "-o", "PidFile=none"], { stdio: "ignore" });
  for (let i = 0; i < 50 && (await scanHostKey("127.0.0.1", port, 1)) === undefined; i++) await new Promise((r) => setTimeout(r, 100));
}

describe.skipIf(!haveSshd)("SSH host keys, against a real sshd", () => {
  beforeAll(async () => {
    for (const k of ["a", "b", "client"]) execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", file(k)]);
    execFileSync("ssh-keygen", ["-q", "-t", "ecdsa", "-N", "", "-f", file("c")]);
    port = await freePort();
    await serve("a");
  });
  afterAll(async () => {
    await serve(undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const conn = () => ({ host: "127.0.0.1", port, user: "root", privateKey: fs.readFileSync(file("client"), "utf8") });

  it("learns the key sshd offers, and prints the fingerprint ssh-keygen prints", async () => {
    expect(await scanHostKey("127.0.0.1", port, 1)).toBe(pub("a"));
    expect(hostKeyFingerprint(pub("a"))).toBe(execFileSync("ssh-keygen", ["-lf", file("a.pub")], { encoding: "utf8" }).split(" ")[1]);
    expect(knownHostsLine("127.0.0.1", port, pub("a"))).toBe(`[127.0.0.1]:${port} ${pub("a")}`);
    expect(knownHostsLine("10.0.0.1", 22, pub("a"))).toBe(`10.0.0.1 ${pub("a")}`);
    expect(await scanHostKey("127.0.0.1", await freePort(), 1)).toBeUndefined();
  });

  it("a known machine: asked again on each diff; a changed key stops with both fingerprints and how to accept it", async () => {
    const created = await hostKeyProvider.create({ name: "local-node3-host-key", host: "127.0.0.1", port, identity: "c0ffee" });
    const state = created.outs as HostKeyState;
    expect(state.hostKey).toBe(pub("a"));
    expect(await hostKeyProvider.diff!("id", state, { name: state.name, host: state.host, port, identity: "c0ffee" })).toMatchObject({ changes: false });

    await serve("b");
    const stop = await hostKeyProvider.diff!("id", state, { name: state.name, host: state.host, port, identity: "c0ffee" }).catch((e: Error) => e);
    expect(String(stop)).toContain(`the SSH host key of 127.0.0.1:${port} changed`);
    expect(String(stop)).toContain(hostKeyFingerprint(pub("a")));
    expect(String(stop)).toContain(hostKeyFingerprint(pub("b")));
    expect(String(stop)).toContain("pulumi stack --show-urns | grep local-node3-host-key");
    // A refresh keeps what was learned (it also reads a replaced resource's leftover, which stands for no
    // machine); the diff of every host in the program is the check.
    expect(await hostKeyProvider.read!("id", state)).toEqual({ id: "id", props: state });
    // A new machine (the program re-created the node): replaced, its key learned anew.
    expect(await hostKeyProvider.diff!("id", state, { name: state.name, host: state.host, port, identity: "beef" })).toMatchObject({ changes: true, replaces: ["identity"], deleteBeforeReplace: true });
    expect(((await hostKeyProvider.create({ name: state.name, host: state.host, port, identity: "beef" })).outs as HostKeyState).hostKey).toBe(pub("b"));

    // Asked for the learned key's type first; a machine that now offers only another type is still a changed key.
    await serve("a");
    expect(await scanHostKey("127.0.0.1", port, 1, pub("a"))).toBe(pub("a"));
    await serve("c");
    expect(await scanHostKey("127.0.0.1", port, 1, pub("a"))).toBe(pub("c"));
    const typeChanged = await hostKeyProvider.diff!("id", state, { name: state.name, host: state.host, port, identity: "c0ffee" }).catch((e: Error) => e);
    expect(String(typeChanged)).toContain(hostKeyFingerprint(pub("c")));

    // A machine that does not answer is not a changed key.
    await serve(undefined);
    expect(await scanHostKey("127.0.0.1", port, 1, pub("a"))).toBeUndefined();
    expect(await hostKeyProvider.read!("id", state)).toEqual({ id: "id", props: state });
    await serve("a");
  });

  it("a vms machine: the machine-id is read only from the learned key; a new key with a new machine-id is a reinstall, with the same one a stop", async () => {
    const machineId = fs.readFileSync("/etc/machine-id", "utf8").trim();
    expect(await readMachineId(conn(), pub("a"), 1)).toBe(machineId);
    await expect(readMachineId(conn(), pub("b"), 1)).rejects.toThrow(/Host key verification failed|host key/i);

    const state = (await machineIdProvider.create({ ...conn(), name: "vms-node2-machine-id" })).outs as MachineIdState;
    expect(state).toMatchObject({ machineId, hostKey: pub("a") });
    expect(await machineIdProvider.diff!("id", state, conn())).toMatchObject({ changes: false });

    await serve("b");
    // Same machine-id, new key: the diff asks for an update, which stops; a refresh keeps what was learned.
    expect(await machineIdProvider.diff!("id", state, conn())).toMatchObject({ changes: true, replaces: [] });
    await expect(machineIdProvider.update!("id", state, { ...conn(), name: "vms-node2-machine-id" })).rejects.toThrow(/its \/etc\/machine-id did not/);
    const refreshed = { ...state, name: "vms-node2-machine-id" } as MachineIdState;
    expect(await machineIdProvider.read!("id", refreshed)).toEqual({ id: "id", props: refreshed });
    // Another machine-id with it: reinstalled, both learned.
    const reinstalled = { ...state, machineId: "0".repeat(32) };
    expect(await learnMachine(conn(), reinstalled, "vms-node2-machine-id", 1)).toEqual({ hostKey: pub("b"), machineId });
    // A stack from before host keys were kept learns the key at its next up.
    const { hostKey: _, ...older } = state;
    expect(await machineIdProvider.diff!("id", older, conn())).toMatchObject({ changes: true });
    expect((await machineIdProvider.update!("id", older, { ...conn(), name: "vms-node2-machine-id" })).outs).toMatchObject({ hostKey: pub("b"), machineId });
    await serve("a");
  });

  it("the scripts that ssh from this machine (leaving at destroy, the live-manager search) refuse a host that offers another key", () => {
    const r = spawnSync("bash", ["-c", leaveOrSkipScript()], {
      encoding: "utf8",
      timeout: 60_000,
      env: { ...process.env, SSH_KEY: fs.readFileSync(file("client"), "utf8"), SSH_USER: "root", SSH_HOST: "127.0.0.1", SSH_PORT: String(port), NODE: "node3",
        KNOWN_HOSTS: knownHostsLine("127.0.0.1", port, pub("b")) },
    });
    // Not "skipped" (the host is there): a failure that names the node, and ssh's own reason.
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`[leave-swarm] ERROR: node3 (127.0.0.1:${port}): leaving the Swarm failed (ssh exit 255)`);
    expect(r.stdout + r.stderr).toMatch(/Host key verification failed/);
  });
});

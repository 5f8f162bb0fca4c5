import * as pulumi from "@pulumi/pulumi";
import { hostKeyChangedError, knownHostsLine, scanHostKey } from "./host-key";

// A machine the user brings (the `vms` target) has no cloud id that changes when it is reinstalled: its
// /etc/machine-id does (systemd writes a new one at install). Read over SSH when the resource is created, and
// again by `pulumi refresh` (`up --refresh`), it is the host's identity: a machine reinstalled at the same
// address changes the setup scripts that carry it, and the next up runs them again. A preview without
// --refresh logs in nowhere.
//
// The same reader learns the machine's SSH host key (host-key.ts), and every read after the first checks it:
// a machine that offers a new key with a new machine-id was reinstalled, and both are learned anew; a new key
// with the same machine-id stops the run. (The machine-id is what the machine says: this tells a reinstall
// from a key changed by hand, not from someone who impersonates both at that address.)

/** How to reach the machine. */
export interface MachineIdInputs {
  host: string;
  port: number;
  user: string;
  privateKey: string;
}

/** What the state keeps: the connection (the key a secret), the id the machine gave and its host key. */
export interface MachineIdState extends MachineIdInputs {
  machineId: string;
  /** Absent in the state of stacks made before host keys were kept: learned at the next up. */
  hostKey?: string;
}

/**
 * `cat /etc/machine-id` over SSH with a temporary key file only this user reads (never on a command line),
 * to the machine that offers `hostKey` only. `attempts`: connection attempts, a second apart (a machine still booting).
 */
export async function readMachineId(c: MachineIdInputs, hostKey: string, attempts: number): Promise<string> {
  // Required here: a dynamic provider's functions are serialized with what they capture.
  const { execFile } = require("child_process") as typeof import("child_process");
  const fs = require("fs") as typeof import("fs");
  const os = require("os") as typeof import("os");
  const path = require("path") as typeof import("path");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dockercoins-machine-id-"));
  const key = path.join(dir, "id");
  fs.writeFileSync(key, c.privateKey.endsWith("\n") ? c.privateKey : `${c.privateKey}\n`, { mode: 0o600 });
  const knownHosts = path.join(dir, "known_hosts");
  fs.writeFileSync(knownHosts, `${knownHostsLine(c.host, c.port, hostKey)}\n`, { mode: 0o600 });
  const where = `${c.user}@${c.host}:${c.port}`;
  try {
    const ssh = ["-i", key, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
      "-o", `UserKnownHostsFile=${knownHosts}`, "-o", `HostKeyAlgorithms=${hostKey.split(" ")[0]}`,
      "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10", "-o", `ConnectionAttempts=${attempts}`,
      "-p", String(c.port), `${c.user}@${c.host}`, "cat /etc/machine-id 2>/dev/null || true"];
    const out = await new Promise<string>((resolve, reject) =>
      execFile("ssh", ssh, { timeout: (attempts + 1) * 15_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`reading /etc/machine-id of ${where}: ${String(stderr).trim() || err.message}`)) : resolve(String(stdout).trim()),
      ),
    );
    // A machine without one (some container images) has no identity to read: "" (scripts run as before).
    if (out !== "" && !/^[0-9a-f]{32}$/.test(out)) throw new Error(`${where}: /etc/machine-id holds no machine id (${JSON.stringify(out.slice(0, 40))})`);
    return out;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The machine's host key and machine-id, asked again. `old`: what the stack learned, when it has. A machine
 * that does not answer rejects (the caller decides); a changed key on the same machine throws the stop.
 */
export async function learnMachine(
  c: MachineIdInputs,
  old: { machineId: string; hostKey?: string } | undefined,
  name: string,
  attempts: number,
  offered?: string, // the key the caller has just been offered, so it is not asked for twice
) {
  const hostKey = offered ?? (await scanHostKey(c.host, c.port, attempts, old?.hostKey));
  if (hostKey === undefined) throw new Error(`reading the SSH host key of ${c.host}:${c.port}: no answer`);
  const machineId = await readMachineId(c, hostKey, attempts);
  if (old?.hostKey !== undefined && hostKey !== old.hostKey && machineId === old.machineId) {
    throw hostKeyChangedError(name, `${c.user}@${c.host}:${c.port}`, old.hostKey, hostKey, `its /etc/machine-id did not (it was not reinstalled)`);
  }
  return { hostKey, machineId };
}

export const machineIdProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: MachineIdInputs & { name: string }) {
    const learned = await learnMachine(inputs, undefined, inputs.name, 12);
    return { id: `${inputs.user}@${inputs.host}:${inputs.port}`, outs: { ...inputs, ...learned } };
  },
  // Refresh: ask again (a machine reinstalled: its new key and machine-id). A machine that does not answer
  // keeps what it said last (a host already gone is the destroy's and the other steps' business), and so does
  // one whose key changed on the same machine: the diff that follows stops the run (a refresh also reads the
  // leftovers of replaced resources, which stand for no machine).
  async read(id: string, props: MachineIdState & { name: string }) {
    try {
      return { id, props: { ...props, ...(await learnMachine(props, props, props.name, 2)) } };
    } catch {
      return { id, props };
    }
  },
  // Another address is another machine; another key or user reaches the same one. A machine that offers
  // another host key than the one learned is an update, which tells a reinstall from a changed key.
  async diff(_id: string, olds: MachineIdState, news: MachineIdInputs) {
    const replaces = (["host", "port"] as const).filter((k) => olds[k] !== news[k]);
    if (replaces.length > 0) return { changes: true, replaces, deleteBeforeReplace: true };
    const offered = await scanHostKey(olds.host, olds.port, 1, olds.hostKey);
    const keyChanged = offered !== undefined && offered !== olds.hostKey;
    return { changes: keyChanged || olds.user !== news.user || olds.privateKey !== news.privateKey, replaces: [] };
  },
  async update(_id: string, olds: MachineIdState, news: MachineIdInputs & { name: string }) {
    const offered = await scanHostKey(news.host, news.port, 2, olds.hostKey);
    if (offered === undefined || offered === olds.hostKey) return { outs: { ...news, machineId: olds.machineId, hostKey: olds.hostKey } };
    return { outs: { ...news, ...(await learnMachine(news, olds, news.name, 2, offered)) } };
  },
};

export interface MachineIdArgs {
  host: pulumi.Input<string>;
  port: pulumi.Input<number>;
  user: pulumi.Input<string>;
  privateKey: pulumi.Input<string>;
}

/** The /etc/machine-id of a machine reached over SSH (see above). */
export class MachineId extends pulumi.dynamic.Resource {
  // `declare`: a class field would overwrite, after super(), the output the engine set.
  declare public readonly machineId: pulumi.Output<string>;
  declare public readonly hostKey: pulumi.Output<string>;

  constructor(name: string, args: MachineIdArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      machineIdProvider,
      name,
      { ...args, name, privateKey: pulumi.secret(args.privateKey), machineId: undefined, hostKey: undefined },
      // Replaced (`--replace` to accept a changed key): the old one goes first, leaving nothing of it to check.
      { ...opts, additionalSecretOutputs: ["privateKey"], deleteBeforeReplace: true },
    );
  }
}

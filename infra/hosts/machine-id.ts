import * as pulumi from "@pulumi/pulumi";

// A machine the user brings (the `vms` target) has no cloud id that changes when it is reinstalled: its
// /etc/machine-id does (systemd writes a new one at install). Read over SSH when the resource is created, and
// again by `pulumi refresh` (`up --refresh`), it is the host's identity: a machine reinstalled at the same
// address changes the setup scripts that carry it, and the next up runs them again. A preview without
// --refresh dials nothing.

/** How to reach the machine. */
export interface MachineIdInputs {
  host: string;
  port: number;
  user: string;
  privateKey: string;
}

/** What the state keeps: the connection (the key a secret) and the id the machine gave. */
export interface MachineIdState extends MachineIdInputs {
  machineId: string;
}

/**
 * `cat /etc/machine-id` over SSH with a temporary key file only this user reads (never on a command line).
 * `attempts`: connection attempts, a second apart (a machine still booting).
 */
export async function readMachineId(c: MachineIdInputs, attempts: number): Promise<string> {
  // Required here: a dynamic provider's functions are serialized with what they capture.
  const { execFile } = require("child_process") as typeof import("child_process");
  const fs = require("fs") as typeof import("fs");
  const os = require("os") as typeof import("os");
  const path = require("path") as typeof import("path");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dockercoins-machine-id-"));
  const key = path.join(dir, "id");
  fs.writeFileSync(key, c.privateKey.endsWith("\n") ? c.privateKey : `${c.privateKey}\n`, { mode: 0o600 });
  const where = `${c.user}@${c.host}:${c.port}`;
  try {
    const ssh = ["-i", key, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
      "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10", "-o", `ConnectionAttempts=${attempts}`,
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

export const machineIdProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: MachineIdInputs) {
    const machineId = await readMachineId(inputs, 12);
    return { id: `${inputs.user}@${inputs.host}:${inputs.port}`, outs: { ...inputs, machineId } };
  },
  // Refresh: ask again. A machine that does not answer keeps what it said last (a host already gone is
  // the destroy's and the other steps' business, not a refresh failure).
  async read(id: string, props: MachineIdState) {
    try {
      return { id, props: { ...props, machineId: await readMachineId(props, 2) } };
    } catch {
      return { id, props };
    }
  },
  // Another address is another machine; another key or user reaches the same one.
  async diff(_id: string, olds: MachineIdState, news: MachineIdInputs) {
    const replaces = (["host", "port"] as const).filter((k) => olds[k] !== news[k]);
    return { changes: replaces.length > 0 || olds.user !== news.user || olds.privateKey !== news.privateKey, replaces, deleteBeforeReplace: false };
  },
  async update(_id: string, olds: MachineIdState, news: MachineIdInputs) {
    return { outs: { ...news, machineId: olds.machineId } };
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

  constructor(name: string, args: MachineIdArgs, opts?: pulumi.CustomResourceOptions) {
    super(machineIdProvider, name, { ...args, privateKey: pulumi.secret(args.privateKey), machineId: undefined }, { ...opts, additionalSecretOutputs: ["privateKey"] });
  }
}

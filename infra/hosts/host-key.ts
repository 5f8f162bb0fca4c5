import * as pulumi from "@pulumi/pulumi";

// Every SSH connection Pulumi makes checks the host's key against one kept in the stack's state
// (pulumi-command's `connection.hostKey`; the Docker provider's ssh through a known_hosts file). For a
// machine the stack has not met, the key is learned at first contact (ssh-keyscan): on the playground
// that is a container on this machine. Every preview and up (a refresh included) asks the machine again
// before anything dials it: a key that changed while the machine did not stops the run, saying so, before a
// private key's signature or a join token goes to whoever answers. A machine the program re-created (a
// new identity: the node container's id) is a new machine and its key is learned anew.

/** ssh-keyscan's `-t` name of a key's algorithm (`ssh-ed25519 AAAA...` -> `ed25519`). */
function keyscanType(key: string): string | undefined {
  const algorithm = key.trim().split(/\s+/)[0];
  return algorithm === "ssh-ed25519" ? "ed25519" : algorithm?.startsWith("ecdsa-") ? "ecdsa" : algorithm === "ssh-rsa" ? "rsa" : undefined;
}

/**
 * The host key `host:port` offers, as `type base64` (what pulumi-command's `hostKey` and known_hosts take),
 * preferring ed25519, then ECDSA, then RSA; undefined when nothing answered within `attempts` tries a second apart.
 * `learned`: the key the stack knows, whose type is asked for first (one SSH handshake instead of three: every
 * diff of every host asks); a machine that answers without a key of that type is asked for all three.
 */
export async function scanHostKey(host: string, port: number, attempts: number, learned?: string): Promise<string | undefined> {
  // Required here: a dynamic provider's functions are serialized with what they capture.
  const { execFile } = require("child_process") as typeof import("child_process");
  const preferred = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa"];
  // The keys offered, and whether sshd answered at all (ssh-keyscan prints its banner as a # line on stderr).
  const keyscan = (types: string) =>
    new Promise<{ keys: string[]; answered: boolean }>((resolve) =>
      execFile("ssh-keyscan", ["-T", "5", "-t", types, "-p", String(port), host], { timeout: 15_000 }, (_err, stdout, stderr) => {
        const keys = String(stdout ?? "")
          .split("\n")
          .map((line) => line.trim().split(/\s+/))
          .filter((f) => f.length >= 3 && !f[0].startsWith("#"))
          .map((f) => `${f[1]} ${f[2]}`);
        resolve({ keys, answered: keys.length > 0 || /^# \S+ SSH-/m.test(String(stderr ?? "")) });
      }),
    );
  const first = learned === undefined ? undefined : keyscanType(learned);
  for (let attempt = 1; attempt <= attempts; attempt++) {
    let scan = await keyscan(first ?? "ed25519,ecdsa,rsa");
    if (first !== undefined && scan.answered && scan.keys.length === 0) scan = await keyscan("ed25519,ecdsa,rsa");
    for (const type of preferred) {
      const key = scan.keys.find((k) => k.startsWith(`${type} `));
      if (key) return key;
    }
    if (attempt < attempts) await new Promise((r) => setTimeout(r, 1000));
  }
  return undefined;
}

/** The key's fingerprint as `ssh-keygen -lf` prints it (SHA256:...), for messages a person compares. */
export function hostKeyFingerprint(key: string): string {
  const { createHash } = require("crypto") as typeof import("crypto");
  const blob = Buffer.from(key.trim().split(/\s+/)[1] ?? "", "base64");
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** The stop: what changed, why it matters, and how to accept a change the user made. */
export function hostKeyChangedError(resourceName: string, where: string, learned: string, offered: string, unchanged: string): Error {
  return new Error(
    `the SSH host key of ${where} changed: the stack learned ${hostKeyFingerprint(learned)}, the machine now offers ` +
      `${hostKeyFingerprint(offered)}, and ${unchanged}. Someone else may be answering at that address, so nothing ` +
      `was sent to it. If you changed the key yourself (sshd's keys regenerated), accept the new one with ` +
      `\`pulumi up --replace <urn>\`, the urn from \`pulumi stack --show-urns | grep ${resourceName}\`.`,
  );
}

/** A line of a known_hosts file for `host:port` (ssh writes non-22 ports as `[host]:port`). */
export function knownHostsLine(host: string, port: number, key: string): string {
  return `${port === 22 ? host : `[${host}]:${port}`} ${key.trim()}`;
}

/** What the program gives: where the machine answers, and what makes it a new machine. */
export interface HostKeyInputs {
  /** The resource's name, for the message that tells how to accept a changed key. */
  name: string;
  host: string;
  port: number;
  /** The node container's id (or an instance's): another value is another machine, whose key is learned anew. */
  identity: string;
}

export interface HostKeyState extends HostKeyInputs {
  hostKey: string;
}

/** Asks the machine again; a machine that does not answer (stopped, refused, gone) is not a changed key. */
async function checkHostKey(s: HostKeyState, attempts: number): Promise<void> {
  const offered = await scanHostKey(s.host, s.port, attempts, s.hostKey);
  if (offered !== undefined && offered !== s.hostKey) {
    throw hostKeyChangedError(s.name, `${s.host}:${s.port}`, s.hostKey, offered, `it is the same machine (${s.identity.slice(0, 12)})`);
  }
}

export const hostKeyProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: HostKeyInputs) {
    // A node just created takes a few seconds before sshd answers.
    const hostKey = await scanHostKey(inputs.host, inputs.port, 60);
    if (hostKey === undefined) throw new Error(`no SSH host key from ${inputs.host}:${inputs.port} within a minute: is sshd running there?`);
    return { id: `${inputs.host}:${inputs.port}`, outs: { ...inputs, hostKey } };
  },
  // Refresh keeps what was learned and stops nothing: it also reads a replaced resource's leftover (the key of
  // a node re-created by an up that then failed), which no longer stands for any machine. The diff, which
  // runs for every host in the program, is the check.
  async read(id: string, props: HostKeyState) {
    return { id, props };
  },
  // Another machine (identity, address): replaced, learning its key. The same machine: asked again, before
  // anything in this run dials it.
  async diff(_id: string, olds: HostKeyState, news: HostKeyInputs) {
    const replaces = (["identity", "host", "port"] as const).filter((k) => olds[k] !== news[k]);
    // Deleted before its replacement is made: no leftover of the old machine's key stays in the state (an up
    // that fails after the new one was made would keep it, and every later diff would check it).
    if (replaces.length > 0) return { changes: true, replaces, deleteBeforeReplace: true };
    await checkHostKey(olds, 1);
    return { changes: olds.name !== news.name, replaces: [] };
  },
  async update(_id: string, olds: HostKeyState, news: HostKeyInputs) {
    return { outs: { ...news, hostKey: olds.hostKey } };
  },
};

export interface HostKeyArgs {
  host: pulumi.Input<string>;
  port: pulumi.Input<number>;
  identity: pulumi.Input<string>;
}

/** The SSH host key of a machine whose identity the program knows (see above). */
export class HostKey extends pulumi.dynamic.Resource {
  // `declare`: a class field would overwrite, after super(), the output the engine set.
  declare public readonly hostKey: pulumi.Output<string>;

  constructor(name: string, args: HostKeyArgs, opts?: pulumi.CustomResourceOptions) {
    // Replaced (a new machine, or `--replace` to accept a changed key): the old one goes first (see diff).
    super(hostKeyProvider, name, { ...args, name, hostKey: undefined }, { ...opts, deleteBeforeReplace: true });
  }
}

import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";

/**
 * Shell that generates the playground's throwaway ed25519 key once into `$DIR/id` (mode 600) and prints
 * its public half. The file exists because the Docker provider's `ssh://` transport runs the ssh client,
 * which takes `-i`.
 */
export function keyFileScript(): string {
  return [
    "set -eu",
    "umask 077",
    'mkdir -p "$DIR"',
    '[ -f "$DIR/id" ] || ssh-keygen -q -t ed25519 -N "" -C dockercoins-playground -f "$DIR/id"',
    'ssh-keygen -y -f "$DIR/id"',
  ].join("\n");
}

/**
 * Writes a configured private key to `<dir>/id` (mode 600) and returns the path. Done by the program on
 * every run rather than by a resource, so the file is there on any machine that runs `pulumi up` (a CI
 * runner, a colleague's laptop) without making the stack differ between runs.
 */
export function writeKeyFile(dir: string, privateKey: string): string {
  const file = path.join(dir, "id");
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, privateKey.endsWith("\n") ? privateKey : `${privateKey}\n`, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  return file;
}

/** The known_hosts file beside the stack's key file in `dir`: the Docker provider's ssh and sshCommand read it. */
export function knownHostsPath(dir: string): string {
  return path.join(dir, "known_hosts");
}

/**
 * Writes `<dir>/known_hosts` with the one host key the stack learned for the host the Docker provider's ssh
 * reaches (rewritten on every run, like the key file), and returns its path.
 */
export function writeKnownHosts(dir: string, line: string): string {
  const file = knownHostsPath(dir);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, `${line}\n`, { mode: 0o600 });
  return file;
}

export interface SshKeyArgs {
  /** Absolute directory on this machine for the key file (kept out of git). */
  dir: string;
  /** The configured private key (a secret); absent means generate one. */
  privateKey?: pulumi.Input<string>;
}

/** The login key: the configured one, or a generated throwaway one, plus a key file for `ssh -i`. */
export class SshKey extends pulumi.ComponentResource {
  /** Private key for remote commands, always a secret. */
  public readonly privateKey: pulumi.Output<string>;
  /** Public half, for a generated key only (a configured key comes with `sshPublicKey` in config). */
  public readonly publicKey?: pulumi.Output<string>;
  /** The key file for `ssh -i`, resolved once the file exists. */
  public readonly privateKeyPath: pulumi.Output<string>;

  constructor(name: string, args: SshKeyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dockercoins:hosts:SshKey", name, {}, opts);
    if (args.privateKey !== undefined) {
      this.privateKey = pulumi.secret(args.privateKey);
    } else {
      const keyFile = new command.local.Command(
        `${name}-file`,
        { create: keyFileScript(), delete: 'rm -rf "$DIR"', environment: { DIR: args.dir } },
        { parent: this },
      );
      this.publicKey = keyFile.stdout.apply((s) => s.trim());
      this.privateKey = new command.local.Command(
        `${name}-read`,
        // logging "none": the command's output is the private key; a secret output alone does not stop the
        // provider from streaming it into the `pulumi up` log.
        { create: 'cat "$DIR/id"', environment: { DIR: args.dir }, triggers: [keyFile.id], logging: "none" },
        { parent: this, dependsOn: [keyFile], additionalSecretOutputs: ["stdout"] },
      ).stdout;
    }
    // Either key is written to the file on every run (from config, or from the state for a generated one),
    // so `pulumi destroy --run-program` works from another checkout or machine, where no file exists yet.
    this.privateKeyPath = pulumi.unsecret(this.privateKey.apply((k) => writeKeyFile(args.dir, k)));
    this.registerOutputs({ publicKey: this.publicKey, privateKeyPath: this.privateKeyPath });
  }
}

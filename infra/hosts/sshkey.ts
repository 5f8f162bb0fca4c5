import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";

/**
 * Shell that leaves the login key in `$DIR/id` (mode 600) and prints its public half. A configured key
 * arrives on stdin; without one (the playground) a throwaway ed25519 key is generated once and kept.
 * The file exists because the Docker provider's `ssh://` transport runs the ssh client, which takes `-i`.
 */
export function keyFileScript(configured: boolean): string {
  return [
    "set -eu",
    "umask 077",
    'mkdir -p "$DIR"',
    configured
      ? 'cat > "$DIR/id"'
      : '[ -f "$DIR/id" ] || ssh-keygen -q -t ed25519 -N "" -C dockercoins-playground -f "$DIR/id"',
    'ssh-keygen -y -f "$DIR/id"',
  ].join("\n");
}

export interface SshKeyArgs {
  /** Absolute directory on this machine for the key file (kept out of git). */
  dir: string;
  /** The configured private key (a secret); absent means generate one. */
  privateKey?: pulumi.Input<string>;
}

export class SshKey extends pulumi.ComponentResource {
  /** Private key for remote commands, always a secret. */
  public readonly privateKey: pulumi.Output<string>;
  public readonly publicKey: pulumi.Output<string>;
  /** The key file for `ssh -i`. */
  public readonly privateKeyPath: string;

  constructor(name: string, args: SshKeyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dockercoins:hosts:SshKey", name, {}, opts);
    const configured = args.privateKey !== undefined;
    this.privateKeyPath = `${args.dir}/id`;

    const keyFile = new command.local.Command(
      `${name}-file`,
      {
        create: keyFileScript(configured),
        delete: 'rm -rf "$DIR"',
        environment: { DIR: args.dir },
        stdin: args.privateKey,
      },
      { parent: this },
    );
    this.publicKey = keyFile.stdout.apply((s) => s.trim());

    this.privateKey = configured
      ? pulumi.secret(args.privateKey as pulumi.Input<string>)
      : new command.local.Command(
          `${name}-read`,
          { create: 'cat "$DIR/id"', environment: { DIR: args.dir }, triggers: [keyFile.id] },
          { parent: this, dependsOn: [keyFile], additionalSecretOutputs: ["stdout"] },
        ).stdout;

    this.registerOutputs({ publicKey: this.publicKey, privateKeyPath: this.privateKeyPath });
  }
}

// The passphrase that encrypts a stack's secrets (the passphrase secrets provider of a file backend).
// scripts/pulumi-env.sh sets a public one when none is set, so the playground's first `up` asks nothing: its
// only secret is a throwaway key generated for it. Any other target's secrets are the user's own (the SSH key
// to their machines): encrypted with a passphrase printed in this repository they would be no secret at all.
import * as fs from "fs";
import { ConfigRefusal, type Target } from "./config";

/** The default of scripts/pulumi-env.sh (a unit test keeps the two the same). */
export const PLAYGROUND_PASSPHRASE = "dockercoins-playground";

/** Targets that hold no secret of the user's unless one is set in their config. */
const PLAYGROUND_TARGETS: readonly Target[] = ["local", "minikube"];

/** The passphrase the engine uses, as it reads it: PULUMI_CONFIG_PASSPHRASE first, then the file (trimmed). */
export function passphraseInUse(env: NodeJS.ProcessEnv, readFile = (f: string) => fs.readFileSync(f, "utf8")): string | undefined {
  if (env.PULUMI_CONFIG_PASSPHRASE !== undefined) return env.PULUMI_CONFIG_PASSPHRASE;
  if (!env.PULUMI_CONFIG_PASSPHRASE_FILE) return undefined;
  try {
    return readFile(env.PULUMI_CONFIG_PASSPHRASE_FILE).trim();
  } catch {
    return undefined; // the engine itself stops on an unreadable file
  }
}

/**
 * Why this stack may not run with the public passphrase, or undefined. `stackFile` is the text of
 * Pulumi.<stack>.yaml: its `encryptionsalt` says the passphrase provider is in use (Pulumi Cloud or a KMS
 * provider does not use the passphrase at all), its `secure:` values are secrets already encrypted.
 */
export function publicPassphraseRefusal(opts: { target: Target; stack: string; passphrase: string | undefined; stackFile: string | undefined }): string | undefined {
  const { target, stack, passphrase, stackFile } = opts;
  if (passphrase !== PLAYGROUND_PASSPHRASE || stackFile === undefined || !/^encryptionsalt:/m.test(stackFile)) return undefined;
  const userSecrets = /^\s+secure:\s/m.test(stackFile); // a `secure:` value: a secret set with --secret
  if (PLAYGROUND_TARGETS.includes(target) && !userSecrets) return undefined;
  const why = userSecrets ? "its config holds secrets of yours" : `the ${target} target's SSH key reaches real machines`;
  return (
    `stack ${stack} encrypts its secrets with the playground's public passphrase (${PLAYGROUND_PASSPHRASE}, set by ` +
    `scripts/pulumi-env.sh when none is set), and ${why}: refused before anything is created. Choose your own and ` +
    `re-encrypt: \`pulumi stack change-secrets-provider passphrase --stack ${stack}\` (asks for the new one; ` +
    `without a terminal it reads it on standard input), then keep it in a file only you read and ` +
    `\`export PULUMI_CONFIG_PASSPHRASE_FILE=<that file>\` before sourcing scripts/pulumi-env.sh; or use Pulumi ` +
    `Cloud (\`pulumi login\`) or a KMS secrets provider (\`pulumi stack change-secrets-provider awskms://...\`).`
  );
}

/** Stops the program with the refusal above, if there is one. */
export function refusePublicPassphrase(target: Target, stack: string, stackFilePath: string): void {
  const stackFile = fs.existsSync(stackFilePath) ? fs.readFileSync(stackFilePath, "utf8") : undefined;
  const why = publicPassphraseRefusal({ target, stack, passphrase: passphraseInUse(process.env), stackFile });
  if (why) throw new ConfigRefusal(why);
}

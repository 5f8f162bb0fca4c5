// The playground's public passphrase never guards a user's own secrets.
import { readFileSync } from "fs";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { passphraseInUse, PLAYGROUND_PASSPHRASE, publicPassphraseRefusal } from "../passphrase";

const ROOT = path.resolve(__dirname, "../..");
const SALTED = "encryptionsalt: v1:abc\n";
const WITH_KEY = `config:\n  dockercoins:target: vms\n  dockercoins:sshPrivateKey:\n    secure: v1:xyz\n${SALTED}`;

describe("the passphrase the engine uses", () => {
  it("is PULUMI_CONFIG_PASSPHRASE (even empty), else the file's first line trimmed, else none", () => {
    const file = (f: string) => (f === "/p" ? "mine\n" : (() => { throw new Error("ENOENT"); })());
    expect(passphraseInUse({ PULUMI_CONFIG_PASSPHRASE: "a", PULUMI_CONFIG_PASSPHRASE_FILE: "/p" }, file)).toBe("a");
    expect(passphraseInUse({ PULUMI_CONFIG_PASSPHRASE: "" }, file)).toBe("");
    expect(passphraseInUse({ PULUMI_CONFIG_PASSPHRASE_FILE: "/p" }, file)).toBe("mine");
    expect(passphraseInUse({ PULUMI_CONFIG_PASSPHRASE_FILE: "/missing" }, file)).toBeUndefined();
    expect(passphraseInUse({}, file)).toBeUndefined();
  });

  it("scripts/pulumi-env.sh defaults to PLAYGROUND_PASSPHRASE only when neither variable is set", () => {
    const env = readFileSync(path.join(ROOT, "scripts/pulumi-env.sh"), "utf8");
    expect(env).toContain(`PULUMI_CONFIG_PASSPHRASE="${PLAYGROUND_PASSPHRASE}"`);
    expect(env).toMatch(/if \[ -z "\$\{PULUMI_CONFIG_PASSPHRASE\+set\}" \] && \[ -z "\$\{PULUMI_CONFIG_PASSPHRASE_FILE:-\}" \]/);
  });
});

describe("a stack on the public passphrase", () => {
  const refusal = (target: "local" | "vms" | "aws" | "minikube", stackFile: string | undefined, passphrase: string | undefined = PLAYGROUND_PASSPHRASE) =>
    publicPassphraseRefusal({ target, stack: "s", passphrase, stackFile });

  it("is refused for vms and aws, saying why and how to choose another", () => {
    for (const target of ["vms", "aws"] as const) {
      const why = refusal(target, `config:\n  dockercoins:target: ${target}\n${SALTED}`);
      expect(why).toContain(`stack s encrypts its secrets with the playground's public passphrase (${PLAYGROUND_PASSPHRASE}`);
      expect(why).toContain(`the ${target} target's SSH key reaches real machines`);
      expect(why).toContain("pulumi stack change-secrets-provider passphrase --stack s");
      expect(why).toContain("PULUMI_CONFIG_PASSPHRASE_FILE");
    }
  });

  it("is refused for any target whose config holds a secret", () => {
    expect(refusal("local", WITH_KEY)).toContain("its config holds secrets of yours");
    expect(refusal("minikube", WITH_KEY)).toContain("its config holds secrets of yours");
  });

  it("is allowed for the playgrounds without secrets, another passphrase, or another secrets provider", () => {
    expect(refusal("local", `config:\n  dockercoins:target: local\n${SALTED}`)).toBeUndefined();
    expect(refusal("minikube", `config: {}\n${SALTED}`)).toBeUndefined();
    expect(refusal("vms", WITH_KEY, "my own passphrase")).toBeUndefined();
    expect(publicPassphraseRefusal({ target: "vms", stack: "s", passphrase: undefined, stackFile: WITH_KEY })).toBeUndefined();
    // Pulumi Cloud's default provider, or KMS: no salt, the passphrase is not what encrypts.
    expect(refusal("vms", "secretsprovider: awskms://alias/k\nencryptedkey: abc\nconfig:\n  dockercoins:sshPrivateKey:\n    secure: v1:x\n")).toBeUndefined();
    expect(refusal("aws", undefined)).toBeUndefined();
  });

  it("the committed dev stack is allowed as it is", () => {
    expect(refusal("local", readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8"))).toBeUndefined();
  });
});

import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { docker, run, type RunOptions, type RunResult } from "./run";

// The Pulumi program driven the way a user drives it: the README's commands (scripts/up.sh, then `source
// scripts/pulumi-env.sh` and `pulumi ...`) in a checkout of their own. The checkout is a copy of this
// working tree in a temporary folder, so `pulumi config set` and `pulumi stack rm` (which deletes
// Pulumi.<stack>.yaml) never touch the repository, and the stack's state lands in that copy.

export const ROOT = resolve(__dirname, "../..");

/**
 * Whether a Pulumi engine with the command and docker plugins is present (scripts/pulumi-engine.sh --check,
 * which never builds anything): undefined if so, else the reason.
 */
export function engineMissing(): string | undefined {
  try {
    execFileSync(join(ROOT, "scripts/pulumi-engine.sh"), ["--check"], { stdio: ["ignore", "ignore", "pipe"] });
    return undefined;
  } catch (e) {
    const why = String((e as { stderr?: Buffer }).stderr ?? e).replace(/\[pulumi-engine\] /g, "").trim();
    return why.split("\n").join("; ");
  }
}

/** engineMissing(), said once in one loud line by the suite that skips for it. */
export function engineMissingSaid(suite: string): string | undefined {
  const missing = engineMissing();
  if (missing) {
    console.warn(
      `[${suite}] SKIPPED: no Pulumi engine with the command and docker plugins (${missing}). ` +
        "Install the Pulumi CLI, or build one with scripts/pulumi-engine.sh and install the plugins it names.",
    );
  }
  return missing;
}

/** One step of `pulumi preview --json`: what would happen to which resource. */
export interface PreviewStep {
  op: string;
  name: string;
  type: string;
}

/** What must never appear in any output of the program: the SSH private key. */
const SECRET_MARKERS = [/BEGIN OPENSSH PRIVATE KEY/, /BEGIN [A-Z ]*PRIVATE KEY/];

export class PulumiCheckout {
  readonly dir: string;
  /** Every command's combined output, for checks over the whole session (no secret ever printed). */
  readonly transcript: string[] = [];
  /** Environment of every command from here, over the shell's (e.g. the stack's own PULUMI_CONFIG_PASSPHRASE). */
  readonly env: Record<string, string> = {};

  /** `backendUrl`: another checkout's state (e.g. `file://<its dir>/.pulumi-state`): a second machine's view. */
  constructor(readonly stack: string, private readonly backendUrl?: string) {
    this.dir = mkdtempSync(join(tmpdir(), "dockercoins-checkout-"));
    // The files git knows of (tracked, and untracked but not ignored), as they are in this working tree.
    const files = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: ROOT })
      .toString()
      .split("\0")
      .filter((f) => f && existsSync(join(ROOT, f)));
    // No node_modules: scripts/up.sh installs them as on a fresh clone (a link to ours would let its
    // `npm ci` wipe this tree's).
    for (const f of files) cpSync(join(ROOT, f), join(this.dir, f), { recursive: true });
  }

  /** A command in the checkout, with the Pulumi environment of scripts/pulumi-env.sh, as a user's shell has it. */
  async sh(command: string, opts: RunOptions = {}): Promise<RunResult> {
    const r = await run("bash", ["-c", `source scripts/pulumi-env.sh 2>/dev/null && ${command}`], {
      cwd: this.dir,
      timeoutMs: 10 * 60_000,
      ...opts,
      env: { ...(this.backendUrl ? { PULUMI_BACKEND_URL: this.backendUrl } : {}), ...this.env, ...opts.env },
    });
    this.record(command, r);
    return r;
  }

  private record(command: string, r: RunResult): void {
    this.transcript.push(`$ ${command}\n${r.stdout}${r.stderr}`);
    for (const m of SECRET_MARKERS) {
      if (m.test(r.stdout) || m.test(r.stderr)) throw new Error(`\`${command}\` printed a private key`);
    }
  }

  /** scripts/up.sh: the README's main job (on another stack than dev: DOCKERCOINS_STACK). */
  async upScript(): Promise<RunResult> {
    const env: Record<string, string> = { ...this.env, DOCKERCOINS_STACK: this.stack };
    const r = await run("scripts/up.sh", [], { cwd: this.dir, timeoutMs: 25 * 60_000, env });
    this.record("scripts/up.sh", r);
    return r;
  }

  pulumi(args: string, opts: RunOptions = {}): Promise<RunResult> {
    return this.sh(`pulumi ${args} --stack ${this.stack}`, opts);
  }

  configSet(key: string, value: string): Promise<RunResult> {
    return this.pulumi(`config set dockercoins:${key} '${value}'`);
  }

  /** `pulumi preview --json`: every step that is not "same". */
  async previewChanges(): Promise<PreviewStep[]> {
    const r = await this.pulumi("preview --json");
    const steps = (JSON.parse(r.stdout).steps ?? []) as { op: string; urn: string }[];
    return steps
      .filter((s) => s.op !== "same")
      .map((s) => {
        const parts = s.urn.split("::");
        return { op: s.op, name: parts[parts.length - 1], type: parts[parts.length - 2].split("$").pop() ?? "" };
      });
  }

  up(extra = ""): Promise<RunResult> {
    return this.pulumi(`up --yes ${extra}`.trim());
  }

  /** This checkout's state backend, for a second checkout to share. */
  get backend(): string {
    return `file://${this.dir}/.pulumi-state`;
  }

  async remove(): Promise<void> {
    // The up logs outlive the checkout (test-artifacts/, ignored by git): a failed step is read there.
    const logs = join(this.dir, ".pulumi-state/logs");
    if (existsSync(logs)) cpSync(logs, join(ROOT, "test-artifacts/pulumi-logs", basename(this.dir)), { recursive: true });
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Containers, networks and volumes whose names start with `prefix`: what a destroy must leave none of. */
export async function leftovers(prefix: string): Promise<string[]> {
  const names = async (args: string[]) =>
    (await docker(args, { allowFailure: true })).stdout.split("\n").map((s) => s.trim()).filter((s) => s.startsWith(prefix));
  return [
    ...(await names(["ps", "-a", "--format", "{{.Names}}"])).map((n) => `container ${n}`),
    ...(await names(["network", "ls", "--format", "{{.Name}}"])).map((n) => `network ${n}`),
    ...(await names(["volume", "ls", "--format", "{{.Name}}"])).map((n) => `volume ${n}`),
  ];
}

/** Last resort after a failed run: removes what `leftovers` lists. */
export async function forceRemove(prefix: string): Promise<void> {
  for (const item of await leftovers(prefix)) {
    const [kind, name] = item.split(" ");
    await docker(kind === "container" ? ["rm", "-f", "-v", name] : [kind, "rm", name], { allowFailure: true });
  }
}

// The students' stacks driven through Pulumi's Automation API: created and brought up at most `parallel` at a
// time, read back, destroyed. A student whose step fails is marked failed and the others go on; running
// `create` again brings up exactly the stacks that are not up as planned (new, failed, interrupted, changed).
import { LocalWorkspace, type ConfigMap, type Stack } from "@pulumi/pulumi/automation";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SECRET_KEYS, type ConfigKey } from "../config";
import { studentPassword, type Student } from "./plan";
import type { Progress } from "./progress";

export interface RunContext {
  /** Where Pulumi.yaml is. */
  workDir: string;
  /** Each student's Pulumi output goes to <logDir>/<stack>.log. */
  logDir: string;
  parallel: number;
  progress: Progress;
  /** vms: the pool's SSH private key (the instructor's), every student's stack reaches its machines with. */
  poolKey?: string;
}

/** Runs `fn` on every item, at most `limit` at once. */
export async function inPool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const lanes = Array.from({ length: Math.min(limit, queue.length) }, async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item);
  });
  await Promise.all(lanes);
}

const firstLine = (e: unknown) => {
  const text = e instanceof Error ? e.message : String(e);
  // The engine's own error, not the CLI's invocation line the Automation API puts first.
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  return (lines.find((l) => /^error:|error: /.test(l)) ?? lines[0] ?? "failed").slice(0, 160);
};

function plannedConfig(s: Student): ConfigMap {
  return Object.fromEntries(
    Object.entries(s.config).map(([k, v]) => [`dockercoins:${k}`, { value: v as string, secret: SECRET_KEYS.includes(k as ConfigKey) }]),
  );
}

/** The file backend's folder (PULUMI_BACKEND_URL=file://...), where locks of interrupted commands stay. */
function backendDir(): string | undefined {
  const url = process.env.PULUMI_BACKEND_URL ?? "";
  return url.startsWith("file://") ? url.slice("file://".length) : undefined;
}

/** Whether a command on this stack was interrupted: a lock left by a process of this machine that is gone. */
function staleLock(stack: string): boolean {
  const dir = backendDir();
  if (!dir || !existsSync(join(dir, ".pulumi/locks"))) return false;
  const locks: string[] = [];
  const walk = (d: string, depth: number) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory() && depth < 3) walk(p, depth + 1);
      else if (e.isFile() && depth === 3 && d.endsWith(`/${stack}`) && e.name.endsWith(".json")) locks.push(p);
    }
  };
  walk(join(dir, ".pulumi/locks"), 0);
  return locks.some((file) => {
    const { pid } = JSON.parse(readFileSync(file, "utf8")) as { pid: number };
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  });
}

interface PendingOperation {
  type: string;
  resource: { type: string; provider?: string; inputs?: { name?: string } };
}

/** Local engine objects of this kind, by name: what a create interrupted midway leaves behind. */
const LOCAL_OBJECTS: Record<string, string[]> = {
  "docker:index/container:Container": ["rm", "--force"],
  "docker:index/network:Network": ["network", "rm"],
};

/**
 * Objects an interrupted create made on this machine's engine (the default docker provider: the local
 * target's node containers and network) but the state does not hold: created again under the same name,
 * they would conflict. Removed (a node container being created holds nothing yet), containers first.
 */
function removeHalfMade(ops: PendingOperation[]): void {
  const local = ops.filter((op) => op.type === "creating" && LOCAL_OBJECTS[op.resource.type] && /::default(_[\d_]+)?::/.test(op.resource.provider ?? "") && op.resource.inputs?.name);
  const containersFirst = [...local.filter((op) => op.resource.type.endsWith("Container")), ...local.filter((op) => !op.resource.type.endsWith("Container"))];
  for (const op of containersFirst) {
    try {
      execFileSync("docker", [...LOCAL_OBJECTS[op.resource.type], op.resource.inputs!.name!], { stdio: "ignore" });
    } catch {
      // not there: the kill came before the engine made it
    }
  }
}

/** What scripts/recover.sh does for scripts/up.sh: the stale lock cancelled, half-made resources dropped. */
async function recoverInterrupted(stack: Stack): Promise<boolean> {
  let recovered = false;
  if (staleLock(stack.name)) {
    await stack.cancel();
    recovered = true;
  }
  const ops = ((await stack.exportStack()).deployment as { pending_operations?: PendingOperation[] }).pending_operations ?? [];
  if (ops.some((op) => op.type === "creating")) {
    removeHalfMade(ops);
    await stack.refresh({ clearPendingCreates: true });
    recovered = true;
  }
  return recovered || ops.length > 0;
}

/** Up as planned: its last update succeeded and its config is the planned one (secrets aside). */
async function upAsPlanned(stack: Stack, planned: ConfigMap): Promise<boolean> {
  const [last] = await stack.history(1);
  if (last?.kind !== "update" || last.result !== "succeeded") return false;
  const config = await stack.getAllConfig();
  return Object.entries(planned).every(([k, v]) => v.secret || config[k]?.value === v.value);
}

/** A key pair of the student's own (AWS: installed on their instances), kept as a stack secret. */
function generateKeyPair(comment: string): { privateKey: string; publicKey: string } {
  const dir = mkdtempSync(join(tmpdir(), "dockercoins-labs-key-"));
  try {
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", join(dir, "id")]);
    return { privateKey: readFileSync(join(dir, "id"), "utf8"), publicKey: readFileSync(join(dir, "id.pub"), "utf8").trim() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The keys a student's stack reaches its machines with (vms: the pool's; aws: a key pair of its own), and,
 * on machines outside this one, the student's login: a password of their own, a stack secret, made once.
 */
async function setAccess(stack: Stack, s: Student, poolKey: string | undefined): Promise<void> {
  if (s.config.target === "local") return; // its stack generates its key; the student is at this machine
  const config = await stack.getAllConfig();
  if (s.config.target === "vms") {
    if (!poolKey) throw new Error("the vms target needs the pool's private key (--key FILE)");
    await stack.setConfig("dockercoins:sshPrivateKey", { value: poolKey, secret: true });
  }
  if (s.config.target === "aws" && !config["dockercoins:sshPublicKey"]) {
    const key = generateKeyPair(`dockercoins-${s.stack}`);
    await stack.setConfig("dockercoins:sshPrivateKey", { value: key.privateKey, secret: true });
    await stack.setConfig("dockercoins:sshPublicKey", { value: key.publicKey });
  }
  if (!config["dockercoins:loginPassword"]) {
    await stack.setConfig("dockercoins:loginPassword", { value: studentPassword(randomBytes(16)), secret: true });
  }
}

export async function createStudents(students: Student[], ctx: RunContext): Promise<void> {
  mkdirSync(ctx.logDir, { recursive: true });
  await inPool(students, ctx.parallel, async (s) => {
    const log = join(ctx.logDir, `${s.stack}.log`);
    try {
      ctx.progress.set(s.stack, "stack");
      const stack = await LocalWorkspace.createOrSelectStack({ stackName: s.stack, workDir: ctx.workDir });
      const interrupted = await recoverInterrupted(stack);
      const planned = plannedConfig(s);
      if (!interrupted && (await upAsPlanned(stack, planned))) {
        ctx.progress.set(s.stack, "up", "already up");
        return;
      }
      ctx.progress.set(s.stack, "config");
      await stack.setAllConfig(planned);
      await setAccess(stack, s, ctx.poolKey);
      let resources = 0;
      ctx.progress.set(s.stack, "up");
      await stack.up({
        onOutput: (text) => appendFileSync(log, text),
        onEvent: (e) => {
          if (e.resOutputsEvent) ctx.progress.set(s.stack, `up: ${++resources} resources`);
        },
      });
      ctx.progress.set(s.stack, "up", interrupted ? "ok (an interrupted up finished)" : "ok");
    } catch (e) {
      ctx.progress.set(s.stack, "failed", `${firstLine(e)} (log: ${log})`);
    }
  });
}

export async function destroyStudents(stacks: string[], ctx: RunContext): Promise<void> {
  mkdirSync(ctx.logDir, { recursive: true });
  await inPool(stacks, ctx.parallel, async (name) => {
    const log = join(ctx.logDir, `${name}.log`);
    try {
      ctx.progress.set(name, "destroy");
      const stack = await LocalWorkspace.selectStack({ stackName: name, workDir: ctx.workDir });
      await recoverInterrupted(stack);
      await stack.destroy({ onOutput: (text) => appendFileSync(log, text) });
      ctx.progress.set(name, "stack rm");
      await stack.workspace.removeStack(name);
      // The files the program kept for it on this machine (its SSH key, known hosts): nothing left behind.
      rmSync(join(ctx.workDir, ".pulumi-state", "dockercoins", name), { recursive: true, force: true });
      ctx.progress.set(name, "gone", "ok");
    } catch (e) {
      ctx.progress.set(name, "failed", `${firstLine(e)} (log: ${log})`);
    }
  });
}

/** The stacks of this project that exist (for status, cards and destroy). */
export async function existingStacks(workDir: string): Promise<string[]> {
  const ws = await LocalWorkspace.create({ workDir });
  return (await ws.listStacks()).map((s) => s.name);
}

export interface StudentAccess {
  stack: string;
  webuiUrl?: string;
  managerAddress?: string;
  /** How the student logs in: their own login (vms, aws), or the stack's key on this machine (local). */
  sshCommand?: string;
  /** Their login's password (vms, aws): for the card only, never the terminal. */
  password?: string;
  nodes?: string[];
}

export async function studentAccess(name: string, workDir: string, withPassword = false): Promise<StudentAccess> {
  const stack = await LocalWorkspace.selectStack({ stackName: name, workDir });
  const out = await stack.outputs();
  const value = <T>(k: string) => out[k]?.value as T | undefined;
  const password = withPassword ? (await stack.getAllConfig())["dockercoins:loginPassword"]?.value : undefined;
  return {
    stack: name,
    webuiUrl: value("webuiUrl"),
    managerAddress: value("managerAddress"),
    sshCommand: value("loginCommand") ?? value("sshCommand"),
    ...(password ? { password } : {}),
    nodes: value("nodes"),
  };
}

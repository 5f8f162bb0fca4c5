// The IaC loop, benchmarked on the playground through Pulumi's Automation API (the engine `pulumi up` uses):
// a fresh up, a scale-out to 10 workers, an up with nothing to do, a refresh and a destroy, each timed from
// the command to its return and set beside its goal. Where a goal is missed, the engine's own events say
// where the time went: the slowest resource steps of that command.
import { LocalWorkspace, type EngineEvent, type Stack } from "@pulumi/pulumi/automation";
import { execFileSync } from "node:child_process";

export interface Step {
  name: string;
  goalS: number;
  seconds: number;
  /** The slowest resource steps (components left out: their time is their children's). */
  slowest: { resource: string; op: string; seconds: number }[];
  /** What else was checked at the command's return (e.g. every task running). */
  check?: string;
}

export interface IacBench {
  stackName: string;
  startedAt: string;
  steps: Step[];
}

/** The goals (issue 24): seconds from the command to its return. */
export const GOALS = {
  freshUp: 90,
  scaleOut: 15,
  noChangeUp: 5,
  refresh: 8,
  destroy: 20,
} as const;

/** Start and end of each resource step, from the engine's events as they arrive. */
export class StepTimer {
  private readonly started = new Map<string, { at: number; op: string; type: string }>();
  readonly done: { resource: string; type: string; op: string; seconds: number }[] = [];

  onEvent = (e: EngineEvent, now = Date.now()) => {
    const pre = e.resourcePreEvent?.metadata;
    if (pre && pre.op !== "same") this.started.set(pre.urn, { at: now, op: pre.op, type: pre.type });
    const out = e.resOutputsEvent?.metadata;
    const begun = out && this.started.get(out.urn);
    if (out && begun) {
      this.done.push({ resource: out.urn.split("::").pop()!, type: begun.type, op: begun.op, seconds: (now - begun.at) / 1000 });
      this.started.delete(out.urn);
    }
  };

  /** The `n` slowest steps of real resources: components and the stack only wait for their children. */
  slowest(n = 3): Step["slowest"] {
    return this.done
      .filter((d) => !d.type.startsWith("dockercoins:") && d.type !== "pulumi:pulumi:Stack" && !d.type.startsWith("pulumi:providers:"))
      .sort((a, b) => b.seconds - a.seconds)
      .slice(0, n)
      .map(({ resource, op, seconds }) => ({ resource, op, seconds }));
  }
}

export function benchMarkdown(b: IacBench): string {
  const rows = b.steps.map((s) => {
    const met = s.seconds <= s.goalS ? "yes" : "no";
    const where = s.seconds <= s.goalS ? "" : s.slowest.map((r) => `${r.resource} (${r.op}) ${r.seconds.toFixed(1)} s`).join("; ");
    return `| ${s.name} | ${s.seconds.toFixed(1)} | <= ${s.goalS} | ${met} | ${s.check ?? ""} | ${where} |`;
  });
  return [
    `# The IaC loop on stack \`${b.stackName}\` (the playground)`,
    "",
    `Measured ${b.startedAt} by \`scripts/bench-iac.sh\` through Pulumi's Automation API: seconds from the command to its`,
    "return. Where a goal is missed, the slowest resource steps of that command, from the engine's events.",
    "",
    "| step | seconds | goal | met | checked at return | where the time goes (slowest steps) |",
    "|---|---:|---:|---|---|---|",
    ...rows,
    "",
  ].join("\n");
}

export interface BenchOptions {
  stackName: string;
  workDir: string;
  log: (line: string) => void;
  onPulumiOutput?: (text: string) => void;
}

const NS = "dockercoins";

/** Replicas of `service` as the Swarm reports them at this moment (`running/desired`), read on node1. */
function swarmReplicas(prefix: string, service: string): string {
  return execFileSync("docker", ["exec", `${prefix}-node1`, "docker", "service", "ls", "--filter", `name=${service}`, "--format", "{{.Replicas}}"], { encoding: "utf8" }).trim();
}

export async function benchIacLoop(opts: BenchOptions): Promise<IacBench> {
  const stack: Stack = await LocalWorkspace.createOrSelectStack({ stackName: opts.stackName, workDir: opts.workDir });
  const config = await stack.getAllConfig();
  const target = config[`${NS}:target`]?.value ?? "local";
  if (target !== "local") throw new Error(`stack ${opts.stackName} is a ${target} stack: the benchmark's goals are the playground's (target local)`);
  const prefix = `dockercoins-${opts.stackName}`;
  const workersWas = config[`${NS}:workerReplicas`]?.value;
  const bench: IacBench = { stackName: opts.stackName, startedAt: new Date().toISOString(), steps: [] };
  const timed = async (name: string, goalS: number, run: (onEvent: (e: EngineEvent) => void) => Promise<unknown>) => {
    const timer = new StepTimer();
    opts.log(`[bench-iac] ${name} ...`);
    const t0 = Date.now();
    await run(timer.onEvent);
    const step: Step = { name, goalS, seconds: (Date.now() - t0) / 1000, slowest: timer.slowest() };
    bench.steps.push(step);
    opts.log(`[bench-iac]   ${step.seconds.toFixed(1)} s (goal <= ${goalS} s)`);
    return step;
  };
  const common = { color: "never" as const, onOutput: opts.onPulumiOutput };

  try {
    if ((await stack.exportStack()).deployment?.resources?.length) {
      opts.log("[bench-iac] the stack is deployed: destroyed first (not measured), so the up starts from nothing");
      await stack.destroy(common);
    }
    await stack.setConfig(`${NS}:workerReplicas`, { value: "1" });
    await timed("fresh up (image caches as this machine has them)", GOALS.freshUp, (onEvent) => stack.up({ ...common, onEvent }));
    await stack.setConfig(`${NS}:workerReplicas`, { value: "10" });
    const scale = await timed("workerReplicas 1 -> 10", GOALS.scaleOut, (onEvent) => stack.up({ ...common, onEvent }));
    scale.check = `worker ${swarmReplicas(prefix, "worker")} running`;
    await timed("up with no changes", GOALS.noChangeUp, (onEvent) => stack.up({ ...common, onEvent }));
    await timed("refresh", GOALS.refresh, (onEvent) => stack.refresh({ ...common, onEvent }));
    await timed("destroy", GOALS.destroy, (onEvent) => stack.destroy({ ...common, onEvent }));
  } finally {
    if (workersWas === undefined) await stack.removeConfig(`${NS}:workerReplicas`);
    else await stack.setConfig(`${NS}:workerReplicas`, { value: workersWas });
  }
  return bench;
}

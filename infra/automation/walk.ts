// The workshop, walked on a deployed stack through Pulumi's Automation API (the engine `pulumi up` uses):
// 1, 2, 3, 4, 5, 10 workers with one rng, then rng global (Swarm) or rng's HPA (Kubernetes); each step is a
// config change and an update, then a measurement of hashes/s and of where the time goes. The stack's config
// is put back as it was found at the end, whatever happened.
import { LocalWorkspace, type ConfigMap, type Stack } from "@pulumi/pulumi/automation";
import { hashRate, sampleFor } from "../../app/bench/mining";
import type { Target } from "../config";

export interface WalkStep {
  label: string;
  workers: number;
  /** How rng runs in this step: one replica, one per node, or as many as its HPA wants. */
  rng: "one" | "global" | "autoscaled";
  /** Config keys (without the `dockercoins:` namespace) this step sets. */
  config: Record<string, string>;
  /** Extra wait before measuring: an HPA needs a minute or two to react. */
  settleS?: number;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** The steps for a target: the workshop's lesson, in the platform's own way of scaling rng out. */
export function workshopSteps(target: Target, workers: number[]): WalkStep[] {
  if (!workers.length || workers.some((w) => !Number.isInteger(w) || w < 1)) throw new Error(`workers must be integers >= 1, got ${workers.join(",")}`);
  const most = Math.max(...workers);
  const kube = target === "minikube";
  const oneRng: Record<string, string> = kube ? { hpa: "none", rngReplicas: "1" } : { rngMode: "replicated", rngReplicas: "1" };
  return [
    ...workers.map((w): WalkStep => ({ label: `${plural(w, "worker")}, 1 rng`, workers: w, rng: "one", config: { ...oneRng, workerReplicas: String(w) } })),
    kube
      ? { label: `${plural(most, "worker")}, rng autoscaled (HPA)`, workers: most, rng: "autoscaled", config: { hpa: "cpu", workerReplicas: String(most) }, settleS: 90 }
      : { label: `${plural(most, "worker")}, rng global`, workers: most, rng: "global", config: { rngMode: "global", workerReplicas: String(most) } },
  ];
}

/** What one step measured. Latencies are the services' own (time in line included), averaged per request. */
export interface StepResult {
  step: WalkStep;
  hashesPerS: number;
  rngReplicas: number;
  rngMs: number | null;
  hasherMs: number | null;
  /** Requests waiting in rng's lines, all replicas together, at the end of the window. */
  rngInLine: number;
  rngSaturated: boolean;
  updateS: number;
}

interface ReplicaJson {
  services: { service: string; saturated: boolean; replicas: { latencyMs: number | null; requestsPerS: number | null; queue: number | null }[] }[];
}

/** Requests-weighted mean latency of a service's replicas, from webui's /replicas. */
function serviceLatency(view: ReplicaJson, name: string) {
  const svc = view.services.find((s) => s.service === name);
  const measured = (svc?.replicas ?? []).filter((r) => r.latencyMs !== null && r.requestsPerS);
  const weight = measured.reduce((sum, r) => sum + r.requestsPerS!, 0);
  return {
    ms: weight > 0 ? measured.reduce((sum, r) => sum + r.latencyMs! * r.requestsPerS!, 0) / weight : null,
    replicas: svc?.replicas.length ?? 0,
    inLine: (svc?.replicas ?? []).reduce((sum, r) => sum + (r.queue ?? 0), 0),
    saturated: svc?.saturated ?? false,
  };
}

export interface WalkOptions {
  stackName: string;
  /** Where Pulumi.yaml is. */
  workDir: string;
  workers: number[];
  warmupS: number;
  windowS: number;
  log: (line: string) => void;
  /** Pulumi's own output of each update, line by line (e.g. to a log file); none by default. */
  onPulumiOutput?: (text: string) => void;
  /** Asked between steps: true stops the walk early (the config is still restored). */
  stopRequested?: () => boolean;
}

export interface WalkResult {
  stackName: string;
  target: Target;
  results: StepResult[];
  startedAt: string;
  warmupS: number;
  windowS: number;
}

const NS = "dockercoins";

async function up(stack: Stack, opts: WalkOptions, what: string): Promise<number> {
  const started = Date.now();
  let changed = 0;
  const result = await stack.up({
    color: "never",
    onOutput: opts.onPulumiOutput,
    onEvent: (e) => {
      if (e.resOutputsEvent && e.resOutputsEvent.metadata.op !== "same") changed++;
    },
  });
  const seconds = (Date.now() - started) / 1000;
  opts.log(`  ${what}: pulumi up ${result.summary.result}, ${plural(changed, "resource")} changed in ${seconds.toFixed(0)} s`);
  return seconds;
}

/** Puts back every key the walk touched: its old value, or no value where it had none. */
async function restoreConfig(stack: Stack, original: ConfigMap, keys: string[]) {
  for (const key of keys) {
    const was = original[`${NS}:${key}`];
    if (was) await stack.setConfig(`${NS}:${key}`, was);
    else await stack.removeConfig(`${NS}:${key}`);
  }
}

export async function walkWorkshop(opts: WalkOptions): Promise<WalkResult> {
  const stack = await LocalWorkspace.selectStack({ stackName: opts.stackName, workDir: opts.workDir });
  const original = await stack.getAllConfig();
  const outputs = await stack.outputs();
  const webuiUrl = outputs.webuiUrl?.value as string | undefined;
  const target = (outputs.target?.value ?? original[`${NS}:target`]?.value) as Target | undefined;
  if (!webuiUrl || !target) throw new Error(`stack ${opts.stackName} has no webuiUrl/target output: deploy it first (scripts/up.sh or pulumi up)`);
  const steps = workshopSteps(target, opts.workers);
  const touched = [...new Set(steps.flatMap((s) => Object.keys(s.config)))];
  const walk: WalkResult = { stackName: opts.stackName, target, results: [], startedAt: new Date().toISOString(), warmupS: opts.warmupS, windowS: opts.windowS };
  opts.log(`[walk] stack ${opts.stackName} (${target}), webui ${webuiUrl}: ${steps.length} steps, each ${opts.warmupS} s warm-up + ${opts.windowS} s measured`);
  try {
    for (const [i, step] of steps.entries()) {
      if (opts.stopRequested?.()) {
        opts.log("[walk] stopped before the remaining steps");
        break;
      }
      opts.log(`[walk] step ${i + 1}/${steps.length}: ${step.label}`);
      await stack.setAllConfig(Object.fromEntries(Object.entries(step.config).map(([k, value]) => [`${NS}:${k}`, { value }])));
      const updateS = await up(stack, opts, step.label);
      const waitS = opts.warmupS + (step.settleS ?? 0);
      opts.log(`  warming up ${waitS} s, then measuring ${opts.windowS} s`);
      await new Promise((r) => setTimeout(r, waitS * 1000));
      // webui reads the replicas only while someone asks (its window starts with the asking): ask throughout.
      let measuring = true;
      let view: ReplicaJson = { services: [] };
      const watching = (async () => {
        while (measuring) {
          view = await fetch(`${webuiUrl}/replicas`, { signal: AbortSignal.timeout(5000) })
            .then(async (r) => (r.ok ? ((await r.json()) as ReplicaJson) : view))
            .catch(() => view);
          await new Promise((r) => setTimeout(r, 2000));
        }
      })();
      const { samples, failures } = await sampleFor(webuiUrl, opts.windowS * 1000).finally(() => (measuring = false));
      await watching;
      if (samples.length < 2) throw new Error(`webui ${webuiUrl}/json answered ${samples.length} times in ${opts.windowS} s (${failures} failures)`);
      const rng = serviceLatency(view, "rng");
      const hasher = serviceLatency(view, "hasher");
      const result: StepResult = {
        step,
        hashesPerS: hashRate(samples),
        rngReplicas: rng.replicas,
        rngMs: rng.ms,
        hasherMs: hasher.ms,
        rngInLine: rng.inLine,
        rngSaturated: rng.saturated,
        updateS,
      };
      walk.results.push(result);
      const ms = (v: number | null) => (v === null ? "-" : `${v.toFixed(0)} ms`);
      opts.log(
        `  ${result.hashesPerS.toFixed(2)} hashes/s; rng ${plural(rng.replicas, "replica")}, ${ms(rng.ms)}, ${rng.inLine} in line${rng.saturated ? " (the bottleneck)" : ""}; hasher ${ms(hasher.ms)}`,
      );
    }
  } finally {
    opts.log(`[walk] restoring the stack's config as it was (${touched.join(", ")}) and updating`);
    await restoreConfig(stack, original, touched);
    await up(stack, opts, "restore");
  }
  return walk;
}

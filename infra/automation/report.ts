// The walk's report, as the seeds tell the lesson: a markdown table beside the workshop's arithmetic and the
// seeds' own figures, and a chart.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { lineChartSvg, writeChart } from "../../app/bench/chart";
import type { StepResult, WalkResult } from "./walk";

/**
 * The workshop's arithmetic: a worker's loop is 100 ms of sleep, 100 ms in rng and 100 ms in hasher, so
 * ~3.3 hashes/s each; one rng serves one request at a time, 100 ms each: 10/s per rng replica.
 */
export function workshopArithmetic(workers: number, rngReplicas: number): number {
  return Math.min(workers * (10 / 3), 10 * Math.max(1, rngReplicas));
}

/** What the seeds saw on their Swarm (seed 000): ~4/s with 1 worker, ~10 with 10, ~30 with rng scaled out. */
export function seedsFigure(r: StepResult): string {
  if (r.step.rng === "one" && r.step.workers === 1) return "~4";
  if (r.step.rng === "one" && r.step.workers === 10) return "~10 (their theory: 40)";
  if (r.step.rng !== "one" && r.step.workers === 10) return "~30";
  return "";
}

const ms = (v: number | null) => (v === null ? "-" : v.toFixed(0));

export function reportMarkdown(walk: WalkResult): string {
  const rows = walk.results.map((r) => {
    const rng = r.step.rng === "one" ? "1" : `${r.step.rng} (${r.rngReplicas})`;
    return `| ${r.step.workers} | ${rng} | ${r.hashesPerS.toFixed(2)} | ${workshopArithmetic(r.step.workers, r.rngReplicas).toFixed(1)} | ${seedsFigure(r)} | ${ms(r.rngMs)} | ${r.rngInLine}${r.rngSaturated ? " (bottleneck)" : ""} | ${ms(r.hasherMs)} |`;
  });
  return [
    `# The workshop, walked on stack \`${walk.stackName}\` (${walk.target})`,
    "",
    `Measured ${walk.startedAt} by \`scripts/walk.sh\` through Pulumi's Automation API: each step a config change and`,
    `\`pulumi up\`, then ${walk.warmupS} s of warm-up and ${walk.windowS} s of webui's /json. Latencies are the services' own`,
    "(webui's replica view: time in rng's line included, what `httping` shows minus the network), per request.",
    "",
    "| workers | rng replicas | hashes/s | workshop arithmetic | the seeds | rng latency (ms) | rng line | hasher latency (ms) |",
    "|---:|---|---:|---:|---|---:|---:|---:|",
    ...rows,
    "",
    "The arithmetic: each worker's loop is 100 ms of sleep, 100 ms of rng and 100 ms of hasher (~3.3 hashes/s per",
    "worker), and one rng serves one request at a time (10/s per replica). From 3 workers on, one rng caps the",
    "speed at ~10 and every extra worker only lengthens rng's line; scaling rng out lifts the cap.",
    "",
  ].join("\n");
}

/** Writes <out>/<stack>-walk.{md,json,svg,png}; returns the markdown's and the chart's paths. */
export function writeReport(walk: WalkResult, outDir: string): { markdown: string; chart: string } {
  mkdirSync(outDir, { recursive: true });
  const base = join(outDir, `${walk.stackName}-walk`);
  writeFileSync(`${base}.md`, reportMarkdown(walk));
  writeFileSync(`${base}.json`, JSON.stringify(walk, null, 2));
  const one = walk.results.filter((r) => r.step.rng === "one");
  const out = walk.results.filter((r) => r.step.rng !== "one");
  const workers = [...new Set(walk.results.map((r) => r.step.workers))].sort((a, b) => a - b);
  const svg = lineChartSvg({
    title: `DockerCoins on ${walk.stackName} (${walk.target}): hashes/s vs workers`,
    xLabel: "workers",
    yLabel: "hashes / second",
    series: [
      { name: "1 rng (measured)", color: "#d9534f", points: one.map((r) => ({ x: r.step.workers, y: r.hashesPerS })) },
      { name: "1 rng (arithmetic)", color: "#d9534f", dashed: true, points: workers.map((w) => ({ x: w, y: workshopArithmetic(w, 1) })) },
      ...(out.length
        ? [
            { name: `rng ${out[0].step.rng} (measured)`, color: "#2b7bb9", points: out.map((r) => ({ x: r.step.workers, y: r.hashesPerS })) },
            { name: `${out[0].rngReplicas} rngs (arithmetic)`, color: "#2b7bb9", dashed: true, points: workers.map((w) => ({ x: w, y: workshopArithmetic(w, out[0].rngReplicas) })) },
          ]
        : []),
    ],
    notes: ["latency, rng / hasher (ms):", ...walk.results.map((r) => `${r.step.workers} w, rng ${r.step.rng === "one" ? "1" : r.step.rng}: ${ms(r.rngMs)} / ${ms(r.hasherMs)}`)],
  });
  return { markdown: `${base}.md`, chart: writeChart(base, svg) };
}

// `scripts/walk.sh [--stack dev] [--workers 1,2,3,4,5,10] [--warmup 10] [--window 20] [--out reports]`:
// the workshop walked on a deployed stack (walk.ts), then its report (report.ts).
import { appendFileSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseCli } from "./cli";
import { writeReport } from "./report";
import { walkWorkshop } from "./walk";

const root = resolve(__dirname, "../..");
const { values, refuse } = parseCli("walk", "usage: scripts/walk.sh [--stack dev] [--workers 1,2,3,4,5,10] [--warmup 10] [--window 20] [--out reports]", {
  stack: process.env.DOCKERCOINS_STACK ?? "dev",
  workers: "1,2,3,4,5,10",
  warmup: "10",
  window: "20",
  out: join(root, "reports"),
});
const seconds = (name: "warmup" | "window", min: number) => {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < min) refuse(`--${name} takes whole seconds >= ${min}, got ${JSON.stringify(values[name])}`);
  return n;
};
const workers = values.workers.split(",").map((w) => Number(w.trim()));
if (workers.some((w) => !Number.isInteger(w) || w < 1 || w > 100)) refuse(`--workers takes numbers from 1 to 100, e.g. 1,2,3,4,5,10; got ${JSON.stringify(values.workers)}`);

// Ctrl-C once: finish the step under way, then restore the config. Twice: stop now (config left as is).
let stop = false;
process.on("SIGINT", () => {
  if (stop) process.exit(130);
  stop = true;
  console.log("[walk] Ctrl-C: stopping after this step and restoring the stack's config (Ctrl-C again to quit now)");
});

mkdirSync(values.out, { recursive: true });
const pulumiLog = join(values.out, `${values.stack}-walk-pulumi.log`);
walkWorkshop({
  stackName: values.stack,
  workDir: root,
  workers,
  warmupS: seconds("warmup", 0),
  windowS: seconds("window", 3),
  log: (line) => console.log(line),
  onPulumiOutput: (text) => appendFileSync(pulumiLog, text),
  stopRequested: () => stop,
})
  .then((walk) => {
    const { markdown, chart } = writeReport(walk, values.out);
    console.log(`[walk] report: ${markdown}, chart: ${chart} (pulumi's output: ${pulumiLog})`);
  })
  .catch((err: Error) => {
    console.error(`[walk] failed: ${err.message} (pulumi's output: ${pulumiLog})`);
    process.exit(1);
  });

// `scripts/bench-iac.sh [--stack dev] [--out reports]`: the IaC loop benchmarked on the playground
// (iac-bench.ts); prints the table and writes it with a chart to <out>/<stack>-iac-bench.{md,json,svg,png}.
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { barChartSvg, writeChart } from "../../app/bench/chart";
import { parseCli } from "./cli";
import { benchIacLoop, benchMarkdown } from "./iac-bench";

const root = resolve(__dirname, "../..");
const { values } = parseCli("bench-iac", "usage: scripts/bench-iac.sh [--stack dev] [--out reports]", {
  stack: process.env.DOCKERCOINS_STACK ?? "dev",
  out: join(root, "reports"),
});
mkdirSync(values.out, { recursive: true });
const base = join(values.out, `${values.stack}-iac-bench`);
const pulumiLog = `${base}-pulumi.log`;
writeFileSync(pulumiLog, "");

benchIacLoop({ stackName: values.stack, workDir: root, log: (line) => console.log(line), onPulumiOutput: (text) => appendFileSync(pulumiLog, text) })
  .then((bench) => {
    const markdown = benchMarkdown(bench);
    writeFileSync(`${base}.md`, markdown);
    writeFileSync(`${base}.json`, JSON.stringify(bench, null, 2));
    const short = ["fresh up", "1 -> 10 workers", "no-change up", "refresh", "destroy"];
    const chart = writeChart(
      base,
      barChartSvg(`The IaC loop on ${bench.stackName}: seconds per command`, "seconds", bench.steps.map((s, i) => ({ label: short[i] ?? s.name, value: s.seconds, theory: s.goalS })), 800, 420, {
        theoryLabel: "dashed: goal",
      }),
    );
    console.log(`\n${markdown}\n[bench-iac] the stack is destroyed (scripts/up.sh brings it back); report ${base}.md, chart ${chart}, pulumi's output ${pulumiLog}`);
  })
  .catch((err: Error) => {
    console.error(`[bench-iac] failed: ${err.message} (pulumi's output: ${pulumiLog})`);
    process.exit(1);
  });

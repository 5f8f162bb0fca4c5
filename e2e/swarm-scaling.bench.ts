import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeChart } from "../app/bench/chart";
import { lineChartSvg } from "./lib/chart";
import { measureRate } from "./lib/mining";
import { ROOT, SwarmPlayground } from "./lib/playground";

// The workshop's scaling lesson measured on the 5-node playground Swarm: hashes/s for 1-10 workers with
// one rng and with rng global (one per node), and rng/hasher latency as httping sees it from inside the
// overlay at 10 workers. Not part of the tests (about 15 minutes): run scripts/bench-cluster.sh.
// Writes test-artifacts/bench/swarm-scaling.{md,json,svg,png}.

const WORKERS = (process.env.BENCH_WORKERS ?? "1,2,3,4,5,10").split(",").map(Number);
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 8000);
const WINDOW_MS = Number(process.env.BENCH_WINDOW_MS ?? 20000);
const MIN = 60_000;
const OUT = join(ROOT, "test-artifacts/bench");

const pg = new SwarmPlayground({ prefix: "dockercoins-bench", nodeCount: 5, managerCount: 1, subnet: "172.28.214.0/24", webuiPort: 8000 });

interface Row {
  rngMode: "replicated" | "global";
  workers: number;
  hashesPerS: number;
  rngMs?: number;
  hasherMs?: number;
}
const rows: Row[] = [];

/** httping's average round trip from the debug task on the manager, in ms. */
async function httpingMs(host: string): Promise<number> {
  const out = await pg.inOverlay(`httping -c 10 -i 0.3 -t 10 http://${host}/ 2>&1 | tail -3`, 120_000);
  const avg = /round-trip min\/avg\/max[^=]*= [\d.]+\/([\d.]+)\//.exec(out)?.[1];
  if (!avg) throw new Error(`no round-trip line in httping's output:\n${out}`);
  return Number(avg);
}

describe("benchmark: hashes/s vs workers, 1 rng vs rng global (5-node Swarm)", () => {
  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true });
    await pg.up();
  }, 30 * MIN);

  afterAll(async () => {
    await pg.phases.time("teardown", async () => {
      const left = await pg.down();
      if (left.length) console.error(`[bench] teardown left: ${left.join(", ")}`);
    });
    console.log(`[bench] phase timings\n${pg.phases.table()}`);
  }, 5 * MIN);

  for (const rngMode of ["replicated", "global"] as const) {
    it(`rng ${rngMode}: ${WORKERS.join(", ")} workers`, async () => {
      for (const workers of WORKERS) {
        await pg.phases.time(`rng ${rngMode}, ${workers} workers: deploy`, () =>
          pg.deploy(pg.servicesOptions({ rngMode, replicas: { worker: workers } })),
        );
        const { rate } = await measureRate(pg.webuiUrl, WARMUP_MS, WINDOW_MS);
        const row: Row = { rngMode, workers, hashesPerS: rate };
        if (workers === Math.max(...WORKERS)) {
          row.rngMs = await httpingMs("rng");
          row.hasherMs = await httpingMs("hasher");
        }
        rows.push(row);
        console.log(`[bench] rng ${rngMode}, ${workers} workers: ${rate.toFixed(2)} hashes/s${row.rngMs !== undefined ? `, httping rng ${row.rngMs} ms, hasher ${row.hasherMs} ms` : ""}`);
      }
      expect(rows.filter((r) => r.rngMode === rngMode)).toHaveLength(WORKERS.length);
    }, 40 * MIN);
  }

  it("writes the table and the chart", () => {
    const by = (mode: Row["rngMode"]) => rows.filter((r) => r.rngMode === mode);
    const table = [
      "| workers | 1 rng (hashes/s) | rng global, 5 nodes (hashes/s) | workshop theory 1 rng | theory global |",
      "|---:|---:|---:|---:|---:|",
      ...WORKERS.map((w) => {
        const a = by("replicated").find((r) => r.workers === w);
        const b = by("global").find((r) => r.workers === w);
        return `| ${w} | ${a?.hashesPerS.toFixed(2) ?? "-"} | ${b?.hashesPerS.toFixed(2) ?? "-"} | ${Math.min(w * 10 / 3, 10).toFixed(1)} | ${Math.min(w * 10 / 3, 50).toFixed(1)} |`;
      }),
      "",
      `httping from inside the overlay at ${Math.max(...WORKERS)} workers (average of 10 probes):`,
      "",
      "| setup | rng (ms) | hasher (ms) |",
      "|---|---:|---:|",
      ...rows.filter((r) => r.rngMs !== undefined).map((r) => `| ${r.rngMode === "global" ? "rng global" : "1 rng"} | ${r.rngMs} | ${r.hasherMs} |`),
    ].join("\n");
    console.log(`[bench] results\n${table}`);
    writeFileSync(join(OUT, "swarm-scaling.md"), `# DockerCoins on a 5-node playground Swarm\n\nMeasured ${new Date().toISOString()}, ${WARMUP_MS / 1000} s warm-up, ${WINDOW_MS / 1000} s window, from webui's /json.\n\n${table}\n`);
    writeFileSync(join(OUT, "swarm-scaling.json"), JSON.stringify({ warmupMs: WARMUP_MS, windowMs: WINDOW_MS, rows }, null, 2));
    const svg = lineChartSvg({
      title: "DockerCoins on a 5-node Swarm: mining speed vs workers",
      xLabel: "workers",
      yLabel: "hashes / second",
      series: [
        { name: "1 rng (measured)", color: "#d9534f", points: by("replicated").map((r) => ({ x: r.workers, y: r.hashesPerS })) },
        { name: "rng global (measured)", color: "#2b7bb9", points: by("global").map((r) => ({ x: r.workers, y: r.hashesPerS })) },
        { name: "theory, 1 rng", color: "#d9534f", dashed: true, points: WORKERS.map((w) => ({ x: w, y: Math.min(w * 10 / 3, 10) })) },
        { name: "theory, rng global", color: "#2b7bb9", dashed: true, points: WORKERS.map((w) => ({ x: w, y: Math.min(w * 10 / 3, 50) })) },
      ],
      notes: [
        `httping at ${Math.max(...WORKERS)} workers (ms):`,
        ...rows.filter((r) => r.rngMs !== undefined).map((r) => `${r.rngMode === "global" ? "rng global" : "1 rng"}: rng ${r.rngMs}, hasher ${r.hasherMs}`),
      ],
    });
    const png = writeChart(join(OUT, "swarm-scaling"), svg);
    console.log(`[bench] chart: ${png}`);
    expect(rows.length).toBe(2 * WORKERS.length);
  });
});

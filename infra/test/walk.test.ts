import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { reportMarkdown, workshopArithmetic, writeReport } from "../automation/report";
import { workshopSteps, type StepResult, type WalkResult } from "../automation/walk";

// The walk's plan and report. The walk itself runs for real in e2e/pulumi.e2e.test.ts (scripts/walk.sh on
// the playground with the real engine).

describe("the workshop walk", () => {
  it("on Swarm targets: 1-10 workers with one rng, then rng global at the most workers", () => {
    const steps = workshopSteps("local", [1, 2, 3, 4, 5, 10]);
    expect(steps.map((s) => s.label)).toEqual([
      "1 worker, 1 rng", "2 workers, 1 rng", "3 workers, 1 rng", "4 workers, 1 rng", "5 workers, 1 rng", "10 workers, 1 rng", "10 workers, rng global",
    ]);
    expect(steps[0].config).toEqual({ rngMode: "replicated", rngReplicas: "1", workerReplicas: "1" });
    expect(steps[6]).toMatchObject({ rng: "global", config: { rngMode: "global", workerReplicas: "10" } });
    expect(workshopSteps("aws", [2])).toHaveLength(2);
  });

  it("on minikube: the HPA instead of rng global, with time for it to react", () => {
    const steps = workshopSteps("minikube", [1, 10]);
    expect(steps[0].config).toEqual({ hpa: "none", rngReplicas: "1", workerReplicas: "1" });
    expect(steps[2]).toMatchObject({ rng: "autoscaled", config: { hpa: "cpu", workerReplicas: "10" }, settleS: 90 });
  });

  it("refuses an empty or odd list of workers", () => {
    expect(() => workshopSteps("local", [])).toThrow(/workers must be integers >= 1/);
    expect(() => workshopSteps("local", [0, 2])).toThrow(/got 0,2/);
  });

  it("the arithmetic: 3.3 hashes/s per worker, capped at 10 per rng replica", () => {
    expect(workshopArithmetic(1, 1)).toBeCloseTo(3.33, 2);
    expect(workshopArithmetic(10, 1)).toBe(10);
    expect(workshopArithmetic(10, 5)).toBeCloseTo(33.3, 1);
    expect(workshopArithmetic(20, 5)).toBe(50);
  });

  it("writes the seeds' table beside the arithmetic and the seeds' figures, and a chart", () => {
    const steps = workshopSteps("local", [1, 10]);
    const result = (i: number, hashesPerS: number, rngReplicas: number, rngMs: number, saturated: boolean): StepResult => ({
      step: steps[i], hashesPerS, rngReplicas, rngMs, hasherMs: 101, rngInLine: saturated ? 8 : 0, rngSaturated: saturated, updateS: 12,
    });
    const walk: WalkResult = {
      stackName: "dev", target: "local", startedAt: "2026-11-30T00:00:00.000Z", warmupS: 5, windowS: 10,
      results: [result(0, 3.21, 1, 104, false), result(1, 9.8, 1, 760, true), result(2, 28.4, 5, 150, false)],
    };
    const md = reportMarkdown(walk);
    expect(md).toContain("| 1 | 1 | 3.21 | 3.3 | ~4 | 104 | 0 | 101 |");
    expect(md).toContain("| 10 | 1 | 9.80 | 10.0 | ~10 (their theory: 40) | 760 | 8 (bottleneck) | 101 |");
    expect(md).toContain("| 10 | global (5) | 28.40 | 33.3 | ~30 | 150 | 0 | 101 |");
    const out = mkdtempSync(join(tmpdir(), "walk-report-"));
    const { markdown, chart } = writeReport(walk, out);
    expect(readFileSync(markdown, "utf8")).toBe(md);
    expect(existsSync(chart)).toBe(true);
    expect(JSON.parse(readFileSync(join(out, "dev-walk.json"), "utf8")).results).toHaveLength(3);
    expect(readFileSync(join(out, "dev-walk.svg"), "utf8")).toContain("rng global (measured)");
  });

  it("scripts/walk.sh and scripts/netlab.sh refuse bad arguments with one line and the usage (exit 2), before touching a stack", () => {
    const cli = (main: string, ...args: string[]) => {
      const r = spawnSync(join(__dirname, "../../node_modules/.bin/tsx"), [join(__dirname, `../${main}`), ...args], { encoding: "utf8" });
      return { code: r.status, stderr: r.stderr.trim() };
    };
    expect(cli("automation/main.ts", "--workers", "1,x")).toEqual({
      code: 2,
      stderr: '[walk] --workers takes numbers from 1 to 100, e.g. 1,2,3,4,5,10; got "1,x"\nusage: scripts/walk.sh [--stack dev] [--workers 1,2,3,4,5,10] [--warmup 10] [--window 20] [--out reports]',
    });
    expect(cli("automation/main.ts", "--window", "1").stderr).toMatch(/^\[walk\] --window takes whole seconds >= 3, got "1"\n/);
    expect(cli("netlab/main.ts", "--bogus")).toMatchObject({ code: 2, stderr: expect.stringMatching(/^\[netlab\] Unknown option '--bogus'\nusage: scripts\/netlab.sh/) });
    expect(cli("netlab/main.ts", "--seconds", "0").stderr).toMatch(/--seconds takes whole seconds from 1 to 120, got "0"/);
  }, 60_000);
});

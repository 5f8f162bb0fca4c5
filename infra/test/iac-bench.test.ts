// The IaC benchmark's arithmetic (infra/automation/iac-bench.ts): step times from the engine's events, and
// the table. The benchmark itself runs on the real playground (scripts/bench-iac.sh).
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { describe, expect, it } from "vitest";
import { benchMarkdown, GOALS, StepTimer } from "../automation/iac-bench";

const event = (kind: "pre" | "out", name: string, type: string, op = "update") => {
  const metadata = { urn: `urn:pulumi:dev::dockercoins::${type}::${name}`, op, type };
  return (kind === "pre" ? { resourcePreEvent: { metadata } } : { resOutputsEvent: { metadata } }) as unknown as EngineEvent;
};

describe("the IaC benchmark", () => {
  it("times each resource step from its first event to its outputs; components, the stack and unchanged resources are left out", () => {
    const t = new StepTimer();
    t.onEvent(event("pre", "dockercoins", "dockercoins:swarm:Services"), 0);
    t.onEvent(event("pre", "dockercoins-worker", "docker:index/service:Service"), 1000);
    t.onEvent(event("pre", "dockercoins-rollout", "command:remote:Command", "replace"), 9000);
    t.onEvent(event("pre", "images-rng", "docker:index/image:Image", "same"), 9000);
    t.onEvent(event("out", "images-rng", "docker:index/image:Image", "same"), 9500);
    t.onEvent(event("out", "dockercoins-worker", "docker:index/service:Service"), 8000);
    t.onEvent(event("out", "dockercoins-rollout", "command:remote:Command", "replace"), 21_500);
    t.onEvent(event("out", "dockercoins", "dockercoins:swarm:Services"), 22_000);
    expect(t.slowest()).toEqual([
      { resource: "dockercoins-rollout", op: "replace", seconds: 12.5 },
      { resource: "dockercoins-worker", op: "update", seconds: 7 },
    ]);
  });

  it("the table sets each figure beside its goal, and says where the time goes only where a goal is missed", () => {
    const md = benchMarkdown({
      stackName: "dev",
      startedAt: "2026-12-04T16:00:00.000Z",
      steps: [
        { name: "up with no changes", goalS: GOALS.noChangeUp, seconds: 4.2, slowest: [{ resource: "x", op: "update", seconds: 1 }] },
        { name: "workerReplicas 1 -> 10", goalS: GOALS.scaleOut, seconds: 31.9, check: "worker 10/10 running", slowest: [{ resource: "dockercoins-rollout", op: "replace", seconds: 12.5 }, { resource: "dockercoins-worker", op: "update", seconds: 7 }] },
      ],
    });
    expect(md).toContain("| up with no changes | 4.2 | <= 5 | yes |  |  |");
    expect(md).toContain("| workerReplicas 1 -> 10 | 31.9 | <= 15 | no | worker 10/10 running | dockercoins-rollout (replace) 12.5 s; dockercoins-worker (update) 7.0 s |");
    expect(GOALS).toEqual({ freshUp: 90, scaleOut: 15, noChangeUp: 5, refresh: 8, destroy: 20 });
  });
});

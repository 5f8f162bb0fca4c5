// scripts/quiet-pulumi.awk: what scripts/up.sh shows of Pulumi's output (the whole of it goes to a log
// file). Fed transcripts in the engine's own words (taken from real runs); run with the machine's awk.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";

const filter = (text: string) => {
  const r = spawnSync("awk", ["-f", "scripts/quiet-pulumi.awk"], { input: text, encoding: "utf8" });
  expect(r.status).toBe(0);
  return r.stdout;
};

const steps = (n: number, verb: string) =>
  Array.from({ length: n }, (_, i) => ` +  command:remote:Command step-${i} ${verb} (0.${i}s) some output of the step ${i}`).join("\n");

const FRESH_UP = `Previewing update (dev):

 +  pulumi:pulumi:Stack dockercoins-dev create
@ previewing update..........
 +  docker:index:Image images-rng create
Outputs:
    webuiUrl      : "http://127.0.0.1:8000"

Resources:
    + 25 to create

Updating (dev):

 +  pulumi:pulumi:Stack dockercoins-dev creating (0s)
@ updating.....
${steps(24, "creating")}
 +  docker:index:Image images-rng creating (0s) #5 [2/6] WORKDIR /app
 +  docker:index:Image images-rng creating (0s) digest: sha256:0123 size: 1234
${steps(24, "created")}
 ++ docker:index:Container local-node1 created replacement (1s)
 +- docker:index:Container local-node1 replaced (0.1s)
 -- docker:index:Container local-node1 deleted original (0.2s)
 +  pulumi:pulumi:Stack dockercoins-dev created (152s)
Outputs:
    managerAddress: "10.213.0.11"
    webuiUrl      : "http://127.0.0.1:8000"

Resources:
    + 25 created

Duration: 2m34s
`;

describe("quiet-pulumi.awk", () => {
  it("an up: the plan in one line, progress every 10 finished steps out of the plan, then resources and duration; no outputs block, no build log", () => {
    expect(filter(FRESH_UP)).toBe(
      [
        "[up] previewing ...",
        "[up] plan: + 25 to create",
        "[up] updating ...",
        "[up]   10/25 steps done (0 s)",
        "[up]   20/25 steps done (0 s)",
        "Resources:",
        "    + 25 created",
        "",
        "Duration: 2m34s",
        "",
      ].join("\n"),
    );
  });

  it("a preview that fails shows its diagnostics in full (the refusal, the changed host key), and no plan it never made", () => {
    const failed = `Previewing update (dev):

@ previewing update....
Diagnostics:
  pulumi-nodejs:dynamic:Resource (local-node3-host-key):
    error: the SSH host key of 127.0.0.1:22003 changed: the stack learned SHA256:a, the machine now offers SHA256:b

Resources:
    26 unchanged
    1 errored
`;
    expect(filter(failed)).toBe(
      [
        "[up] previewing ...",
        "Diagnostics:",
        "  pulumi-nodejs:dynamic:Resource (local-node3-host-key):",
        "    error: the SSH host key of 127.0.0.1:22003 changed: the stack learned SHA256:a, the machine now offers SHA256:b",
        "",
        "Resources:",
        "    26 unchanged",
        "    1 errored",
        "",
      ].join("\n"),
    );
  });

  it("a change to a live stack: the plan with every kind of step; without a preview (--skip-preview) progress has no total", () => {
    const live = `Previewing update (dev):

Resources:
    ~ 1 to update
    +-1 to replace
    2 changes. 79 unchanged

Updating (dev):

${steps(3, "updated")}
Resources:
    ~ 1 updated
    79 unchanged

Duration: 9s
`;
    expect(filter(live).split("\n").slice(0, 3)).toEqual(["[up] previewing ...", "[up] plan: ~ 1 to update, +-1 to replace", "[up] updating ..."]);
    expect(filter(`Updating (dev):\n\n${steps(10, "updated")}\nResources:\n    10 updated\n`)).toBe("[up] updating ...\n[up]   10 steps done (0 s)\nResources:\n    10 updated\n");
    expect(filter("Previewing update (dev):\n\nResources:\n    81 unchanged\n\nUpdating (dev):\n\nResources:\n    81 unchanged\n")).toContain("[up] plan: no changes\n");
  });
});

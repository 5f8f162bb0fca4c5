// A linter for .github/workflows/pulumi.yml: structure, actions pinned to commit SHAs, least-privilege permissions,
// and the Pulumi steps the README promises (preview with a PR comment, up on main).
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";

const FILE = path.resolve(__dirname, "../../.github/workflows/pulumi.yml");
const text = fs.readFileSync(FILE, "utf8");
const wf = parse(text, { uniqueKeys: true, strict: true });
const jobs = wf.jobs as Record<string, any>;
const steps = (job: string) => jobs[job].steps as any[];
const pulumiStep = (job: string) => {
  const found = steps(job).filter((s) => String(s.uses ?? "").startsWith("pulumi/actions@"));
  expect(found, `${job} has exactly one pulumi/actions step`).toHaveLength(1);
  return found[0];
};

/** The secrets the header comment documents; the workflow may use no others. */
const DOCUMENTED_SECRETS = ["PULUMI_ACCESS_TOKEN", "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "GITHUB_TOKEN"];

describe("workflow structure", () => {
  it("has a name, triggers on pull requests and pushes to main only", () => {
    expect(wf.name).toBe("pulumi");
    expect(Object.keys(wf.on).sort()).toEqual(["pull_request", "push"]);
    expect(wf.on.pull_request.branches).toEqual(["main"]);
    expect(wf.on.push.branches).toEqual(["main"]);
    // pull_request_target would hand secrets to code from forks.
    expect(text).not.toContain("pull_request_target");
  });

  it("every job has runs-on, a timeout and steps; every step either uses an action or runs a command", () => {
    expect(Object.keys(jobs).sort()).toEqual(["preview", "test", "up"]);
    for (const [name, job] of Object.entries(jobs)) {
      expect(job["runs-on"], name).toBe("ubuntu-latest");
      expect(job["timeout-minutes"], name).toBeGreaterThan(0);
      expect(Array.isArray(job.steps) && job.steps.length > 0, name).toBe(true);
      for (const step of job.steps) expect(("uses" in step) !== ("run" in step), `${name}: ${JSON.stringify(step)}`).toBe(true);
    }
  });

  it("pins every action to a full commit SHA with its release in a comment, the same one wherever it is used", () => {
    const uses = Object.values(jobs).flatMap((j: any) => j.steps.map((s: any) => s.uses).filter(Boolean));
    expect(uses.length).toBe(10);
    // A tag can be moved to other code; a commit cannot. These jobs hold id-token: write.
    for (const u of uses) expect(u, u).toMatch(/^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/);
    // The comment is only on the raw line: `uses: owner/repo@<sha> # vX.Y.Z`.
    const lines = text.split("\n").filter((l) => /^\s*(- )?uses:/.test(l));
    expect(lines.length).toBe(uses.length);
    const pinOf = new Map<string, string>();
    for (const l of lines) {
      const m = l.match(/^\s*(?:- )?uses: ([\w.-]+\/[\w.-]+)@([0-9a-f]{40}) # (v\d+\.\d+\.\d+)$/);
      expect(m, l).not.toBeNull();
      const [, action, sha, version] = m!;
      expect(pinOf.get(action) ?? `${sha} ${version}`, l).toBe(`${sha} ${version}`);
      pinOf.set(action, `${sha} ${version}`);
    }
    expect([...pinOf.keys()].sort()).toEqual(["actions/checkout", "actions/setup-node", "aws-actions/configure-aws-credentials", "pulumi/actions"]);
  });

  it("least privilege: read-only by default, pull-requests: write only where the preview comments", () => {
    expect(wf.permissions).toEqual({ contents: "read" });
    expect(jobs.test.permissions).toBeUndefined();
    expect(jobs.preview.permissions).toEqual({ contents: "read", "pull-requests": "write", "id-token": "write" });
    expect(jobs.up.permissions).toEqual({ contents: "read", "id-token": "write" });
  });

  it("uses only documented secrets, and documents each of them in the header", () => {
    const used = [...new Set([...text.matchAll(/secrets\.([A-Z_]+)/g)].map((m) => m[1]))].sort();
    expect(used).toEqual([...DOCUMENTED_SECRETS].sort());
    const header = text.split("\nname:")[0];
    for (const s of DOCUMENTED_SECRETS.filter((x) => x !== "GITHUB_TOKEN")) expect(header, s).toContain(s);
    expect(header).toContain("PULUMI_STACK");
  });
});

describe("the Pulumi jobs", () => {
  it("tests (type-check and mocks) gate both Pulumi jobs", () => {
    expect(steps("test").map((s) => s.run).filter(Boolean)).toEqual(["npm ci", "npm ci --prefix app", "npx tsc -p .", "npx vitest run infra/test"]);
    expect(jobs.preview.needs).toBe("test");
    expect(jobs.up.needs).toBe("test");
  });

  it("preview runs on pull requests and comments on the PR", () => {
    expect(jobs.preview.if).toBe("github.event_name == 'pull_request'");
    const step = pulumiStep("preview");
    expect(step.with).toMatchObject({ command: "preview", "comment-on-pr": true, "stack-name": "${{ vars.PULUMI_STACK }}", "github-token": "${{ secrets.GITHUB_TOKEN }}" });
  });

  it("up runs only on pushes to main, behind the production environment", () => {
    expect(jobs.up.if).toBe("github.event_name == 'push' && github.ref == 'refs/heads/main'");
    expect(jobs.up.environment).toBe("production");
    expect(pulumiStep("up").with).toMatchObject({ command: "up", "stack-name": "${{ vars.PULUMI_STACK }}" });
    expect(pulumiStep("up").with["comment-on-pr"]).toBeUndefined();
  });

  it("installs the program's packages before running Pulumi (the action runs natively)", () => {
    for (const job of ["preview", "up"]) {
      const names = steps(job).map((s) => s.uses ?? s.run);
      expect(names.indexOf("npm ci"), job).toBeGreaterThan(-1);
      expect(names.indexOf("npm ci"), job).toBeLessThan(names.findIndex((n: string) => n.startsWith("pulumi/actions@")));
    }
  });

  it("AWS credentials come from OIDC role assumption before Pulumi runs; no stored AWS keys", () => {
    expect(text).not.toMatch(/AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY/);
    for (const job of ["preview", "up"]) {
      const names = steps(job).map((s) => s.uses ?? s.run);
      const creds = steps(job).find((s) => String(s.uses ?? "").startsWith("aws-actions/configure-aws-credentials@"));
      expect(creds?.with, job).toEqual({ "role-to-assume": "${{ vars.AWS_ROLE_ARN }}", "aws-region": "${{ vars.AWS_REGION }}" });
      expect(names.indexOf(creds.uses), job).toBeLessThan(names.findIndex((n: string) => n.startsWith("pulumi/actions@")));
    }
    const header = text.split("\nname:")[0];
    expect(header).toContain("AWS_ROLE_ARN");
    expect(header).toContain("awsAdminCidr");
  });

  it("the runner's SSH to the instances is opened after the AWS credentials, before Pulumi, and always revoked", () => {
    for (const job of ["preview", "up"]) {
      const names = steps(job).map((s) => s.uses ?? s.run);
      const at = (n: string) => names.findIndex((x: string) => x.startsWith(n));
      const open = at("scripts/ci-ssh-access.sh open");
      const close = at("scripts/ci-ssh-access.sh close");
      expect(open, job).toBeGreaterThan(at("aws-actions/configure-aws-credentials@"));
      expect(open, job).toBeLessThan(at("pulumi/actions@"));
      expect(close, job).toBe(names.length - 1);
      // Also after a failed or cancelled Pulumi step: an open port 22 must not outlive the job.
      expect(steps(job)[close].if, job).toBe("always()");
      for (const i of [open, close]) expect(steps(job)[i].env, job).toEqual({ PULUMI_STACK: "${{ vars.PULUMI_STACK }}" });
    }
    expect(fs.statSync(path.resolve(__dirname, "../../scripts/ci-ssh-access.sh")).mode & 0o111).not.toBe(0);
  });

  it("every job runs a maintained Node that the project's engines field admits", () => {
    const engines = JSON.parse(fs.readFileSync(path.resolve(__dirname, "../../package.json"), "utf8")).engines.node as string;
    const min = Number(engines.match(/^>=(\d+)$/)?.[1]);
    expect(min).toBeGreaterThanOrEqual(22); // Node 20 reached its end of life in April 2026
    for (const job of Object.keys(jobs)) {
      const setup = steps(job).find((s) => String(s.uses ?? "").startsWith("actions/setup-node@"));
      expect(setup?.with["node-version"], job).toBeGreaterThanOrEqual(min);
    }
  });

  it("never runs two updates of main at once", () => {
    expect(wf.concurrency.group).toBe("pulumi-${{ github.event_name }}-${{ github.ref }}");
    expect(wf.concurrency["cancel-in-progress"]).toBe("${{ github.event_name == 'pull_request' }}");
  });
});

// A linter for .github/workflows/pulumi.yml: structure, actions pinned to commit SHAs, least-privilege permissions,
// the Pulumi steps the README promises (preview with a PR comment, up on main), the split between the preview's
// read-only credentials and the deploy ones, and the IAM policies infra/README.md gives for both roles.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
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

const header = text.split("\nname:")[0];
/** `secrets.X` / `vars.X` referenced anywhere in a value (a job, a step). */
const refs = (kind: "secrets" | "vars", where: unknown) => [...new Set([...JSON.stringify(where).matchAll(new RegExp(`\\b${kind}\\.([A-Z_]+)`, "g"))].map((m) => m[1]))].sort();

/** The secrets and variables the header comment documents; the workflow may use no others. */
const DOCUMENTED_SECRETS = ["PULUMI_ACCESS_TOKEN", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_PREVIEW_ACCESS_TOKEN", "PULUMI_PREVIEW_CONFIG_PASSPHRASE", "GITHUB_TOKEN"];
const DOCUMENTED_VARS = ["AWS_PREVIEW_ROLE_ARN", "AWS_REGION", "AWS_ROLE_ARN", "PULUMI_BACKEND_URL", "PULUMI_STACK"];
/** The fork guard: a pull request's preview runs only for branches of this repository. */
const PREVIEW_IF = "github.event_name == 'pull_request' && github.event.pull_request.head.repo.full_name == github.repository";

/** The fenced ```json <label> blocks of infra/README.md's CI section. */
const readme = fs.readFileSync(path.resolve(__dirname, "../README.md"), "utf8");
const ciSection = readme.slice(readme.indexOf("\n## CI\n"), readme.indexOf("\n## Tests\n"));
const policies = Object.fromEntries([...ciSection.matchAll(/^```json ([\w-]+)\n([^]*?)^```$/gm)].map((m) => [m[1], m[2]]));
const policy = (label: string) => {
  expect(policies[label], `infra/README.md has a \`\`\`json ${label} block`).toBeDefined();
  return JSON.parse(policies[label]) as { Version: string; Statement: any[] };
};
const actionsOf = (p: { Statement: any[] }) => p.Statement.flatMap((s) => [s.Action].flat() as string[]);
/** Does one of the policy's actions (wildcards allowed) grant `action`? */
const grants = (p: { Statement: any[] }, action: string) =>
  actionsOf(p).some((a) => new RegExp(`^${a.replace(/[.]/g, "\\.").replace(/\*/g, ".*")}$`).test(action));

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

  it("uses only documented secrets and variables, and documents each of them in the header and the README", () => {
    expect(refs("secrets", wf)).toEqual([...DOCUMENTED_SECRETS].sort());
    expect(refs("vars", wf)).toEqual([...DOCUMENTED_VARS].sort());
    for (const name of [...DOCUMENTED_SECRETS.filter((x) => x !== "GITHUB_TOKEN"), ...DOCUMENTED_VARS]) {
      expect(header, name).toMatch(new RegExp(`\\b${name}\\b`));
      expect(ciSection, name).toMatch(new RegExp(`\\b${name}\\b`));
    }
    // The deploy secrets are the production environment's; the header says so and where the policies are.
    expect(header).toMatch(/environment `production`[^]*Environment secrets \(not repository secrets/);
    expect(header).toContain("deployment branches `main` only");
    expect(header).toContain("infra/README.md (section CI)");
  });
});

describe("the Pulumi jobs", () => {
  it("tests (type-check and mocks) gate both Pulumi jobs", () => {
    expect(steps("test").map((s) => s.run).filter(Boolean)).toEqual(["npm ci", "npm ci --prefix app", "npx tsc -p .", "npx vitest run infra/test"]);
    expect(jobs.preview.needs).toBe("test");
    expect(jobs.up.needs).toBe("test");
  });

  it("preview runs on pull requests from branches of this repository only, says why forks skip it, and comments on the PR", () => {
    // Forks get no secrets: a skipped (grey) check instead of a red one, and their code never sees credentials.
    expect(jobs.preview.if).toBe(PREVIEW_IF);
    expect(jobs.preview.name).toMatch(/^pulumi preview \(.*skipped for forks/);
    const step = pulumiStep("preview");
    expect(step.with).toMatchObject({ command: "preview", "comment-on-pr": true, "stack-name": "${{ vars.PULUMI_STACK }}", "github-token": "${{ secrets.GITHUB_TOKEN }}" });
    // A refresh reads every resource (the hosts over SSH too): not with the read-only role and no SSH.
    expect(step.with.refresh).toBe(false);
  });

  it("the preview holds no deploy credential: its own role and secrets, no SSH opening, no environment", () => {
    const preview = jobs.preview;
    expect(preview.environment).toBeUndefined();
    expect(JSON.stringify(preview)).not.toMatch(/\bvars\.AWS_ROLE_ARN\b/);
    expect(refs("vars", preview)).toContain("AWS_PREVIEW_ROLE_ARN");
    // A preview never dials the hosts: nothing opens their SSH to the runner.
    expect(JSON.stringify(preview)).not.toContain("ci-ssh-access");
    // Not one secret of the deploy job.
    const upSecrets = refs("secrets", jobs.up);
    expect(upSecrets).toEqual(["PULUMI_ACCESS_TOKEN", "PULUMI_CONFIG_PASSPHRASE"]);
    expect(refs("secrets", preview).filter((s) => upSecrets.includes(s))).toEqual([]);
    expect(pulumiStep("preview").env).toEqual({
      PULUMI_ACCESS_TOKEN: "${{ secrets.PULUMI_PREVIEW_ACCESS_TOKEN }}",
      PULUMI_CONFIG_PASSPHRASE: "${{ secrets.PULUMI_PREVIEW_CONFIG_PASSPHRASE }}",
    });
  });

  it("up runs only on pushes to main, behind the production environment, with the deploy role", () => {
    expect(jobs.up.if).toBe("github.event_name == 'push' && github.ref == 'refs/heads/main'");
    // The deploy role trusts this environment only (sub repo:OWNER/REPO:environment:production).
    expect(jobs.up.environment).toBe("production");
    expect(refs("vars", jobs.up)).toContain("AWS_ROLE_ARN");
    expect(refs("vars", jobs.up)).not.toContain("AWS_PREVIEW_ROLE_ARN");
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
      const role = job === "preview" ? "AWS_PREVIEW_ROLE_ARN" : "AWS_ROLE_ARN";
      expect(creds?.with, job).toEqual({ "role-to-assume": `\${{ vars.${role} }}`, "aws-region": "${{ vars.AWS_REGION }}" });
      expect(names.indexOf(creds.uses), job).toBeLessThan(names.findIndex((n: string) => n.startsWith("pulumi/actions@")));
    }
    expect(header).toContain("awsAdminCidr");
  });

  it("up's runner gets SSH to the instances after the AWS credentials, before Pulumi, and always revokes it", () => {
    for (const job of ["up"]) {
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

describe("the roles' IAM policies (infra/README.md, section CI)", () => {
  it("documents exactly the two roles' trust and permission policies, each valid JSON", () => {
    expect(Object.keys(policies).sort()).toEqual(["deploy-role-permissions", "deploy-role-trust", "preview-role-permissions", "preview-role-trust"]);
    for (const label of Object.keys(policies)) {
      const p = policy(label);
      expect(p.Version, label).toBe("2012-10-17");
      expect(p.Statement.length, label).toBeGreaterThan(0);
      for (const s of p.Statement) expect(s.Effect, label).toBe("Allow");
    }
  });

  it("each role trusts GitHub's OIDC tokens for one exact sub claim: pull requests, or the production environment", () => {
    for (const [label, sub] of [
      ["preview-role-trust", "repo:OWNER/REPO:pull_request"],
      ["deploy-role-trust", "repo:OWNER/REPO:environment:production"],
    ]) {
      const { Statement } = policy(label);
      expect(Statement, label).toHaveLength(1);
      const [s] = Statement;
      expect(s.Action, label).toBe("sts:AssumeRoleWithWebIdentity");
      expect(s.Principal, label).toEqual({ Federated: "arn:aws:iam::ACCOUNT_ID:oidc-provider/token.actions.githubusercontent.com" });
      // StringEquals only: a StringLike with a wildcard would admit other branches, events or environments.
      expect(s.Condition, label).toEqual({
        StringEquals: { "token.actions.githubusercontent.com:aud": "sts.amazonaws.com", "token.actions.githubusercontent.com:sub": sub },
      });
    }
  });

  it("the preview role only reads: EC2 Describe*, the state, kms:Decrypt, and covers the program's lookups", () => {
    const p = policy("preview-role-permissions");
    for (const a of actionsOf(p)) expect(a).toMatch(/^(ec2:Describe\*|s3:GetObject|s3:ListBucket|kms:Decrypt)$/);
    // The data sources infra/hosts/aws.ts reads at preview time, and the EC2 call each one makes.
    const lookups: Record<string, string> = { getAmi: "ec2:DescribeImages", getVpcs: "ec2:DescribeVpcs" };
    const aws = fs.readFileSync(path.resolve(__dirname, "../hosts/aws.ts"), "utf8");
    const used = [...new Set([...aws.matchAll(/aws\.ec2\s*\.(get\w+?)(?:Output)?\(/g)].map((m) => m[1]))].sort();
    expect(used, "a new data source needs its action here and in the README's policy").toEqual(Object.keys(lookups).sort());
    for (const f of used) expect(grants(p, lookups[f]), f).toBe(true);
  });

  it("the deploy role manages the program's EC2 resources and allows every call of scripts/ci-ssh-access.sh", () => {
    const p = policy("deploy-role-permissions");
    const aws = fs.readFileSync(path.resolve(__dirname, "../hosts/aws.ts"), "utf8");
    // Create and delete of each resource type the program declares.
    const lifecycle: Record<string, string[]> = {
      "ec2.Instance": ["ec2:RunInstances", "ec2:TerminateInstances", "ec2:StopInstances", "ec2:StartInstances", "ec2:ModifyInstanceAttribute"],
      "ec2.KeyPair": ["ec2:ImportKeyPair", "ec2:DeleteKeyPair"],
      "ec2.SecurityGroup": ["ec2:CreateSecurityGroup", "ec2:DeleteSecurityGroup"],
      "vpc.SecurityGroupIngressRule": ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"],
      "vpc.SecurityGroupEgressRule": ["ec2:AuthorizeSecurityGroupEgress", "ec2:RevokeSecurityGroupEgress"],
    };
    const declared = [...new Set([...aws.matchAll(/new aws\.(\w+\.[A-Z]\w*)\(/g)].map((m) => m[1]))];
    expect(declared.sort(), "a new resource type needs its actions here and in the README's policy").toEqual(Object.keys(lifecycle).sort());
    for (const t of declared) for (const a of lifecycle[t]) expect(grants(p, a), `${t}: ${a}`).toBe(true);
    expect(grants(p, "ec2:CreateTags")).toBe(true);
    // The SSH-opening script: every `aws ec2 <command>` it runs, as its IAM action.
    const script = fs.readFileSync(path.resolve(__dirname, "../../scripts/ci-ssh-access.sh"), "utf8");
    const calls = [...new Set([...script.matchAll(/aws ec2 ([a-z-]+)/g)].map((m) => `ec2:${m[1].replace(/(^|-)([a-z])/g, (_, __, c) => c.toUpperCase())}`))].sort();
    expect(calls).toEqual(["ec2:AuthorizeSecurityGroupIngress", "ec2:DescribeSecurityGroups", "ec2:RevokeSecurityGroupIngress"]);
    for (const a of calls) expect(grants(p, a), a).toBe(true);
    // And the preview role can do none of what changes something.
    const preview = policy("preview-role-permissions");
    for (const a of [...Object.values(lifecycle).flat(), "ec2:CreateTags", "s3:PutObject", "s3:DeleteObject"]) expect(grants(preview, a), a).toBe(false);
  });
});

/** actionlint, where it was installed (PATH, or `GOBIN=~/.cache/dockercoins/tools go install ...actionlint@latest`). */
const actionlint = [
  ...(process.env.PATH ?? "").split(path.delimiter).filter(Boolean).map((d) => path.join(d, "actionlint")),
  path.join(os.homedir(), ".cache/dockercoins/tools/actionlint"),
].find((f) => fs.existsSync(f));
if (!actionlint) {
  console.warn(
    "SKIPPED actionlint: no actionlint on PATH nor in ~/.cache/dockercoins/tools (GOBIN=~/.cache/dockercoins/tools go install github.com/rhysd/actionlint/cmd/actionlint@latest)",
  );
}

describe("actionlint", () => {
  it.skipIf(!actionlint)("finds nothing in the workflow", () => {
    // Exit status 1 (findings) throws, with its report in the message.
    const out = execFileSync("nice", [actionlint!, "-no-color", FILE], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    expect(out).toBe("");
  });
});

// scripts/ci-ssh-access.sh against stand-ins for the AWS CLI and curl (AWS cannot be reached here). The
// stand-ins answer as the AWS CLI v2 does (`--output text` of the queried field, "None" for no match, the
// API's error code on stderr with exit 254), and record every call, so the tests check what reaches AWS.
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

const SCRIPT = resolve(__dirname, "../../scripts/ci-ssh-access.sh");

const FAKE_AWS = `#!/usr/bin/env bash
echo "aws $*" >>"$FAKE_LOG"
case "$2" in
  describe-security-groups) echo "\${FAKE_SG:-None}" ;;
  authorize-security-group-ingress)
    if [ -n "$FAKE_DUPLICATE" ]; then
      echo "An error occurred (InvalidPermission.Duplicate) when calling the AuthorizeSecurityGroupIngress operation: the specified rule already exists" >&2
      exit 254
    fi
    echo sgr-0123456789abcdef0 ;;
  revoke-security-group-ingress) echo '{"Return": true}' ;;
esac
`;
const FAKE_CURL = `#!/usr/bin/env bash
echo "curl $*" >>"$FAKE_LOG"
echo "\${FAKE_IP:-203.0.113.7}"
`;

let dir: string;
const log = () => readFileSync(join(dir, "calls"), "utf8").trim().split("\n");

function access(action: string, env: Record<string, string> = {}) {
  const r = spawnSync("bash", [SCRIPT, action], {
    encoding: "utf8",
    env: {
      PATH: `${join(dir, "bin")}:${process.env.PATH}`,
      FAKE_LOG: join(dir, "calls"),
      RUNNER_TEMP: dir,
      GITHUB_RUN_ID: "4242",
      PULUMI_STACK: "my-org/dockercoins/aws",
      FAKE_SG: "sg-0abc",
      ...env,
    },
  });
  return { code: r.status, out: r.stdout + r.stderr };
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ci-ssh-access-"));
  execFileSync("mkdir", ["-p", join(dir, "bin")]);
  writeFileSync(join(dir, "calls"), "");
  for (const [name, text] of [["aws", FAKE_AWS], ["curl", FAKE_CURL]]) {
    writeFileSync(join(dir, "bin", name), text);
    chmodSync(join(dir, "bin", name), 0o755);
  }
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("scripts/ci-ssh-access.sh: SSH from the CI runner for one job", () => {
  it("open finds the stack's group by its tags and admits this runner's /32 on port 22 only", () => {
    const r = access("open");
    expect(r.code, r.out).toBe(0);
    const [describe, curl, authorize] = log();
    // The short stack name: the program tags with pulumi.getStack(), not org/project/stack.
    expect(describe).toContain("--filters Name=tag:Project,Values=dockercoins Name=tag:Stack,Values=aws ");
    expect(curl).toContain("https://checkip.amazonaws.com");
    expect(authorize).toContain("ec2 authorize-security-group-ingress --group-id sg-0abc");
    expect(authorize).toContain("IpProtocol=tcp,FromPort=22,ToPort=22,IpRanges=[{CidrIp=203.0.113.7/32,Description=CI runner job 4242}]");
    expect(r.out).toContain("opened SSH from 203.0.113.7/32");
  });

  it("close revokes exactly the rule open added, by its id, and only once", () => {
    access("open");
    const r = access("close");
    expect(r.code, r.out).toBe(0);
    expect(log().at(-1)).toBe("aws ec2 revoke-security-group-ingress --group-id sg-0abc --security-group-rule-ids sgr-0123456789abcdef0");
    const again = access("close");
    expect(again.out).toContain("no SSH rule was opened for this job");
    expect(log().filter((l) => l.includes("revoke"))).toHaveLength(1);
  });

  it("an address already admitted (another job, the admin's rule) is left to its owner: close revokes nothing", () => {
    const r = access("open", { FAKE_DUPLICATE: "1" });
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain("already allowed");
    access("close");
    expect(log().some((l) => l.includes("revoke"))).toBe(false);
  });

  it("a stack never deployed (no group yet) is a warning, not a failure; nothing is authorised", () => {
    const r = access("open", { FAKE_SG: "None" });
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain("::warning::no security group tagged Project=dockercoins, Stack=aws");
    expect(log().some((l) => l.includes("authorize"))).toBe(false);
  });

  it("refuses what it cannot use: no stack, an unknown action, an answer that is not an IPv4 address", () => {
    expect(access("open", { PULUMI_STACK: "" }).out).toContain("PULUMI_STACK is not set");
    expect(access("widen").code).toBe(2);
    const r = access("open", { FAKE_IP: "<html>rate limited</html>" });
    expect(r.code).toBe(1);
    expect(r.out).toContain("could not learn this runner's public IPv4 address");
    expect(log().some((l) => l.includes("authorize"))).toBe(false);
  });
});

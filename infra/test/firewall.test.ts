import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { GUARD_CHAIN, guardSection } from "../swarm/firewall";
import { script } from "../swarm/scripts";

const made: string[] = [];
afterEach(() => made.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

/**
 * Runs the section twice against a stand-in iptables that keeps its rules in a file, as the kernel would:
 * -N fails when the chain exists, -C answers from the rules, -I/-A add, -F empties the chain.
 */
function runTwice(section: string): { rules: string[]; log: string } {
  const dir = mkdtempSync(join(tmpdir(), "guard-"));
  made.push(dir);
  writeFileSync(join(dir, "rules"), "");
  writeFileSync(
    join(dir, "iptables"),
    `#!/bin/bash
R=${dir}/rules
[ "$1" = -w ] && shift
op=$1; shift
case "$op" in
  -n) exit 0 ;; # -n -L DOCKER-USER: the engine's chain is there
  -N) grep -qx "chain $1" $R && exit 1; echo "chain $1" >>$R ;;
  -F) grep -vx -- "-A $1 .*" $R | grep -v -- "^-A $1 " >$R.new; mv $R.new $R ;;
  -C) grep -qxF -- "$*" <(sed -n 's/^-[AI] //p' $R) ;;
  -A|-I) echo "$op $*" >>$R ;;
esac
`,
    { mode: 0o755 },
  );
  const env = { ...process.env, PATH: `${dir}:${process.env.PATH}` };
  let log = "";
  for (let i = 0; i < 2; i++) {
    const r = spawnSync("bash", ["-c", script("bootstrap-docker", section)], { encoding: "utf8", env });
    expect(r.status, r.stderr).toBe(0);
    log += r.stderr;
  }
  return { rules: readFileSync(join(dir, "rules"), "utf8").trim().split("\n"), log };
}

describe("the vms firewall (guardSection)", () => {
  it("lets the nodes, the admin and the machine itself through and refuses the rest; a re-run rewrites the chain, adds no second jump", () => {
    const { rules, log } = runTwice(guardSection({ allow: ["10.1.0.11", "10.1.0.12", "203.0.113.7/32"], publishedPorts: [5000, 9428] }));
    expect(rules.filter((r) => r.startsWith(`-A ${GUARD_CHAIN} `))).toEqual([
      `-A ${GUARD_CHAIN} -s 127.0.0.0/8 -j RETURN`,
      `-A ${GUARD_CHAIN} -s 10.1.0.11 -j RETURN`,
      `-A ${GUARD_CHAIN} -s 10.1.0.12 -j RETURN`,
      `-A ${GUARD_CHAIN} -s 203.0.113.7/32 -j RETURN`,
      `-A ${GUARD_CHAIN} -p tcp -j REJECT --reject-with tcp-reset`,
      `-A ${GUARD_CHAIN} -j REJECT`,
    ]);
    expect(rules.filter((r) => r.startsWith("-I "))).toEqual([
      `-I DOCKER-USER -p tcp -m conntrack --ctstate DNAT --ctorigdstport 5000 --ctdir ORIGINAL -j ${GUARD_CHAIN}`,
      `-I DOCKER-USER -p tcp -m conntrack --ctstate DNAT --ctorigdstport 9428 --ctdir ORIGINAL -j ${GUARD_CHAIN}`,
      `-I INPUT -p tcp --dport 2377 -j ${GUARD_CHAIN}`,
      `-I INPUT -p tcp --dport 7946 -j ${GUARD_CHAIN}`,
      `-I INPUT -p udp --dport 7946 -j ${GUARD_CHAIN}`,
      `-I INPUT -p udp --dport 4789 -j ${GUARD_CHAIN}`,
    ]);
    expect(log).toContain("[bootstrap-docker] ports 5000/tcp 9428/tcp 2377/tcp 7946/tcp 7946/udp 4789/udp: from 10.1.0.11 10.1.0.12 203.0.113.7/32 and this machine only");
  });

  it("refuses a source that is not an IPv4 address or CIDR (it would be a word of a shell command)", () => {
    expect(() => guardSection({ allow: ["10.1.0.11; reboot"], publishedPorts: [5000] })).toThrow(/IPv4 addresses or CIDRs/);
    expect(() => guardSection({ allow: ["10.1.0.11"], publishedPorts: [70000] })).toThrow(/bad port/);
  });
});

import { spawnSync } from "node:child_process";
import { once } from "node:events";
import { type AddressInfo, createServer } from "node:net";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DOCKER_INSTALL_METHOD, bootstrapDockerScript, engineConfigScript } from "../swarm/engine";
import {
  GOSSIP_PORT_HELD,
  checkJoinToken,
  drainAndRemoveNodeScript,
  joinTokenScript,
  labelNodeScript,
  leaveOrSkipScript,
  liveManagerScript,
  managerTokenScript,
  spreadTasksScript,
  leaveSwarmScript,
  remoteBash,
  scriptHash,
  shq,
  swarmInitScript,
  swarmJoinScript,
  pinImageScript,
  waitForRolloutScript,
  waitForSshScript,
  warmImagesScript,
} from "../swarm/scripts";

const TOKEN = "SWMTKN-1-3pu6hszjas19xyp7ghgosyx9k8atbfcr8p2is99znpy26u2lkl-1awxwuwd3z9j1z3puu7rcgdbx";

const rendered: Record<string, string> = {
  waitForSsh: waitForSshScript(),
  bootstrapDocker: bootstrapDockerScript({ insecureRegistries: ["10.0.0.11:5000"] }),
  engineConfig: engineConfigScript({ insecureRegistries: ["10.0.0.11:5000"], registryMirrors: ["http://10.0.0.5:5000"] }),
  swarmInit: swarmInitScript({ advertiseAddr: "10.0.0.11" }),
  joinTokenWorker: joinTokenScript("worker"),
  joinTokenManager: joinTokenScript("manager"),
  swarmJoin: swarmJoinScript({ managerAddr: "10.0.0.11", advertiseAddr: "10.0.0.12", managerNodeId: "p3j0k5v2n7rrd0b5g8lxq1a9c" }),
  labelNode: labelNodeScript({ nodeAddress: "10.0.0.12", labels: { "dockercoins.redis": "true", "dockercoins.node": "node2" } }),
  labelNodeManager: labelNodeScript({ nodeAddress: "10.0.0.12", labels: { "dockercoins.node": "node2" }, role: "manager" }),
  drainAndRemove: drainAndRemoveNodeScript({ nodeAddress: "10.0.0.12" }),
  leaveSwarm: leaveSwarmScript(),
  leaveOrSkip: leaveOrSkipScript(),
  liveManager: liveManagerScript(),
  spreadTasks: spreadTasksScript({ services: ["worker", "rng"] }),
  warmImages: warmImagesScript({ services: ["rng", "hasher", "worker"] }),
  waitForRollout: waitForRolloutScript({ services: ["redis", "rng", "worker"] }),
  pinImage: pinImageScript("redis:7-bookworm"),
};

describe("rendered bootstrap scripts", () => {
  it.each(Object.entries(rendered))("%s matches its snapshot", (name, script) => {
    expect(script).toMatchSnapshot(name);
  });

  it.each(Object.entries(rendered))("%s is valid bash (bash -n), also wrapped for remote.Command", (_name, script) => {
    for (const text of [script, remoteBash(script)]) {
      const r = spawnSync("bash", ["-n"], { input: text, encoding: "utf8" });
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
    }
  });

  it("each script stops on the first error", () => {
    for (const script of Object.values(rendered)) expect(script).toContain("set -euo pipefail");
  });
});

describe("bootstrapDockerScript", () => {
  it("writes exactly the insecure registries, sorted and de-duplicated, into daemon.json", () => {
    const s = bootstrapDockerScript({ insecureRegistries: ["10.0.0.12:5000", "10.0.0.11:5000", "10.0.0.12:5000"] });
    const json = s.split("<<'DAEMON_JSON'\n")[1].split("\nDAEMON_JSON")[0];
    expect(JSON.parse(json)).toEqual({ "insecure-registries": ["10.0.0.11:5000", "10.0.0.12:5000"] });
  });

  it("a Docker Hub mirror goes into registry-mirrors, and an http one into the insecure registries with its scheme (BuildKit's plain-HTTP mark)", () => {
    const json = (s: string) => JSON.parse(s.split("<<'DAEMON_JSON'\n")[1].split("\nDAEMON_JSON")[0]);
    expect(json(bootstrapDockerScript({ insecureRegistries: ["10.0.0.11:5000"], registryMirrors: ["http://10.0.0.5:5001/"] }))).toEqual({
      "insecure-registries": ["10.0.0.11:5000", "http://10.0.0.5:5001"],
      "registry-mirrors": ["http://10.0.0.5:5001"],
    });
    expect(json(bootstrapDockerScript({ insecureRegistries: [], registryMirrors: ["https://mirror.example.com"] }))).toEqual({
      "insecure-registries": [],
      "registry-mirrors": ["https://mirror.example.com"],
    });
    expect(() => bootstrapDockerScript({ insecureRegistries: [], registryMirrors: ["10.0.0.5:5001"] })).toThrow(/http\(s\):\/\/host/);
  });

  // /etc/os-release as each family ships it (ID, ID_LIKE, VERSION_ID are what the detection reads).
  it.each([
    ["Debian 12", 'ID=debian\nVERSION_ID="12"', "apt"],
    ["Ubuntu 24.04", 'ID=ubuntu\nID_LIKE=debian\nVERSION_ID="24.04"', "apt"],
    ["RHEL 9", 'ID="rhel"\nID_LIKE="fedora"\nVERSION_ID="9.4"', "docker-ce-repo"],
    ["Rocky Linux 9", 'ID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.4"', "docker-ce-repo"],
    ["AlmaLinux 9", 'ID="almalinux"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.4"', "docker-ce-repo"],
    ["CentOS Stream 9", 'ID="centos"\nID_LIKE="rhel fedora"\nVERSION_ID="9"', "docker-ce-repo"],
    ["Oracle Linux 9", 'ID="ol"\nID_LIKE="fedora"\nVERSION_ID="9.4"', "docker-ce-repo"],
    ["Fedora 40", "ID=fedora\nVERSION_ID=40", "dnf-docker"],
    ["Amazon Linux 2023", 'ID="amzn"\nID_LIKE="fedora"\nVERSION_ID="2023"', "dnf-docker"],
    ["Amazon Linux 2", 'ID="amzn"\nID_LIKE="centos rhel fedora"\nVERSION_ID="2"', "yum-docker"],
    ["an unknown derivative of RHEL", 'ID="myos"\nID_LIKE="rhel fedora"', "docker-ce-repo"],
    ["Alpine", "ID=alpine\nVERSION_ID=3.20.0", "unknown"],
  ])("installs Docker on %s with %s", (_os, osRelease, method) => {
    const r = spawnSync("bash", ["-c", `set -eu; eval "$OS_RELEASE"; ${DOCKER_INSTALL_METHOD}\ndocker_install_method`], {
      env: { ...process.env, OS_RELEASE: osRelease },
      encoding: "utf8",
    });
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe(method);
  });

  it("waits for apt's lock on a fresh cloud VM (first-boot unattended-upgrades)", () => {
    const s = bootstrapDockerScript({ insecureRegistries: [] });
    expect(s).toContain("apt-get -o DPkg::Lock::Timeout=600 update");
    expect(s).toContain("apt-get -o DPkg::Lock::Timeout=600 install");
  });

  it("restarts the engine only when daemon.json differs", () => {
    const s = bootstrapDockerScript({ insecureRegistries: [] });
    expect(s).toMatch(/if ! \$SUDO cmp -s "\$want" \/etc\/docker\/daemon.json; then[\s\S]*restart_engine/);
  });

  it("fails on clock skew beyond the limit", () => {
    expect(bootstrapDockerScript({ insecureRegistries: [], maxClockSkewS: 3 })).toContain("max_skew=3\n");
    expect(() => bootstrapDockerScript({ insecureRegistries: [], maxClockSkewS: 0 })).toThrow(/maxClockSkewS/);
  });

  it("rejects registry strings that could inject shell", () => {
    expect(() => bootstrapDockerScript({ insecureRegistries: ["x; rm -rf /"] })).toThrow(/insecure registry/);
  });

  it("the same options give the same hash (re-runs only on change)", () => {
    const a = bootstrapDockerScript({ insecureRegistries: ["10.0.0.11:5000"] });
    const b = bootstrapDockerScript({ insecureRegistries: ["10.0.0.11:5000"] });
    const c = bootstrapDockerScript({ insecureRegistries: ["10.0.0.13:5000"] });
    expect(scriptHash(a)).toBe(scriptHash(b));
    expect(scriptHash(a)).not.toBe(scriptHash(c));
    expect(scriptHash(a)).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe("swarm scripts", () => {
  it("init takes Swarm's overlay address pool when given", () => {
    expect(rendered.swarmInit).not.toContain("--default-addr-pool");
    expect(swarmInitScript({ advertiseAddr: "10.0.0.11", defaultAddrPool: "10.20.0.0/16" })).toContain("--default-addr-pool '10.20.0.0/16'");
    expect(() => swarmInitScript({ advertiseAddr: "10.0.0.11", defaultAddrPool: "x; rm -rf /" })).toThrow(/CIDR/);
  });

  it("on a live Swarm, init stops on a pool other than the one the Swarm was formed with (Swarm fixes it at init)", () => {
    expect(rendered.swarmInit).toContain(`[ "\${pool% }" = '10.0.0.0/8' ] ||`);
    const s = swarmInitScript({ advertiseAddr: "10.0.0.11", defaultAddrPool: "10.20.0.0/16" });
    expect(s).toContain(`[ "\${pool% }" = '10.20.0.0/16' ] ||`);
    expect(s).toContain("dockercoins:swarmAddressPool is 10.20.0.0/16, but this Swarm was formed with ${pool% }");
  });

  it("join uses the manager's port 2377 unless one is given", () => {
    expect(rendered.swarmJoin).toContain(`swarm_join "$token" '10.0.0.12' '10.0.0.11:2377'`);
    expect(swarmJoinScript({ managerAddr: "10.0.0.11:4000", advertiseAddr: "10.0.0.12", managerNodeId: "p3j0k5v2n7rrd0b5g8lxq1a9c" })).toContain("'10.0.0.11:4000'");
  });

  it("join refuses anything but a swarm token", () => {
    expect(() => checkJoinToken("nope")).toThrow(/join token/);
    expect(checkJoinToken(` ${TOKEN}\n`)).toBe(`${TOKEN}\n`);
    // The token is never part of the script text (a failed remote command prints its text).
    expect(swarmJoinScript({ managerAddr: "10.0.0.11", advertiseAddr: "10.0.0.12", managerNodeId: "p3j0k5v2n7rrd0b5g8lxq1a9c" })).not.toMatch(/SWMTKN-1-[a-z0-9]/);
  });

  it("no script hands a join token to a program as an argument: joins go to the engine's API, the body on curl's stdin", () => {
    for (const [name, text] of Object.entries(rendered)) expect(text, name).not.toMatch(/--token|swarm join /);
    // Run the join with stand-ins that record what each program was given: its arguments and its stdin.
    const dir = mkdtempSync(join(tmpdir(), "swarm-join-"));
    try {
      writeFileSync(join(dir, "docker"), `#!/bin/bash\necho "$*" >>${dir}/argv\ncase "$*" in *LocalNodeState*) echo inactive ;; *NodeID*) echo n3wn0de1d ;; esac\n`, { mode: 0o755 });
      writeFileSync(join(dir, "curl"), `#!/bin/bash\necho "$*" >>${dir}/argv\ncat >${dir}/body\nprintf '\\n200'\n`, { mode: 0o755 });
      const r = spawnSync("bash", ["-c", rendered.swarmJoin], { input: `${TOKEN}\n`, encoding: "utf8", env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } });
      expect(r.stderr).toContain("[swarm-join] joined the swarm of 10.0.0.11:2377");
      expect(r.stdout.trim()).toBe("n3wn0de1d");
      const argv = readFileSync(join(dir, "argv"), "utf8");
      expect(argv).toContain("--unix-socket /var/run/docker.sock -X POST");
      expect(argv).not.toContain("SWMTKN");
      expect(JSON.parse(readFileSync(join(dir, "body"), "utf8"))).toEqual({ ListenAddr: "0.0.0.0:2377", AdvertiseAddr: "10.0.0.12", RemoteAddrs: ["10.0.0.11:2377"], JoinToken: TOKEN });
      // The engine's refusal: its message, not the JSON around it.
      writeFileSync(join(dir, "curl"), `#!/bin/bash\ncat >/dev/null\nprintf '{"message":"rpc error: certificate has expired"}\\n500'\n`, { mode: 0o755 });
      const refused = spawnSync("bash", ["-c", rendered.swarmJoin], { input: `${TOKEN}\n`, encoding: "utf8", env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } });
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain("join rejected by TLS (rpc error: certificate has expired)");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  /**
   * Runs a rendered script with a stand-in `docker` (a bash body that sees "$*" and $DIR) first on PATH, and a
   * `curl` that answers every API call with 200 (never this machine's engine).
   */
  function withDocker(scriptText: string, dockerBody: string, input = ""): { status: number | null; stderr: string; calls: string } {
    const dir = mkdtempSync(join(tmpdir(), "swarm-docker-"));
    try {
      writeFileSync(join(dir, "docker"), `#!/bin/bash\nDIR=${dir}\necho "$*" >>$DIR/calls\n${dockerBody}\n`, { mode: 0o755 });
      writeFileSync(join(dir, "curl"), `#!/bin/bash\necho "curl $*" >>${dir}/calls\ncat >/dev/null\nprintf '\\n200'\n`, { mode: 0o755 });
      const r = spawnSync("bash", ["-c", scriptText], { input, encoding: "utf8", env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } });
      return { status: r.status, stderr: r.stderr, calls: readFileSync(join(dir, "calls"), "utf8") };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it("a node update that raced another change of the node (update out of sequence) is asked again", () => {
    const r = withDocker(rendered.labelNodeManager, `case "$*" in
  "node ls -q") echo n2 ;;
  *Status.State*) echo "ready 10.0.0.12 10.0.0.12:2377" ;;
  *Spec.Labels*) echo ;;
  *Reachability*) echo reachable ;;
  "node update"*) [ -e $DIR/raced ] && exit 0; touch $DIR/raced
    echo "Error response from daemon: rpc error: code = Unknown desc = update out of sequence"; exit 1 ;;
esac`);
    expect(r.stderr).toContain("[label-node] updating node 10.0.0.12 raced another change of the node (attempt 1): again");
    expect(r.status).toBe(0);
    expect(r.calls.match(/^node update --role manager/gm)).toHaveLength(2);
  }, 15_000);

  it("a new first manager asks again when the live managers are still electing a leader (CA signer is stopped)", () => {
    const dir = mkdtempSync(join(tmpdir(), "swarm-init-"));
    try {
      writeFileSync(join(dir, "docker"), `#!/bin/bash\necho "$*" >>${dir}/calls\ncase "$*" in *"LocalNodeState}} {{.Swarm.ControlAvailable"*) echo "active true" ;; *LocalNodeState*) echo inactive ;; *NodeID*) echo n0de1 ;; esac\n`, { mode: 0o755 });
      // The first join meets a manager whose leader is gone; the second one is let in.
      writeFileSync(join(dir, "curl"), `#!/bin/bash\ncat >/dev/null\nif [ -e ${dir}/asked ]; then printf '\\n200'; else touch ${dir}/asked; printf '{"message":"rpc error: code = Aborted desc = CA signer is stopped"}\\n500'; fi\n`, { mode: 0o755 });
      const r = spawnSync("bash", ["-c", rendered.swarmInit], { input: `10.0.0.12 ${TOKEN}\n`, encoding: "utf8", env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } });
      expect(r.stderr).toContain("[swarm-init] join attempt 1 through 10.0.0.12: rpc error: code = Aborted desc = CA signer is stopped (the managers are electing a leader): again in 2 s");
      expect(r.stderr).toContain("joined the live swarm as a manager through 10.0.0.12");
      expect(r.status).toBe(0);
      expect(readFileSync(join(dir, "calls"), "utf8")).toContain("swarm leave --force");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 20_000);

  it("a worker cut off from every manager (none known for 20 s) leaves its old Swarm and joins the declared one", () => {
    const r = withDocker(rendered.swarmJoin, `case "$*" in
  *LocalNodeState*) [ -e $DIR/left ] && echo inactive || echo active ;;
  *RemoteManagers*) echo ;;
  *ControlAvailable*) echo false ;;
  "swarm leave --force") touch $DIR/left ;;
  *NodeID*) echo n3wn0de1d ;;
esac`, `${TOKEN}\n`);
    expect(r.stderr).toContain("leaving the swarm of 10.0.0.11:2377 as it was (managers: (none) @10.0.0.11:2377)");
    expect(r.stderr).toContain("[swarm-join] joined the swarm of 10.0.0.11:2377");
    expect(r.status).toBe(0);
  }, 40_000);

  it("after leaving a dead Swarm, a gossip port still held (a real listener on 7946) is seen, and the engine restarted before the join", async () => {
    const held = () => spawnSync("bash", ["-c", `${GOSSIP_PORT_HELD}\ngossip_port_held`], { encoding: "utf8" }).status;
    const server = createServer();
    const listening = await new Promise<boolean>((resolve) => {
      server.once("error", () => resolve(false)).listen(7946, () => resolve(true));
    });
    // Held while something listens (ours, or another's if the port was taken already).
    expect(held()).toBe(0);
    if (listening) {
      await new Promise((r) => server.close(r));
      expect(held()).toBe(1);
    } else {
      console.log("[swarm-scripts] SKIPPED the free-port half: something on this machine already listens on 7946");
    }
    // In the join, the leave is followed by that check and, if held, a restart.
    const join = rendered.swarmJoin;
    expect(join.indexOf("leave_dead_swarm\n")).toBeGreaterThan(join.indexOf("leave_dead_swarm() {"));
    expect(join).toMatch(/for _ in \$\(seq 1 10\); do gossip_port_held \|\| return 0; sleep 1; done\n.*\n  restart_engine/);
  });

  /** managerTokenScript with ENV on a fake engine: an active manager that gives a token, and these answers besides. */
  const askToken = (env: string, answers: string) =>
    withDocker(`${env}\n${managerTokenScript()}`, `case "$*" in
  *LocalNodeState*) echo "active true" ;;
  "swarm join-token -q manager") echo ${TOKEN} ;;
${answers}
esac`);

  it("a live manager asked for the token first removes the lost first manager's entry (unreachable, its address), only that one, asking again while it races", () => {
    const r = askToken("SELF=10.0.0.11", `  "node ls -q") printf 'n1\\nn2\\nn3\\n' ;;
  "node inspect -f "*" n1") echo "unreachable 10.0.0.11:2377" ;;
  "node inspect -f "*" n2") echo "reachable 10.0.0.12:2377" ;;
  "node inspect -f "*" n3") echo ;;
  "node demote n1") [ -e $DIR/raced ] || { touch $DIR/raced; echo "Error response from daemon: rpc error: code = Unknown desc = update out of sequence" >&2; exit 1; } ;;
  "node rm --force n1") [ -e $DIR/left-raft ] || { touch $DIR/left-raft; exit 1; } ;;`);
    expect(r.status).toBe(0);
    // The demotion raced Swarm's own update of the node once (as seen in CI), the removal Raft once.
    expect(r.calls.split("\n").filter((c) => /^node (demote|rm)/.test(c))).toEqual(["node demote n1", "node demote n1", "node rm --force n1", "node rm --force n1"]);
    expect(r.stderr).toBe("[manager-token] removed the lost manager 10.0.0.11 (n1) before its new machine joins\n");
  });

  it("a manager asked while its Swarm elects a new leader waits for the leader, then removes the lost entry and gives the token", () => {
    const r = askToken("SELF=10.0.0.11", `  "node ls -q") n=$(cat $DIR/asked 2>/dev/null || echo 0); echo $((n + 1)) >$DIR/asked
    [ "$n" -ge 2 ] || { echo "Error response from daemon: rpc error: code = Unknown desc = The swarm does not have a leader. It's possible that too few managers are online." >&2; exit 1; }
    printf 'n1\\nn2\\n' ;;
  "node inspect -f "*" n1") echo "unreachable 10.0.0.11:2377" ;;
  "node inspect -f "*" n2") echo "reachable 10.0.0.12:2377" ;;`);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe(
      "[manager-token] waiting for the swarm to elect a leader (The swarm does not have a leader. It's possible that too few managers are online.)\n" +
        "[manager-token] removed the lost manager 10.0.0.11 (n1) before its new machine joins\n",
    );
    expect(r.calls.match(/^node ls -q$/gm)).toHaveLength(3);
    expect(r.calls).toContain("swarm join-token -q manager");
  }, 15_000);

  it("a manager whose Swarm elects no leader in time says so and gives no token (the first manager forms a Swarm)", () => {
    const r = askToken("SELF=10.0.0.11 LEADER_WAIT_S=3", `  "node ls -q") echo "Error response from daemon: rpc error: code = Unknown desc = The swarm does not have a leader." >&2; exit 1 ;;`);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe(
      "[manager-token] waiting for the swarm to elect a leader (The swarm does not have a leader.)\n[manager-token] the swarm has no leader after 3 s: not a live manager\n",
    );
    expect(r.calls).not.toContain("join-token");
  }, 15_000);

  it("a lost manager Swarm cannot remove says why in one line, and the token is still given", { timeout: 40_000 }, () => {
    const r = askToken("SELF=10.0.0.11", `  "node ls -q") echo n1 ;;
  "node inspect -f "*" n1") echo "unreachable 10.0.0.11:2377" ;;
  "node demote n1") echo "Error response from daemon: rpc error: code = Unknown desc = can't remove member: it would lose quorum" >&2; exit 1 ;;`);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe(
      "[manager-token] could not remove the lost manager 10.0.0.11 (n1): Error response from daemon: rpc error: code = Unknown desc = can't remove member: it would lose quorum; the join goes on\n",
    );
    expect(r.calls).not.toContain("node rm");
  });

  it("the lost first manager's entry is removed before Raft has marked it unreachable when nothing answers on its Swarm port; a live one is kept", async () => {
    const listening = createServer().listen(0, "127.0.0.1");
    await once(listening, "listening");
    const open = (listening.address() as AddressInfo).port;
    const closed = createServer().listen(0, "127.0.0.1");
    await once(closed, "listening");
    const closedPort = (closed.address() as AddressInfo).port;
    closed.close();
    try {
      const tokenWith = (port: number) => askToken("SELF=127.0.0.1", `  "node ls -q") printf 'n1\\nn2\\n' ;;
  "node inspect -f "*" n1") echo "reachable 127.0.0.1:${port}" ;;
  "node inspect -f "*" n2") echo "reachable 10.0.0.12:2377" ;;`);
      const lost = tokenWith(closedPort);
      expect(lost.status).toBe(0);
      expect(lost.calls.split("\n").filter((c) => /^node (demote|rm)/.test(c))).toEqual(["node demote n1", "node rm --force n1"]);
      const live = tokenWith(open);
      expect(live.status).toBe(0);
      expect(live.calls).not.toMatch(/node (demote|rm)/);
      expect(live.stderr).toBe(`[manager-token] the first manager 127.0.0.1 (n1) is reachable and answers on its Swarm port: kept\n`);
    } finally {
      listening.close();
    }
  }, 15_000);

  it("a leave a busy engine gave up on (context deadline exceeded, still in the Swarm) is asked again", () => {
    const r = withDocker(rendered.leaveSwarm, `case "$*" in
  *LocalNodeState*) [ -e $DIR/left ] && echo inactive || echo active ;;
  "swarm leave --force") [ -e $DIR/timed-out ] || { touch $DIR/timed-out; echo "Error response from daemon: context deadline exceeded" >&2; exit 1; }
    touch $DIR/left ;;
esac`);
    expect(r.stderr).toContain("[leave-swarm] leaving the swarm: Error response from daemon: context deadline exceeded; again in 2 s");
    expect(r.stderr).toContain("[leave-swarm] left the swarm");
    expect(r.status).toBe(0);
    expect(r.calls.match(/^swarm leave --force$/gm)).toHaveLength(2);
  }, 15_000);

  it("a leave that never succeeds fails the script, with the engine's answer", () => {
    const r = withDocker(rendered.leaveSwarm, `case "$*" in
  *LocalNodeState*) echo active ;;
  "swarm leave --force") echo "Error response from daemon: context deadline exceeded" >&2; exit 1 ;;
esac`);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("could not leave the swarm");
    expect(r.calls.match(/^swarm leave --force$/gm)).toHaveLength(4);
  }, 20_000);

  it("a manager that knows no other manager is not made to leave (its Swarm's quorum may depend on it)", () => {
    const r = withDocker(rendered.swarmJoin, `case "$*" in
  *LocalNodeState*) echo active ;;
  *RemoteManagers*) echo ;;
  *ControlAvailable*) echo true ;;
esac`, `${TOKEN}\n`);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("this node is in another swarm");
    expect(r.calls).not.toContain("swarm leave");
  }, 40_000);

  it("join tokens are printed alone on stdout", () => {
    expect(joinTokenScript("worker")).toContain("docker swarm join-token -q worker");
    expect(() => joinTokenScript("admin" as "worker")).toThrow(/role/);
  });

  it("labels are sorted and validated", () => {
    expect(rendered.labelNode).toContain("--label-add 'dockercoins.node=node2' --label-add 'dockercoins.redis=true'");
    expect(() => labelNodeScript({ nodeAddress: "10.0.0.12", labels: { "a b": "x" } })).toThrow(/invalid node label/);
  });

  it("shq quotes single quotes", () => {
    const r = spawnSync("bash", ["-c", `printf %s ${shq("it's $HOME")}`], { encoding: "utf8" });
    expect(r.stdout).toBe("it's $HOME");
  });
});

describe("scripts on a manager that take service names", () => {
  it.each([
    ["waitForRolloutScript", waitForRolloutScript],
    ["spreadTasksScript", spreadTasksScript],
    ["warmImagesScript", warmImagesScript],
  ] as const)("%s refuses a name that is not a Swarm service name (nothing reaches the shell)", (_name, render) => {
    expect(() => render({ services: ["worker", "rng; rm -rf /"] })).toThrow('invalid service name "rng; rm -rf /"');
    expect(render({ services: ["worker", "dockercoins_rng.1"] })).toContain("dockercoins_rng.1");
  });
});

describe("warmImagesScript", () => {
  it("returns at once; in the background, one global job per distinct image, each removed once all its tasks ended", async () => {
    const dir = mkdtempSync(join(tmpdir(), "warm-images-"));
    try {
      // rng and worker run the same image: one job for both. Job 1's tasks end at the second look.
      writeFileSync(join(dir, "docker"), `#!/bin/bash
DIR=${dir}
echo "$*" >>$DIR/calls
case "$*" in
  "service inspect -f "*" rng") echo "r:5000/dockercoins/rng@sha256:1" ;;
  "service inspect -f "*" worker") echo "r:5000/dockercoins/rng@sha256:1" ;;
  "service inspect -f "*" hasher") echo "r:5000/dockercoins/hasher@sha256:2" ;;
  "service ps "*) [ -e $DIR/looked ] && printf 'Complete 1 second ago\nRejected 2 seconds ago\n' || { touch $DIR/looked; printf 'Complete 1 second ago\nPreparing 2 seconds ago\n'; } ;;
esac
`, { mode: 0o755 });
      const t0 = Date.now();
      const r = spawnSync("bash", ["-c", rendered.warmImages], { encoding: "utf8", env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } });
      expect(r.status).toBe(0);
      expect(r.stderr).toBe("[warm-images] every node pulls 2 image(s) in the background\n");
      expect(Date.now() - t0).toBeLessThan(1500);
      const calls = () => readFileSync(join(dir, "calls"), "utf8").split("\n").filter((l) => /^service (create|rm)/.test(l));
      for (let i = 0; i < 100 && calls().length < 6; i++) await new Promise((res) => setTimeout(res, 100));
      // Each job: a leftover of an interrupted run removed, created, then removed once all its tasks ended.
      const job = (n: number, image: string) => [
        `service rm dockercoins-warm-images-${n}`,
        `service create --detach --quiet --name dockercoins-warm-images-${n} --mode global-job --restart-condition none --no-healthcheck --entrypoint true ${image}`,
        `service rm dockercoins-warm-images-${n}`,
      ];
      expect(calls()).toEqual([...job(1, "r:5000/dockercoins/hasher@sha256:2"), ...job(2, "r:5000/dockercoins/rng@sha256:1")]);
      // Job 1 was looked at until no task was still going (twice), job 2 once.
      expect(readFileSync(join(dir, "calls"), "utf8").match(/^service ps /gm)).toHaveLength(3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 20_000);
});

describe("liveManagerScript (the real ssh client)", () => {
  it("finds no live manager where no peer answers: prints nothing (the init forms the Swarm), says so, succeeds", () => {
    const r = spawnSync("bash", ["-c", liveManagerScript()], {
      encoding: "utf8",
      timeout: 60_000,
      env: { ...process.env, SSH_KEY: "not a key", PEERS: "root|127.0.0.1|9|10.0.0.12 root|gone.invalid|22|10.0.0.13" },
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      "[live-manager] 10.0.0.12: no live manager there\n[live-manager] 10.0.0.13: no live manager there\n[live-manager] no other manager is live: the first manager forms the swarm\n",
    );
  });
});

describe("leaveOrSkipScript (the real ssh client)", () => {
  const leave = (env: Record<string, string>) =>
    spawnSync("bash", ["-c", leaveOrSkipScript()], {
      encoding: "utf8",
      timeout: 60_000,
      env: { ...process.env, SSH_KEY: "not a key", SSH_USER: "root", NODE: "node3", ...env },
    });

  it("skips a host that is gone (connection refused) with one line naming it, and succeeds", () => {
    const r = leave({ SSH_HOST: "127.0.0.1", SSH_PORT: "9" });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/^\[leave-swarm\] skipped node3 \(127\.0\.0\.1:9\): its host is gone \(.*Connection refused.*\); its entry was removed from the Swarm\n$/);
  });

  it("skips a host whose name no longer resolves", () => {
    const r = leave({ SSH_HOST: "gone.invalid", SSH_PORT: "22" });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain("skipped node3 (gone.invalid:22): its host is gone");
  });

  it("fails, naming the node, when ssh fails for another reason (no key given)", () => {
    const r = leave({ SSH_HOST: "127.0.0.1", SSH_PORT: "not-a-port" });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("[leave-swarm] ERROR: node3 (127.0.0.1:not-a-port): leaving the Swarm failed (ssh exit 255)");
  });

  it("keeps the key off every command line: it goes to a file readable by this user only, removed on exit", () => {
    expect(leaveOrSkipScript()).toContain(`printf '%s\\n' "$SSH_KEY" >"$key"`);
    expect(leaveOrSkipScript()).not.toMatch(/ssh [^\n]*\$SSH_KEY/);
  });
});

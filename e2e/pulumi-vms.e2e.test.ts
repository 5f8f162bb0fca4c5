// The `vms` target for real: five machines WITHOUT Docker (containers with sshd and sudo, e2e/lib/vms.ts),
// reached over SSH as a sudo user; the program's own bootstrap installs Docker, forms the Swarm and deploys.
// The path of users with their own five VMs. Real engine and plugins; skipped, loudly, where they are absent.
import { randomBytes } from "node:crypto";
import { cpSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { measureRate, readJson } from "../app/bench/mining";
import { engineMissingSaid, PulumiCheckout, type PreviewStep } from "./lib/pulumi";
import { docker, Phases, waitFor } from "./lib/run";
import { VmFixture } from "./lib/vms";

const MIN = 60_000;
const missing = engineMissingSaid("pulumi e2e vms");
const phases = new Phases("pulumi e2e vms");
const timed = <T>(name: string, fn: () => Promise<T>): Promise<T> => phases.time(name, fn);
const changes = (steps: PreviewStep[]) => steps.map((s) => `${s.op} ${s.name}`).sort();

describe.skipIf(missing !== undefined)("pulumi up for real: the vms target on five plain SSH machines", () => {
  const VMS_STACK = "vms";
  const vms = new VmFixture({ prefix: "dockercoins-e2e-vms", subnet: "172.29.214.0/24", count: 5, sshBasePort: 22201, mirrorPushPort: 15501 });
  const webui = `http://${vms.vm(1).address}:8000`;
  let co: PulumiCheckout;

  beforeAll(async () => {
    await timed("vms: five Debian machines without Docker, a Docker Hub mirror", () => vms.up());
    co = new PulumiCheckout(VMS_STACK);
  }, 15 * MIN);

  afterAll(async () => {
    if (co && (await vms.sh(1, "docker info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null || true").catch(() => "")) === "active") {
      await co.pulumi("destroy --yes --refresh", { allowFailure: true, timeoutMs: 5 * MIN });
    }
    await co?.remove();
    const left = await vms.down();
    vms.removeKey();
    if (left.length) console.error(`[pulumi e2e] vms teardown left: ${left.join(", ")}`);
    console.log(`[pulumi e2e] wall time per step\n${phases.table()}`);
  }, 10 * MIN);

  it("a stack on the playground's public passphrase is refused before anything is created; re-encrypted, it goes on", async () => {
    // As a user who sourced scripts/pulumi-env.sh without a passphrase of their own: the public one.
    await co.sh("npm ci --no-audit --no-fund", { timeoutMs: 5 * MIN });
    await co.sh(`pulumi stack init ${VMS_STACK}`);
    // Every Docker Hub pull goes through the mirror: the services' (registry, redis) and the image builds'.
    for (const [k, v] of Object.entries({
      target: "vms", vmHosts: vms.vmHosts, endpointMode: "dnsrr", registryMirror: vms.mirrorUrl,
      // The log store on node1, every engine shipping to it: what the firewall must let the nodes reach.
      logging: "true",
    })) await co.configSet(k, v);
    await co.sh(`pulumi config set --secret dockercoins:sshPrivateKey --stack ${VMS_STACK} < ${vms.keyDir}/id`);
    const refused = await co.pulumi("up --yes --skip-preview", { allowFailure: true });
    expect(refused.code).not.toBe(0);
    expect(refused.stdout + refused.stderr).toContain(`stack ${VMS_STACK} encrypts its secrets with the playground's public passphrase`);
    type State = { deployment: { resources?: { type: string }[] } };
    const created = (JSON.parse((await co.pulumi("stack export")).stdout) as State).deployment.resources ?? [];
    expect(created.map((r) => r.type).filter((t) => !t.startsWith("pulumi:"))).toEqual([]);
    // The README's way out: a passphrase of one's own (here on standard input: no terminal), kept in a file.
    const mine = `e2e-${randomBytes(12).toString("hex")}`;
    await co.sh(`printf '%s\\n' "$NEW_PASSPHRASE" | pulumi stack change-secrets-provider passphrase --stack ${VMS_STACK}`, { env: { NEW_PASSPHRASE: mine } });
    writeFileSync(join(co.dir, ".passphrase"), `${mine}\n`, { mode: 0o600 });
    co.env.PULUMI_CONFIG_PASSPHRASE_FILE = join(co.dir, ".passphrase");
    await co.pulumi("preview");
  }, 5 * MIN);

  it("pulumi up installs Docker over SSH (sudo), forms a 5-node Swarm and mines ~3.3 hashes/s", async () => {
    for (const v of [1, 5]) expect(await vms.sh(v, "command -v dockerd || echo none")).toBe("none");
    // What every local user sees while the Swarm forms: each machine's process list, sampled 10 times a second.
    const all = [1, 2, 3, 4, 5];
    for (const v of all) await vms.sh(v, "nohup sh -c 'while :; do ps -eo args >>/var/log/ps-samples; sleep 0.1; done' >/dev/null 2>&1 &");
    const r = await timed("vms: fresh up (Docker installed by the bootstrap)", () =>
      co.upScript(),
    );
    for (const v of all) await vms.sh(v, "pkill -f 'ps-sample[s]' || true");
    // The join token is in no command line: not in a process list during the joins, not in sudo's log.
    const ps = await Promise.all(all.map((v) => vms.sh(v, "cat /var/log/ps-samples")));
    const sudoLog = await Promise.all(all.map((v) => vms.sh(v, "cat /var/log/sudo.log")));
    // A token as Swarm makes them (SWMTKN-1-<50 base-36 chars>-<25>), not the pattern the init script checks one with.
    for (const [i, text] of [...ps, ...sudoLog].entries()) expect(text.match(/SWMTKN-1-[0-9a-z]{20,}-[0-9a-z]{20,}/)?.[0], `vm${(i % 5) + 1}`).toBeUndefined();
    // ...and both watched the joins (else their silence proves nothing): vm2-5 joined through the API, with sudo.
    const joins = (texts: string[]) => texts.slice(1).filter((t) => /curl .*http:\/\/localhost\/swarm\/join/.test(t)).length;
    expect(joins(ps), "joins caught in the process lists").toBeGreaterThanOrEqual(1);
    expect(joins(sudoLog), "joins in sudo's log").toBe(4);
    expect(r.stdout).toMatch(/Resources:\s+\+ \d+ created/);
    for (const v of [1, 2, 3, 4, 5]) {
      expect(await vms.sh(v, "dpkg-query -W -f '${Status}' docker.io")).toBe("install ok installed");
      expect(await vms.sh(v, "docker info --format '{{.Swarm.LocalNodeState}}'")).toBe("active");
    }
    expect(await vms.sh(1, "docker node ls -q | wc -l")).toBe("5");
    // The images were built on the manager, their base pulled through the mirror.
    expect(await vms.sh(1, "docker image ls --format '{{.Repository}}' | grep -c '/dockercoins/'")).not.toBe("0");
    // node1's registry and Swarm's control plane answer the nodes, not a machine beside them on the same
    // network (Docker's NAT would let it reach the registry past ufw); the webui answers everyone.
    const probe = (port: number) => `timeout 3 bash -c 'exec 3<>/dev/tcp/${vms.vm(1).address}/${port}' 2>/dev/null && echo open || echo closed`;
    const fromOutside = async (port: number) =>
      (await docker(["run", "--rm", "--network", vms.network, "--entrypoint", "bash", `${vms.opts.prefix}-vm:latest`, "-c", probe(port)])).stdout.trim();
    expect(await fromOutside(8000)).toBe("open");
    for (const port of [5000, 9428, 2377]) expect(await fromOutside(port), `port ${port} from outside`).toBe("closed");
    for (const port of [5000, 9428, 2377]) expect(await vms.sh(2, probe(port)), `port ${port} from vm2`).toBe("open");
    // ...and the engines of several machines ship their lines to the store through it.
    const shippers = await waitFor(
      "lines from two machines or more in the log store",
      async () => {
        const out = await vms.sh(1, `curl -s http://127.0.0.1:9428/select/logsql/query --data-urlencode 'query=_time:5m | stats by (host) count() n'`);
        const hosts = out.split("\n").filter((l) => l.trim() !== "");
        return hosts.length >= 2 ? hosts : undefined;
      },
      90_000,
      3000,
    );
    console.log(`[pulumi e2e] vms, lines per machine in the log store:\n${shippers.join("\n")}`);
    await waitFor("hashes counted", async () => ((await readJson(webui)).hashes > 0 ? true : undefined), 2 * MIN);
    const { rate } = await measureRate(webui, 5_000, 20_000);
    console.log(`[pulumi e2e] vms, 1 worker: ${rate.toFixed(2)} hashes/s`);
    expect(rate).toBeGreaterThan(2.0); // ~3.3 on a quiet machine; the figure is the benchmarks' to measure
    expect(rate).toBeLessThan(3.8);
  }, 30 * MIN);

  it("a host dropped from the middle of vmHosts: exactly that machine leaves the Swarm, the others untouched", async () => {
    const hosts = JSON.parse(vms.vmHosts) as { privateAddress: string }[];
    const dropped = hosts[2].privateAddress; // vm3: named by its address, not its place in the list
    await co.configSet("vmHosts", JSON.stringify(hosts.filter((_, i) => i !== 2)));
    const steps = await co.previewChanges();
    console.log(`[pulumi e2e] vms, vm3 dropped, the preview:\n${changes(steps).join("\n")}`);
    expect(steps.length).toBeGreaterThan(0);
    // The spread step names every machine's identity: it runs again, and moves nothing (no node lacks a task).
    // Each remaining machine's bootstrap runs again too: its firewall no longer lets the dropped one in.
    const others = steps.filter((s) => `${s.op} ${s.name}` !== "update dockercoins-spread" && !/^update swarm-[\d.]+-docker$/.test(`${s.op} ${s.name}`));
    expect(steps.filter((s) => /^swarm-[\d.]+-docker$/.test(s.name) && s.op === "update")).toHaveLength(4);
    for (const s of others) expect(`${s.op} ${s.name}`).toMatch(new RegExp(`^delete (swarm|vms)-${dropped.replace(/\./g, "\\.")}-`));
    const hashes = (await readJson(webui)).hashes;
    await timed("vms: drop a middle host", () => co.up());
    expect(await vms.sh(3, "docker info --format '{{.Swarm.LocalNodeState}}'")).toBe("inactive");
    const nodes = (await vms.sh(1, "docker node ls --format '{{.Hostname}} {{.Status}}'")).split("\n").sort();
    expect(nodes).toEqual(["vm1 Ready", "vm2 Ready", "vm4 Ready", "vm5 Ready"]);
    await waitFor("mining to go on", async () => ((await readJson(webui)).hashes > hashes ? true : undefined), 60_000, 2000);
  }, 10 * MIN);

  const REGENERATE_HOST_KEYS = "rm /etc/ssh/ssh_host_* && ssh-keygen -A >/dev/null && pkill -HUP -x sshd";
  const LEAVE_SWARM =
    "for i in 1 2 3 4; do docker swarm leave --force >/dev/null 2>&1; " +
    "[ \"$(docker info --format '{{.Swarm.LocalNodeState}}')\" = inactive ] && break; [ $i -lt 4 ] || exit 1; sleep 2; done";

  it("a machine reinstalled at the same address (a new machine-id and host key, no Docker state): up --refresh sets it up again and it rejoins", async () => {
    const vm = vms.vm(4);
    const oldId = await vms.sh(1, `docker node ls -q --filter name=${vm.name}`);
    const enginePids = async () => Promise.all([1, 2, 5].map((v) => vms.sh(v, "cat /var/run/docker.pid")));
    const before = await enginePids();
    // What a reinstall leaves of the machine: Docker's package perhaps, none of its configuration nor its
    // Swarm, and new sshd keys.
    // (A busy engine may give up on its leave after 15 s, "context deadline exceeded": it is asked again.)
    await vms.sh(4, `${LEAVE_SWARM} && rm /etc/docker/daemon.json && od -An -N16 -tx1 /dev/urandom | tr -d ' \\n' >/etc/machine-id && ${REGENERATE_HOST_KEYS}`);
    // A preview logs in nowhere, but asks each machine for its host key: vm4's reader must look again.
    expect(changes(await co.previewChanges())).toContain(`update vms-${vm.address}-machine-id`);
    const r = await timed("vms: a reinstalled machine, up --refresh", () => co.up("--refresh --skip-preview"));
    expect(r.stdout).toMatch(/update swarm-[\d.]+-docker|swarm-[\d.]+-docker +updated/);
    expect(await vms.sh(4, "docker info --format '{{.Swarm.LocalNodeState}}'")).toBe("active");
    expect(await vms.sh(4, "cat /etc/docker/daemon.json")).toContain(vms.mirrorUrl);
    const nodes = (await vms.sh(1, "docker node ls --format '{{.Hostname}} {{.ID}} {{.Status}}'")).split("\n").sort();
    console.log(`[pulumi e2e] vms, after vm4's reinstall:\n${nodes.join("\n")}`);
    expect(nodes.map((l) => l.replace(/ \S+ /, " "))).toEqual(["vm1 Ready", "vm2 Ready", "vm4 Ready", "vm5 Ready"]); // the old entry removed
    expect(nodes.find((l) => l.startsWith("vm4 "))).not.toContain(oldId);
    expect(await enginePids()).toEqual(before); // nothing restarted on the other machines
    await co.pulumi("preview --expect-no-changes");
  }, 10 * MIN);

  it("a host key changed behind the program's back (same machine-id): up and up --refresh stop, naming the machine; accepted with --replace", async () => {
    const vm = vms.vm(2);
    await vms.sh(2, REGENERATE_HOST_KEYS);
    const said = `the SSH host key of admin@127.0.0.1:${vm.sshPort} changed`;
    for (const up of ["up --yes", "up --yes --refresh"]) {
      const r = await co.pulumi(up, { allowFailure: true });
      expect(r.code, up).not.toBe(0);
      expect(r.stdout + r.stderr, up).toContain(said);
      expect(r.stdout + r.stderr, up).toContain("its /etc/machine-id did not (it was not reinstalled)");
    }
    const urn = (await co.pulumi("stack --show-urns")).stdout.match(new RegExp(`urn:\\S+::vms-${vm.address.replace(/\./g, "\\.")}-machine-id`))?.[0];
    expect(urn).toBeDefined();
    const accepted = await timed("vms: a changed host key accepted (--replace)", () => co.up(`--replace '${urn}'`));
    // Only vm2's scripts run again (their connection checks the new key); no other machine is touched.
    const others = vms.vms.filter((v) => v.address !== vm.address).map((v) => v.address.replace(/\./g, "\\."));
    expect(accepted.stdout).not.toMatch(new RegExp(`swarm-(${others.join("|")})-\\S+ +updat`));
    expect(await vms.sh(2, "docker info --format '{{.Swarm.LocalNodeState}}'")).toBe("active");
    await co.pulumi("preview --expect-no-changes");
  }, 10 * MIN);

  it("destroy from another checkout on another path: services gone, every node drained and out of the Swarm", async () => {
    // A colleague's clone (or CI) with the same state and the committed stack file, but none of the files
    // `up` wrote here: --run-program writes the configured key again, and the provider's key path in the
    // state is relative, so it resolves there too.
    const elsewhere = new PulumiCheckout(VMS_STACK, co.backend);
    Object.assign(elsewhere.env, co.env);
    try {
      cpSync(join(co.dir, `Pulumi.${VMS_STACK}.yaml`), join(elsewhere.dir, `Pulumi.${VMS_STACK}.yaml`));
      await elsewhere.sh("npm ci --no-audit --no-fund", { timeoutMs: 5 * MIN });
      expect(existsSync(join(elsewhere.dir, ".pulumi-state"))).toBe(false);
      await timed("vms: destroy (another checkout)", () => elsewhere.pulumi("destroy --yes --run-program"));
    } finally {
      await elsewhere.remove();
    }
    // vm3 left earlier, when it was dropped from the list.
    for (const v of [1, 2, 3, 4, 5]) {
      expect(await vms.sh(v, "docker info --format '{{.Swarm.LocalNodeState}}'")).toBe("inactive");
    }
    expect(await vms.sh(1, "docker ps -q | wc -l")).toBe("0");
    await co.pulumi("stack rm --yes");
  }, 10 * MIN);
});

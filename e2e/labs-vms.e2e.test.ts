// scripts/labs.sh for real on the vms target: a pool of 4 plain SSH machines without Docker (e2e/lib/vms.ts)
// split between 2 students x 2 nodes. Each student's Swarm is formed by the program's bootstrap and mines on
// its own; each student logs in with the password on their card (their own login, not the instructor's);
// destroy leaves the machines as they were. Real engine and plugins; skipped, loudly, where they are absent.
import { randomBytes } from "node:crypto";
import { chmodSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { measureRate, readJson } from "../app/bench/mining";
import { engineMissingSaid, PulumiCheckout } from "./lib/pulumi";
import { Phases, run, waitFor } from "./lib/run";
import { VmFixture } from "./lib/vms";

const MIN = 60_000;
const PREFIX = "labvm";
const missing = engineMissingSaid("labs vms e2e");
const phases = new Phases("labs vms e2e");

describe.skipIf(missing !== undefined)("scripts/labs.sh for real: 2 students x 2 machines of a vms pool", () => {
  const vms = new VmFixture({ prefix: "dockercoins-e2e-labvms", subnet: "172.29.215.0/24", count: 4, sshBasePort: 22301, mirrorPushPort: 15502 });
  // Student s has machines 2s-1 and 2s; their first one is their manager, its webui on port 8000.
  const manager = (s: number) => vms.vm(2 * s - 1);
  const webui = (s: number) => `http://${manager(s).address}:8000`;
  let co: PulumiCheckout;
  const labs = (args: string, timeoutMs = 20 * MIN) => co.sh(`scripts/labs.sh ${args} --prefix ${PREFIX}`, { timeoutMs });
  let createOutput = "";
  /** Each student's card, as `labs cards` wrote it: their login line and password. */
  const cards: { login: string; password: string }[] = [];

  /** `ssh user@host COMMAND` with a password and no key, as a student at a terminal (ssh-askpass answers). */
  async function asStudent(login: string, password: string, remote: string) {
    const askpass = join(co.dir, ".askpass");
    writeFileSync(askpass, '#!/bin/sh\nprintf "%s\\n" "$LAB_PASSWORD"\n');
    chmodSync(askpass, 0o700);
    const [, user, host] = /^ssh (?:-p \d+ )?(\S+)@(\S+)$/.exec(login) ?? [];
    return run("ssh", [
      "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
      "-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password,keyboard-interactive", "-o", "NumberOfPasswordPrompts=1",
      `${user}@${host}`, remote,
    ], { env: { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: "force", DISPLAY: ":0", LAB_PASSWORD: password }, allowFailure: true, timeoutMs: MIN });
  }

  beforeAll(async () => {
    await phases.time("four Debian machines without Docker, a Docker Hub mirror", () => vms.up());
    co = new PulumiCheckout(`${PREFIX}-01`);
    // A class on machines outside this one keeps keys: a passphrase of the instructor's own.
    writeFileSync(join(co.dir, ".passphrase"), `e2e-${randomBytes(12).toString("hex")}\n`, { mode: 0o600 });
    co.env.PULUMI_CONFIG_PASSPHRASE_FILE = join(co.dir, ".passphrase");
    // The pool as an instructor writes it: one machine a line, reached at its own address.
    writeFileSync(join(co.dir, "pool.txt"), `# the room's machines\n${vms.vms.map((v) => `admin@${v.address}`).join("\n")}\n`);
    writeFileSync(join(co.dir, "class.env"), `endpointMode=dnsrr\nregistryMirror=${vms.mirrorUrl}\n`);
  }, 15 * MIN);

  afterAll(async () => {
    if (co && (await vms.sh(1, "docker info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null || true").catch(() => "")) === "active") {
      await labs("destroy", 10 * MIN).catch(() => undefined);
    }
    await co?.remove();
    const left = await vms.down();
    vms.removeKey();
    if (left.length) console.error(`[labs vms e2e] teardown left: ${left.join(", ")}`);
    console.log(`[labs vms e2e] wall time per step\n${phases.table()}`);
  }, 15 * MIN);

  it("create: each student's two machines get Docker and a Swarm of their own, and mine on their own", async () => {
    const r = await phases.time("create (2 students in parallel)", () =>
      labs(`create --target vms --students 2 --nodes 2 --pool pool.txt --key ${vms.keyDir}/id --settings class.env`, 25 * MIN),
    );
    createOutput = r.stdout + r.stderr;
    console.log(`[labs vms e2e] create:\n${r.stdout}`);
    expect(r.stdout).toMatch(/labvm-01 +up +\d+ s +ok/);
    expect(r.stdout).toMatch(/labvm-02 +up +\d+ s +ok/);
    // Two Swarms, each of its student's two machines.
    const clusters = [await vms.sh(1, "docker info --format '{{.Swarm.Cluster.ID}}'"), await vms.sh(3, "docker info --format '{{.Swarm.Cluster.ID}}'")];
    expect(clusters[0]).not.toBe(clusters[1]);
    expect((await vms.sh(1, "docker node ls --format '{{.Hostname}}'")).split("\n").sort()).toEqual(["vm1", "vm2"]);
    expect((await vms.sh(3, "docker node ls --format '{{.Hostname}}'")).split("\n").sort()).toEqual(["vm3", "vm4"]);
    for (const s of [1, 2]) {
      await waitFor(`student ${s} hashes counted`, async () => ((await readJson(webui(s)).catch(() => ({ hashes: 0 }))).hashes > 0 ? true : undefined), 3 * MIN, 2000);
    }
    const rates = [(await measureRate(webui(1), 3_000, 10_000)).rate, (await measureRate(webui(2), 3_000, 10_000)).rate];
    console.log(`[labs vms e2e] hashes/s per student: ${rates.map((x) => x.toFixed(2)).join(", ")}`);
    for (const x of rates) expect(x).toBeGreaterThan(1.5);
    const status = await labs("status", 2 * MIN);
    expect(status.stdout).toMatch(new RegExp(`labvm-01 +${webui(1).replace(/\./g, "\\.")} +${manager(1).address.replace(/\./g, "\\.")} +mining`));
    expect(status.stdout).toMatch(new RegExp(`labvm-02 +${webui(2).replace(/\./g, "\\.")} +${manager(2).address.replace(/\./g, "\\.")} +mining`));
  }, 30 * MIN);

  it("each student logs in with the password on their card and runs Docker on their Swarm; not on another's; no password anywhere else", async () => {
    await labs("cards", 2 * MIN);
    const html = readFileSync(join(co.dir, "reports/labs", `${PREFIX}-cards.html`), "utf8");
    for (const s of [1, 2]) {
      const card = html.split('<section class="card"').find((c) => c.includes(`data-stack="${PREFIX}-0${s}"`)) ?? "";
      const value = (label: string) => new RegExp(`<th>${label}</th><td><code>([^<]*)</code>`).exec(card)?.[1] ?? "";
      cards.push({ login: value("log in"), password: value("password") });
    }
    expect(cards.map((c) => c.login)).toEqual([`ssh student@${manager(1).address}`, `ssh student@${manager(2).address}`]);
    for (const c of cards) expect(c.password).toMatch(/^[a-km-np-z2-9]{4}(-[a-km-np-z2-9]{4}){3}$/);
    expect(cards[0].password).not.toBe(cards[1].password);

    for (const [i, c] of cards.entries()) {
      const r = await asStudent(c.login, c.password, "id -un; docker node ls --format '{{.Hostname}}'");
      expect(r.code, r.stderr).toBe(0);
      const [who, ...nodes] = r.stdout.trim().split("\n");
      expect(who).toBe("student");
      expect(nodes.sort()).toEqual([`vm${2 * i + 1}`, `vm${2 * i + 2}`]);
    }
    // Student 1's password does not open student 2's machines.
    expect((await asStudent(cards[1].login, cards[0].password, "true")).code).not.toBe(0);
    // The instructor's key still opens them, as admin.
    const admin = await run("ssh", ["-i", `${vms.keyDir}/id`, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", `admin@${manager(2).address}`, "id -un"]);
    expect(admin.stdout.trim()).toBe("admin");
    // The passwords are on the cards only: not on the terminal, in the logs, or in the stack files in clear.
    const logs = join(co.dir, "reports/labs/logs");
    const elsewhere = [createOutput, ...readdirSync(logs).map((f) => readFileSync(join(logs, f), "utf8")), ...[1, 2].map((s) => readFileSync(join(co.dir, `Pulumi.${PREFIX}-0${s}.yaml`), "utf8"))];
    for (const c of cards) for (const text of elsewhere) expect(text).not.toContain(c.password);
  }, 5 * MIN);

  it("destroy: the Swarms and the students' logins gone, sshd as it was; nothing of the class left", async () => {
    const sshdBefore = await vms.sh(4, "grep -c 'dockercoins login' /etc/ssh/sshd_config || true");
    expect(sshdBefore).toBe("2");
    await phases.time("destroy", () => labs("destroy", 10 * MIN));
    for (const v of [1, 2, 3, 4]) {
      expect(await vms.sh(v, "docker info --format '{{.Swarm.LocalNodeState}}'"), `vm${v}`).toBe("inactive");
      expect(await vms.sh(v, "id student 2>&1 || true"), `vm${v}`).toMatch(/no such user/);
      expect(await vms.sh(v, "grep -c 'dockercoins login' /etc/ssh/sshd_config || true"), `vm${v}`).toBe("0");
    }
    expect((await asStudent(cards[0].login, cards[0].password, "true")).code).not.toBe(0);
    expect((await co.sh("pulumi stack ls --json")).stdout).not.toContain(`${PREFIX}-0`);
  }, 15 * MIN);
});

// scripts/labs.sh for real: a class of 2 students x 3 nodes on the local target (real engine and plugins),
// each student's Swarm mining on its own; one student's up killed midway and finished by `create` again, the
// others left alone; cards read in Chromium; one student destroyed, then the class.
import { spawn } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { measureRate, readJson } from "../app/bench/mining";
import { engineMissingSaid, forceRemove, leftovers, PulumiCheckout } from "./lib/pulumi";
import { withPage } from "./lib/page";
import { Phases, sleep, waitFor } from "./lib/run";

const PREFIX = "dockercoins-lab-";
const MIN = 60_000;
const webui = (student: number) => `http://127.0.0.1:${8100 + student}`;
const missing = engineMissingSaid("labs e2e");
const phases = new Phases("labs e2e");

describe.skipIf(missing !== undefined)("scripts/labs.sh for real: 2 students x 3 nodes on the local target", () => {
  let co: PulumiCheckout;
  const labs = (args: string, timeoutMs = 20 * MIN) => co.sh(`scripts/labs.sh ${args}`, { timeoutMs });
  const mining = async (student: number) => (await measureRate(webui(student), 3_000, 10_000)).rate;

  beforeAll(async () => {
    const running = await leftovers(PREFIX);
    if (running.length) throw new Error(`a lab is already here (${running.join(", ")}): destroy it first (scripts/labs.sh destroy)`);
    co = new PulumiCheckout("lab-01");
  });

  afterAll(async () => {
    if (co && (await leftovers(PREFIX)).length) {
      await labs("destroy", 10 * MIN).catch(() => undefined);
      await forceRemove(PREFIX);
    }
    await co?.remove();
    console.log(`[labs e2e] wall time per step\n${phases.table()}`);
  }, 15 * MIN);

  it("create, one student at a time, killed while the second is going up; create again finishes only that one", async () => {
    const logs = join(co.dir, "reports/labs/logs");
    const killed = spawn("bash", ["-c", "source scripts/pulumi-env.sh 2>/dev/null && exec scripts/labs.sh create --students 2 --nodes 3 --parallel 1"], {
      cwd: co.dir,
      stdio: "ignore",
      detached: true, // its own process group: the kill takes the engine and its plugins with it, as a closed terminal would
    });
    await phases.time("create until the second student's up is under way", () =>
      waitFor("lab-02 creating resources", async () => {
        const log = join(logs, "lab-02.log");
        return existsSync(log) && /creating/.test(readFileSync(log, "utf8")) ? true : undefined;
      }, 15 * MIN, 1000),
    );
    await sleep(15_000);
    process.kill(-killed.pid!, "SIGKILL");
    await new Promise((r) => killed.once("exit", r));

    const again = await phases.time("create again", () => labs("create --students 2 --nodes 3 --parallel 2"));
    console.log(`[labs e2e] create again:\n${again.stdout}`);
    expect(again.stdout).toMatch(/lab-01 +up +\d+ s +already up/);
    expect(again.stdout).toMatch(/lab-02 +up +\d+ s +ok \(an interrupted up finished\)/);
    expect(readFileSync(join(logs, "lab-01.log"), "utf8").match(/^Updating \(lab-01\)/gm)).toHaveLength(1); // not run again
  }, 40 * MIN);

  it("each student's Swarm mines on its own: its webui on its own port, status says so", async () => {
    for (const s of [1, 2]) {
      await waitFor(`student ${s} hashes counted`, async () => ((await readJson(webui(s)).catch(() => ({ hashes: 0 }))).hashes > 0 ? true : undefined), 3 * MIN, 2000);
    }
    const rates = [await mining(1), await mining(2)];
    console.log(`[labs e2e] hashes/s per student: ${rates.map((r) => r.toFixed(2)).join(", ")}`);
    for (const r of rates) expect(r).toBeGreaterThan(1.5);
    const status = await labs("status", 2 * MIN);
    expect(status.stdout).toMatch(/lab-01 +http:\/\/127\.0\.0\.1:8101 +10\.214\.1\.11 +mining/);
    expect(status.stdout).toMatch(/lab-02 +http:\/\/127\.0\.0\.1:8102 +10\.214\.2\.11 +mining/);
  }, 10 * MIN);

  it("cards: one per student in Chromium, with that student's addresses and login; a PDF beside them", async () => {
    const out = join(co.dir, "reports/labs");
    await labs("cards", 2 * MIN);
    const html = join(out, "lab-cards.html");
    expect(statSync(html).mode & 0o077).toBe(0);
    expect(statSync(join(out, "lab-cards.pdf")).size).toBeGreaterThan(5_000);
    const cards = await withPage(`file://${html}`, (page) =>
      page.$$eval(".card", (els) => els.map((e) => ({ stack: e.getAttribute("data-stack"), text: (e as HTMLElement).innerText }))),
    );
    expect(cards.map((c) => c.stack)).toEqual(["lab-01", "lab-02"]);
    for (const [i, c] of cards.entries()) {
      const n = i + 1;
      expect(c.text).toContain(webui(n));
      expect(c.text).toContain(`10.214.${n}.11`);
      expect(c.text).toMatch(new RegExp(`ssh .*-p ${23000 + 10 * n}\\b`));
    }
  }, 5 * MIN);

  it("destroy --student 2 leaves student 1 mining; destroy leaves nothing", async () => {
    await phases.time("destroy --student 2", () => labs("destroy --student 2", 10 * MIN));
    expect((await leftovers(`${PREFIX}02`)).length).toBe(0);
    expect(await mining(1)).toBeGreaterThan(1.5);
    await phases.time("destroy", () => labs("destroy", 10 * MIN));
    expect(await leftovers(PREFIX)).toEqual([]);
    expect((await co.sh("pulumi stack ls --json")).stdout).not.toContain("lab-0");
    for (const s of ["lab-01", "lab-02"]) {
      expect(existsSync(join(co.dir, `Pulumi.${s}.yaml`)), s).toBe(false);
      expect(existsSync(join(co.dir, ".pulumi-state/dockercoins", s)), s).toBe(false);
    }
    expect((await labs("destroy", MIN)).stdout).toContain("nothing to destroy");
  }, 20 * MIN);
});

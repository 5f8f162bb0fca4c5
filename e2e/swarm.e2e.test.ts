import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashRate, longestStall, measureRate, readJson, sampleFor, type Sample } from "../app/bench/mining";
import { ROOT, SwarmPlayground } from "./lib/playground";
import {
  bootstrapDockerScript,
  checkJoinToken,
  drainAndRemoveNodeScript,
  joinTokenScript,
  leaveSwarmScript,
  swarmInitScript,
  swarmJoinScript,
} from "../infra/swarm/scripts";
import { docker, waitFor } from "./lib/run";
import { keepScreenshot, openPage, waitForTable, type ShownService } from "./lib/page";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { runNetworkLab } from "../infra/netlab/lab";
import { writeLabReport } from "../infra/netlab/report";

// DockerCoins on a real 5-node Swarm on this machine, built from the same node image, bootstrap scripts
// and service specs as the Pulumi program's `local` target (see lib/playground.ts), checked against the
// workshop's numbers. Long: ~15 minutes cold. Env: E2E_MANAGERS=3 for three managers, E2E_KEEP=1 to leave
// the cluster up after the run (teardown with the same command and E2E_KEEP unset).

const managers = Number(process.env.E2E_MANAGERS ?? 1);
if (![1, 3].includes(managers)) throw new Error(`E2E_MANAGERS must be 1 or 3, got ${process.env.E2E_MANAGERS}`);

const pg = new SwarmPlayground({
  prefix: "dockercoins-e2e",
  nodeCount: 5,
  managerCount: managers as 1 | 3,
  subnet: "172.28.213.0/24",
  webuiPort: 8000,
});

const WARMUP_MS = 10_000;
/** hashes/s with 10 workers and one rng, the base rng global is compared with. */
let oneRngRate = 10;
const WINDOW_MS = 24_000;
const MIN = 60_000;

describe("DockerCoins on a 5-node Swarm (playground)", () => {
  beforeAll(async () => {
    await pg.up();
    await pg.phases.time("deploy DockerCoins (1 worker)", () => pg.deploy(pg.servicesOptions()));
  }, 30 * MIN);

  afterAll(async () => {
    if (process.env.E2E_KEEP === "1") {
      console.log(`[e2e] E2E_KEEP=1: leaving the cluster up; webui on ${pg.webuiUrl}`);
    } else {
      await pg.phases.time("teardown", async () => {
        const left = await pg.down();
        if (left.length) console.error(`[e2e] teardown left: ${left.join(", ")}`);
      });
    }
    console.log(`[e2e] phase timings\n${pg.phases.table()}`);
  }, 5 * MIN);

  it("all nodes Ready, the right managers, tasks on several nodes, webui reachable from the host", async () => {
    const nodes = (await pg.managerSh("docker node ls --format '{{.Hostname}} {{.Status}} {{.Availability}} {{.ManagerStatus}}'"))
      .trim().split("\n").map((l) => l.split(" "));
    expect(nodes.map((n) => n[0]).sort()).toEqual(["node1", "node2", "node3", "node4", "node5"]);
    expect(nodes.every((n) => n[1] === "Ready" && n[2] === "Active")).toBe(true);
    expect(nodes.filter((n) => n[3] === "Leader" || n[3] === "Reachable")).toHaveLength(managers);

    // redis and webui sit on the labelled node; the global debug service on every node.
    expect(await pg.tasksByNode("redis")).toEqual({ node1: 1 });
    expect(await pg.tasksByNode("webui")).toEqual({ node1: 1 });
    expect(Object.keys(await pg.tasksByNode("debug")).sort()).toEqual(["node1", "node2", "node3", "node4", "node5"]);
    const used = new Set<string>();
    for (const svc of ["redis", "rng", "hasher", "worker", "webui"]) Object.keys(await pg.tasksByNode(svc)).forEach((n) => used.add(n));
    expect(used.size).toBeGreaterThanOrEqual(2);

    // Pinned by digest from the swarm's own registry.
    const image = (await pg.managerSh(`docker service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Image}}' dockercoins_hasher`)).trim();
    expect(image).toMatch(new RegExp(`^${pg.manager.address.replace(/\./g, "\\.")}:5000/dockercoins/hasher@sha256:[0-9a-f]{64}$`));

    const page = await fetch(`${pg.webuiUrl}/`, { redirect: "follow" });
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<html/i);
    const json = await readJson(pg.webuiUrl);
    expect(json.now).toBeGreaterThan(1.7e9);
  }, 2 * MIN);

  it("the bootstrap scripts re-run cleanly on the live cluster: no engine restart, no swarm change", async () => {
    const node = pg.nodes[pg.nodes.length - 1];
    const pid = async () => (await pg.sh(node, "cat /var/run/docker.pid")).stdout.trim();
    const before = await pid();
    const out = await pg.script(node, bootstrapDockerScript({ insecureRegistries: [`${pg.manager.address}:5000`] }));
    expect(out.stderr).not.toMatch(/restarting/);
    expect(await pid()).toBe(before);
    expect((await pg.script(pg.manager, swarmInitScript({ advertiseAddr: pg.manager.address }))).stderr).toMatch(/already a swarm manager/);
    const token = (await pg.script(pg.manager, joinTokenScript("worker"))).stdout.trim();
    const join = await pg.script(node, swarmJoinScript({ managerAddr: pg.manager.address, advertiseAddr: node.address }), { input: checkJoinToken(token) });
    expect(join.stderr).toMatch(/already in the swarm/);
    expect((await pg.managerSh("docker node ls -q")).trim().split("\n")).toHaveLength(5);
  }, 2 * MIN);

  it("1 worker mines 3.0-3.7 hashes/s", async () => {
    const { rate } = await measureRate(pg.webuiUrl, WARMUP_MS, WINDOW_MS);
    console.log(`[e2e] 1 worker: ${rate.toFixed(2)} hashes/s`);
    expect(rate).toBeGreaterThanOrEqual(3.0);
    expect(rate).toBeLessThanOrEqual(3.7);
  }, 2 * MIN);

  it("10 workers with 1 rng: at most 10.5 hashes/s (rng is the bottleneck)", async () => {
    await pg.phases.time("scale to 10 workers", () => pg.deploy(pg.servicesOptions({ replicas: { worker: 10 } })));
    expect(Object.keys(await pg.tasksByNode("worker")).length).toBeGreaterThanOrEqual(3);
    const { rate } = await measureRate(pg.webuiUrl, WARMUP_MS, WINDOW_MS);
    console.log(`[e2e] 10 workers, 1 rng: ${rate.toFixed(2)} hashes/s`);
    oneRngRate = rate;
    expect(rate).toBeLessThanOrEqual(10.5);
    expect(rate).toBeGreaterThan(5); // still mining, just capped
  }, 6 * MIN);

  it("the page (real Chromium) marks rng as the bottleneck: one replica, requests in line, ~700 ms", async () => {
    const { browser, page } = await openPage(pg.webuiUrl);
    try {
      const shown = await waitForTable(page, (services) => {
        const rng = services.find((s) => s.service === "rng");
        const r = rng?.replicas[0];
        if (!rng || rng.replicas.length !== 1 || !r) return "rng is not listed with one replica";
        if (!rng.saturated) return "rng is not marked";
        if (!(r.queue! > 0) || !(r.latencyMs! > 400)) return "rng shows no line or no wait yet";
        return undefined;
      }, 60_000);
      const [rng, hasher] = ["rng", "hasher"].map((n) => shown.find((s) => s.service === n)!);
      console.log(`[e2e] page, 10 workers, 1 rng: rng ${rng.replicas[0].latencyMs} ms, ${rng.replicas[0].queue} in line on ${rng.replicas[0].node}: "${rng.verdict}"; hasher "${hasher.verdict}"`);
      expect(rng.replicas[0].latencyMs).toBeLessThan(2000);
      expect(rng.replicas[0].node).toMatch(/^node[1-5]$/);
      expect(hasher.saturated).toBe(false);
      expect(hasher.replicas.length).toBeGreaterThanOrEqual(1);
      console.log(`[e2e] screenshot: ${await keepScreenshot(page, "swarm-bottleneck-1-rng.png")}`);
    } finally {
      await browser.close();
    }
  }, 2 * MIN);

  it("10 workers with rng global on 5 nodes: at least 2.2 times the one-rng figure (the workshop: ~30 vs ~10)", async () => {
    await pg.phases.time("rng global", () => pg.deploy(pg.servicesOptions({ replicas: { worker: 10 }, rngMode: "global" })));
    expect(Object.keys(await pg.tasksByNode("rng")).sort()).toEqual(["node1", "node2", "node3", "node4", "node5"]);
    const { rate } = await measureRate(pg.webuiUrl, WARMUP_MS, WINDOW_MS);
    // rng logs one line per request: how the workers spread their requests over the five rng tasks.
    const spread = await rngRequestsByNode(10);
    console.log(`[e2e] 10 workers, rng global: ${rate.toFixed(2)} hashes/s; rng requests in the last 10 s by node: ${JSON.stringify(spread)}`);
    // The workshop's arithmetic says 3.3 times one rng's figure; measured side by side here, about 2.6.
    expect(rate, `rng requests by node ${JSON.stringify(spread)}: workers must spread over every rng task`).toBeGreaterThanOrEqual(2.2 * oneRngRate);
  }, 6 * MIN);

  it("the page with rng global: every rng replica listed with its node, the mark gone", async () => {
    const { browser, page } = await openPage(pg.webuiUrl);
    const nodes = (rng: ShownService) => rng.replicas.map((r) => r.node).sort();
    try {
      const shown = await waitForTable(page, (services) => {
        const rng = services.find((s) => s.service === "rng");
        if (!rng || nodes(rng).join() !== "node1,node2,node3,node4,node5") return "rng is not listed on the five nodes";
        if (rng.saturated) return "rng is still marked";
        if (rng.replicas.some((r) => r.latencyMs === null)) return "some rng replica has no latency yet";
        return undefined;
      }, 60_000);
      const rng = shown.find((s) => s.service === "rng")!;
      console.log(`[e2e] page, rng global: ${rng.replicas.map((r) => `${r.node} ${r.latencyMs} ms`).join(", ")}: "${rng.verdict}"`);
      expect(shown.some((s) => s.saturated)).toBe(false);
      console.log(`[e2e] screenshot: ${await keepScreenshot(page, "swarm-bottleneck-rng-global.png")}`);
    } finally {
      await browser.close();
    }
  }, 2 * MIN);

  it("a rolling update of hasher while mining: completes, no stall over a few seconds, no counted hash lost", async () => {
    let updating = true;
    const sampling = sampleFor(pg.webuiUrl, 5 * MIN, 500, () => !updating);
    const update = pg.phases.time("rolling update of hasher", async () => {
      try {
        await pg.managerSh("docker service update --detach --force dockercoins_hasher");
        await waitFor("hasher update to complete", async () => {
          const state = (await pg.managerSh("docker service inspect -f '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}' dockercoins_hasher")).trim();
          if (state.startsWith("rollback") || state === "paused") throw new Error(`update ended in ${state}`);
          return state === "completed" ? state : undefined;
        }, 4 * MIN, 1000);
        await new Promise((r) => setTimeout(r, 5000)); // a little mining after the last task moved
      } finally {
        updating = false;
      }
    });
    const [{ samples, failures }] = await Promise.all([sampling, update]);
    const stall = longestStall(samples);
    const span = samples[samples.length - 1].now - samples[0].now;
    console.log(`[e2e] hasher update: ${span.toFixed(0)} s, ${samples.length} samples, ${failures} failed reads, longest stall ${stall.toFixed(1)} s, ${hashRate(samples).toFixed(1)} hashes/s`);
    expect(span).toBeGreaterThan(10); // the update really rolled task by task
    expect(stall).toBeLessThanOrEqual(5);
    expect(failures).toBe(0);

    // Every hash a worker counted and says it reported is in redis: redis before <= sum <= redis after.
    const before = (await readJson(pg.webuiUrl)).hashes;
    const reported = await workersReported();
    const after = (await readJson(pg.webuiUrl)).hashes;
    console.log(`[e2e] redis ${before}..${after}, workers say reported ${reported.sum} (${reported.workers} workers)`);
    expect(reported.workers).toBe(10);
    expect(reported.sum).toBeGreaterThanOrEqual(before);
    expect(reported.sum).toBeLessThanOrEqual(after);
    expect(after - reported.sum).toBeLessThan(60); // and nothing double-counted beyond reports in flight
  }, 8 * MIN);

  it("restarting redis keeps the wallet", async () => {
    // Stop mining (workers flush on SIGTERM) so the wallet holds still, then restart redis.
    await pg.phases.time("scale workers to 0", () => pg.deploy(pg.servicesOptions({ replicas: { worker: 0 }, rngMode: "global" })));
    const before = await waitStill();
    expect(before.coins).toBeGreaterThan(0);
    await pg.phases.time("restart redis", async () => {
      const oldTask = (await pg.managerSh("docker ps -q --filter label=com.docker.swarm.service.name=dockercoins_redis")).trim();
      await pg.managerSh("docker service update --force dockercoins_redis", { timeoutMs: 180_000 });
      await pg.waitConverged();
      const newTask = (await pg.managerSh("docker ps -q --filter label=com.docker.swarm.service.name=dockercoins_redis")).trim();
      expect(newTask).not.toBe(oldTask);
    });
    const after = await waitFor("webui to read redis again", () => readJson(pg.webuiUrl), 60_000);
    console.log(`[e2e] redis restart: coins ${before.coins} -> ${after.coins}, hashes ${before.hashes} -> ${after.hashes}`);
    expect(after.coins).toBe(before.coins);
    expect(after.hashes).toBe(before.hashes);
    await pg.phases.time("back to 10 workers", () => pg.deploy(pg.servicesOptions({ replicas: { worker: 10 }, rngMode: "global" })));
  }, 8 * MIN);

  it("stopping a worker node: its tasks are rescheduled and mining resumes within 60 s", async () => {
    const workers = await pg.tasksByNode("worker");
    // The busiest node that is neither a manager nor the redis/webui node.
    const victim = pg.nodes
      .slice(managers)
      .map((n) => ({ n, tasks: workers[n.name] ?? 0 }))
      .sort((a, b) => b.tasks - a.tasks)[0].n;
    console.log(`[e2e] stopping ${victim.name} (${workers[victim.name] ?? 0} worker tasks)`);
    await pg.phases.time(`stop ${victim.name} and recover`, async () => {
      const t0 = Date.now();
      await docker(["stop", "-t", "2", victim.container]);
      await waitFor("10 running workers, none on the stopped node", async () => {
        const now = await pg.tasksByNode("worker");
        const total = Object.values(now).reduce((s, n) => s + n, 0);
        return total === 10 && !now[victim.name] ? true : undefined;
      }, 60_000, 2000);
      const s1 = await readJson(pg.webuiUrl);
      const moving = await waitFor("mining to resume", async () => {
        await new Promise((r) => setTimeout(r, 2000));
        const s2 = await readJson(pg.webuiUrl);
        return s2.hashes > s1.hashes ? s2 : undefined;
      }, Math.max(5_000, 60_000 - (Date.now() - t0)), 0);
      const seconds = (Date.now() - t0) / 1000;
      console.log(`[e2e] ${victim.name} stopped: rescheduled and mining again after ${seconds.toFixed(1)} s (hashes ${moving.hashes})`);
      expect(seconds).toBeLessThanOrEqual(60);
    });
    const status = (await pg.managerSh(`docker node inspect -f '{{.Status.State}}' ${victim.name}`)).trim();
    expect(status).toBe("down");
  }, 4 * MIN);

  it("the network lab, short: every case measured or explained; the container IP beats the node's IP:port detour", async () => {
    const lab = await pg.phases.time("network lab (2 s per case)", () =>
      runNetworkLab({ access: pg.labAccess(), target: "local", seconds: 2, log: (line) => console.log(line) }),
    );
    const { markdown, chart } = writeLabReport(lab, join(ROOT, "test-artifacts"));
    console.log(`[e2e] network lab: ${markdown}, ${chart}\n${readFileSync(markdown, "utf8")}`);
    const gbps = (id: number) => lab.results.find((r) => r.id === id)!.gbps;
    expect(lab.results.map((r) => r.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // The paths every Swarm has work: a figure each.
    for (const id of [1, 2, 3, 4, 5, 6, 7]) expect(gbps(id), `case ${id}`).toBeGreaterThan(0.05);
    // The seed's lesson, wherever it runs: containers on one node talk faster on the container IP than
    // through the node's IP and published port.
    expect(gbps(6)!).toBeGreaterThan(gbps(5)!);
    // The rest is measured or says why not (this kernel has no IPVS: the routing mesh cannot work here).
    for (const r of lab.results) expect(r.gbps !== null || /\w/.test(r.unavailable ?? "")).toBe(true);
    const mesh = lab.results.find((r) => r.id === 9)!;
    if (mesh.gbps === null) expect(mesh.unavailable).toMatch(/IPVS/);
    // Nothing of the lab is left on the nodes.
    for (const n of pg.nodes.filter((node) => [lab.nodeA, lab.nodeB].includes(node.name))) {
      expect((await pg.sh(n, "docker ps -aq --filter label=dockercoins.netlab=1; docker images -q dockercoins-netlab")).stdout.trim()).toBe("");
    }
    expect((await pg.managerSh("docker service ls -q --filter name=netlab; docker network ls -q --filter name=netlab")).trim()).toBe("");
  }, 10 * MIN);

  it("destroy-time scripts: a live worker node is drained and removed, then leaves; both re-run cleanly", async () => {
    const live = (await pg.managerSh("docker node ls --format '{{.Hostname}} {{.Status}} {{.ManagerStatus}}'"))
      .trim().split("\n").map((l) => l.split(" ")).filter(([, status, role]) => status === "Ready" && !role).map(([name]) => name);
    const node = pg.nodes.find((n) => n.name === live[live.length - 1])!;
    const total = (w: Record<string, number>) => Object.values(w).reduce((s, n) => s + n, 0);
    const workers = total(await pg.tasksByNode("worker"));
    await pg.phases.time(`drain, remove and leave ${node.name}`, async () => {
      for (let i = 0; i < 2; i++) {
        await pg.script(pg.manager, drainAndRemoveNodeScript({ nodeAddress: node.address }));
        await pg.script(node, leaveSwarmScript());
      }
    });
    const names = (await pg.managerSh("docker node ls --format '{{.Hostname}}'")).trim().split("\n");
    expect(names).not.toContain(node.name);
    expect((await pg.sh(node, "docker info --format '{{.Swarm.LocalNodeState}}'")).stdout.trim()).toBe("inactive");
    // Its workers now run elsewhere: as many as before, none on it.
    await waitFor(`${workers} workers elsewhere`, async () => {
      const w = await pg.tasksByNode("worker");
      return total(w) === workers && !w[node.name] ? true : undefined;
    }, 60_000, 2000);
  }, 4 * MIN);

  it("teardown leaves no containers, networks or volumes of ours", async () => {
    if (process.env.E2E_KEEP === "1") return;
    const left = await pg.phases.time("teardown", () => pg.down());
    expect(left).toEqual([]);
  }, 5 * MIN);
});

/** Sum over live worker tasks of the units each says it has reported to redis, read inside the overlay. */
async function workersReported(): Promise<{ sum: number; workers: number }> {
  const out = await pg.inOverlay(
    "for ip in $(dig +short tasks.dockercoins_worker); do curl -s --max-time 3 http://$ip/; echo; done",
  );
  const rows = out.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as { unitsDone: number; unreported: number });
  return { sum: rows.reduce((s, r) => s + r.unitsDone - r.unreported, 0), workers: rows.length };
}

/** Waits until the counters stop moving (no worker left), returns that state. */
async function waitStill(): Promise<Sample> {
  let prev = await readJson(pg.webuiUrl);
  return waitFor("hashes to stop moving", async () => {
    await new Promise((r) => setTimeout(r, 3000));
    const cur = await readJson(pg.webuiUrl);
    const still = cur.hashes === prev.hashes && cur.coins === prev.coins;
    prev = cur;
    return still ? cur : undefined;
  }, 60_000, 0);
}

/** Access-log lines of rng over the last `seconds`, counted by the node of the task that wrote them. */
async function rngRequestsByNode(seconds: number): Promise<Record<string, number>> {
  const out = await pg.managerSh(`docker service logs --since ${seconds}s dockercoins_rng 2>&1 | sed -n 's/^[^@]*@\\(node[0-9]*\\).*/\\1/p' | sort | uniq -c`);
  const counts: Record<string, number> = {};
  for (const line of out.trim().split("\n").filter(Boolean)) {
    const [n, node] = line.trim().split(/\s+/);
    counts[node] = Number(n);
  }
  return counts;
}

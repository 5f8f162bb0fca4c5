// The product's main job, for real: `pulumi up` of the `dev` playground stack with the real Pulumi engine and
// the real command and docker provider plugins, then the workshop driven with the README's commands
// (config set + up), a no-change up, refresh without drift, destroy and stack rm. No provider is mocked.
// Runs wherever scripts/pulumi-engine.sh finds an engine with the plugins; elsewhere it is skipped, loudly.
import { spawn } from "node:child_process";
import { appendFileSync, cpSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashRate, longestStall, measureRate, readJson, sampleFor, type Sample } from "../app/bench/mining";
import type { WalkResult } from "../infra/automation/walk";
import { engineMissingSaid, forceRemove, leftovers, PulumiCheckout, ROOT, type PreviewStep } from "./lib/pulumi";
import { logsQuery as queryLogs } from "./lib/logs";
import { docker, Phases, run, waitFor } from "./lib/run";
import { keepScreenshot, waitForTable, withPage, type ShownService } from "./lib/page";
import { checkJoinToken } from "../infra/swarm/scripts";
import { NETWORK_NAME } from "../infra/swarm/dockercoins";
import { parseNodes, parseSshCommand, runNetworkLab } from "../infra/netlab/lab";
import { writeLabReport } from "../infra/netlab/report";

const STACK = "dev";
const PREFIX = `dockercoins-${STACK}`;
const MANAGER = `${PREFIX}-node1`;
/** The playground's webui (its port moves to 8088 when the webuiPort test re-creates node1). */
let WEBUI = "http://127.0.0.1:8000";
const LOGS = "http://127.0.0.1:9428";
const MIN = 60_000;

const missing = engineMissingSaid("pulumi e2e");

const phases = new Phases("pulumi e2e");
/** Figures for the README: seconds per step. */
const figures: Record<string, number> = {};
async function timed<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  try {
    return await phases.time(name, fn);
  } finally {
    figures[name] = (Date.now() - t0) / 1000;
  }
}

/** `docker ...` on the Swarm's manager node. */
const onManager = async (command: string) => (await docker(["exec", MANAGER, "sh", "-c", command])).stdout.trim();
const replicasOf = (svc: string) => onManager(`docker service ls --filter name=${svc} --format '{{.Name}} {{.Replicas}}'`);
/** A LogsQL query to the playground's log store. */
const logsQuery = (query: string) => queryLogs(LOGS, query);
const changes = (steps: PreviewStep[]) => steps.map((s) => `${s.op} ${s.name}`).sort();
/** A shell command inside playground node N (1-5), as root: what the program's SSH commands reach. */
const onNode = async (n: number, command: string, input?: string) =>
  docker(["exec", "-i", `${PREFIX}-node${n}`, "sh", "-c", command], { input, timeoutMs: 5 * MIN });
/** Node name -> running task count of a service. */
async function tasksByNode(service: string): Promise<Record<string, number>> {
  const out = await onManager(`docker service ps ${service} --filter desired-state=running --format '{{.Node}} {{.CurrentState}}'`);
  const byNode: Record<string, number> = {};
  for (const [node, state] of out.split("\n").filter(Boolean).map((l) => l.split(" "))) {
    if (state === "Running") byNode[node] = (byNode[node] ?? 0) + 1;
  }
  return byNode;
}
/** The whole output of a scripts/up.sh run: the log file it names (it shows only its phases and summary). */
const upLog = (r: { stdout: string }) => readFileSync(/the whole output goes to (\S+)/.exec(r.stdout)?.[1] ?? "no log named", "utf8");
const total = (byNode: Record<string, number>) => Object.values(byNode).reduce((sum, n) => sum + n, 0);

describe.skipIf(missing !== undefined)("pulumi up for real: the dev playground stack (real engine and plugins)", () => {
  let co: PulumiCheckout;
  let globalRate = 0;
  let oneRngRate = 10;
  /** The remote commands' scripts exactly as the program rendered them, read back from the stack's state. */
  async function programScripts(which: "create" | "delete"): Promise<(resource: string) => string> {
    type State = { deployment: { resources: { urn: string; inputs?: Record<string, unknown> }[] } };
    const state = JSON.parse((await co.pulumi("stack export")).stdout) as State;
    return (resource) => {
      const text = state.deployment.resources.find((r) => r.urn.endsWith(`::${resource}`))?.inputs?.[which];
      if (typeof text !== "string") throw new Error(`no ${which} script of ${resource} in the stack's state`);
      return text;
    };
  }

  beforeAll(async () => {
    const running = await leftovers(PREFIX);
    if (running.length) {
      throw new Error(
        `a ${STACK} playground is already here (${running.join(", ")}): this test would take it over. ` +
          "Destroy it first: source scripts/pulumi-env.sh && pulumi destroy --stack dev",
      );
    }
    co = new PulumiCheckout(STACK);
  });

  afterAll(async () => {
    if (co && (await leftovers(PREFIX)).length) {
      // A failed step: try Pulumi's own way out first, then make sure nothing stays behind.
      await co.pulumi("destroy --yes --refresh", { allowFailure: true, timeoutMs: 5 * MIN });
      await forceRemove(PREFIX);
    }
    await co?.remove();
    console.log(`[pulumi e2e] wall time per step\n${phases.table()}`);
  }, 10 * MIN);

  it("scripts/up.sh from nothing: webui answers and mines ~3.3 hashes/s with 1 worker; no key printed", async () => {
    const r = await timed("fresh up (scripts/up.sh)", () => co.upScript());
    const created = /Resources:\s+\+ (\d+) created/.exec(r.stdout);
    expect(created).not.toBeNull();
    // Quiet: phases, progress, Pulumi's summary and the outputs; the whole output in the log it names.
    const shown = (r.stdout + r.stderr).trimEnd().split("\n");
    console.log(`[pulumi e2e] fresh up: ${created![1]} resources created; scripts/up.sh printed ${shown.length} lines:\n${shown.join("\n")}`);
    expect(shown.length).toBeLessThanOrEqual(150);
    expect(r.stdout).toMatch(/\[up\]   \d+\/\d+ steps done/);
    const log = upLog(r);
    expect(log).toMatch(/images-rng created/);
    expect(log.split("\n").length).toBeGreaterThan(shown.length);
    // No warning, no note: ours (an undefined output), the docker provider's (no platform), the engine's.
    expect(log).not.toMatch(/from \$PATH|Unable to set 'PULUMI_COMMAND|Undefined value \(|Building your image for|warning:/);
    const page = await fetch(`${WEBUI}/`, { signal: AbortSignal.timeout(5000) });
    expect(page.status).toBe(200);
    await waitFor("hashes counted", async () => ((await readJson(WEBUI)).hashes > 0 ? true : undefined), 60_000);
    const { rate } = await measureRate(WEBUI, 5_000, 20_000);
    console.log(`[pulumi e2e] 1 worker: ${rate.toFixed(2)} hashes/s`);
    // Mining at one worker's pace (rng's and hasher's 0.1-s sleeps): 3.3 on a quiet machine, 2.7 seen in a CI
    // run on a busy one. The figure itself is the benchmarks' to measure (scripts/walk.sh).
    expect(rate).toBeGreaterThan(2.0);
    expect(rate).toBeLessThan(3.8);
  }, 25 * MIN);

  it("the Swarm as declared: 5 nodes Ready, one manager, redis and webui on node1, tasks spread, images by digest", async () => {
    const nodes = (await onManager("docker node ls --format '{{.Hostname}} {{.Status}} {{.Availability}} {{.ManagerStatus}}'"))
      .split("\n").map((l) => l.split(" "));
    expect(nodes.map((n) => n[0]).sort()).toEqual(["node1", "node2", "node3", "node4", "node5"]);
    expect(nodes.every((n) => n[1] === "Ready" && n[2] === "Active")).toBe(true);
    expect(nodes.filter((n) => n[3] === "Leader" || n[3] === "Reachable")).toHaveLength(1);
    expect(await tasksByNode("redis")).toEqual({ node1: 1 });
    expect(await tasksByNode("webui")).toEqual({ node1: 1 });
    const used = new Set<string>();
    for (const svc of ["redis", "rng", "hasher", "worker", "webui"]) Object.keys(await tasksByNode(svc)).forEach((n) => used.add(n));
    expect(used.size).toBeGreaterThanOrEqual(2);
    // Pinned by digest, pulled from the Swarm's own registry on node1.
    const image = await onManager("docker service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Image}}' hasher");
    expect(image).toMatch(/^\d+\.\d+\.\d+\.\d+:5000\/dockercoins\/hasher(:[\w.-]+)?@sha256:[0-9a-f]{64}$/);
    // Every node has pulled the unpinned services' images (a scale onto any node starts at once), and the
    // background jobs that pulled them are gone.
    const worker = await onManager("docker service inspect -f '{{.Spec.TaskTemplate.ContainerSpec.Image}}' worker");
    await waitFor("the worker image on every node", async () => {
      for (const n of [1, 2, 3, 4, 5]) {
        const r = await docker(["exec", `${PREFIX}-node${n}`, "docker", "image", "inspect", worker], { allowFailure: true });
        if (r.code !== 0) return undefined;
      }
      return (await onManager("docker service ls -q --filter name=dockercoins-warm-images")) === "" ? true : undefined;
    }, MIN, 1000);
  }, 3 * MIN);

  it("the program's bootstrap scripts re-run cleanly on the live cluster: no engine restart, no swarm change", async () => {
    const script = await programScripts("create");
    const pid = async () => (await onNode(5, "cat /var/run/docker.pid")).stdout.trim();
    const before = await pid();
    const bootstrap = await onNode(5, script("swarm-node5-docker"));
    expect(bootstrap.stderr).not.toMatch(/restarting/);
    expect(await pid()).toBe(before);
    expect((await onNode(1, script("swarm-init"))).stderr).toMatch(/already a swarm manager/);
    const token = await onManager("docker swarm join-token -q worker");
    const join = await onNode(5, script("swarm-node5-join"), checkJoinToken(token));
    expect(join.stderr).toMatch(/already in the swarm/);
    expect((await onManager("docker node ls -q")).split("\n")).toHaveLength(5);
  }, 2 * MIN);

  it("scripts/walk.sh (Automation API): flat at ~10 from 3 workers with one rng, rising with rng global; config restored", async () => {
    const out = join(co.dir, "reports");
    const r = await timed("the workshop walk (short windows)", () =>
      co.sh(`scripts/walk.sh --workers 1,3,10 --warmup 5 --window 10 --out ${out}`, { timeoutMs: 25 * MIN }),
    );
    console.log(`[pulumi e2e] walk:\n${r.stdout.split("\n").filter((l) => !l.startsWith("  warming")).join("\n")}`);
    expect(r.stdout).toMatch(/\[walk\] step 4\/4: 10 workers, rng global/);
    const walk = JSON.parse(readFileSync(join(out, "dev-walk.json"), "utf8")) as WalkResult;
    const rate = (workers: number, rng: string) => walk.results.find((x) => x.step.workers === workers && x.step.rng === rng)!;
    // The lesson's shape, not absolute speeds: linear while rng keeps up, flat once it is the bottleneck.
    expect(rate(1, "one").hashesPerS).toBeGreaterThan(2.0);
    expect(rate(3, "one").hashesPerS).toBeGreaterThan(2.0 * rate(1, "one").hashesPerS);
    for (const w of [3, 10]) {
      expect(rate(w, "one").hashesPerS, `${w} workers, 1 rng`).toBeGreaterThan(7);
      expect(rate(w, "one").hashesPerS, `${w} workers, 1 rng`).toBeLessThan(11);
    }
    expect(rate(10, "one")).toMatchObject({ rngReplicas: 1, rngSaturated: true });
    expect(rate(10, "one").rngMs).toBeGreaterThan(400);
    expect(rate(10, "global")).toMatchObject({ rngReplicas: 5, rngSaturated: false });
    expect(rate(10, "global").hashesPerS).toBeGreaterThan(1.5 * rate(10, "one").hashesPerS);
    expect(rate(10, "global").rngMs!).toBeLessThan(rate(10, "one").rngMs! / 2);
    // The report: the seeds' table and a chart.
    const md = readFileSync(join(out, "dev-walk.md"), "utf8");
    expect(md).toMatch(/\| 10 \| global \(5\) \| \d+\.\d\d \| 33\.3 \| ~30 \|/);
    expect(statSync(join(out, "dev-walk.png")).size).toBeGreaterThan(10_000);
    cpSync(out, join(ROOT, "test-artifacts/walk"), { recursive: true });
    // Config and deployment as the walk found them: 1 worker, 1 rng, nothing left to change.
    expect((await co.pulumi("config get dockercoins:workerReplicas")).stdout.trim()).toBe("1");
    expect((await co.pulumi("config get dockercoins:rngMode")).stdout.trim()).toBe("replicated");
    await co.pulumi("preview --expect-no-changes");
    expect(await replicasOf("rng")).toBe("rng 1/1");
  }, 30 * MIN);

  it("logging: one key puts the log store in place; worker and rng lines of several nodes found within 30 s; off removes it", async () => {
    const inspectLogDriver = () => onManager("docker service inspect -f '{{json .Spec.TaskTemplate.LogDriver}}' rng");
    const services = async () => (await onManager("docker service ls --format '{{.Name}}'")).split("\n").sort();
    // Off (the default): nothing of it deployed.
    expect(await services()).not.toContain("logs");
    expect(await inspectLogDriver()).toBe("null");

    // Two workers and two rngs, so that lines come from several nodes; a small Swarm keeps the two rolling
    // updates (every task gets the new log driver, one at a time) short.
    await co.configSet("logging", "true");
    await co.configSet("workerReplicas", "2");
    await co.configSet("rngReplicas", "2");
    const steps = await co.previewChanges();
    // The store is created; the services get their log driver in place; no node, service or network is re-created
    // (the rollout wait re-runs, as after any spec change).
    expect(steps.filter((s) => s.op !== "update" && s.op !== "create" && s.name !== "dockercoins-rollout")).toEqual([]);
    expect(steps.filter((s) => s.op === "create").map((s) => s.name).sort()).toEqual(["logs", "logs-image-pin", "logs-logs", "logs-network"]);
    await timed("logging on", () => co.up());
    const ready = Date.now();
    expect((await co.pulumi("stack output logsUrl")).stdout.trim()).toBe(`${LOGS}/select/vmui/`);
    expect((await fetch(`${LOGS}/select/vmui/`)).status).toBe(200);

    const found = await waitFor(
      "the workers' reports and rng's requests, each from two nodes or more",
      async () => {
        const reports = await logsQuery(`_time:1m source:worker "units of work done" | stats by (host) count() n`);
        const rngNodes = await logsQuery(`_time:1m source:rng event.line.route:"/:size" | stats by (host) count() n`);
        return reports.length >= 2 && rngNodes.length >= 2 ? { reports, rngNodes } : undefined;
      },
      30_000,
      1000,
    );
    figures["logging on: worker and rng lines of 2+ nodes queryable"] = (Date.now() - ready) / 1000;
    console.log(`[pulumi e2e] logs: worker reports per node ${JSON.stringify(found.reports)}, rng lines per node ${JSON.stringify(found.rngNodes)} after ${figures["logging on: worker and rng lines of 2+ nodes queryable"]} s`);

    // A request line keeps its fields, and the node it came from is the one Swarm ran the task on.
    const [line] = await logsQuery(`source:rng event.line.route:"/:size" | limit 1`);
    expect(line).toMatchObject({ source: "rng", "event.line.service": "rng", "event.line.level": "info", "event.line.status": "200", "event.line.method": "GET" });
    expect(line.host).toMatch(/^node[1-5]$/);
    expect(line["event.line.node"]).toBe(line.host);
    expect(Number(line["event.line.ms"])).toBeGreaterThan(90); // the workshop's 100 ms, less rounding
    // The README's three questions answer: time per service, rng per node, work per worker.
    const perService = await logsQuery(`_time:1m source:(rng OR hasher) event.line.route:* | stats by (source) avg(event.line.ms) avg_ms, count() requests`);
    expect(perService.map((r) => r.source).sort()).toEqual(["hasher", "rng"]);
    const perNode = await logsQuery(`_time:1m source:rng event.line.route:"/:size" | stats by (host) quantile(0.9, event.line.ms) p90_ms, count() requests`);
    expect(perNode.length).toBeGreaterThanOrEqual(2);
    const perWorker = await logsQuery(`_time:5m source:worker "units of work done" | stats by (event.line.host) sum(event.line.units) units`);
    expect(perWorker.length).toBeGreaterThan(1);
    expect(perWorker.every((r) => Number(r.units) > 0)).toBe(true);
    console.log(`[pulumi e2e] logs: per service ${JSON.stringify(perService)}; units per worker ${perWorker.map((r) => r.units).join(", ")}`);
    // What the store costs: its memory on the manager after taking every line of this Swarm for a while.
    const task = await onManager("docker ps -q --filter label=com.docker.swarm.service.name=logs");
    console.log(`[pulumi e2e] logs: the store uses ${await onManager(`docker stats --no-stream --format '{{.MemUsage}}' ${task}`)}`);

    await co.configSet("logging", "false");
    await co.configSet("workerReplicas", "1");
    await co.configSet("rngReplicas", "1");
    await timed("logging off", () => co.up());
    expect(await services()).not.toContain("logs");
    expect(await inspectLogDriver()).toBe("null");
  }, 10 * MIN);

  it("workerReplicas 10: the preview shows the worker's update and the wait for its tasks, nothing else; up converges, the running task untouched; ~10 hashes/s", async () => {
    const runningTasks = async () => (await onManager("docker service ps -q --filter desired-state=running worker")).split("\n").filter(Boolean);
    const before = await runningTasks();
    await co.configSet("workerReplicas", "10");
    const steps = await timed("preview (scale change)", () => co.previewChanges());
    expect(changes(steps)).toEqual(["replace dockercoins-rollout", "update dockercoins-worker"]);
    // Two figures: when Swarm runs all 10 tasks (watched beside the update), and when `pulumi up` returns
    // (the rollout wait on the manager sees them, looking every second).
    const t0 = Date.now();
    const up = timed("scale worker 1 -> 10: pulumi up returns", () => co.up());
    await waitFor("10/10 workers", async () => ((await replicasOf("worker")) === "worker 10/10" ? true : undefined), 2 * MIN, 250);
    figures["scale worker 1 -> 10: all 10 tasks running"] = (Date.now() - t0) / 1000;
    console.log(`[pulumi e2e] scale worker 1 -> 10: all 10 tasks running after ${figures["scale worker 1 -> 10: all 10 tasks running"].toFixed(1)} s`);
    await up;
    // A scale adds tasks; the one already running goes on (the provider's env order once rolled it).
    const after = await runningTasks();
    expect(after).toHaveLength(10);
    expect(after).toEqual(expect.arrayContaining(before));
    const { rate } = await measureRate(WEBUI, 10_000, 20_000);
    console.log(`[pulumi e2e] 10 workers, 1 rng: ${rate.toFixed(2)} hashes/s`);
    oneRngRate = rate;
    expect(rate).toBeGreaterThan(8);
    expect(rate).toBeLessThan(10.8);
  }, 5 * MIN);

  it("the page (real Chromium) marks rng as the bottleneck: one replica, requests in line, ~700 ms", async () => {
    await withPage(WEBUI, async (page) => {
      const shown = await waitForTable(page, (services) => {
        const rng = services.find((s) => s.service === "rng");
        const r = rng?.replicas[0];
        if (!rng || rng.replicas.length !== 1 || !r) return "rng is not listed with one replica";
        if (!rng.saturated) return "rng is not marked";
        if (!(r.queue! > 0) || !(r.latencyMs! > 400)) return "rng shows no line or no wait yet";
        return undefined;
      }, 60_000);
      const [rng, hasher] = ["rng", "hasher"].map((n) => shown.find((s) => s.service === n)!);
      console.log(`[pulumi e2e] page, 10 workers, 1 rng: rng ${rng.replicas[0].latencyMs} ms, ${rng.replicas[0].queue} in line on ${rng.replicas[0].node}: "${rng.verdict}"; hasher "${hasher.verdict}"`);
      expect(rng.replicas[0].latencyMs).toBeLessThan(2000);
      expect(rng.replicas[0].node).toMatch(/^node[1-5]$/);
      expect(hasher.saturated).toBe(false);
      expect(hasher.replicas.length).toBeGreaterThanOrEqual(1);
      console.log(`[pulumi e2e] screenshot: ${await keepScreenshot(page, "swarm-bottleneck-1-rng.png")}`);
    });
  }, 2 * MIN);

  it("rngMode global: rng re-created with one task per node; at least 1.5 times the one-rng figure", async () => {
    await co.configSet("rngMode", "global");
    expect(changes(await co.previewChanges())).toEqual(["replace dockercoins-rng", "replace dockercoins-rollout"].sort());
    await timed("rng global", () => co.up());
    expect(await replicasOf("rng")).toBe("rng 5/5");
    globalRate = (await measureRate(WEBUI, 15_000, 20_000)).rate;
    console.log(`[pulumi e2e] 10 workers, rng global: ${globalRate.toFixed(2)} hashes/s`);
    // The workshop's arithmetic says 3.3 times one rng's figure; measured side by side here about 2.6 on a
    // quiet machine, 1.8 in a CI run on a busy one (15 tasks sharing 2 cores): the lesson's direction, with room.
    expect(globalRate).toBeGreaterThanOrEqual(1.5 * oneRngRate);
  }, 5 * MIN);

  it("the page with rng global: every rng replica listed with its node, the mark gone", async () => {
    const nodes = (rng: ShownService) => rng.replicas.map((r) => r.node).sort();
    await withPage(WEBUI, async (page) => {
      const shown = await waitForTable(page, (services) => {
        const rng = services.find((s) => s.service === "rng");
        if (!rng || nodes(rng).join() !== "node1,node2,node3,node4,node5") return "rng is not listed on the five nodes";
        if (rng.saturated) return "rng is still marked";
        if (rng.replicas.some((r) => r.latencyMs === null)) return "some rng replica has no latency yet";
        return undefined;
      }, 60_000);
      const rng = shown.find((s) => s.service === "rng")!;
      console.log(`[pulumi e2e] page, rng global: ${rng.replicas.map((r) => `${r.node} ${r.latencyMs} ms`).join(", ")}: "${rng.verdict}"`);
      expect(shown.some((s) => s.saturated)).toBe(false);
      console.log(`[pulumi e2e] screenshot: ${await keepScreenshot(page, "swarm-bottleneck-rng-global.png")}`);
    });
  }, 2 * MIN);

  it("debugService: a task on every node; inside the overlay it resolves and reaches rng and hasher", async () => {
    // Any image with a shell serves (the default is alpine:3); redis:7-bookworm is already on every node here.
    await co.configSet("debugImage", "redis:7-bookworm");
    await co.configSet("debugService", "true");
    await timed("debug service on", () => co.up());
    const nodes = (await onManager("docker service ps --filter desired-state=running --format '{{.Node}}' debug")).split("\n").sort();
    expect(nodes).toEqual(["node1", "node2", "node3", "node4", "node5"]);
    const task = await onManager("docker ps -q --filter label=com.docker.swarm.service.name=debug | head -1");
    const inOverlay = async (script: string) => (await docker(["exec", MANAGER, "docker", "exec", task, "bash", "-c", script])).stdout;
    expect((await inOverlay("getent hosts rng")).trim().split("\n")).toHaveLength(5); // dnsrr: every global rng task
    expect(await inOverlay("getent hosts hasher")).toMatch(/^\d+\.\d+\.\d+\.\d+\s+hasher/);
    const http = (host: string, request: string) =>
      inOverlay(`exec 3<>/dev/tcp/${host}/80; printf '${request}' >&3; timeout 5 cat <&3`);
    expect(await http("rng", "GET /8 HTTP/1.0\\r\\nHost: rng\\r\\n\\r\\n")).toMatch(/^HTTP\/1\.1 200/);
    const hashed = await http("hasher", "POST / HTTP/1.0\\r\\nHost: hasher\\r\\nContent-Length: 3\\r\\n\\r\\nabc");
    expect(hashed).toMatch(/^HTTP\/1\.1 200/);
    expect(hashed).toContain("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"); // sha256("abc")
  }, 5 * MIN);

  it("day two: webuiReplicas and managerCount change the live Swarm in place; no node leaves, mining goes on", async () => {
    const nodesNow = async () =>
      (await onManager("docker node ls --format '{{.Hostname}} {{.ManagerStatus}}'")).split("\n").map((l) => l.trim()).sort();
    const before = (await readJson(WEBUI)).hashes;
    // In place: updates only, and the rollout wait made again (a replica count changed).
    const inPlace = (steps: PreviewStep[]) => steps.filter((s) => s.op !== "update" && s.name !== "dockercoins-rollout").map((s) => `${s.op} ${s.name}`);

    await co.configSet("webuiReplicas", "2");
    expect(inPlace(await co.previewChanges())).toEqual([]);
    await timed("day two: webuiReplicas 1 -> 2", () => co.up());
    expect(await nodesNow()).toEqual(["node1 Leader", "node2", "node3", "node4", "node5"]);
    expect(await onManager("docker node inspect -f '{{index .Spec.Labels \"dockercoins.webui\"}}' node2")).toBe("true");

    await co.configSet("managerCount", "3");
    expect(inPlace(await co.previewChanges())).toEqual([]);
    await timed("day two: managerCount 1 -> 3", () => co.up());
    // `up` returned once each promoted node was a reachable manager.
    expect(await nodesNow()).toEqual(["node1 Leader", "node2 Reachable", "node3 Reachable", "node4", "node5"]);

    await co.configSet("managerCount", "1");
    await co.configSet("webuiReplicas", "1");
    expect(inPlace(await co.previewChanges())).toEqual([]);
    await timed("day two: managerCount 3 -> 1, webuiReplicas 2 -> 1", () => co.up());
    expect(await nodesNow()).toEqual(["node1 Leader", "node2", "node3", "node4", "node5"]);
    expect(await onManager("docker node inspect -f '{{index .Spec.Labels \"dockercoins.webui\"}}' node2")).toBe("");
    expect(await replicasOf("webui")).toBe("webui 1/1");

    await waitFor("mining on", async () => ((await readJson(WEBUI)).hashes > before + 50 ? true : undefined), MIN);
  }, 10 * MIN);

  it("registryMirror on the live Swarm: every engine restarts, one node at a time, each back in the Swarm before the next", async () => {
    const NODES = [1, 2, 3, 4, 5];
    const pids = () => Promise.all(NODES.map(async (n) => (await onNode(n, "cat /var/run/docker.pid")).stdout.trim()));
    const before = await pids();
    // Nothing listens there: Docker Hub pulls fall through to the hub; the Swarm's own registry is not a mirror's business.
    await co.configSet("registryMirror", "http://127.0.0.1:5999");
    const steps = await co.previewChanges();
    expect(changes(steps).every((c) => /^update swarm-node\d-(docker|engine-config)$/.test(c)), changes(steps).join(", ")).toBe(true);
    // Each node's own view of its membership, polled while `up` runs: never two away at once.
    let watching = true;
    let mostAway = 0;
    const seen: string[] = [];
    const watcher = (async () => {
      while (watching) {
        const states = await Promise.all(NODES.map(async (n) =>
          (await docker(["exec", `${PREFIX}-node${n}`, "sh", "-c", "docker info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null || echo down"], { allowFailure: true })).stdout.trim() || "down"));
        const away = NODES.filter((_, i) => states[i] !== "active");
        mostAway = Math.max(mostAway, away.length);
        if (away.length && seen.at(-1) !== away.join("+")) seen.push(away.join("+"));
        await new Promise((r) => setTimeout(r, 300));
      }
    })();
    try {
      await timed("registryMirror set: engines restarted one at a time", () => co.up());
    } finally {
      watching = false;
      await watcher;
    }
    console.log(`[pulumi e2e] nodes seen away, in order: ${seen.map((a) => `node${a.replace(/\+/g, "+node")}`).join(", ")}`);
    const after = await pids();
    for (const i of NODES.keys()) expect(after[i], `node${i + 1}'s engine restarted`).not.toBe(before[i]);
    expect(mostAway).toBe(1); // seen away (the watch works), and never two at once
    for (const n of NODES) expect((await onNode(n, "cat /etc/docker/daemon.json")).stdout).toContain('"http://127.0.0.1:5999"');
    const hashes = (await waitFor("webui back", () => readJson(WEBUI), 2 * MIN)).hashes;
    await waitFor("mining on", async () => ((await readJson(WEBUI)).hashes > hashes ? true : undefined), 2 * MIN, 2000);
  }, 10 * MIN);

  it("a re-created node is set up again: webuiPort re-creates node1, its engine trusts the registry, a new rng image rolls out", async () => {
    const trustsRegistry = async () => (await onNode(1, "cat /etc/docker/daemon.json 2>/dev/null || true")).stdout.includes(":5000");
    expect(await trustsRegistry()).toBe(true);
    const nodeId = async () => (await docker(["inspect", "-f", "{{.Id}}", MANAGER])).stdout.trim();
    const before = await nodeId();
    await co.configSet("webuiPort", "8088");
    const steps = await co.previewChanges();
    // A new machine: its host key is learned anew (its identity changed), not refused.
    expect(steps.filter((s) => s.op === "replace").map((s) => s.name)).toEqual(expect.arrayContaining(["local-node1", "local-node1-host-key"]));
    // node1's own setup scripts run again, as a new host's do.
    expect(changes(steps)).toEqual(expect.arrayContaining(["update swarm-node1-docker", "update swarm-init"]));
    // Its engine state (a volume) outlives the container: same Swarm, same registry service, no re-push.
    expect(steps.filter((s) => s.name.startsWith("images-"))).toEqual([]);
    await timed("webuiPort 8000 -> 8088 (node1 re-created)", () => co.up());
    WEBUI = "http://127.0.0.1:8088"; // the rest of the suite uses the new port, whatever fails below
    expect(await nodeId()).not.toBe(before);
    expect(await trustsRegistry()).toBe(true);
    // node1's tasks (redis, webui, the registry) start again on the new machine after the up: webui answers 503
    // until redis does (seen in CI: right after the up). The wallet was on node1's engine volume, kept.
    await timed("webui on 8088 reads the wallet again", () =>
      waitFor("webui on 8088 counting hashes", async () => (((await readJson(WEBUI).catch(() => undefined))?.hashes ?? 0) > 0 ? true : undefined), 90_000, 1000));
    // A new rng image: every rng task (global: one on node1 too) pulls it from node1's registry.
    appendFileSync(join(co.dir, "app/rng/main.ts"), "// rebuilt by the end-to-end test\n");
    await timed("a new rng image rolled out", () => co.up());
    expect(await onManager("docker service inspect -f '{{.UpdateStatus.State}}' rng")).toBe("completed");
    expect(await tasksByNode("rng")).toEqual({ node1: 1, node2: 1, node3: 1, node4: 1, node5: 1 });
  }, 15 * MIN);

  it("no drift: a second up changes nothing; refresh then preview shows no changes", async () => {
    const again = await timed("no-change up", () => co.up("--expect-no-changes"));
    expect(again.stdout).toMatch(/\d+ unchanged/);
    expect(again.stdout).not.toMatch(/to (update|replace|create|delete)|[~+-] \d+ (updated|replaced|created|deleted)/);
    await timed("refresh", () => co.pulumi("refresh --yes"));
    await timed("preview (no change)", () => co.pulumi("preview --expect-no-changes"));
  }, 5 * MIN);

  it("a checkout made under umask 002 builds the same images: the preview shows no change (no rebuild, no node re-created)", async () => {
    // What a laptop's checkout looks like beside CI's: group-writable files and directories.
    await run("chmod", ["-R", "g+w", join(co.dir, "app"), join(co.dir, "infra/node-image")]);
    await timed("preview of a umask-002 checkout", () => co.pulumi("preview --expect-no-changes"));
    // The program gave the build contexts umask 022's modes before the provider hashed them.
    expect((statSync(join(co.dir, "app/package.json")).mode & 0o777).toString(8)).toBe("644");
    expect((statSync(join(co.dir, "infra/node-image/entrypoint.sh")).mode & 0o777).toString(8)).toBe("644");
  }, 3 * MIN);

  it("a pull request's preview needs no SSH: with every node's SSH port refused, a scale change previews as exactly that update and its wait", async () => {
    const block = ["OUTPUT", "-p", "tcp", "-j", "REJECT"];
    const rules = [["-d", "127.0.0.1", "--dport", "22001:22005"], ["-d", "10.213.0.0/24", "--dport", "22"]];
    const workers = (await co.pulumi("config get dockercoins:workerReplicas")).stdout.trim();
    for (const r of rules) await run("iptables", ["-I", ...block.slice(0, 3), ...r, ...block.slice(3)]);
    try {
      const ssh = (await co.pulumi("stack output sshCommand")).stdout.trim().split(" ");
      const dial = await run(ssh[0], [...ssh.slice(1), "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "true"], { allowFailure: true });
      expect(dial.code, "node1's SSH still answers: the check would prove nothing").not.toBe(0);
      await co.configSet("workerReplicas", String(Number(workers) + 1));
      const steps = await timed("preview with SSH refused", () => co.previewChanges());
      expect(changes(steps)).toEqual(["replace dockercoins-rollout", "update dockercoins-worker"]);
    } finally {
      for (const r of rules) await run("iptables", ["-D", ...block.slice(0, 3), ...r, ...block.slice(3)], { allowFailure: true });
      await co.configSet("workerReplicas", workers);
    }
    await co.pulumi("preview --expect-no-changes");
  }, 3 * MIN);

  it("a node's SSH host key changed behind the program's back stops preview and up, naming it; accepted with --replace, only that node's scripts re-run", async () => {
    const NODE3 = `${PREFIX}-node3`;
    const regenerate = "mkdir -p /root/host-keys-before && cp -a /etc/ssh/ssh_host_* /root/host-keys-before/ && rm /etc/ssh/ssh_host_* && ssh-keygen -A >/dev/null && pkill -HUP -x sshd";
    await docker(["exec", NODE3, "sh", "-c", regenerate]);
    const said = "the SSH host key of 127.0.0.1:22003 changed";
    const preview = await co.pulumi("preview", { allowFailure: true });
    expect(preview.code).not.toBe(0);
    expect(preview.stdout + preview.stderr).toContain(said);
    expect(preview.stdout + preview.stderr).toContain("pulumi stack --show-urns | grep local-node3-host-key");
    const up = await co.pulumi("up --yes", { allowFailure: true });
    expect(up.code).not.toBe(0);
    expect(up.stdout + up.stderr).toContain(said);
    // Nothing dialled node3: no command on it ran (the check comes before every connection to it).
    expect(up.stdout).not.toMatch(/swarm-node3-\S+ (updating|creating)/);
    const urn = (await co.pulumi("stack --show-urns")).stdout.match(/urn:\S+::local-node3-host-key/)?.[0];
    expect(urn).toBeDefined();
    const accepted = await timed("a changed host key accepted (--replace)", () => co.up(`--replace '${urn}'`));
    // The new key learned; node3's idempotent scripts re-run with it (their connection changed), no other node's.
    const done = accepted.stdout.split("\n").filter((l) => / (updated|replaced|created replacement|deleted original) \(/.test(l));
    expect(done.join("\n")).toMatch(/local-node3-host-key/);
    for (const line of done) expect(line).toMatch(/(local|swarm)-node3-/);
    await co.pulumi("preview --expect-no-changes");
  }, 5 * MIN);

  // From here on the Swarm is changed behind Pulumi's back (forced updates, a stopped node, a node removed):
  // what Swarm itself does, then what the destroy-time scripts do. Only the join check and destroy follow.

  it("a rolling update of hasher while mining: completes, no stall over a few seconds, no counted hash lost", async () => {
    // Redis also holds the hashes of workers long gone (the walk, the scalings): compare what changes.
    const start = await countsNow();
    let updating = true;
    const sampling = sampleFor(WEBUI, 5 * MIN, 500, () => !updating);
    const update = timed("rolling update of hasher", async () => {
      try {
        await onManager("docker service update --detach --force hasher");
        await waitFor("hasher update to complete", async () => {
          const state = await onManager("docker service inspect -f '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}' hasher");
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
    console.log(`[pulumi e2e] hasher update: ${span.toFixed(0)} s, ${samples.length} samples, ${failures} failed reads, longest stall ${stall.toFixed(1)} s, ${hashRate(samples).toFixed(1)} hashes/s`);
    expect(span).toBeGreaterThan(10); // the update really rolled task by task
    expect(stall).toBeLessThanOrEqual(5);
    expect(failures).toBe(0);

    // Every hash the workers counted and say they reported over the update is in redis, once: what they reported
    // grew as much as redis did between the readings around theirs (up to a report in flight per worker).
    const end = await countsNow();
    const workersGrew = end.reported.sum - start.reported.sum;
    const [least, most] = [end.redisBefore - start.redisAfter, end.redisAfter - start.redisBefore];
    console.log(`[pulumi e2e] over the update: the ${end.reported.workers} workers say they reported +${workersGrew}; redis grew by ${least} to ${most}`);
    expect(start.reported.workers).toBe(10);
    expect(end.reported.workers).toBe(10);
    expect(workersGrew).toBeGreaterThan(100);
    expect(workersGrew).toBeGreaterThanOrEqual(least - 30); // none lost
    expect(workersGrew).toBeLessThanOrEqual(most + 30); // none counted twice
  }, 8 * MIN);

  it("restarting redis keeps the wallet", async () => {
    // Stop mining (workers flush on SIGTERM) so the wallet holds still, then restart redis.
    await timed("scale workers to 0", () => onManager("docker service scale worker=0"));
    const before = await waitStill();
    expect(before.coins).toBeGreaterThan(0);
    await timed("restart redis", async () => {
      const task = () => onNode(1, "docker ps -q --filter label=com.docker.swarm.service.name=redis").then((r) => r.stdout.trim());
      const oldTask = await task();
      await onManager("docker service update --force redis");
      expect(await task()).not.toBe(oldTask);
    });
    const after = await waitFor("webui to read redis again", () => readJson(WEBUI), 60_000);
    console.log(`[pulumi e2e] redis restart: coins ${before.coins} -> ${after.coins}, hashes ${before.hashes} -> ${after.hashes}`);
    expect(after.coins).toBe(before.coins);
    expect(after.hashes).toBe(before.hashes);
    await timed("back to 10 workers", () => onManager("docker service scale worker=10"));
  }, 8 * MIN);

  it("a worker node lost for real (container and engine volume gone): tasks move within 60 s; up --refresh brings it back as declared", async () => {
    const workers = await tasksByNode("worker");
    const before = total(workers);
    // The busiest node that is neither the manager nor node5 (the join check below uses it).
    const victim = [2, 3, 4].map((n) => ({ n, tasks: workers[`node${n}`] ?? 0 })).sort((a, b) => b.tasks - a.tasks)[0].n;
    const oldId = await onManager(`docker node inspect -f '{{.ID}}' node${victim}`);
    // What must not restart on the other hosts: their containers and their engines.
    const others = [1, 2, 3, 4, 5].filter((n) => n !== victim);
    const engines = async () => Promise.all(others.map(async (n) =>
      `${(await docker(["inspect", "-f", "{{.State.StartedAt}}", `${PREFIX}-node${n}`])).stdout.trim()} ${(await onNode(n, "cat /var/run/docker.pid")).stdout.trim()}`));
    const enginesBefore = await engines();
    console.log(`[pulumi e2e] losing node${victim} (${workers[`node${victim}`] ?? 0} worker tasks): its container and its engine's volume`);
    await timed(`lose node${victim}: tasks rescheduled, mining again`, async () => {
      const t0 = Date.now();
      await docker(["rm", "-f", `${PREFIX}-node${victim}`]);
      await docker(["volume", "rm", `${PREFIX}-node${victim}-docker`]);
      await waitFor(`${before} running workers, none on the lost node`, async () => {
        const now = await tasksByNode("worker");
        return total(now) === before && !now[`node${victim}`] ? true : undefined;
      }, 60_000, 2000);
      const s1 = await readJson(WEBUI);
      const moving = await waitFor("mining to resume", async () => {
        await new Promise((r) => setTimeout(r, 2000));
        const s2 = await readJson(WEBUI);
        return s2.hashes > s1.hashes ? s2 : undefined;
      }, Math.max(5_000, 60_000 - (Date.now() - t0)), 0);
      const seconds = (Date.now() - t0) / 1000;
      console.log(`[pulumi e2e] node${victim} lost: rescheduled and mining again after ${seconds.toFixed(1)} s (hashes ${moving.hashes})`);
      expect(seconds).toBeLessThanOrEqual(60);
    });
    expect(await onManager(`docker node inspect -f '{{.Status.State}}' ${oldId}`)).toBe("down");

    // The product's promise: the next up brings the cluster back to what the stack declares.
    const r = await timed(`heal node${victim}: pulumi up --refresh`, () => co.up("--refresh --skip-preview"));
    const nodes = (await onManager("docker node ls --format '{{.Hostname}} {{.ID}} {{.Status}} {{.Availability}}'")).split("\n").sort();
    console.log(`[pulumi e2e] after the heal:\n${nodes.join("\n")}`);
    expect(nodes).toHaveLength(5); // the old entry is gone: no Down node left behind
    for (const line of nodes) expect(line).toMatch(/ Ready Active$/);
    const newId = await onManager(`docker node inspect -f '{{.ID}}' node${victim}`);
    expect(newId).not.toBe(oldId); // a new machine (its engine state was lost) joined as a new node
    expect(await onManager(`docker node inspect -f '{{index .Spec.Labels "dockercoins.node"}}' ${newId}`)).toBe(`node${victim}`);
    // Its engine was set up again (the registry trusted), and nothing restarted elsewhere.
    expect((await onNode(victim, "cat /etc/docker/daemon.json")).stdout).toContain("insecure-registries");
    expect(await engines()).toEqual(enginesBefore);
    // Swarm leaves running tasks where they are: the up rolled the workers over every node again.
    expect(r.stdout).toMatch(/worker: \d+ tasks, none on node\d: rolling them over every node again/);
    await timed(`worker tasks on node${victim} again`, () => waitFor(`worker tasks on node${victim}, the rolling update done`, async () => {
      const state = await onManager("docker service inspect -f '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}' worker");
      const now = await tasksByNode("worker");
      return state === "completed" && (now[`node${victim}`] ?? 0) > 0 && total(now) === before ? now : undefined;
    }, 3 * MIN, 2000));
    await timed("preview after the heal", () => co.pulumi("preview --expect-no-changes"));
  }, 8 * MIN);

  /** The Swarm as node1 sees it: its cluster id, and each node's "hostname id status availability manager-status". */
  async function swarmView(): Promise<{ cluster: string; nodes: string[] }> {
    return {
      cluster: await onManager("docker info --format '{{.Swarm.Cluster.ID}}'"),
      nodes: (await onManager("docker node ls --format '{{.Hostname}} {{.ID}} {{.Status}} {{.Availability}} {{.ManagerStatus}}'")).split("\n").map((l) => l.trim()).sort(),
    };
  }
  /** The lines the Swarm's scripts printed in an up's log (Pulumi shows each as a row's last message), once each. */
  function swarmLines(log: string): string[] {
    return [...new Set(log.match(/\[(manager-token|live-manager|swarm-init)\] [^\n]*/g) ?? [])];
  }
  /** node1's container and its engine's volume removed: the first manager's host lost for real. */
  async function loseNode1(): Promise<void> {
    await docker(["rm", "-f", MANAGER]);
    await docker(["volume", "rm", `${MANAGER}-docker`]);
  }
  /** Every service runs all its tasks. */
  async function everyServiceRunning(): Promise<void> {
    await waitFor("every service running all its tasks", async () => {
      const replicas = (await onManager("docker service ls --format '{{.Name}} {{.Replicas}}'")).split("\n");
      return replicas.every((line) => / (\d+)\/\1( |$)/.test(line)) ? true : undefined; // "5/5 (max 1 per node)" for a global one
    }, 2 * MIN, 2000);
  }
  /** Every service runs all its tasks, and hashes are counted again. */
  async function runningAndMining(): Promise<void> {
    await everyServiceRunning();
    const s1 = await readJson(WEBUI);
    await waitFor("hashes counted again", async () => ((await readJson(WEBUI)).hashes > s1.hashes ? true : undefined), 60_000, 2000);
  }

  it("the first manager lost with managerCount 3: scripts/up.sh --refresh brings node1 back as a manager of the same Swarm", async () => {
    await co.configSet("managerCount", "3");
    try {
      await timed("managerCount 3", () => co.up());
      const before = await swarmView();
      await loseNode1();
      // `pulumi up --refresh` alone cannot: the docker provider reaches the Swarm through node1.
      const r = await timed("node1 lost (3 managers): scripts/up.sh --refresh", () => co.sh(`DOCKERCOINS_STACK=${STACK} scripts/up.sh --refresh --skip-preview`));
      expect(r.stderr).toContain("[up] the first manager does not answer over SSH: its host is lost");
      console.log(`[pulumi e2e] the heal's Swarm lines:\n${swarmLines(upLog(r)).join("\n")}`);
      // The lost machine's Raft entry went first: joining beside it left two of four members answering.
      expect(upLog(r)).toMatch(/removed the lost manager 10\.213\.0\.11 \(\w+\) before its new machine joins/);
      expect(upLog(r)).toContain("joined the live swarm as a manager through 10.213.0.12");
      const after = await swarmView();
      console.log(`[pulumi e2e] after node1's heal (3 managers):\n${after.nodes.join("\n")}`);
      expect(after.cluster).toBe(before.cluster); // the same Swarm: it kept its quorum
      expect(after.nodes).toHaveLength(5); // the old node1 entry removed
      expect(after.nodes.find((l) => l.startsWith("node1 "))).toMatch(/ Ready Active (Leader|Reachable)$/);
      // The other nodes are the same Swarm nodes as before (nobody left or re-joined).
      const others = (v: typeof before) => v.nodes.filter((l) => !l.startsWith("node1 ")).map((l) => l.split(" ").slice(0, 2).join(" "));
      expect(others(after)).toEqual(others(before));
      for (const line of after.nodes) expect(line).toMatch(/ Ready Active/);
      await runningAndMining();
      await timed("preview after the heal (3 managers)", () => co.pulumi("preview --expect-no-changes"));
    } finally {
      // Back to one manager whatever happened, without hiding the failure above: a failed heal is healed
      // again by the reset itself (--refresh), and a reset that fails too is only logged.
      await co.configSet("managerCount", "1");
      await timed("managerCount back to 1", () => co.sh(`DOCKERCOINS_STACK=${STACK} scripts/up.sh --refresh --skip-preview`)).catch((e: Error) =>
        console.log(`[pulumi e2e] managerCount back to 1 failed too: ${e.message}`));
    }
  }, 20 * MIN);

  it("the first manager lost alone (managerCount 1): scripts/up.sh --refresh forms the Swarm again, the others follow, images pushed again", async () => {
    const before = await swarmView();
    await loseNode1();
    const r = await timed("node1 lost (1 manager): scripts/up.sh --refresh", () => co.sh(`DOCKERCOINS_STACK=${STACK} scripts/up.sh --refresh --skip-preview`));
    expect(upLog(r)).toMatch(/leaving the swarm of 10\.213\.0\.11:2377 as it was/);
    const after = await swarmView();
    console.log(`[pulumi e2e] after node1's heal (1 manager):\n${after.nodes.join("\n")}`);
    expect(after.cluster).not.toBe(before.cluster); // its Swarm was lost with it: a new one
    expect(after.nodes).toHaveLength(5);
    for (const line of after.nodes) expect(line).toMatch(/ Ready Active/);
    // The registry is new and holds the four images again; the services pull from it.
    const catalog = (await run("curl", ["-sf", "http://127.0.0.1:15000/v2/_catalog"])).stdout;
    for (const svc of ["rng", "hasher", "worker", "webui"]) expect(catalog).toContain(`dockercoins/${svc}`);
    // Mining again: every node's network agent is fresh (a node whose old gossip kept port 7946 after leaving
    // the dead Swarm had its engine restarted before the join, or it would resolve no service name).
    await runningAndMining();
    await timed("preview after the heal (1 manager)", () => co.pulumi("preview --expect-no-changes"));
  }, 12 * MIN);

  it("an up killed 6 s in is finished by the next scripts/up.sh (its stale lock cancelled)", async () => {
    const workers = Number((await co.pulumi("config get dockercoins:workerReplicas")).stdout.trim());
    await co.configSet("workerReplicas", String(workers + 1));
    const killed = spawn("bash", ["-c", `source scripts/pulumi-env.sh 2>/dev/null && exec pulumi up --yes --skip-preview --stack ${STACK}`], { cwd: co.dir, stdio: "ignore" });
    await new Promise((r) => setTimeout(r, 6000));
    killed.kill("SIGKILL");
    await new Promise((r) => killed.once("exit", r));
    const r = await timed("the up after a killed one: scripts/up.sh", () => co.sh(`DOCKERCOINS_STACK=${STACK} scripts/up.sh --skip-preview`));
    expect(r.stderr).toContain(`[up] the last pulumi command on stack ${STACK} was interrupted`);
    // Running as declared (a start-first rolling update may show one task more for a moment).
    await waitFor(`worker ${workers + 1}/${workers + 1}`, async () => ((await replicasOf("worker")) === `worker ${workers + 1}/${workers + 1}` ? true : undefined), 60_000);
    await co.pulumi("preview --expect-no-changes");
    await co.configSet("workerReplicas", String(workers));
    await co.up();
  }, 8 * MIN);

  it("localSubnet and swarmAddressPool on the live playground: refused in the preview, saying why and what to do; nothing changed", async () => {
    await co.configSet("localSubnet", "10.214.0.0/24");
    const r = await co.pulumi("preview", { allowFailure: true });
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toContain('dockercoins:localSubnet = "10.214.0.0/24" cannot be applied to the live playground: its nodes are on 10.213.0.0/24');
    await co.pulumi("config rm dockercoins:localSubnet");
    // The same for the Swarm's overlay address pool, fixed when the Swarm formed.
    await co.configSet("swarmAddressPool", "10.20.0.0/16");
    const pool = await co.pulumi("preview", { allowFailure: true });
    expect(pool.code).not.toBe(0);
    expect(pool.stdout + pool.stderr).toContain('dockercoins:swarmAddressPool = "10.20.0.0/16" cannot be applied to the live playground: its Swarm was formed with 10.0.0.0/8');
    await co.pulumi("config rm dockercoins:swarmAddressPool");
    await co.pulumi("preview --expect-no-changes");
  }, 3 * MIN);

  it("the network lab, short: every case measured or explained, side by side in its report; nothing left on the nodes", async () => {
    const outputs = JSON.parse((await co.pulumi("stack output --json")).stdout) as { sshCommand: string; nodes: string[] };
    const access = { ...parseSshCommand(outputs.sshCommand), nodes: parseNodes(outputs.nodes), overlay: NETWORK_NAME };
    const lab = await timed("network lab (2 s per case)", () => runNetworkLab({ access, target: "local", seconds: 2, log: (line) => console.log(line) }));
    const { markdown, chart } = writeLabReport(lab, join(ROOT, "test-artifacts"));
    console.log(`[pulumi e2e] network lab: ${markdown}, ${chart}\n${readFileSync(markdown, "utf8")}`);
    const gbps = (id: number) => lab.results.find((r) => r.id === id)!.gbps ?? 0;
    const why = (id: number) => lab.results.find((r) => r.id === id)!.unavailable ?? "";
    expect(lab.results.map((r) => r.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // The paths every Swarm has work: a figure each.
    for (const id of [1, 2, 3, 4, 5, 6, 7]) expect(gbps(id), `case ${id} ${why(id)}`).toBeGreaterThan(0.05);
    // Which path is faster (the seed's lesson: the container IP beats the node's IP:port detour) is the
    // report's to show, side by side: two 2-s iperf3 runs on a shared 2-core machine are too close to call in
    // a test (CI once measured 3.84 Gbit/s on the container IP against 4.22 through IP:port).
    // The rest is measured or says why not (this kernel has no IPVS: the routing mesh cannot work here).
    for (const r of lab.results) expect(r.gbps !== null || /\w/.test(r.unavailable ?? "")).toBe(true);
    const mesh = lab.results.find((r) => r.id === 9)!;
    if (mesh.gbps === null) expect(mesh.unavailable).toMatch(/IPVS/);
    // Nothing of the lab is left on the nodes.
    for (const node of [lab.nodeA, lab.nodeB]) {
      const n = Number(node.replace("node", ""));
      expect((await onNode(n, "docker ps -aq --filter label=dockercoins.netlab=1; docker images -q dockercoins-netlab")).stdout.trim()).toBe("");
    }
    expect(await onManager("docker service ls -q --filter name=netlab; docker network ls -q --filter name=netlab")).toBe("");
  }, 10 * MIN);

  it("destroy-time scripts: a live worker node is drained and removed, then leaves; both re-run cleanly", async () => {
    const script = await programScripts("delete");
    const workers = total(await tasksByNode("worker"));
    // The leave runs here, over ssh, with the key in its environment (as the program's local command does).
    const env = {
      SSH_KEY: readFileSync(join(co.dir, ".pulumi-state/dockercoins", STACK, "ssh/id"), "utf8"),
      SSH_HOST: "127.0.0.1", SSH_PORT: "22004", SSH_USER: "root", NODE: "node4",
    };
    await timed("drain, remove and leave node4", async () => {
      for (let i = 0; i < 2; i++) {
        await onNode(1, script("swarm-node4-labels"));
        await run("bash", ["-c", script("swarm-node4-leave")], { env });
      }
    });
    expect((await onManager("docker node ls --format '{{.Hostname}}'")).split("\n")).not.toContain("node4");
    expect((await onNode(4, "docker info --format '{{.Swarm.LocalNodeState}}'")).stdout.trim()).toBe("inactive");
    // Its workers now run elsewhere: as many as before, none on it.
    await waitFor(`${workers} workers elsewhere`, async () => {
      const w = await tasksByNode("worker");
      return total(w) === workers && !w.node4 ? true : undefined;
    }, 60_000, 2000);
  }, 4 * MIN);

  it("timing zero-delay: a rolling update one task at a time, mining never stalls, hashes/s rises many-fold", async () => {
    await co.configSet("timing", "zero-delay");
    expect(changes(await co.previewChanges())).toEqual(
      ["update dockercoins-hasher", "update dockercoins-rng", "update dockercoins-worker", "replace dockercoins-rollout"].sort(),
    );
    let upDone = false;
    const sampling = sampleFor(WEBUI, 10 * MIN, 500, () => upDone);
    const started = Date.now();
    await timed("rolling update to zero-delay", async () => {
      try {
        await co.up();
      } finally {
        upDone = true;
      }
    });
    const { samples, failures } = await sampling;
    const stall = longestStall(samples);
    console.log(`[pulumi e2e] during the rollout: ${samples.length} samples, ${failures} failed reads, longest stall ${stall.toFixed(1)} s`);
    expect(stall).toBeLessThan(5);
    expect(failures).toBeLessThanOrEqual(2);

    // `pulumi up` returned only once Swarm had finished: every update completed, none rolled back.
    for (const svc of ["rng", "hasher", "worker"]) {
      expect(await onManager(`docker service inspect -f '{{.UpdateStatus.State}}' ${svc}`)).toBe("completed");
    }
    // One task at a time, `delay` (5 s) apart: the new worker tasks started one by one over the rollout.
    const created = (await onManager(`docker service ps -q --filter desired-state=running worker | xargs docker inspect -f '{{.CreatedAt}}'`))
      .split("\n").map((t) => Date.parse(t.replace(/ \+0000 UTC$/, "Z").replace(" ", "T"))).sort((a, b) => a - b);
    expect(created).toHaveLength(10);
    expect(created.every((t) => t >= started)).toBe(true);
    const gaps = created.slice(1).map((t, i) => (t - created[i]) / 1000);
    console.log(`[pulumi e2e] worker tasks started ${gaps.map((g) => g.toFixed(1)).join(", ")} s apart`);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(4.5);

    const { rate } = await measureRate(WEBUI, 5_000, 15_000);
    console.log(`[pulumi e2e] zero-delay: ${rate.toFixed(1)} hashes/s (${(rate / globalRate).toFixed(1)}x the workshop timing)`);
    expect(rate).toBeGreaterThan(3 * globalRate);

    // No way back to the workshop's timing: only the join check and destroy follow, neither measures speed.
  }, 20 * MIN);

  it("a join that fails prints its script but not the join token (the token goes on standard input)", async () => {
    const token = await onManager("docker swarm join-token -q worker");
    expect(token).toMatch(/^SWMTKN-1-/);
    // node5 in a Swarm of its own: joining it again must fail ("in another swarm").
    const node5 = `${PREFIX}-node5`;
    await docker(["exec", node5, "sh", "-c", "docker swarm leave --force >/dev/null && docker swarm init --advertise-addr eth0 >/dev/null"]);
    const urn = (await co.pulumi("stack --show-urns")).stdout.match(/urn:pulumi:\S+::swarm-node5-join\b/)?.[0];
    expect(urn).toBeDefined();
    const failed = await co.pulumi(`up --yes --replace '${urn}'`, { allowFailure: true });
    const printed = failed.stdout + failed.stderr;
    expect(failed.code).not.toBe(0);
    expect(printed).toContain("this node is in another swarm");
    // pulumi-command prints the failed command's text: the token would be in it, were it in the script.
    expect(printed).toContain("curl -sS --unix-socket /var/run/docker.sock -X POST");
    expect(printed).not.toContain(token);
    expect((await co.pulumi("stack export")).stdout).not.toContain(token);
    // destroy (next) drains node5's old entry from the manager and makes node5 leave its own Swarm.
  }, 5 * MIN);

  it("destroy with a host already gone: done within 2 minutes, the host named as skipped; nothing left; stack rm works", async () => {
    await docker(["rm", "-f", `${PREFIX}-node3`]);
    const t0 = Date.now();
    const r = await timed("destroy (node3 gone)", () => co.pulumi("destroy --yes"));
    expect((Date.now() - t0) / 1000).toBeLessThan(120);
    expect(r.stdout + r.stderr).toMatch(/skipped node3 \(127\.0\.0\.1:22003\): its host is gone/);
    expect(await leftovers(PREFIX)).toEqual([]);
    await co.pulumi("stack rm --yes");
    expect((await co.sh("pulumi stack ls --json")).stdout).not.toContain(`"${STACK}"`);
    // The whole session printed no private key (PulumiCheckout checks every command's output).
    expect(co.transcript.length).toBeGreaterThan(10);
    console.log(`[pulumi e2e] figures (s): ${JSON.stringify(figures)}`);
  }, 5 * MIN);
});

/** Sum over the live worker tasks of the units each says it has reported to redis (its own /, on each node). */
async function workersReported(): Promise<{ sum: number; workers: number }> {
  const read = `for c in $(docker ps -q --filter label=com.docker.swarm.service.name=worker); do ` +
    `docker exec $c node -e 'fetch("http://127.0.0.1/").then((r) => r.text()).then(console.log)'; done`;
  const rows: { unitsDone: number; unreported: number }[] = [];
  for (const n of [1, 2, 3, 4, 5]) {
    const out = (await onNode(n, read)).stdout;
    rows.push(...out.split("\n").filter(Boolean).map((l) => JSON.parse(l) as { unitsDone: number; unreported: number }));
  }
  return { sum: rows.reduce((s, r) => s + r.unitsDone - r.unreported, 0), workers: rows.length };
}

/** The live workers' reported sum, and redis' hash count read just before and just after it. */
async function countsNow(): Promise<{ redisBefore: number; reported: { sum: number; workers: number }; redisAfter: number }> {
  const redisBefore = (await readJson(WEBUI)).hashes;
  const reported = await workersReported();
  return { redisBefore, reported, redisAfter: (await readJson(WEBUI)).hashes };
}

/** Waits until the counters stop moving (no worker left), returns that state. */
async function waitStill(): Promise<Sample> {
  let prev = await readJson(WEBUI);
  return waitFor("hashes to stop moving", async () => {
    await new Promise((r) => setTimeout(r, 3000));
    const cur = await readJson(WEBUI);
    const still = cur.hashes === prev.hashes && cur.coins === prev.coins;
    prev = cur;
    return still ? cur : undefined;
  }, 60_000, 0);
}

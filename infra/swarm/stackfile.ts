import { stringify } from "yaml";
import type { SwarmServiceSpec, UpdateSpec } from "./spec";

// The same SwarmServiceSpec values the Pulumi program deploys, rendered as a Compose v3.8 file for
// `docker stack deploy`. Used by the end-to-end test (and by anyone who wants the stack without Pulumi).

export interface StackFileOptions {
  /** Overlay network every service joins, created attachable under exactly this name. Omit for none. */
  network?: string;
}

const seconds = (s: number) => `${s}s`;

function updateConfig(u: UpdateSpec) {
  return {
    parallelism: u.parallelism,
    delay: seconds(u.delayS),
    monitor: seconds(u.monitorS),
    failure_action: u.failureAction,
    max_failure_ratio: u.maxFailureRatio,
    order: u.order,
  };
}

function stackService(spec: SwarmServiceSpec, network: string | undefined): Record<string, unknown> {
  const deploy: Record<string, unknown> =
    "global" in spec.mode ? { mode: "global" } : { mode: "replicated", replicas: spec.mode.replicas };
  deploy.endpoint_mode = spec.endpointMode;
  if (spec.update) deploy.update_config = updateConfig(spec.update);
  if (spec.rollback) deploy.rollback_config = updateConfig(spec.rollback);
  if (spec.restart) {
    deploy.restart_policy = {
      condition: spec.restart.condition,
      delay: seconds(spec.restart.delayS),
      max_attempts: spec.restart.maxAttempts,
      window: seconds(spec.restart.windowS),
    };
  }
  if (spec.limits || spec.reservations) {
    const res = (r: { cpus: number; memoryMiB: number }) => ({ cpus: String(r.cpus), memory: `${r.memoryMiB}M` });
    deploy.resources = {
      ...(spec.limits ? { limits: res(spec.limits) } : {}),
      ...(spec.reservations ? { reservations: res(spec.reservations) } : {}),
    };
  }
  if (spec.constraints?.length) deploy.placement = { constraints: spec.constraints };

  const svc: Record<string, unknown> = { image: spec.image };
  // Compose's `command` replaces the image's CMD and keeps its ENTRYPOINT, as spec.command means.
  if (spec.command) svc.command = spec.command;
  if (spec.env && Object.keys(spec.env).length) svc.environment = spec.env;
  if (spec.ports?.length) {
    svc.ports = spec.ports.map((p) => ({ target: p.target, published: p.published, protocol: "tcp", mode: p.mode }));
  }
  if (spec.healthcheck) {
    const h = spec.healthcheck;
    svc.healthcheck = {
      test: h.test,
      interval: seconds(h.intervalS),
      timeout: seconds(h.timeoutS),
      retries: h.retries,
      start_period: seconds(h.startPeriodS),
    };
  }
  if (spec.stopGracePeriodS !== undefined) svc.stop_grace_period = seconds(spec.stopGracePeriodS);
  if (spec.mounts?.length) svc.volumes = spec.mounts.map((m) => ({ type: m.type, source: m.source, target: m.target }));
  if (network) svc.networks = [network];
  if (spec.logDriver) svc.logging = { driver: spec.logDriver.name, options: spec.logDriver.options };
  svc.deploy = deploy;
  return svc;
}

/** Compose v3.8 YAML for `docker stack deploy -c - <stack>`. */
export function renderStackFile(specs: SwarmServiceSpec[], opts: StackFileOptions = {}): string {
  const names = new Set<string>();
  for (const s of specs) {
    if (names.has(s.name)) throw new Error(`duplicate service name ${JSON.stringify(s.name)}`);
    names.add(s.name);
  }
  const volumes = [...new Set(specs.flatMap((s) => (s.mounts ?? []).map((m) => m.source)))].sort();
  const doc: Record<string, unknown> = {
    version: "3.8",
    services: Object.fromEntries(specs.map((s) => [s.name, stackService(s, opts.network)])),
  };
  if (opts.network) {
    // `name` keeps the network called exactly `dockercoins` (not `<stack>_dockercoins`), so the debug
    // containers and the Pulumi program find it under the same name.
    doc.networks = { [opts.network]: { name: opts.network, driver: "overlay", attachable: true } };
  }
  // Same for volumes: the redis volume is `dockercoins-redis` whichever deployer made it.
  if (volumes.length) doc.volumes = Object.fromEntries(volumes.map((v) => [v, { name: v }]));
  // Docker's parser reads YAML 1.1, where a bare `yes`/`on` is a boolean: quote such strings.
  return stringify(doc, { version: "1.1", lineWidth: 0 });
}

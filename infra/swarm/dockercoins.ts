import type { EndpointMode, HealthcheckSpec, PortSpec, RestartSpec, SwarmServiceSpec, UpdateSpec } from "./spec";

// DockerCoins as Swarm services, from plain options. The Pulumi program maps these specs to
// docker.Service resources (services.ts).

/** The attachable overlay network every DockerCoins service joins; names resolve on it. */
export const NETWORK_NAME = "dockercoins";
/** Named volume holding redis' append-only file, on the node labelled for redis. */
export const REDIS_VOLUME = "dockercoins-redis";
export const REGISTRY_VOLUME = "dockercoins-registry";

/** Node labels the cluster sets and the services' placement constraints use. */
export const NODE_LABELS = {
  /** The node that keeps redis' volume: redis is pinned there so the wallet survives restarts. */
  redis: "dockercoins.redis",
  /** The node(s) that publish webui in host mode (dnsrr), e.g. the node whose port is reachable. */
  webui: "dockercoins.webui",
  /** The node that runs the private registry (the first manager), reached as <its address>:5000. */
  registry: "dockercoins.registry",
  /** The node that keeps the optional log store's volume (the first manager); the engines ship to its address. */
  logs: "dockercoins.logs",
} as const;

export const REGISTRY_PORT = 5000;

export interface DockerCoinsImages {
  rng: string;
  hasher: string;
  worker: string;
  webui: string;
  redis: string;
  /** Needed when `httplat` is set. */
  httplat?: string;
  /** Needed when `debug` is true: any image with a shell, `sleep`, and the tools you want in the overlay. */
  debug?: string;
}

export interface DockerCoinsServicesOptions {
  /** Image references; the DockerCoins ones pinned by digest (`repo@sha256:...`). */
  images: DockerCoinsImages;
  replicas: { worker: number; rng: number; hasher: number; webui: number };
  /** `global` runs one rng per node (the workshop's fix for the rng bottleneck); then replicas.rng is ignored. */
  rngMode: "replicated" | "global";
  /** `vip` needs IPVS (webui published through the ingress mesh); `dnsrr` publishes webui in host mode. */
  endpointMode: EndpointMode;
  /** Port webui is published on (8000 in the workshop). */
  webuiPort: number;
  /** `workshop`: the 100 ms delays that make the lesson; `zero-delay`: no artificial delays. */
  timing: "workshop" | "zero-delay";
  /** A global `debug` service on the overlay, for drill/ab/httping from inside it. */
  debug?: boolean;
  /** The latency exporter, probing `url` every `intervalMs`. */
  httplat?: { url: string; intervalMs: number };
}

/**
 * GET /healthz through bash's /dev/tcp: about 2 ms of CPU where starting node for the image's own check
 * (dist/lib/healthcheck.js) costs about 55, so it can run every 2 s for the same CPU. That matters because a
 * Swarm task counts as running only once its first check passes, tried one interval after it starts (Docker
 * 20.10 has no --health-start-interval): a scale or a roll waits about 2 s for it instead of 5. Images
 * without bash (an Alpine nodeImage) fall back to the node check. Exit 1 on any failure (Docker reserves 2).
 */
export const HEALTHZ_PROBE =
  `[ -x /bin/bash ] && exec /bin/bash -c 'exec 3<>/dev/tcp/127.0.0.1/$PORT && printf "GET /healthz HTTP/1.0\\r\\n\\r\\n" >&3 && ` +
  `read -r -t 2 status <&3 && [[ $status == *" 200 "* ]] || exit 1' || exec node dist/lib/healthcheck.js`;

const SERVICE_HEALTHCHECK: HealthcheckSpec = {
  test: ["CMD-SHELL", HEALTHZ_PROBE],
  intervalS: 2,
  timeoutS: 3,
  retries: 3,
  startPeriodS: 10,
};

/** The workshop's healthcheck lab: one task at a time, 5 s apart, roll back if half the new tasks fail. */
export const ROLLING_UPDATE: UpdateSpec = {
  parallelism: 1,
  delayS: 5,
  monitorS: 5,
  failureAction: "rollback",
  maxFailureRatio: 0.5,
  // A new task is healthy before an old one stops: with >= 2 replicas, no gap in service.
  order: "start-first",
};

export const ROLLBACK: UpdateSpec = {
  parallelism: 1,
  delayS: 0,
  monitorS: 5,
  failureAction: "pause",
  maxFailureRatio: 0,
  order: "start-first",
};

/** Stateful singletons (redis, registry, the log store) must not run twice on one volume: stop the old task first. */
const STOP_FIRST_UPDATE: UpdateSpec = { ...ROLLING_UPDATE, order: "stop-first" };
const STOP_FIRST_ROLLBACK: UpdateSpec = { ...ROLLBACK, order: "stop-first" };

/**
 * Restart a failed task every 5 s, and never give up (maxAttempts 0, Swarm's default): a service whose task
 * failed 5 times in a window would stay at 0 running for good, whatever comes back later. Seen on the heal of
 * a lost first manager: webui, pinned to the new node1, is rejected ("No such image") until the heal pushes
 * the images into its new registry, 5 times in a minute on a busy machine.
 */
export const RESTART: RestartSpec = { condition: "any", delayS: 5, maxAttempts: 0, windowS: 120 };

const RESERVATION = { cpus: 0.05, memoryMiB: 32 };

/** redis and the registry: one task owning a volume, so an update stops the old task before the new one. */
const SINGLE_STATEFUL_TASK = {
  update: STOP_FIRST_UPDATE,
  rollback: STOP_FIRST_ROLLBACK,
  restart: RESTART,
  limits: { cpus: 0.5, memoryMiB: 256 },
  reservations: RESERVATION,
} satisfies Partial<SwarmServiceSpec>;

function timingEnv(timing: DockerCoinsServicesOptions["timing"]): Record<string, string> {
  const ms = timing === "workshop" ? "100" : "0";
  return { RNG_DELAY_MS: ms, HASHER_DELAY_MS: ms, WORKER_SLEEP_MS: ms };
}

/** Each task says which node it runs on (Swarm fills the template): in webui's replica view and in every log line. */
const NODE_NAME_ENV = { NODE_NAME: "{{.Node.Hostname}}" };
/** webui finds every rng and hasher task by Swarm's `tasks.<service>` name, in VIP and DNS round-robin mode. */
const WATCH_REPLICAS = "rng=dns://tasks.rng:80,hasher=dns://tasks.hasher:80";

function checkReplicas(name: string, n: number): number {
  if (!Number.isInteger(n) || n < 0) throw new Error(`replicas.${name} must be an integer >= 0, got ${n}`);
  return n;
}

/**
 * A DockerCoins service's settings as ONE variable, DOCKERCOINS_ENV (a JSON object, keys sorted; app/lib/env.ts
 * reads it). The docker provider writes a service's environment from a Go map, in a new order on each update,
 * and Swarm takes a new order for a new spec: with two variables or more, a mere scale restarted every running
 * task, one by one (seen: workerReplicas 1 -> 10 waited 17 s for the old task's roll). One variable has one order.
 */
export function bundleEnv(env: Record<string, string>): Record<string, string> {
  const sorted = Object.fromEntries(Object.entries(env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return { DOCKERCOINS_ENV: JSON.stringify(sorted) };
}

function appService(
  name: string,
  image: string,
  opts: DockerCoinsServicesOptions,
  { env, ...extra }: Partial<SwarmServiceSpec>,
): SwarmServiceSpec {
  return {
    name,
    image,
    mode: { replicas: 1 },
    endpointMode: opts.endpointMode,
    healthcheck: SERVICE_HEALTHCHECK,
    update: ROLLING_UPDATE,
    rollback: ROLLBACK,
    restart: RESTART,
    // No stopGracePeriod but the worker's: Swarm's default is 10 s, and the docker provider's delete waits for
    // every task container on the manager to be removed, up to a grace period given (5-7 s a service).
    reservations: RESERVATION,
    ...extra,
    ...(env ? { env: bundleEnv(env) } : {}),
  };
}

/** The webui port: host mode where there is no IPVS (dnsrr), the ingress routing mesh otherwise. */
export function webuiPorts(endpointMode: EndpointMode, webuiPort: number): PortSpec[] {
  return [{ target: 80, published: webuiPort, mode: endpointMode === "dnsrr" ? "host" : "ingress" }];
}

/** rng, hasher, worker, webui, redis, and optionally debug (global) and httplat. */
export function dockercoinsServices(opts: DockerCoinsServicesOptions): SwarmServiceSpec[] {
  const { images, replicas } = opts;
  if (!Number.isInteger(opts.webuiPort) || opts.webuiPort < 1 || opts.webuiPort > 65535) {
    throw new Error(`webuiPort must be a TCP port (1-65535), got ${opts.webuiPort}`);
  }
  const timing = timingEnv(opts.timing);
  const hostPublish = opts.endpointMode === "dnsrr";

  const specs: SwarmServiceSpec[] = [
    {
      name: "redis",
      image: images.redis,
      mode: { replicas: 1 },
      endpointMode: opts.endpointMode,
      // Append-only file on a named volume on a pinned node: the wallet survives restarts and updates.
      command: ["redis-server", "--appendonly", "yes"],
      mounts: [{ type: "volume", source: REDIS_VOLUME, target: "/data" }],
      constraints: [`node.labels.${NODE_LABELS.redis} == true`],
      healthcheck: { test: ["CMD", "redis-cli", "ping"], intervalS: 5, timeoutS: 3, retries: 3, startPeriodS: 5 },
      ...SINGLE_STATEFUL_TASK,
    },
    appService("rng", images.rng, opts, {
      mode: opts.rngMode === "global" ? { global: true } : { replicas: checkReplicas("rng", replicas.rng) },
      env: { RNG_DELAY_MS: timing.RNG_DELAY_MS, ...NODE_NAME_ENV },
      limits: { cpus: 0.5, memoryMiB: 128 },
    }),
    appService("hasher", images.hasher, opts, {
      mode: { replicas: checkReplicas("hasher", replicas.hasher) },
      env: { HASHER_DELAY_MS: timing.HASHER_DELAY_MS, ...NODE_NAME_ENV },
      limits: { cpus: 0.5, memoryMiB: 128 },
    }),
    appService("worker", images.worker, opts, {
      mode: { replicas: checkReplicas("worker", replicas.worker) },
      env: {
        REDIS_URL: "redis://redis:6379",
        RNG_URL: "http://rng",
        HASHER_URL: "http://hasher",
        WORKER_SLEEP_MS: timing.WORKER_SLEEP_MS,
        ...NODE_NAME_ENV,
      },
      // The worker reports its unreported loops on SIGTERM before exiting: give it time to.
      stopGracePeriodS: 15,
      limits: { cpus: 0.25, memoryMiB: 128 },
    }),
    appService("webui", images.webui, opts, {
      mode: { replicas: checkReplicas("webui", replicas.webui) },
      env: { REDIS_URL: "redis://redis:6379", WATCH_REPLICAS, ...NODE_NAME_ENV },
      ports: webuiPorts(opts.endpointMode, opts.webuiPort),
      // A host-mode port exists only on the node running the task: keep webui where the port is reachable.
      // And the old task holds that port until it stops: a start-first update would need another labelled
      // node with the port free, and with one task per labelled node there is none (the update waits
      // forever, "host-mode port already in use"). Stop first: a few seconds without the page, never a hang.
      ...(hostPublish
        ? {
            constraints: [`node.labels.${NODE_LABELS.webui} == true`],
            update: { ...ROLLING_UPDATE, order: "stop-first" as const },
            rollback: { ...ROLLBACK, order: "stop-first" as const },
          }
        : {}),
      limits: { cpus: 0.5, memoryMiB: 128 },
    }),
  ];

  if (opts.httplat) {
    if (!images.httplat) throw new Error("images.httplat is required when httplat is set");
    specs.push(
      appService("httplat", images.httplat, opts, {
        // Its image listens on HTTPLAT_PORT (images/index.ts builds it so).
        env: {
          HTTPLAT_URL: opts.httplat.url,
          HTTPLAT_INTERVAL_MS: String(opts.httplat.intervalMs),
        },
        limits: { cpus: 0.25, memoryMiB: 96 },
      }),
    );
  }

  if (opts.debug) {
    if (!images.debug) throw new Error("images.debug is required when debug is true");
    specs.push({
      name: "debug",
      image: images.debug,
      mode: { global: true },
      endpointMode: opts.endpointMode,
      // Exits at once on SIGTERM (a bare `sleep` as PID 1 ignores it, and would hold every stop for 10 s).
      command: ["sh", "-c", "trap 'exit 0' TERM; sleep infinity & wait"],
      restart: RESTART,
      limits: { cpus: 0.25, memoryMiB: 64 },
    });
  }
  return specs;
}

export interface RegistryServiceOptions {
  /** `registry:2` or a local stand-in with the same layout. */
  image: string;
  endpointMode: EndpointMode;
}

/**
 * The Swarm's private registry (the workshop's `registry:2` on port 5000), on the node labelled
 * `dockercoins.registry`, published in host mode on 5000 so every node reaches it at that node's
 * address, listed as an insecure registry by the bootstrap script.
 */
export function registryService(opts: RegistryServiceOptions): SwarmServiceSpec {
  return pinnedServerService({
    name: "registry",
    image: opts.image,
    endpointMode: opts.endpointMode,
    port: { target: REGISTRY_PORT, published: REGISTRY_PORT },
    volume: { source: REGISTRY_VOLUME, target: "/var/lib/registry" },
    nodeLabel: NODE_LABELS.registry,
  });
}

/**
 * A server the nodes' engines reach at one node's address (the registry, the log store): one task owning its
 * volume on the node with `nodeLabel`, its port published in host mode there.
 */
export function pinnedServerService(o: {
  name: string;
  image: string;
  endpointMode: EndpointMode;
  port: { target: number; published: number };
  volume: { source: string; target: string };
  nodeLabel: string;
}): SwarmServiceSpec {
  return {
    name: o.name,
    image: o.image,
    mode: { replicas: 1 },
    endpointMode: o.endpointMode,
    ports: [{ ...o.port, mode: "host" }],
    mounts: [{ type: "volume", ...o.volume }],
    constraints: [`node.labels.${o.nodeLabel} == true`],
    ...SINGLE_STATEFUL_TASK,
  };
}

// The plain, target-neutral description of one Swarm service, which the Pulumi program turns into a
// docker.Service (services.ts). Plain values, so the decisions are tested without Pulumi.

export type EndpointMode = "vip" | "dnsrr";
export type PublishMode = "ingress" | "host";

export interface PortSpec {
  /** Port inside the container. */
  target: number;
  /** Port on the node (host mode) or on every node through the routing mesh (ingress). */
  published: number;
  /** `ingress` needs IPVS in the kernel; `host` works everywhere. */
  mode: PublishMode;
}

export interface HealthcheckSpec {
  /** Docker's test form, e.g. ["CMD", "node", "/app/healthcheck.js"]. */
  test: string[];
  intervalS: number;
  timeoutS: number;
  retries: number;
  startPeriodS: number;
}

export interface UpdateSpec {
  parallelism: number;
  delayS: number;
  monitorS: number;
  failureAction: "rollback" | "pause" | "continue";
  maxFailureRatio: number;
  order: "stop-first" | "start-first";
}

export interface RestartSpec {
  condition: "on-failure" | "any" | "none";
  delayS: number;
  maxAttempts: number;
  windowS: number;
}

export interface MountSpec {
  type: "volume";
  /** Named volume on the node that runs the task. */
  source: string;
  target: string;
}

export interface SwarmServiceSpec {
  /** Service name, which is also its DNS name on the overlay network. */
  name: string;
  /** Image reference; DockerCoins images are pinned by digest (`repo@sha256:...`). */
  image: string;
  /** Replicated with a count, or one task per node. */
  mode: { replicas: number } | { global: true };
  endpointMode: EndpointMode;
  command?: string[];
  env?: Record<string, string>;
  ports?: PortSpec[];
  healthcheck?: HealthcheckSpec;
  update?: UpdateSpec;
  rollback?: UpdateSpec;
  restart?: RestartSpec;
  stopGracePeriodS?: number;
  limits?: { cpus: number; memoryMiB: number };
  reservations?: { cpus: number; memoryMiB: number };
  mounts?: MountSpec[];
  /** Placement constraints, e.g. "node.labels.dockercoins.redis == true". */
  constraints?: string[];
  /** Where the node's engine sends the task's output (a Docker log driver and its options); the engine's default if unset. */
  logDriver?: { name: string; options: Record<string, string> };
}

import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { NETWORK_NAME } from "./dockercoins";
import { forHosts, remoteBash, scriptHash, spreadTasksScript, waitForRolloutScript, warmImagesScript } from "./scripts";
import type { SwarmServiceSpec } from "./spec";

// Swarm services as Pulumi resources: each plain SwarmServiceSpec (dockercoins.ts) becomes a docker.Service,
// its inputs written exactly as the docker provider reads them back from Swarm, so a refresh or a second
// `pulumi up` finds nothing to change.

/**
 * A duration as the docker provider reads it back from Swarm (Go's time.Duration text, without a trailing
 * "0s"/"0m": 5 -> "5s", 120 -> "2m", 90 -> "1m30s", 3600 -> "1h"). Written any other way ("120s"), every
 * preview shows an update that never settles (pulumi/pulumi-docker#1285).
 */
export function goDuration(seconds: number): string {
  if (!Number.isInteger(seconds) || seconds < 0) throw new Error(`durations are whole seconds >= 0, got ${seconds}`);
  if (seconds === 0) return "0s";
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  let text = h > 0 ? `${h}h${m}m${s}s` : m > 0 ? `${m}m${s}s` : `${s}s`;
  if (text.endsWith("m0s")) text = text.slice(0, -2);
  if (text.endsWith("h0m")) text = text.slice(0, -2);
  return text;
}

/**
 * A failure ratio for the provider. Since terraform-provider-docker 4.1 (pulumi-docker 5) "0" and "0.0" are the
 * same ratio to it; it still reads a ratio back with one decimal, so 0.25 would drift as "0.2" on every refresh.
 */
export function failureRatio(ratio: number): string {
  if (Number(ratio.toFixed(1)) !== ratio) throw new Error(`maxFailureRatio takes one decimal (the provider keeps no more), got ${ratio}`);
  return String(ratio);
}

const MiB = 1024 * 1024;

/**
 * The docker.Service arguments for one spec: exactly what the stack file says, in the provider's terms.
 * spec.command becomes the container's args (the image's ENTRYPOINT stays), as in Compose.
 * providerWaits: the provider itself waits for the service to converge (convergeConfig), for a program
 * without the rollout waiter on a manager (SwarmServicesArgs.managerConnection), which is faster.
 */
export function toServiceArgs(spec: SwarmServiceSpec, networkId: pulumi.Input<string>, providerWaits = true): docker.ServiceArgs {
  const update = (u: NonNullable<SwarmServiceSpec["update"]>) => ({
    parallelism: u.parallelism,
    delay: goDuration(u.delayS),
    monitor: goDuration(u.monitorS),
    failureAction: u.failureAction,
    maxFailureRatio: failureRatio(u.maxFailureRatio),
    order: u.order,
  });
  const resources = (r: { cpus: number; memoryMiB: number }) => ({
    nanoCpus: Math.round(r.cpus * 1e9),
    memoryBytes: r.memoryMiB * MiB,
  });
  const global = "global" in spec.mode;
  return {
    name: spec.name,
    mode: "global" in spec.mode ? { global: true } : { replicated: { replicas: spec.mode.replicas } },
    endpointSpec: {
      mode: spec.endpointMode,
      ...(spec.ports?.length
        ? {
            ports: spec.ports.map((p) => ({
              targetPort: p.target,
              publishedPort: p.published,
              publishMode: p.mode,
              protocol: "tcp",
            })),
          }
        : {}),
    },
    taskSpec: {
      containerSpec: {
        image: spec.image,
        ...(spec.command ? { args: spec.command } : {}),
        ...(spec.env ? { env: spec.env } : {}),
        ...(spec.healthcheck
          ? {
              healthcheck: {
                tests: spec.healthcheck.test,
                interval: goDuration(spec.healthcheck.intervalS),
                timeout: goDuration(spec.healthcheck.timeoutS),
                retries: spec.healthcheck.retries,
                startPeriod: goDuration(spec.healthcheck.startPeriodS),
              },
            }
          : {}),
        ...(spec.mounts?.length ? { mounts: spec.mounts.map((m) => ({ type: m.type, source: m.source, target: m.target })) } : {}),
        ...(spec.stopGracePeriodS !== undefined ? { stopGracePeriod: goDuration(spec.stopGracePeriodS) } : {}),
      },
      networksAdvanceds: [{ id: networkId }],
      ...(spec.logDriver ? { logDriver: { name: spec.logDriver.name, options: spec.logDriver.options } } : {}),
      ...(spec.constraints?.length ? { placement: { constraints: spec.constraints } } : {}),
      ...(spec.restart
        ? {
            restartPolicy: {
              condition: spec.restart.condition,
              delay: goDuration(spec.restart.delayS),
              maxAttempts: spec.restart.maxAttempts,
              window: goDuration(spec.restart.windowS),
            },
          }
        : {}),
      ...(spec.limits || spec.reservations
        ? {
            resources: {
              ...(spec.limits ? { limits: resources(spec.limits) } : {}),
              ...(spec.reservations ? { reservation: resources(spec.reservations) } : {}),
            },
          }
        : {}),
    },
    ...(spec.update ? { updateConfig: update(spec.update) } : {}),
    ...(spec.rollback ? { rollbackConfig: update(spec.rollback) } : {}),
    // `pulumi up` returns only once every replicated service has converged (all tasks running). The
    // provider refuses convergeConfig on a global service ("conflicts with mode.0.global"), and it waits at
    // its own pace: 7 s before it first looks after an update, then every 5 s at least.
    ...(global || !providerWaits ? {} : { convergeConfig: { delay: "5s", timeout: "5m" } }),
  };
}

export interface SwarmServicesArgs {
  /** A docker.Provider talking to a Swarm manager (e.g. host `ssh://root@127.0.0.1:2221`). */
  provider: docker.Provider;
  /** The services, e.g. dockercoinsServices(...) plus registryService(...). */
  specs: SwarmServiceSpec[];
  /** Overlay network name; `dockercoins` unless told otherwise. */
  networkName?: string;
  /**
   * SSH connection to a manager. Given, `pulumi up` waits there until Swarm runs every task of every service
   * whose spec or replica count changed, looking every second, and fails if Swarm paused or rolled the update
   * back (the provider's own wait, slower, is then left out). Without it the provider waits.
   */
  managerConnection?: command.types.input.remote.ConnectionArgs;
  /**
   * The hosts' identities (Host.identity; "" where none is known). With managerConnection, a host that is a
   * new machine makes the services with a task on every node (replicated, unpinned) spread them again.
   */
  hostIdentities?: pulumi.Input<string>[];
}

/**
 * What the rollout wait depends on: every spec, its replica count included, with the image digests resolved.
 * Changes exactly when some service's tasks are replaced, added or removed.
 */
export function rolloutKey(specs: SwarmServiceSpec[]): pulumi.Output<string> {
  return pulumi.output(specs).apply((resolved) => scriptHash(JSON.stringify(resolved)));
}

/** The attachable overlay network `dockercoins` and one docker.Service per spec. */
export class SwarmServices extends pulumi.ComponentResource {
  public readonly network: docker.Network;
  public readonly services: Record<string, docker.Service>;

  constructor(name: string, args: SwarmServicesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dockercoins:swarm:Services", name, {}, opts);
    const child = { parent: this, provider: args.provider };
    this.network = new docker.Network(
      `${name}-network`,
      { name: args.networkName ?? NETWORK_NAME, driver: "overlay", attachable: true },
      child,
    );
    this.services = Object.fromEntries(
      args.specs.map((spec) => [
        spec.name,
        new docker.Service(`${name}-${spec.name}`, toServiceArgs(spec, this.network.id, !args.managerConnection), {
          ...child,
          // Swarm cannot switch a service between replicated and global: replace it (the workshop's
          // `docker service rm rng` + `create --mode global`). Only on that switch: "mode" would also
          // match mode.replicated.replicas and replace the service on every scale.
          replaceOnChanges: ["mode.global"],
          deleteBeforeReplace: true,
        }),
      ]),
    );
    if (args.managerConnection) {
      new command.remote.Command(
        `${name}-rollout`,
        {
          connection: args.managerConnection,
          create: remoteBash(waitForRolloutScript({ services: args.specs.map((s) => s.name) })),
          triggers: [rolloutKey(args.specs)],
        },
        { parent: this, dependsOn: Object.values(this.services) },
      );
      // Every unpinned service, whatever its mode (the script skips a global one): an rngMode change
      // leaves this step as it is.
      const spreading = args.specs.filter((s) => !s.constraints?.length).map((s) => s.name);
      if (args.hostIdentities && spreading.length) {
        new command.remote.Command(
          `${name}-spread`,
          {
            connection: args.managerConnection,
            create: pulumi
              .all(args.hostIdentities)
              .apply(
                (ids) =>
                  `${remoteBash(forHosts(ids, spreadTasksScript({ services: spreading })))} && ${remoteBash(warmImagesScript({ services: spreading }))}`,
              ),
          },
          { parent: this, dependsOn: Object.values(this.services) },
        );
      }
    }
    this.registerOutputs({ network: this.network.name, services: Object.keys(this.services) });
  }
}

/** Alias under the workshop's name. */
export { SwarmServices as DockerCoinsSwarm };

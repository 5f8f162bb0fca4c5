import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { isHelmRepository } from "../config";
import { httplatManifests, LATENCY_METRIC, loadTestJobManifest, rngHpaManifest, type RngHpaOptions } from "./manifests";

/**
 * A chart from the repository, or from its archive in a directory standing in for it (`<chart>-<version>.tgz`, as
 * `helm pull` names it): Helm installs a local archive as it is, its version in its name.
 */
export function chartSource(repo: string, chart: string, version: string): { chart: string; version?: string; repositoryOpts?: { repo: string } } {
  return isHelmRepository(repo) ? { chart, version, repositoryOpts: { repo } } : { chart: `${repo}/${chart}-${version}.tgz` };
}

/**
 * The prometheus chart's values: its server, scraping every 10 s, reachable on a NodePort as the seed's; none of
 * the chart's other parts (alertmanager, pushgateway, node-exporter, kube-state-metrics), which the lesson never reads.
 * A 2 GiB volume (the chart asks 8): one exporter's series fit in far less, and a small node's volumes are small;
 * the oldest blocks go past 1 GB.
 */
export function prometheusValues(): object {
  return {
    alertmanager: { enabled: false },
    "prometheus-pushgateway": { enabled: false },
    "prometheus-node-exporter": { enabled: false },
    "kube-state-metrics": { enabled: false },
    server: {
      global: { scrape_interval: "10s" },
      service: { type: "NodePort" },
      persistentVolume: { size: "2Gi" },
      retentionSize: "1GB",
    },
  };
}
/**
 * prometheus-adapter rule serving `httplat_latency_seconds` for the httplat Service as the workshop's PromQL:
 * rate(sum[2m]) / rate(count[2m]), i.e. the mean probe latency over two minutes.
 */
export function latencyAdapterRules(): object {
  return {
    default: false,
    custom: [
      {
        seriesQuery: `${LATENCY_METRIC}_sum{namespace!="",service!=""}`,
        resources: { overrides: { namespace: { resource: "namespace" }, service: { resource: "service" } } },
        name: { matches: "^(.*)_sum$", as: "${1}" },
        metricsQuery: `sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>) / sum(rate(${LATENCY_METRIC}_count{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)`,
      },
    ],
  };
}

export interface MonitoringArgs {
  namespace: string;
  prometheusChartVersion: string;
  /** A Helm repository URL, or a directory of the charts' archives. */
  chartRepo: string;
  /** Install prometheus-adapter so the HPA can read the latency metric. */
  latencyMetrics: boolean;
  adapterChartVersion: string;
  /** The httplat exporter: its image and the one URL it probes every 10 s. */
  httplat?: { image: pulumi.Input<string>; imagePullPolicy: "Never" | "IfNotPresent"; url: string };
}

/** Prometheus from its Helm chart, the httplat latency exporter, and the adapter feeding the HPA. */
export class Monitoring extends pulumi.ComponentResource {
  public readonly prometheus: k8s.helm.v3.Release;
  /** The NodePort of Prometheus' server (its UI and API). */
  public readonly nodePort: pulumi.Output<number>;

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dockercoins:kubernetes:Monitoring", name, {}, opts);
    this.prometheus = new k8s.helm.v3.Release(
      `${name}-prometheus`,
      {
        name: "prometheus",
        ...chartSource(args.chartRepo, "prometheus", args.prometheusChartVersion),
        namespace: args.namespace,
        values: prometheusValues(),
      },
      { parent: this },
    );
    // The chart names the server's Service; read back once the release is installed.
    const server = k8s.core.v1.Service.get(
      `${name}-prometheus-server`,
      pulumi.interpolate`${this.prometheus.status.namespace}/${this.prometheus.status.name}-server`,
      { parent: this, dependsOn: [this.prometheus] },
    );
    this.nodePort = server.spec.ports[0].nodePort;

    if (args.httplat) {
      const m = httplatManifests({ namespace: args.namespace, ...args.httplat });
      new k8s.apps.v1.Deployment(`${name}-httplat`, m.deployment, { parent: this });
      new k8s.core.v1.Service(`${name}-httplat-svc`, m.service, { parent: this });
    }

    if (args.latencyMetrics) {
      new k8s.helm.v3.Release(
        `${name}-adapter`,
        {
          name: "prometheus-adapter",
          ...chartSource(args.chartRepo, "prometheus-adapter", args.adapterChartVersion),
          namespace: args.namespace,
          values: {
            prometheus: { url: pulumi.interpolate`http://prometheus-server.${args.namespace}.svc`, port: 80 },
            rules: latencyAdapterRules(),
          },
        },
        { parent: this, dependsOn: [this.prometheus] },
      );
    }
    this.registerOutputs({ prometheus: this.prometheus.name, nodePort: this.nodePort });
  }
}

export interface RngAutoscalerArgs extends RngHpaOptions {
  namespace: string;
}

/** The HPA that owns rng's replica count. */
export class RngAutoscaler extends pulumi.ComponentResource {
  public readonly hpa: k8s.autoscaling.v2.HorizontalPodAutoscaler;

  constructor(name: string, args: RngAutoscalerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dockercoins:kubernetes:RngAutoscaler", name, {}, opts);
    this.hpa = new k8s.autoscaling.v2.HorizontalPodAutoscaler(`${name}-hpa`, rngHpaManifest(args.namespace, args), { parent: this });
    this.registerOutputs({ hpa: this.hpa.metadata.name });
  }
}

export interface LoadTestArgs {
  namespace: string;
  target: "rng" | "hasher";
  /** An image with siege in it (the workshop's schoolofdevops/loadtest:v1). */
  image: string;
}

/** A 4-minute siege Job against rng or hasher, to watch the HPA react. */
export class LoadTest extends pulumi.ComponentResource {
  public readonly job: k8s.batch.v1.Job;

  constructor(name: string, args: LoadTestArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dockercoins:kubernetes:LoadTest", name, {}, opts);
    // A named Job: a changed one is deleted first (its pod template cannot be updated in place).
    this.job = new k8s.batch.v1.Job(`${name}-job`, loadTestJobManifest(args.namespace, args.target, args.image), {
      parent: this,
      deleteBeforeReplace: true,
    });
    this.registerOutputs({ job: this.job.metadata.name });
  }
}

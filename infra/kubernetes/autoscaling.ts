import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

export const PROMETHEUS_REPO = "https://prometheus-community.github.io/helm-charts";
/** The latency exporter's metric, as the original `httplat` names it. */
export const LATENCY_METRIC = "httplat_latency_seconds";

export interface RngHpaOptions {
  mode: "cpu" | "latency";
  minReplicas: number;
  maxReplicas: number;
  /** Target average CPU utilisation (cpu mode), as `kubectl autoscale --cpu-percent`. */
  cpuPercent: number;
  /** Target mean latency of rng as httplat sees it (latency mode). */
  latencyTargetMs: number;
}

/**
 * autoscaling/v2 spec for rng. CPU mode is the seeds' `kubectl autoscale --cpu-percent=50 --min=1 --max=10`;
 * latency mode is the original's: an Object metric on the httplat Service, scale-up window 60 s, scale-down
 * 180 s (the metric lags 1-2 min behind, so shorter windows oscillate).
 */
export function rngHpaSpec(deploymentName: pulumi.Input<string>, o: RngHpaOptions): k8s.types.input.autoscaling.v2.HorizontalPodAutoscalerSpec {
  const scaleTargetRef = { apiVersion: "apps/v1", kind: "Deployment", name: deploymentName };
  if (o.mode === "cpu") {
    return {
      scaleTargetRef,
      minReplicas: o.minReplicas,
      maxReplicas: o.maxReplicas,
      metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: o.cpuPercent } } }],
    };
  }
  return {
    scaleTargetRef,
    minReplicas: o.minReplicas,
    maxReplicas: o.maxReplicas,
    metrics: [
      {
        type: "Object",
        object: {
          describedObject: { apiVersion: "v1", kind: "Service", name: "httplat" },
          metric: { name: LATENCY_METRIC },
          // A quantity in seconds: 100 ms is "100m".
          target: { type: "Value", value: `${o.latencyTargetMs}m` },
        },
      },
    ],
    behavior: { scaleUp: { stabilizationWindowSeconds: 60 }, scaleDown: { stabilizationWindowSeconds: 180 } },
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
  namespace: pulumi.Input<string>;
  prometheusChartVersion: string;
  /** Install prometheus-adapter so the HPA can read the latency metric. */
  latencyMetrics: boolean;
  adapterChartVersion: string;
  /** The httplat exporter: its image and the one URL it probes every 10 s. */
  httplat?: { image: pulumi.Input<string>; imagePullPolicy: "Never" | "IfNotPresent"; url: string };
}

/** Prometheus from its Helm chart, the httplat latency exporter, and the adapter feeding the HPA. */
export class Monitoring extends pulumi.ComponentResource {
  public readonly prometheus: k8s.helm.v3.Release;

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dockercoins:kubernetes:Monitoring", name, {}, opts);
    this.prometheus = new k8s.helm.v3.Release(
      `${name}-prometheus`,
      {
        name: "prometheus",
        chart: "prometheus",
        version: args.prometheusChartVersion,
        repositoryOpts: { repo: PROMETHEUS_REPO },
        namespace: args.namespace,
        values: {
          alertmanager: { enabled: false },
          "prometheus-pushgateway": { enabled: false },
          server: { global: { scrape_interval: "10s" } },
        },
      },
      { parent: this },
    );

    if (args.httplat) {
      const labels = { app: "httplat" };
      new k8s.apps.v1.Deployment(
        `${name}-httplat`,
        {
          metadata: { namespace: args.namespace, labels },
          spec: {
            replicas: 1,
            selector: { matchLabels: labels },
            template: {
              metadata: { labels },
              spec: {
                containers: [
                  {
                    name: "httplat",
                    image: args.httplat.image,
                    imagePullPolicy: args.httplat.imagePullPolicy,
                    env: [{ name: "HTTPLAT_URL", value: args.httplat.url }],
                    ports: [{ containerPort: 9080 }],
                    readinessProbe: { httpGet: { path: "/healthz", port: 9080 }, periodSeconds: 10 },
                  },
                ],
              },
            },
          },
        },
        { parent: this },
      );
      // The Prometheus chart scrapes Services annotated like this (the seeds' `kubectl annotate`).
      new k8s.core.v1.Service(
        `${name}-httplat-svc`,
        {
          metadata: {
            name: "httplat",
            namespace: args.namespace,
            labels,
            annotations: { "prometheus.io/scrape": "true", "prometheus.io/port": "9080", "prometheus.io/path": "/metrics" },
          },
          spec: { selector: labels, ports: [{ port: 9080, targetPort: 9080 }] },
        },
        { parent: this },
      );
    }

    if (args.latencyMetrics) {
      new k8s.helm.v3.Release(
        `${name}-adapter`,
        {
          name: "prometheus-adapter",
          chart: "prometheus-adapter",
          version: args.adapterChartVersion,
          repositoryOpts: { repo: PROMETHEUS_REPO },
          namespace: args.namespace,
          values: {
            prometheus: { url: pulumi.interpolate`http://prometheus-server.${args.namespace}.svc`, port: 80 },
            rules: latencyAdapterRules(),
          },
        },
        { parent: this, dependsOn: [this.prometheus] },
      );
    }
    this.registerOutputs({ prometheus: this.prometheus.name });
  }
}

export interface RngAutoscalerArgs extends RngHpaOptions {
  namespace: pulumi.Input<string>;
  /** The rng Deployment's generated name. */
  deploymentName: pulumi.Input<string>;
}

/** The HPA that owns rng's replica count. */
export class RngAutoscaler extends pulumi.ComponentResource {
  public readonly hpa: k8s.autoscaling.v2.HorizontalPodAutoscaler;

  constructor(name: string, args: RngAutoscalerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dockercoins:kubernetes:RngAutoscaler", name, {}, opts);
    this.hpa = new k8s.autoscaling.v2.HorizontalPodAutoscaler(
      `${name}-hpa`,
      { metadata: { name: "rng", namespace: args.namespace }, spec: rngHpaSpec(args.deploymentName, args) },
      { parent: this },
    );
    this.registerOutputs({ hpa: this.hpa.metadata.name });
  }
}

/** The seeds' load test: `siege --concurrent=15 --benchmark --time=4m http://<target>`. */
export function siegeCommand(target: "rng" | "hasher"): string[] {
  return ["siege", "--concurrent=15", "--benchmark", "--time=4m", `http://${target}`];
}

export interface LoadTestArgs {
  namespace: pulumi.Input<string>;
  target: "rng" | "hasher";
  /** An image with siege in it (the workshop's schoolofdevops/loadtest:v1). */
  image: string;
}

/** A 4-minute siege Job against rng or hasher, to watch the HPA react. */
export class LoadTest extends pulumi.ComponentResource {
  public readonly job: k8s.batch.v1.Job;

  constructor(name: string, args: LoadTestArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dockercoins:kubernetes:LoadTest", name, {}, opts);
    this.job = new k8s.batch.v1.Job(
      `${name}-job`,
      {
        // Do not hold `pulumi up` for the 4 minutes the Job runs.
        metadata: { namespace: args.namespace, labels: { app: "loadtest" }, annotations: { "pulumi.com/skipAwait": "true" } },
        spec: {
          backoffLimit: 4,
          template: {
            spec: { restartPolicy: "Never", containers: [{ name: "siege", image: args.image, command: siegeCommand(args.target) }] },
          },
        },
      },
      { parent: this },
    );
    this.registerOutputs({ job: this.job.metadata.name });
  }
}

// httplat: probes ONE URL every interval and exports the latency histogram for Prometheus, as the
// workshop's exporter did, so an HPA can scale rng on latency (PromQL: rate(sum)/rate(count)).
import { Counter, Histogram } from "prom-client";
import { httpRequest } from "../lib/http-client.js";
import { createService } from "../lib/service.js";

export interface HttplatOptions {
  url: string;
  intervalMs: number;
  timeoutMs: number;
}

export function buildHttplat({ url, intervalMs, timeoutMs }: HttplatOptions) {
  const app = createService({ name: "httplat" });
  const latency = new Histogram({
    name: "httplat_latency_seconds",
    help: `Latency of GET ${url}`,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [app.metrics],
  });
  const failures = new Counter({ name: "httplat_errors_total", help: `Failed probes of ${url}`, registers: [app.metrics] });

  async function probe(): Promise<void> {
    const end = latency.startTimer();
    try {
      await httpRequest(url, { signal: AbortSignal.timeout(timeoutMs) });
      end();
    } catch (err) {
      failures.inc();
      app.log.warn({ err: (err as Error).message }, `probe of ${url} failed`);
    }
  }

  let timer: NodeJS.Timeout | undefined;
  app.addHook("onReady", async () => {
    void probe();
    timer = setInterval(probe, intervalMs);
  });
  app.addHook("onClose", async () => clearInterval(timer));
  return app;
}

// The replica view: where the time goes. webui finds every rng and hasher replica the way the platform names
// them (Swarm's tasks.<service>, a Kubernetes headless Service, the URLs of a local run), reads each one's own
// /metrics, and works out its latency, queue and utilization over the last seconds, marking a saturated service.
import { lookup } from "node:dns/promises";
import { ConfigError } from "../lib/env.js";

/** One service to watch: `dns://name:port` (every address the name resolves to) or a fixed base URL. */
export interface WatchTarget {
  service: string;
  source: string;
}

export const WATCH_ENV = "WATCH_REPLICAS";
/** Compose resolves a service's name to every container of it; Swarm and Kubernetes set their own names. */
export const DEFAULT_WATCH = "rng=dns://rng:80,hasher=dns://hasher:80";

/** `rng=dns://tasks.rng:80,hasher=http://127.0.0.1:8002`; an empty value watches nothing. */
export function parseWatch(text: string): WatchTarget[] {
  const targets = text.split(",").map((t) => t.trim()).filter(Boolean).map((item) => {
    const m = /^([a-z][a-z0-9-]*)=((?:dns|https?):\/\/[^\s,]+)$/.exec(item);
    const source = m && safeUrl(m[2]);
    if (!m || !source || (source.protocol === "dns:" && !source.port)) {
      throw new ConfigError(
        `${WATCH_ENV}: ${JSON.stringify(item)} is invalid: expected service=dns://name:port (every address of the name) or service=http://host:port, comma-separated`,
      );
    }
    return { service: m[1], source: m[2].replace(/\/$/, "") };
  });
  return targets;
}

const safeUrl = (text: string) => {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
};

/** One sample of a replica's /metrics: the few series the view needs. */
export interface MetricsSample {
  at: number; // ms
  node?: string;
  host?: string;
  /** Requests served (not /metrics, /healthz) and the seconds they took, cumulative. */
  requests: number;
  requestSeconds: number;
  /** rng only: requests waiting in line now, and its busy-seconds counter. */
  queue?: number;
  busySeconds?: number;
}

const PLUMBING_ROUTES = new Set(["/metrics", "/healthz"]);

/** Reads Prometheus text exposition: `name{label="v",...} value` lines (comments skipped). */
export function parseMetrics(text: string, at: number): MetricsSample {
  const sample: MetricsSample = { at, requests: 0, requestSeconds: 0 };
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const [, name, rawLabels = "", rawValue] = m;
    const labels = Object.fromEntries([...rawLabels.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, k, v]) => [k, v]));
    const value = Number(rawValue);
    if (name === "dockercoins_instance_info") Object.assign(sample, { node: labels.node, host: labels.host });
    else if (name === "rng_queue_depth") sample.queue = value;
    else if (name === "rng_busy_seconds_total") sample.busySeconds = value;
    else if (name === "http_request_duration_seconds_count" && !PLUMBING_ROUTES.has(labels.route)) sample.requests += value;
    else if (name === "http_request_duration_seconds_sum" && !PLUMBING_ROUTES.has(labels.route)) sample.requestSeconds += value;
  }
  return sample;
}

export interface ReplicaView {
  address: string;
  node?: string;
  host?: string;
  /** Mean request time over the window (queueing included), or null when it served nothing in it. */
  latencyMs: number | null;
  requestsPerS: number | null;
  /** Requests waiting in line (rng); null for a service without a line (hasher serves all at once). */
  queue: number | null;
  /** Share of the time its slots were busy over the window (rng), 0-1. */
  busy: number | null;
  error?: string;
}

export interface ServiceView {
  service: string;
  replicas: ReplicaView[];
  saturated: boolean;
  /** Why it is (or is not) marked, in a sentence. */
  verdict: string;
}

export interface WatchView {
  at: number;
  windowS: number;
  services: ServiceView[];
}

export interface ReplicaWatchOptions {
  /** Rates are taken between the newest sample and one at least this old (or the oldest kept). */
  windowS?: number;
  /** Scrapes happen when the view is asked for, at most this often (every open page shares them). */
  minIntervalMs?: number;
  timeoutMs?: number;
  /** Utilization at or above which a service with requests waiting is marked saturated. */
  saturatedBusy?: number;
}

/** Scrapes the watched replicas on demand and keeps a few seconds of samples per replica. */
export class ReplicaWatch {
  private readonly history = new Map<string, MetricsSample[]>();
  private latest?: Promise<WatchView>;
  private latestAt = 0;
  private readonly windowS: number;
  private readonly minIntervalMs: number;
  private readonly timeoutMs: number;
  private readonly saturatedBusy: number;

  constructor(
    readonly targets: WatchTarget[],
    opts: ReplicaWatchOptions = {},
  ) {
    this.windowS = opts.windowS ?? 8;
    this.minIntervalMs = opts.minIntervalMs ?? 1500;
    this.timeoutMs = opts.timeoutMs ?? 1500;
    this.saturatedBusy = opts.saturatedBusy ?? 0.9;
  }

  view(): Promise<WatchView> {
    if (!this.latest || Date.now() - this.latestAt >= this.minIntervalMs) {
      this.latestAt = Date.now();
      this.latest = this.scrape();
    }
    return this.latest;
  }

  /** Base URLs of a target's replicas right now: a name resolves to every task / pod / container. */
  private async replicaUrls(target: WatchTarget): Promise<string[]> {
    const url = new URL(target.source);
    if (url.protocol !== "dns:") return [target.source];
    const addresses = await lookup(url.hostname, { all: true });
    const seen = [...new Set(addresses.map((a) => (a.family === 6 ? `[${a.address}]` : a.address)))];
    return seen.sort().map((address) => `http://${address}:${url.port}`);
  }

  private async scrape(): Promise<WatchView> {
    const now = Date.now();
    const names = [...new Set(this.targets.map((t) => t.service))];
    const services = await Promise.all(
      names.map(async (service): Promise<ServiceView> => {
        let urls: string[];
        try {
          urls = (await Promise.all(this.targets.filter((t) => t.service === service).map((t) => this.replicaUrls(t)))).flat();
        } catch (err) {
          return { service, replicas: [], saturated: false, verdict: `cannot find its replicas: ${(err as Error).message}` };
        }
        const replicas = await Promise.all(urls.map((url) => this.scrapeReplica(`${service} ${url}`, url, now)));
        return { service, replicas, ...this.verdict(replicas) };
      }),
    );
    // Replicas gone for a while are forgotten.
    for (const [key, samples] of this.history) if (now - samples[samples.length - 1].at > 60_000) this.history.delete(key);
    return { at: now / 1000, windowS: this.windowS, services };
  }

  private async scrapeReplica(key: string, url: string, now: number): Promise<ReplicaView> {
    const address = url.replace(/^http:\/\//, "");
    try {
      // A fresh connection per scrape: a replica going away is not held open by its idle keep-alive.
      const response = await fetch(`${url}/metrics`, { headers: { connection: "close" }, signal: AbortSignal.timeout(this.timeoutMs) });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const sample = parseMetrics(await response.text(), now);
      const samples = this.history.get(key) ?? [];
      if (samples.length && sample.requests < samples[samples.length - 1].requests) samples.length = 0; // restarted
      samples.push(sample);
      while (samples.length > 2 && now - samples[1].at >= this.windowS * 1000) samples.shift();
      this.history.set(key, samples);
      const base = samples[0];
      const seconds = (sample.at - base.at) / 1000;
      const served = sample.requests - base.requests;
      return {
        address,
        node: sample.node,
        host: sample.host,
        latencyMs: served > 0 ? ((sample.requestSeconds - base.requestSeconds) / served) * 1000 : null,
        requestsPerS: seconds > 0 ? served / seconds : null,
        queue: sample.queue ?? null,
        busy: seconds > 0 && sample.busySeconds !== undefined ? Math.min(1, (sample.busySeconds - base.busySeconds!) / seconds) : null,
      };
    } catch (err) {
      const reason = (err as Error).name === "TimeoutError" ? `no answer within ${this.timeoutMs} ms` : (err as Error).message;
      return { address, latencyMs: null, requestsPerS: null, queue: null, busy: null, error: reason };
    }
  }

  /**
   * Saturated: its replicas are busy nearly all the time and requests wait in line for them. Only replicas that
   * answered count: one that did not says nothing about its line, and the verdict says it could not be read.
   */
  private verdict(replicas: ReplicaView[]): Pick<ServiceView, "saturated" | "verdict"> {
    if (!replicas.length) return { saturated: false, verdict: "no replica found" };
    const read = replicas.filter((r) => !r.error);
    const unread = replicas.length - read.length;
    if (!read.length) {
      return { saturated: false, verdict: `unknown: ${replicas.length === 1 ? "its replica" : `its ${unread} replicas`} could not be read` };
    }
    const note = unread ? `; ${unread} of its ${replicas.length} replicas could not be read` : "";
    const measured = read.filter((r) => r.busy !== null);
    if (!measured.length) {
      return { saturated: false, verdict: (read.some((r) => r.queue !== null) ? "measuring..." : "serves every request at once: no line to wait in") + note };
    }
    const busy = measured.reduce((sum, r) => sum + r.busy!, 0) / measured.length;
    const waiting = measured.reduce((sum, r) => sum + (r.queue ?? 0), 0);
    const pct = `${Math.round(busy * 100)} %`;
    const n = measured.length === 1 ? "its replica is" : `its ${measured.length} replicas are`;
    if (busy >= this.saturatedBusy && waiting > 0) {
      return { saturated: true, verdict: `the bottleneck: ${n} busy ${pct} of the time and ${waiting} requests wait in line${note}` };
    }
    return { saturated: false, verdict: `keeps up: ${n} busy ${pct} of the time${note}` };
  }
}

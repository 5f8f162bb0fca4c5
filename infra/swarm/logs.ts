import { NODE_LABELS, pinnedServerService } from "./dockercoins";
import type { EndpointMode, SwarmServiceSpec } from "./spec";

// The optional log store of a Swarm (config `logging`): one VictoriaLogs on the first manager, and every other
// service's logs shipped to it by the node's own Docker engine through its `splunk` log driver, which
// VictoriaLogs accepts as is (no agent on the nodes). The driver runs in dockerd, outside the overlay: it
// reaches the store at the manager's address, where the store's port is published in host mode.

/** VictoriaLogs' port: HTTP ingestion (Splunk HEC included), the LogsQL query API and the web UI. */
export const LOGS_PORT = 9428;
export const LOGS_VOLUME = "dockercoins-logs";
/** Where the web UI lives on the store. */
export const LOGS_UI_PATH = "/select/vmui/";

export interface LogStoreOptions {
  /** `victoriametrics/victoria-logs:<version>` or a stand-in with the same entrypoint. */
  image: string;
  endpointMode: EndpointMode;
  /** Published in host mode on the labelled node: the engines ship to it and the browser reads it there. */
  port: number;
  /** How long lines are kept, in VictoriaLogs' terms (`7d`, `12h`, `4w`). */
  retention: string;
  /** The most disk it may use (`2GiB`): the node's disk is also redis' and the managers' Raft log's. */
  maxDisk: string;
}

/**
 * The store: one task owning its volume on the node labelled `dockercoins.logs` (an update stops the old task
 * first). Docker's splunk driver nests each JSON line under `event.line`: its `msg` becomes the line's message,
 * and a plain line (redis, the registry) is the message itself. Streams are node (`host`) x service (`source`).
 */
export function logStoreService(opts: LogStoreOptions): SwarmServiceSpec {
  return {
    ...pinnedServerService({
      name: "logs",
      image: opts.image,
      endpointMode: opts.endpointMode,
      port: { target: LOGS_PORT, published: opts.port },
      volume: { source: LOGS_VOLUME, target: "/victoria-logs-data" },
      nodeLabel: NODE_LABELS.logs,
    }),
    command: [
      "-storageDataPath=/victoria-logs-data",
      `-retentionPeriod=${opts.retention}`,
      `-retention.maxDiskSpaceUsageBytes=${opts.maxDisk}`,
      "-splunk.msgField=event.line.msg,event.line",
      "-splunk.streamFields=host,source",
    ],
    // VictoriaLogs sizes its caches from the container's memory limit (60 % of it by default).
    limits: { cpus: 1, memoryMiB: 512 },
    reservations: { cpus: 0.1, memoryMiB: 64 },
  };
}

/**
 * The Docker log driver that ships one service's lines to the store: JSON lines stay JSON (their fields are
 * searchable), the service is the `source`, the task's container name the `tag`. Non-blocking with a buffer,
 * so a slow or absent store never stalls the app; no connection check at start, so tasks start before the store.
 */
export function shippingLogDriver(storeUrl: string, service: string): NonNullable<SwarmServiceSpec["logDriver"]> {
  return {
    name: "splunk",
    options: {
      "splunk-url": storeUrl,
      // The driver requires a token; VictoriaLogs does not check it.
      "splunk-token": "dockercoins",
      "splunk-format": "json",
      "splunk-source": service,
      "splunk-verify-connection": "false",
      tag: "{{.Name}}",
      mode: "non-blocking",
      "max-buffer-size": "4m",
    },
  };
}

/** The services with their logs shipped to the store at `storeUrl` (http://<store node address>:<port>). */
export function shipLogs(specs: SwarmServiceSpec[], storeUrl: string): SwarmServiceSpec[] {
  return specs.map((spec) => ({ ...spec, logDriver: shippingLogDriver(storeUrl, spec.name) }));
}

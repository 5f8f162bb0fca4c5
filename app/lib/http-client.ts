// Outgoing HTTP for the worker and httplat. By default one fresh connection and one fresh name
// lookup per call, like the original's `requests.get`: when several rng or hasher tasks answer to one
// name (Swarm dnsrr, a VIP, a Kubernetes Service), calls spread over all of them. A pooled keep-alive
// connection would pin each worker to one instance, and scaling rng out would not help it.
import dns from "node:dns";
import http from "node:http";
import type { LookupFunction } from "node:net";

/** Resolves every address of the name and takes them in random order (DNS round robin, done here). */
const anyAddress: LookupFunction = (hostname, options, callback) => {
  dns.lookup(hostname, { family: options.family, hints: options.hints, all: true }, (err, addresses) => {
    if (err) return callback(err, "", 0);
    const shuffled = [...addresses].sort(() => Math.random() - 0.5);
    if (options.all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, shuffled);
    callback(null, shuffled[0].address, shuffled[0].family);
  });
};

const keepAliveAgent = new http.Agent({ keepAlive: true });

export interface RequestOptions {
  method?: "GET" | "POST";
  body?: Buffer;
  signal?: AbortSignal;
  /** Reuse connections (faster, e.g. zero-delay runs) at the price of sticking to one instance. */
  keepAlive?: boolean;
}

/** The response body; rejects on network errors, aborts and statuses >= 400. */
export function httpRequest(url: string, { method = "GET", body, signal, keepAlive = false }: RequestOptions = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const headers = body ? { "content-type": "application/octet-stream", "content-length": body.length } : undefined;
    const request = http.request(url, { method, headers, signal, agent: keepAlive ? keepAliveAgent : false, lookup: anyAddress }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("error", reject);
      response.on("end", () => {
        if (response.statusCode! >= 400) reject(new Error(`${method} ${url} answered ${response.statusCode}`));
        else resolve(Buffer.concat(chunks));
      });
    });
    request.on("error", reject);
    request.end(body);
  });
}

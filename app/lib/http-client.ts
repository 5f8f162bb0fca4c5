// Outgoing HTTP for the worker and httplat. By default one fresh connection and one fresh name
// lookup per call, like the original's `requests.get`: when several rng or hasher tasks answer to one
// name (Swarm dnsrr, a VIP, a Kubernetes Service), calls spread over all of them. A pooled keep-alive
// connection would pin each worker to one instance, and scaling rng out would not help it.
import dns from "node:dns";
import http from "node:http";
import type { LookupFunction } from "node:net";

/**
 * Resolves every address of the name and starts from the next one each time: DNS round robin done
 * here, because getaddrinfo may sort the answers the same way every time and always hand back the
 * same first instance. Rotating (rather than picking at random) also spreads the load most evenly.
 */
const calls = new Map<string, number>();
const nextAddress: LookupFunction = (hostname, options, callback) => {
  dns.lookup(hostname, { family: options.family, hints: options.hints, all: true }, (err, addresses) => {
    if (err) return callback(err, "", 0);
    const turn = calls.get(hostname) ?? Math.floor(Math.random() * 1000); // workers start out of step
    calls.set(hostname, turn + 1);
    const start = turn % addresses.length;
    const rotated = [...addresses.slice(start), ...addresses.slice(0, start)];
    if (options.all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, rotated);
    callback(null, rotated[0].address, rotated[0].family);
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
    const request = http.request(url, { method, headers, signal, agent: keepAlive ? keepAliveAgent : false, lookup: nextAddress }, (response) => {
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

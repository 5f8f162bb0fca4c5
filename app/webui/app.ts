// webui: serves the page and GET /json with the coin count and the hash counter read from redis.
import { ReplyError, type Redis } from "ioredis";
import fastifyStatic from "@fastify/static";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createService } from "../lib/service.js";
import type { ReplicaWatch } from "./replicas.js";

// This file runs from app/webui/ (tests) or app/dist/webui/ (built); the page stays in app/webui/public.
const appRoot = new URL(import.meta.url.includes("/dist/") ? "../../" : "../", import.meta.url);
const publicDir = fileURLToPath(new URL("webui/public", appRoot));
const uplotDir = path.dirname(createRequire(import.meta.url).resolve("uplot/dist/uPlot.iife.min.js"));

export interface Stats {
  coins: number;
  hashes: number;
  /** Epoch seconds, a float, as the original. */
  now: number;
}

export function buildWebui({ redis, replicas }: { redis: Redis; replicas?: ReplicaWatch }) {
  const app = createService({ name: "webui" });
  redis.on("error", (err: Error) => app.log.warn({ err: err.message }, "redis connection error"));
  // One route per file found at start (wildcard: false), not a catch-all: a catch-all makes every path known,
  // and a missing file would then be 405 for other methods instead of 404. `/` is ours (the redirect): no index.
  app.register(fastifyStatic, { root: publicDir, wildcard: false, index: false });
  app.register(fastifyStatic, { root: uplotDir, prefix: "/vendor/uplot/", decorateReply: false, wildcard: false, index: false });

  app.get("/", (_request, reply) => reply.redirect("/index.html", 302));

  const statsSchema = {
    200: { type: "object", properties: { coins: { type: "integer" }, hashes: { type: "integer" }, now: { type: "number" } } },
    "5xx": { type: "object", properties: { error: { type: "string" } } },
  };
  // Numbers, not the original's string-or-null for `hashes`: the page and scripts do arithmetic on them.
  // What redis holds is the workers' doing; a value they never write is reported as it is (500 naming the
  // key), never guessed at, and never blamed on redis being down.
  app.get("/json", { schema: { response: statsSchema } }, async (request, reply) => {
    const [coins, hashes] = await Promise.allSettled([redis.hlen("wallet"), redis.get("hashes")]);
    const failed = [coins, hashes].find((r) => r.status === "rejected");
    if (failed) {
      const err = failed.reason as Error;
      if (err instanceof ReplyError) {
        const key = coins.status === "rejected" ? "wallet (a hash)" : "hashes (a counter)";
        request.log.error({ err: err.message }, `redis key ${key} holds something else`);
        return reply.status(500).send({ error: `redis key ${key} holds something else: ${err.message}` });
      }
      request.log.warn({ err: err.message }, "redis unavailable");
      return reply.status(503).send({ error: "redis is unavailable, retry shortly" });
    }
    const count = hashCount((hashes as PromiseFulfilledResult<string | null>).value);
    if (typeof count === "string") {
      request.log.error(count);
      return reply.status(500).send({ error: count });
    }
    return { coins: (coins as PromiseFulfilledResult<number>).value, hashes: count, now: Date.now() / 1000 } satisfies Stats;
  });

  // Where the time goes: every rng and hasher replica's latency, line and load (replicas.ts).
  app.get("/replicas", async () => (replicas ? replicas.view() : { at: Date.now() / 1000, windowS: 0, services: [] }));
  return app;
}

/** The `hashes` counter as a number, or what is wrong with it: a non-negative integer JSON carries exactly. */
export function hashCount(raw: string | null): number | string {
  if (raw === null) return 0;
  const shown = JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}...` : raw);
  if (!/^\d+$/.test(raw)) return `redis key hashes holds ${shown}, not a count of hashes`;
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) return `redis key hashes holds ${shown}, beyond 2^53, which JSON numbers cannot carry exactly`;
  return n;
}

// webui: serves the page and GET /json with the coin count and the hash counter read from redis.
import type { Redis } from "ioredis";
import fastifyStatic from "@fastify/static";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createService } from "../lib/service.js";

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

export function buildWebui({ redis }: { redis: Redis }) {
  const app = createService({ name: "webui" });
  redis.on("error", (err: Error) => app.log.warn({ err: err.message }, "redis connection error"));
  app.register(fastifyStatic, { root: publicDir });
  app.register(fastifyStatic, { root: uplotDir, prefix: "/vendor/uplot/", decorateReply: false });

  app.get("/", (_request, reply) => reply.redirect("/index.html", 302));

  const statsSchema = {
    200: { type: "object", properties: { coins: { type: "integer" }, hashes: { type: "integer" }, now: { type: "number" } } },
    503: { type: "object", properties: { error: { type: "string" } } },
  };
  // Numbers, not the original's string-or-null for `hashes`: the page and scripts do arithmetic on them.
  app.get("/json", { schema: { response: statsSchema } }, async (request, reply) => {
    try {
      const [coins, hashes] = await Promise.all([redis.hlen("wallet"), redis.get("hashes")]);
      return { coins, hashes: Number(hashes ?? 0), now: Date.now() / 1000 } satisfies Stats;
    } catch (err) {
      request.log.warn({ err: (err as Error).message }, "redis unavailable");
      return reply.status(503).send({ error: "redis is unavailable, retry shortly" });
    }
  });
  return app;
}

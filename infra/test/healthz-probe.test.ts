// The Swarm services' health check (HEALTHZ_PROBE) run for real with sh and bash against a real HTTP server.
import { spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HEALTHZ_PROBE } from "../swarm/dockercoins";

let status = 200;
let server: Server;
let port: number;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === "/hang") return; // never answers
    res.writeHead(req.url === "/healthz" ? status : 404).end("ok");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => server.close());

// Asynchronous: the server answers from this same process.
function probe(p: number, command = HEALTHZ_PROBE): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn("sh", ["-c", command], { env: { ...process.env, PORT: String(p) }, stdio: "ignore", timeout: 10_000 });
    child.on("exit", (code) => resolve(code));
  });
}

describe("HEALTHZ_PROBE", () => {
  it("passes when /healthz answers 200", async () => {
    status = 200;
    expect(await probe(port)).toBe(0);
  });

  it("fails when /healthz answers 503, and when nothing listens", async () => {
    status = 503;
    expect(await probe(port)).toBe(1);
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const free = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    expect(await probe(free)).toBe(1);
  });

  it("gives up within its 2 s read timeout when the server accepts but never answers", async () => {
    const t0 = Date.now();
    expect(await probe(port, HEALTHZ_PROBE.replace("/healthz", "/hang"))).toBe(1);
    expect(Date.now() - t0).toBeLessThan(5_000);
  });
});

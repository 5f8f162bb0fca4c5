import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { buildHasher } from "../hasher/app.js";
import { fileURLToPath } from "node:url";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { freePort, until } from "./helpers.js";

const sha256 = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");

describe("hasher", () => {
  const app = buildHasher({ delayMs: 100, bodyLimitBytes: 1024 });
  afterAll(() => app.close());

  it("returns the lowercase hex SHA-256 of the raw body, byte-exact, as text/plain", async () => {
    const body = randomBytes(32);
    const res = await app.inject({ method: "POST", url: "/", payload: body, headers: { "content-type": "application/octet-stream" } });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/plain/);
    expect(res.payload).toBe(sha256(body));
    expect(res.payload).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each([
    ["application/octet-stream", Buffer.from([0, 255, 10, 13, 0])],
    ["application/json", Buffer.from('{"a": 1}')],
    ["text/plain; charset=latin1", Buffer.from([0xe9, 0x20])],
    ["application/x-www-form-urlencoded", Buffer.from("a=1&b=%20")],
  ])("hashes the bytes as sent whatever the content type (%s)", async (type, body) => {
    const res = await app.inject({ method: "POST", url: "/", payload: body, headers: { "content-type": type } });
    expect(res.payload).toBe(sha256(body));
  });

  it("hashes an empty body", async () => {
    const res = await app.inject({ method: "POST", url: "/" });
    expect(res.statusCode).toBe(200);
    expect(res.payload).toBe(sha256(""));
  });

  it("refuses a body over the limit with 413 and a message, and stays up", async () => {
    const res = await app.inject({ method: "POST", url: "/", payload: Buffer.alloc(1025), headers: { "content-type": "application/octet-stream" } });
    expect(res.statusCode).toBe(413);
    expect(res.json().error).toMatch(/body/i);
    const ok = await app.inject({ method: "POST", url: "/", payload: Buffer.alloc(1024), headers: { "content-type": "application/octet-stream" } });
    expect(ok.payload).toBe(sha256(Buffer.alloc(1024)));
  });

  it("answers GET / with its banner and unknown routes with 404", async () => {
    expect((await app.inject("/")).payload).toMatch(/^HASHER running on .+\n$/);
    expect((await app.inject({ method: "POST", url: "/x" })).statusCode).toBe(404);
    expect((await app.inject({ method: "PUT", url: "/" })).statusCode).toBe(405); // known path, other method
  });

  it("serves requests concurrently: 50 parallel POSTs take about one delay, not fifty", async () => {
    const started = performance.now();
    const results = await Promise.all([...Array(50).keys()].map((i) =>
      app.inject({ method: "POST", url: "/", payload: String(i), headers: { "content-type": "text/plain" } })));
    // Serialized they would take 5 s; the bound leaves room for a loaded 2-core machine.
    expect(performance.now() - started).toBeLessThan(2500);
    results.forEach((res, i) => expect(res.payload).toBe(sha256(String(i))));
  });

  it("hashes each body as it arrives, never holding it whole: 8 bodies of 32 MiB at once add less than half of 256 MiB", async () => {
    const port = await freePort();
    const main = fileURLToPath(new URL("../dist/hasher/main.js", import.meta.url));
    const env = { ...process.env, LOG_LEVEL: "warn", PORT: String(port), HASHER_DELAY_MS: "0", HASHER_BODY_LIMIT_BYTES: String(64 * 2 ** 20) };
    const child = spawn(process.execPath, [main], { env, stdio: "ignore" });
    const url = `http://127.0.0.1:${port}`;
    const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))![1]);
    try {
      await until("hasher listening", async () => (await fetch(`${url}/healthz`)).ok);
      const idleKib = kib("VmRSS");
      const body = randomBytes(32 * 2 ** 20);
      const answers = await Promise.all(Array.from({ length: 8 }, () => fetch(url, { method: "POST", body }).then((r) => r.text())));
      for (const hex of answers) expect(hex).toBe(sha256(body));
      // Held whole, the bodies alone are 256 MiB; hashed as they arrive, what remains is chunks already hashed
      // and not yet collected (the garbage collector runs once enough of them add up): half of that is ample.
      expect((kib("VmHWM") - idleKib) / 1024).toBeLessThan(128);
    } finally {
      child.kill("SIGTERM");
      await once(child, "exit");
    }
  }, 60_000);
});

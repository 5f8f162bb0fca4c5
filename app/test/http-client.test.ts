import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpRequest } from "../lib/http-client.js";
import { createService } from "../lib/service.js";
import { listen } from "./helpers.js";

// Which client port each call came from tells whether calls share a connection.
const app = createService({ name: "echo" });
const clientPorts: number[] = [];
app.post("/", async (request) => (clientPorts.push(request.socket.remotePort!), request.body));
app.addContentTypeParser("application/octet-stream", { parseAs: "buffer" }, (_r, body, done) => done(null, body));
app.get("/missing", async (_request, reply) => reply.status(404).send("nope"));
let url: string;
beforeAll(async () => {
  url = (await listen(app)).replace("127.0.0.1", "localhost"); // a name, resolved on every call
});
afterAll(() => app.close());

describe("outgoing HTTP", () => {
  it("opens a fresh connection (and lookup) per call by default, so replicas behind one name share the load", async () => {
    clientPorts.length = 0;
    for (let i = 0; i < 5; i++) expect((await httpRequest(`${url}/`, { method: "POST", body: Buffer.from([i]) }))[0]).toBe(i);
    expect(new Set(clientPorts).size).toBe(5);
  });

  it("reuses one connection when keep-alive is asked for", async () => {
    clientPorts.length = 0;
    for (let i = 0; i < 5; i++) await httpRequest(`${url}/`, { method: "POST", body: Buffer.from([i]), keepAlive: true });
    expect(new Set(clientPorts).size).toBe(1);
  });

  it("rejects on error statuses, unreachable hosts and deadlines", async () => {
    await expect(httpRequest(`${url}/missing`)).rejects.toThrow(/answered 404/);
    await expect(httpRequest("http://127.0.0.1:1/")).rejects.toThrow(/ECONNREFUSED/);
    await expect(httpRequest("http://no-such-host.invalid/")).rejects.toThrow(/ENOTFOUND|EAI_AGAIN/);
    await expect(httpRequest(`${url}/`, { signal: AbortSignal.timeout(0) })).rejects.toThrow(/abort|timeout/i);
  });
});

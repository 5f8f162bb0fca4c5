// `pulumi preview` of a stack that does not exist yet: nothing may try to reach machines that are not there.
import { beforeAll, describe, expect, it } from "vitest";
import { named, settle, setupMocks } from "./harness";

beforeAll(async () => {
  await setupMocks({}, { preview: true });
});

describe("first preview of the local playground", () => {
  it("leaves the manager's Docker provider unconfigured (no host) until the Swarm exists", async () => {
    const { parseConfig } = await import("../config");
    const { STACKS } = await import("../stacks");
    STACKS.local(parseConfig({ target: "local", endpointMode: "dnsrr" }), { stack: "test", stateDir: "/state/test", homeDir: "/home/me" });
    await settle();
    const provider = named("manager").inputs;
    // An unknown value (the CLI shows it as "output<string>"): the engine does not configure the provider.
    expect(provider.host).toHaveProperty("__pulumiUnknown", true);
    expect(JSON.parse(provider.sshOpts)).toEqual([
      "-i", "/state/test/ssh/id", "-o", "IdentitiesOnly=yes",
      "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
      "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=20",
    ]);
    // The services are still declared (shown as creates), with the known parts of their inputs.
    expect(named("dockercoins-worker").inputs.mode).toEqual({ replicated: { replicas: 1 } });
  });
});

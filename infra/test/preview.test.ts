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
    STACKS.local(parseConfig({ target: "local", endpointMode: "dnsrr" }), { stack: "test", projectDir: "..", stateDir: "/state/test", homeDir: "/home/me", providerPath: (p: string) => p });
    await settle();
    const provider = named("manager").inputs;
    // Unknown values (the CLI shows "output<string>"): the engine does not configure the provider. The
    // key file does not exist yet either (the generating command has not run), so sshOpts is unknown too.
    expect(provider.host).toHaveProperty("__pulumiUnknown", true);
    expect(provider.sshOpts).toHaveProperty("__pulumiUnknown", true);
    // The services are still declared (shown as creates), with the known parts of their inputs.
    expect(named("dockercoins-worker").inputs.mode).toEqual({ replicated: { replicas: 1 } });
  });
});

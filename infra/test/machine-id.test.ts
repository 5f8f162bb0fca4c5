// The vms hosts' identity reader (a dynamic provider): what it does without a machine to ask. The real reads
// are in e2e/pulumi-vms.e2e.test.ts (a machine reinstalled, healed by `pulumi up --refresh`).
import { describe, expect, it } from "vitest";
import { machineIdProvider, readMachineId, type MachineIdState } from "../hosts/machine-id";

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nnot a key\n-----END OPENSSH PRIVATE KEY-----";
const OLD: MachineIdState = { host: "127.0.0.1", port: 1, user: "root", privateKey: KEY, machineId: "0123456789abcdef0123456789abcdef" };

describe("machineIdProvider", () => {
  it("another address or port is another machine (replace); another user or key reaches the same one (update, id kept)", async () => {
    const diff = machineIdProvider.diff!;
    expect(await diff("id", OLD, { ...OLD, host: "10.0.0.2" })).toMatchObject({ changes: true, replaces: ["host"] });
    expect(await diff("id", OLD, { ...OLD, port: 2222 })).toMatchObject({ changes: true, replaces: ["port"] });
    expect(await diff("id", OLD, { ...OLD, user: "admin" })).toMatchObject({ changes: true, replaces: [] });
    expect(await diff("id", OLD, { host: OLD.host, port: OLD.port, user: OLD.user, privateKey: KEY })).toMatchObject({ changes: false, replaces: [] });
    const updated = await machineIdProvider.update!("id", OLD, { ...OLD, privateKey: "other" });
    expect(updated.outs).toMatchObject({ privateKey: "other", machineId: OLD.machineId });
  });

  it("a refresh of a machine that does not answer keeps the id it gave last", async () => {
    expect(await machineIdProvider.read!("id", OLD)).toEqual({ id: "id", props: OLD });
  });

  it("a read that fails says which machine, and never prints the key", async () => {
    const err = await readMachineId(OLD, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA", 1).then(() => undefined, (e: Error) => e);
    expect(err?.message).toMatch(/^reading \/etc\/machine-id of root@127\.0\.0\.1:1: .*(refused|Connection)/);
    expect(err?.message).not.toContain("PRIVATE KEY");
  });
});

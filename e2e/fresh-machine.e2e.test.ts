// A fresh Debian machine, as a throw-away container of debian:bookworm-slim: scripts/install-node.sh gives it
// the project's Node where there is none or an old one, and refuses a download that is not the pinned one.
// The tarballs come from this machine's cache (mounted), as a second run on a real machine finds them.
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "./lib/pulumi";
import { docker, run } from "./lib/run";

const CACHE = process.env.DOCKERCOINS_CACHE ?? join(homedir(), ".cache/dockercoins");
const LABEL = "org.dockercoins.e2e=fresh-machine";

/** Runs `script` (bash) in a fresh debian:bookworm-slim with the scripts and a cache mounted read-only. */
function onFreshDebian(script: string, cache = CACHE) {
  return docker(
    ["run", "--rm", "--label", LABEL, "-v", `${ROOT}/scripts:/project/scripts:ro`, "-v", `${cache}:/cache:ro`,
      "-e", "DOCKERCOINS_CACHE=/cache", "debian:bookworm-slim", "bash", "-c", script],
    { allowFailure: true, timeoutMs: 120_000 },
  );
}

describe("scripts/install-node.sh on a fresh Debian", () => {
  let tampered: string;

  beforeAll(async () => {
    // The pinned tarballs, in the cache as scripts/prepare-machine.sh left them.
    await run(join(ROOT, "scripts/install-node.sh"), ["--tarballs"]);
    tampered = mkdtempSync(join(tmpdir(), "dockercoins-tampered-"));
    for (const f of readdirSync(CACHE).filter((f) => /^(node-linux-|npm-).*\.tgz$/.test(f))) copyFileSync(join(CACHE, f), join(tampered, f));
  }, 300_000);
  afterAll(() => rmSync(tampered, { recursive: true, force: true }));

  it("without Node: installs Node 24 and npm under /usr/local, on PATH; a second run leaves it alone", async () => {
    const r = await onFreshDebian(
      "command -v node || echo 'no node'; /project/scripts/install-node.sh && node --version && npm --version && npx --version" +
        " && command -v node && /project/scripts/install-node.sh",
    );
    expect(r.code, r.stderr).toBe(0);
    const out = r.stdout.split("\n");
    expect(out[0]).toBe("no node");
    expect(out.slice(1, 5)).toEqual(["v24.21.0", "11.21.2", "11.21.2", "/usr/local/bin/node"]);
    expect(r.stderr).toContain("node missing: installing Node 24.21.0 and npm 11.21.2 into /usr/local");
    expect(r.stderr).toMatch(/node 24\.21\.0 \(\/usr\/local\/bin\/node\): ok/);
  });

  it("with an old Node (Debian's 18) on PATH: installs 24 ahead of it", async () => {
    const r = await onFreshDebian(
      "printf '#!/bin/sh\\necho 18.19.0\\n' >/usr/bin/node && chmod +x /usr/bin/node && /project/scripts/install-node.sh && node --version",
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("node 18.19.0 is older than 22: installing Node 24.21.0");
    expect(r.stdout.trim()).toBe("v24.21.0");
  });

  it("refuses a tarball that is not the pinned one, and installs nothing", async () => {
    const node = readdirSync(tampered).find((f) => f.startsWith("node-linux-"))!;
    writeFileSync(join(tampered, node), "not node");
    // Read-only cache: the script cannot delete the bad file, and must still refuse it.
    const r = await onFreshDebian("/project/scripts/install-node.sh; echo \"exit $?\"; command -v node || echo 'no node'", tampered);
    expect(r.stderr).toContain(`${node} does not match its pinned checksum`);
    expect(r.stdout.trim().split("\n")).toEqual(["exit 1", "no node"]);
  });
});

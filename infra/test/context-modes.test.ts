import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterEach, describe, expect, it } from "vitest";
import { normalizeContextModes } from "../images/context-modes";

const made: string[] = [];
afterEach(() => made.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** A small build context written under `umask`, as a checkout under that umask would be. */
function checkout(umask: number): string {
  const old = process.umask(umask);
  try {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "context-modes-"));
    made.push(dir);
    fs.mkdirSync(path.join(dir, "lib"));
    fs.mkdirSync(path.join(dir, "node_modules/pkg"), { recursive: true });
    fs.writeFileSync(path.join(dir, "package.json"), "{}\n");
    fs.writeFileSync(path.join(dir, "lib/index.ts"), "export {};\n");
    fs.writeFileSync(path.join(dir, "entrypoint.sh"), "#!/bin/sh\n", { mode: 0o777 }); // executable: 0777 & ~umask
    fs.writeFileSync(path.join(dir, "node_modules/pkg/index.js"), "\n", { mode: 0o666 });
    return dir;
  } finally {
    process.umask(old);
  }
}

/** Every path's permission bits, relative, sorted: what the docker provider hashes besides the contents. */
function modes(dir: string): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    out.push(`${path.relative(dir, p) || "."} ${(fs.lstatSync(p).mode & 0o7777).toString(8)}`);
    if (fs.lstatSync(p).isDirectory()) fs.readdirSync(p).sort().forEach((e) => walk(path.join(p, e)));
  };
  walk(dir);
  return out;
}

describe("normalizeContextModes: one build context whatever the checkout's umask", () => {
  it("a umask-002 checkout and a umask-022 one end with the same modes", () => {
    const laptop = checkout(0o002);
    const ci = checkout(0o022);
    expect(modes(laptop)).not.toEqual(modes(ci)); // the difference the provider would hash
    expect(normalizeContextModes(laptop)).toBe(5); // ., lib, lib/index.ts, package.json, entrypoint.sh
    normalizeContextModes(ci);
    expect(modes(laptop).filter((l) => !l.startsWith("node_modules"))).toEqual(modes(ci).filter((l) => !l.startsWith("node_modules")));
    expect(modes(ci)).toEqual(expect.arrayContaining([". 755", "lib 755", "lib/index.ts 644", "package.json 644", "entrypoint.sh 755"]));
  });

  it("a private checkout (umask 077) is readable in the image, executables stay executable", () => {
    const dir = checkout(0o077);
    normalizeContextModes(dir);
    expect(modes(dir)).toEqual(expect.arrayContaining(["package.json 644", "entrypoint.sh 755", "lib 755"]));
  });

  it("packages and build outputs are left alone; a second pass changes nothing; a missing context is no error", () => {
    const dir = checkout(0o002);
    normalizeContextModes(dir);
    expect(modes(dir)).toContain("node_modules/pkg/index.js 664");
    expect(normalizeContextModes(dir)).toBe(0);
    expect(normalizeContextModes(path.join(dir, "absent"))).toBe(0);
  });
});

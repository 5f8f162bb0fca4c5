import * as fs from "fs";
import * as path from "path";

/** Build outputs and packages: never part of a build context here (.dockerignore), and large to walk. */
const SKIPPED = new Set(["node_modules", "dist", ".git"]);

/**
 * Gives every file of a build context the modes a checkout under umask 022 has (0644, or 0755 when its
 * owner may run it; directories 0755), and returns how many it changed.
 *
 * Why: the docker provider hashes each file's mode into the context's digest, and the builder copies modes
 * into the image's layers. A checkout made under umask 002 (group-writable files, many laptops) and one made
 * under 022 (CI) would otherwise build different digests from the same tree, and every `up` that alternates
 * between them would rebuild the images, roll the four services and re-create the playground's nodes.
 */
export function normalizeContextModes(dir: string): number {
  if (!fs.existsSync(dir)) return 0; // the provider says so, with the path, when it builds
  let changed = 0;
  const visit = (p: string, isDir: boolean): void => {
    const stat = fs.lstatSync(p);
    const want = isDir || stat.mode & 0o100 ? 0o755 : 0o644;
    if ((stat.mode & 0o7777) !== want) {
      fs.chmodSync(p, want);
      changed++;
    }
    if (!isDir) return;
    for (const entry of fs.readdirSync(p, { withFileTypes: true })) {
      if (entry.isDirectory() && !SKIPPED.has(entry.name)) visit(path.join(p, entry.name), true);
      else if (entry.isFile()) visit(path.join(p, entry.name), false);
    }
  };
  visit(dir, true);
  return changed;
}

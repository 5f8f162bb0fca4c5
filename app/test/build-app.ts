import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

// Tests that spawn real service processes need app/dist up to date.
export default function buildApp() {
  const appDir = fileURLToPath(new URL("..", import.meta.url));
  execFileSync(process.execPath, [`${appDir}node_modules/typescript/bin/tsc`, "-p", appDir], { stdio: "inherit" });
}

import { defineConfig } from "vitest/config";

// One runner for the whole project. The app's process-level tests run the built services (app/dist),
// which the global setup compiles once. End-to-end suites (real Docker, real Swarm) are *.e2e.test.ts.
export default defineConfig({
  test: {
    include: ["app/test/**/*.test.ts", "infra/test/**/*.test.ts", "e2e/**/*.e2e.test.ts"],
    globalSetup: ["app/test/build-app.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // The machine has 2 cores and several suites measure real delays: keep parallelism modest.
    maxWorkers: 2,
    // In-process services log one line per request; keep test output readable (spawned ones set their own).
    env: { LOG_LEVEL: "warn" },
  },
});

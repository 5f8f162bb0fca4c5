// `npm run local -- --workers 10`: the workshop on this machine without Docker. Ctrl-C stops it all.
import { parseArgs } from "node:util";
import { startLocalStack } from "./stack.js";

const { values } = parseArgs({
  options: {
    workers: { type: "string", default: "1" },
    "zero-delay": { type: "boolean", default: false },
    "webui-port": { type: "string", default: "8000" },
    "rng-port": { type: "string", default: "8001" },
    "hasher-port": { type: "string", default: "8002" },
    "redis-port": { type: "string", default: "6379" },
    "worker-metrics-port": { type: "string", default: "9100" },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  console.log("usage: npm run local -- [--workers N] [--zero-delay] [--webui-port 8000] [--rng-port 8001] [--hasher-port 8002] [--redis-port 6379] [--worker-metrics-port 9100 (worker i gets +i; 0 = any free port)]");
  process.exit(0);
}
const number = (flag: keyof typeof values) => {
  const n = Number(values[flag]);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--${flag} must be a whole number, got ${values[flag]}`);
  return n;
};

const stack = await startLocalStack({
  workers: number("workers"),
  webuiPort: number("webui-port"),
  rngPort: number("rng-port"),
  hasherPort: number("hasher-port"),
  redisPort: number("redis-port"),
  workerPortBase: number("worker-metrics-port"),
  env: values["zero-delay"] ? { RNG_DELAY_MS: "0", HASHER_DELAY_MS: "0", WORKER_SLEEP_MS: "0" } : {},
}).catch((e: Error) => {
  console.error(`npm run local: ${e.message}`);
  process.exit(2);
});
console.log(`DockerCoins is mining: open ${stack.urls.webui}  (rng ${stack.urls.rng}, hasher ${stack.urls.hasher}); Ctrl-C stops`);

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, async () => {
    if (stopping) return;
    stopping = true;
    console.log("stopping workers, services and redis...");
    await stack.stop();
    process.exit(0);
  });
}

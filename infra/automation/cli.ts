// What the project's commands on a deployed stack (scripts/walk.sh, scripts/netlab.sh) share: their options
// (all `--name value`, each with a default) parsed once, and bad arguments answered with one line and the
// usage (exit 2), never a stack trace.
import { parseArgs } from "node:util";

export function parseCli<K extends string>(name: string, usage: string, defaults: Record<K, string>) {
  const refuse = (message: string): never => {
    console.error(`[${name}] ${message}\n${usage}`);
    process.exit(2);
  };
  const options = Object.fromEntries(Object.entries<string>(defaults).map(([k, v]) => [k, { type: "string" as const, default: v }]));
  let parsed: Record<string, string | boolean | undefined>;
  try {
    parsed = parseArgs({ options: { ...options, help: { type: "boolean", short: "h", default: false } } }).values;
  } catch (err) {
    return refuse((err as Error).message);
  }
  if (parsed.help) {
    console.log(usage);
    process.exit(0);
  }
  return { values: parsed as Record<K, string>, refuse };
}

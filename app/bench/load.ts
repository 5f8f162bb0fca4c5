// Crowds against the built services on this machine (127.0.0.1 only): rng under 500 concurrent GET /1,
// with its line bounded (the default) and unbounded side by side, and hasher under 200 concurrent 1 MiB
// bodies. Prints latency and peak memory (VmHWM from /proc: sampling misses the peak), writes bench-results/load.{json,md}.
//   npm run bench:load
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { freePort, startBuiltService, stopProc } from "../local/stack.js";

const outDir = fileURLToPath(new URL("../../../bench-results/", import.meta.url));

/** Resident memory (MiB) of the service before `work`, and its true peak (VmHWM, kept by the kernel) after it. */
async function withPeakMemory<T>(pid: number, work: () => Promise<T>): Promise<{ result: T; peakMiB: number; idleMiB: number }> {
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;
  const idleMiB = kib("VmRSS");
  const result = await work();
  return { result, peakMiB: kib("VmHWM"), idleMiB };
}

const quantile = (sorted: number[], q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN);

/** `count` requests at once; latency (s) per status. */
async function crowd(count: number, request: () => Promise<Response>) {
  const byStatus = new Map<number, number[]>();
  await Promise.all(
    Array.from({ length: count }, async () => {
      const t0 = performance.now();
      const res = await request().catch(() => undefined);
      await res?.arrayBuffer();
      const status = res?.status ?? 0;
      byStatus.set(status, [...(byStatus.get(status) ?? []), (performance.now() - t0) / 1000]);
    }),
  );
  return [...byStatus].sort(([a], [b]) => a - b).map(([status, times]) => {
    const sorted = times.sort((a, b) => a - b);
    return { status, count: sorted.length, p50: quantile(sorted, 0.5), p95: quantile(sorted, 0.95), max: sorted[sorted.length - 1] };
  });
}

type Row = { case: string; status: number; count: number; p50: number; p95: number; max: number; idleMiB: number; peakMiB: number };
const rows: Row[] = [];
async function measure(label: string, name: "rng" | "hasher", env: Record<string, string>, count: number, request: (url: string) => Promise<Response>) {
  const svc = await startBuiltService(name, await freePort(), { LOG_LEVEL: "warn", ...env }, () => {});
  try {
    const { result, peakMiB, idleMiB } = await withPeakMemory(svc.child.pid!, () => crowd(count, () => request(svc.url)));
    for (const r of result) rows.push({ case: label, ...r, idleMiB, peakMiB });
    console.log(`${label}: ${result.map((r) => `${r.count} x ${r.status || "no answer"} (p50 ${r.p50.toFixed(2)} s, max ${r.max.toFixed(2)} s)`).join(", ")}; memory ${idleMiB.toFixed(0)} -> ${peakMiB.toFixed(0)} MiB`);
  } finally {
    await stopProc(svc);
  }
}

await measure("rng, 500 x GET /1, line bounded at 100 (default)", "rng", {}, 500, (url) => fetch(`${url}/1`));
await measure("rng, 500 x GET /1, line unbounded (RNG_MAX_QUEUE=100000)", "rng", { RNG_MAX_QUEUE: "100000" }, 500, (url) => fetch(`${url}/1`));
const mib = Buffer.alloc(2 ** 20, 7);
await measure("hasher, 200 x POST 1 MiB", "hasher", {}, 200, (url) => fetch(url, { method: "POST", body: mib }));

mkdirSync(outDir, { recursive: true });
writeFileSync(`${outDir}load.json`, JSON.stringify(rows, null, 2));
const table = [
  "| case | answer | count | p50 s | p95 s | max s | memory idle -> peak (MiB) |",
  "|---|---|---|---|---|---|---|",
  ...rows.map((r) => `| ${r.case} | ${r.status || "none"} | ${r.count} | ${r.p50.toFixed(2)} | ${r.p95.toFixed(2)} | ${r.max.toFixed(2)} | ${r.idleMiB.toFixed(0)} -> ${r.peakMiB.toFixed(0)} |`),
].join("\n");
writeFileSync(`${outDir}load.md`, `${table}\n`);
console.log(`\n${table}\n\nwritten: ${outDir}load.{json,md}`);

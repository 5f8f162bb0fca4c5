// The lab's report: the seed's table with this cluster's figures beside it, what the figures mean on this
// target, and a chart (share of the raw node-to-node figure per case, the seed's share as a marker).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { barChartSvg, writeChart } from "../../app/bench/chart";
import type { LabResult } from "./lab";

/** What "a node" and "across nodes" are on each target: the reading the figures need. */
export function targetReading(target: string): string {
  if (target === "local") {
    return [
      "On the playground every node is a container on this one machine: all nodes share one kernel, so \"across",
      "nodes\" is a veth pair and a Linux bridge, not a wire, and every figure is memory copies bounded by this",
      "machine's CPU. The seed's hosts had a 10 GbE link that capped its raw figure at 9.4 Gbit/s; here the raw",
      "figure is what the kernel moves between two network namespaces, and the other paths are compared with",
      "that. What holds anywhere is the ordering: a detour through the node's IP and published port costs",
      "against the container IP, an overlay encapsulates (VXLAN) and encryption costs more.",
    ].join("\n");
  }
  return [
    `On ${target} the nodes are separate machines: "across nodes" crosses their real network (the NIC and the`,
    "VPC or LAN), and the raw node-to-node figure is that network's limit, as the seed's 10 GbE link was.",
  ].join("\n");
}

const gbps = (v: number | null) => (v === null ? "-" : v.toFixed(2));
const pct = (v: number | null) => (v === null ? "-" : `${v.toFixed(0)} %`);

export function labMarkdown(lab: LabResult): string {
  const rows = lab.results.map(
    (r) =>
      `| ${r.id}. ${r.title} | ${r.seed ? `${r.seed.gbps.toFixed(2)}` : "-"} | ${r.seed ? `${r.seed.percent} %` : "-"} | ${r.gbps === null ? `unavailable: ${r.unavailable}` : gbps(r.gbps)} | ${pct(r.percent)} | ${r.path} |`,
  );
  return [
    `# The network lab on the ${lab.target} Swarm (seed 004's table)`,
    "",
    `Measured ${lab.startedAt} by \`scripts/netlab.sh\`: iperf3 (Debian's), one TCP stream, ${lab.seconds} s per case after 1 s`,
    `of slow start, between node A (${lab.nodeA}) and node B (${lab.nodeB}); Gbit/s received.`,
    "",
    "| case | the seed (Gbit/s) | the seed | here (Gbit/s) | here | path |",
    "|---|---:|---:|---:|---:|---|",
    ...rows,
    "",
    targetReading(lab.target),
    "",
    "The seed's lesson stands wherever the ordering does: containers cost almost nothing, but never let containers",
    "on one host talk through the host's published ports.",
    "",
  ].join("\n");
}

/** Writes <out>/netlab-<target>.{md,json,svg,png}; returns the markdown's and the chart's paths. */
export function writeLabReport(lab: LabResult, outDir: string): { markdown: string; chart: string } {
  mkdirSync(outDir, { recursive: true });
  const base = join(outDir, `netlab-${lab.target}`);
  writeFileSync(`${base}.md`, labMarkdown(lab));
  writeFileSync(`${base}.json`, JSON.stringify(lab, null, 2));
  const svg = barChartSvg(
    `Network paths on the ${lab.target} Swarm, % of node to node (raw)`,
    "% of case 1",
    lab.results.filter((r) => r.percent !== null).map((r) => ({ label: `${r.id}`, value: r.percent!, theory: r.seed?.percent })),
    900,
    440,
    {
      theoryLabel: "dashed: the seed's share (10 GbE hosts, 2017)",
      notes: lab.results.map((r) => `${r.id}. ${r.title}: ${r.gbps === null ? "unavailable" : `${gbps(r.gbps)} Gbit/s`}`),
    },
  );
  return { markdown: `${base}.md`, chart: writeChart(base, svg) };
}

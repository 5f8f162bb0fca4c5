// `scripts/netlab.sh [--stack dev] [--seconds 10] [--out reports]`: seed 004's network lab on a deployed Swarm
// stack (lab.ts), reached with the stack's own outputs (sshCommand, nodes) read through the Automation API.
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import { join, resolve } from "node:path";
import { parseCli } from "../automation/cli";
import { NETWORK_NAME } from "../swarm/dockercoins";
import { parseNodes, parseSshCommand, runNetworkLab } from "./lab";
import { writeLabReport } from "./report";

const root = resolve(__dirname, "../..");
const { values, refuse } = parseCli("netlab", "usage: scripts/netlab.sh [--stack dev] [--seconds 10] [--out reports]", {
  stack: process.env.DOCKERCOINS_STACK ?? "dev",
  seconds: "10",
  out: join(root, "reports"),
});
const seconds = Number(values.seconds);
if (!Number.isInteger(seconds) || seconds < 1 || seconds > 120) refuse(`--seconds takes whole seconds from 1 to 120, got ${JSON.stringify(values.seconds)}`);

async function main() {
  const stack = await LocalWorkspace.selectStack({ stackName: values.stack, workDir: root });
  const outputs = await stack.outputs();
  const target = String(outputs.target?.value ?? "");
  if (!outputs.sshCommand || !outputs.nodes) throw new Error(`stack ${values.stack} has no sshCommand/nodes outputs: deploy it first (scripts/up.sh or pulumi up)`);
  if (target === "minikube") throw new Error("the network lab measures a Swarm's nodes; the minikube target has one node");
  const lab = await runNetworkLab({
    access: { ...parseSshCommand(String(outputs.sshCommand.value)), nodes: parseNodes(outputs.nodes.value as string[]), overlay: NETWORK_NAME },
    target,
    seconds,
    log: (line) => console.log(line),
  });
  const { markdown, chart } = writeLabReport(lab, values.out);
  console.log(`[netlab] report: ${markdown}, chart: ${chart}`);
}

main().catch((err: Error) => {
  console.error(`[netlab] failed: ${err.message}`);
  process.exit(1);
});

// The network lab of seed 004, on a deployed Swarm: iperf3 between two nodes (node A, the first manager, and
// node B, another node) over every path a container can take, each as Gbit/s and as a share of the raw
// node-to-node figure. Everything runs over SSH with the stack's key (node B through the manager, so only the
// manager needs to be reachable), in containers labelled dockercoins.netlab=1 that the lab removes at the end.
import { spawn } from "node:child_process";
import { join } from "node:path";

export const LAB_IMAGE = "dockercoins-netlab:iperf3";
const LABEL = "dockercoins.netlab=1";
const ENCRYPTED_NETWORK = "netlab-encrypted";
const MESH_SERVICE = "netlab-mesh";
/** The Dockerfile of the lab's image: Debian's iperf3. */
export const LAB_IMAGE_CONTEXT = join(__dirname);

/** How to reach the manager (what the stack's sshCommand says), and the nodes' addresses among themselves. */
export interface LabAccess {
  keyPath: string;
  user: string;
  host: string;
  port: number;
  /** Every node, the manager that SSH reaches first, as `name address`: addresses the nodes reach each other at. */
  nodes: { name: string; address: string }[];
  /** The overlay network DockerCoins runs on. */
  overlay: string;
}

/** The stack's `sshCommand` output (`ssh -i KEY [-o ...] [-p PORT] USER@HOST`) as LabAccess fields. */
export function parseSshCommand(command: string): Pick<LabAccess, "keyPath" | "user" | "host" | "port"> {
  const words = command.trim().split(/\s+/);
  if (words[0] !== "ssh") throw new Error(`sshCommand ${JSON.stringify(command)} is not an ssh command (the minikube target has no Swarm to measure)`);
  let keyPath: string | undefined;
  let port = 22;
  let target: string | undefined;
  for (let i = 1; i < words.length; i++) {
    if (words[i] === "-i") keyPath = words[++i];
    else if (words[i] === "-p") port = Number(words[++i]);
    else if (words[i] === "-o") i++;
    else target = words[i];
  }
  const m = target && /^([^@]+)@(.+)$/.exec(target);
  if (!keyPath || !m || !Number.isInteger(port)) throw new Error(`sshCommand ${JSON.stringify(command)}: expected ssh -i KEY [-p PORT] USER@HOST`);
  return { keyPath, user: m[1], host: m[2], port };
}

/** The stack's `nodes` output (`node1 manager 10.0.1.5`, ...), the first manager first. */
export function parseNodes(nodes: string[]): LabAccess["nodes"] {
  const parsed = nodes.map((line) => {
    const [name, role, address] = line.trim().split(/\s+/);
    if (!name || !address) throw new Error(`nodes output ${JSON.stringify(line)}: expected "name role address"`);
    return { name, role, address };
  });
  const first = parsed.findIndex((n) => n.role === "manager");
  return [...parsed.slice(first), ...parsed.slice(0, first)].map(({ name, address }) => ({ name, address }));
}

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function sh(command: string, timeoutMs: number): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn("bash", ["-c", command], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => (stdout += c));
    child.stderr.on("data", (c) => (stderr += c));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** One node, reached over SSH (through the manager unless it is the manager). */
class NodeShell {
  constructor(
    private readonly access: LabAccess,
    readonly name: string,
    readonly address: string,
    private readonly direct: boolean,
  ) {}

  ssh(): string {
    const a = this.access;
    const common = `-i ${quote(a.keyPath)} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes`;
    if (this.direct) return `ssh ${common} -p ${a.port} ${a.user}@${a.host}`;
    const jump = `ssh ${common} -p ${a.port} -W %h:%p ${a.user}@${a.host}`;
    return `ssh ${common} -o ProxyCommand=${quote(jump)} ${a.user}@${this.address}`;
  }

  /** The docker command on the node: with sudo for a user other than root (the cloud images' users). */
  get dockerBin(): string {
    return this.access.user === "root" ? "docker" : "sudo -n docker";
  }

  /** A shell command on the node. */
  run(command: string, timeoutMs = 120_000): Promise<Ran> {
    return sh(`${this.ssh()} ${quote(command)}`, timeoutMs);
  }

  docker(args: string, timeoutMs?: number): Promise<Ran> {
    return this.run(`${this.dockerBin} ${args}`, timeoutMs);
  }

  async dockerOk(args: string, timeoutMs?: number): Promise<string> {
    const r = await this.docker(args, timeoutMs);
    if (r.code !== 0) throw new Error(`on ${this.name}: docker ${args.split(" ")[0]} failed: ${(r.stderr || r.stdout).trim().split("\n").pop()}`);
    return r.stdout.trim();
  }
}

/** One case of the lab: what the seed measured (if it did), and what is measured here. */
export interface LabCase {
  id: number;
  title: string;
  /** The seed's row: Gbit/s on its 10 GbE hosts and % of physical-to-physical. */
  seed?: { gbps: number; percent: number };
  /** The path the bytes take, in a few words. */
  path: string;
}

export const CASES: LabCase[] = [
  { id: 1, title: "node to node (raw)", seed: { gbps: 9.4, percent: 100 }, path: "B's network stack -> A's (iperf3 in host-network containers)" },
  { id: 2, title: "across nodes to a host-mode container", seed: { gbps: 9.4, percent: 100 }, path: "as 1: a host-mode container uses the node's own stack" },
  { id: 3, title: "across nodes to a bridge container (published port)", seed: { gbps: 9.4, percent: 100 }, path: "B -> A's IP:port -> DNAT -> docker0 -> the container" },
  { id: 4, title: "same node to a bridge container (node IP:port)", seed: { gbps: 23.8, percent: 250 }, path: "A -> its own IP:port -> docker-proxy/loopback -> the container" },
  { id: 5, title: "container to container, one node, through the node's IP:port", seed: { gbps: 8.0, percent: 85 }, path: "container -> A's IP:port -> hairpin through docker-proxy -> container" },
  { id: 6, title: "container to container, one node, on the container IP", seed: { gbps: 21.0, percent: 220 }, path: "container -> docker0 bridge -> container" },
  { id: 7, title: "across nodes on the dockercoins overlay", path: "container on B -> VXLAN over the nodes' network -> container on A" },
  { id: 8, title: "across nodes on an encrypted overlay", path: "as 7, with IPsec (ESP) on every packet" },
  { id: 9, title: "through a Swarm published port (routing mesh)", path: "B's IP:port -> ingress network (IPVS) -> the task on A" },
];

export interface CaseResult extends LabCase {
  gbps: number | null;
  /** Share of case 1's figure, %. */
  percent: number | null;
  /** Why there is no figure (e.g. no IPVS for the routing mesh). */
  unavailable?: string;
}

export interface LabResult {
  target: string;
  nodeA: string;
  nodeB: string;
  seconds: number;
  startedAt: string;
  results: CaseResult[];
}

export interface LabOptions {
  access: LabAccess;
  /** The stack's target (local, vms, aws): decides what the figures mean. */
  target: string;
  /** Seconds per case (the seed: 10). */
  seconds: number;
  log: (line: string) => void;
}

const PORT = (id: number) => 5300 + id;

/** iperf3's received throughput in Gbit/s, or what went wrong (its JSON carries `error`). */
export function parseIperf(json: string): { gbps: number } | { error: string } {
  try {
    const r = JSON.parse(json) as { error?: string; end?: { sum_received?: { bits_per_second?: number } } };
    if (r.error) return { error: r.error };
    const bps = r.end?.sum_received?.bits_per_second;
    return bps ? { gbps: bps / 1e9 } : { error: "iperf3 reported no throughput" };
  } catch {
    return { error: `iperf3 said: ${json.trim().split("\n").pop() || "nothing"}` };
  }
}

export async function runNetworkLab(opts: LabOptions): Promise<LabResult> {
  const { access, seconds, log } = opts;
  if (access.nodes.length < 2) throw new Error(`the lab needs two nodes, the stack has ${access.nodes.length}`);
  const a = new NodeShell(access, access.nodes[0].name, access.nodes[0].address, true);
  // Node B: the first other node that answers (a node may be down).
  let b: NodeShell | undefined;
  for (const n of access.nodes.slice(1)) {
    const candidate = new NodeShell(access, n.name, n.address, false);
    const r = await candidate.run("true", 20_000);
    if (r.code === 0) {
      b = candidate;
      break;
    }
    log(`[netlab] ${n.name} (${n.address}) does not answer over SSH through ${a.name}: ${r.stderr.trim().split("\n").pop()}; trying the next node`);
  }
  if (!b) throw new Error(`no node besides ${a.name} answers over SSH through it`);
  const lab: LabResult = { target: opts.target, nodeA: a.name, nodeB: b.name, seconds, startedAt: new Date().toISOString(), results: [] };

  const cleanUp = async () => {
    // The mesh service first: Swarm removes its task's container a moment after the service.
    await a.docker(`service rm ${MESH_SERVICE}`);
    for (let i = 0; i < 40 && (await a.docker(`ps -aq --filter label=com.docker.swarm.service.name=${MESH_SERVICE}`)).stdout.trim(); i++) {
      await new Promise((r) => setTimeout(r, 500));
    }
    for (const n of [a, b]) await n.run(`${n.dockerBin} ps -aq --filter label=${LABEL} | xargs -r ${n.dockerBin} rm -f`);
    await a.docker(`network rm ${ENCRYPTED_NETWORK}`);
    for (const n of [a, b]) await n.docker(`image rm ${LAB_IMAGE}`);
  };

  log(`[netlab] ${opts.target}: node A ${a.name} (${a.address}), node B ${b.name} (${b.address}); ${seconds} s per case`);
  await cleanUp(); // what an interrupted run left
  try {
    log(`[netlab] building ${LAB_IMAGE} here and copying it into ${a.name} and ${b.name}`);
    const built = await sh(`docker build -q -t ${LAB_IMAGE} ${quote(LAB_IMAGE_CONTEXT)}`, 600_000);
    if (built.code !== 0) throw new Error(`docker build of ${LAB_IMAGE} failed: ${built.stderr.trim()}`);
    for (const n of [a, b]) {
      const loaded = await sh(`docker save ${LAB_IMAGE} | ${n.ssh()} ${quote(`${n.dockerBin} load -q`)}`, 600_000);
      if (loaded.code !== 0) throw new Error(`copying ${LAB_IMAGE} into ${n.name} failed: ${loaded.stderr.trim()}`);
    }

    const run = `run -d --label ${LABEL}`;
    // Servers, all on node A.
    await a.dockerOk(`${run} --name netlab-host1 --network host ${LAB_IMAGE} -s -p ${PORT(1)}`);
    await a.dockerOk(`${run} --name netlab-host2 --network host ${LAB_IMAGE} -s -p ${PORT(2)}`);
    await a.dockerOk(`${run} --name netlab-bridge -p ${PORT(3)}:${PORT(3)} ${LAB_IMAGE} -s -p ${PORT(3)}`);
    const bridgeIp = await a.dockerOk(`inspect -f '{{.NetworkSettings.IPAddress}}' netlab-bridge`);
    await a.dockerOk(`${run} --name netlab-overlay --network ${access.overlay} ${LAB_IMAGE} -s -p ${PORT(7)}`);
    const overlayIp = await a.dockerOk(`inspect -f '{{(index .NetworkSettings.Networks "${access.overlay}").IPAddress}}' netlab-overlay`);
    const encrypted = await a
      .dockerOk(`network create -d overlay --attachable --opt encrypted --label ${LABEL} ${ENCRYPTED_NETWORK}`)
      .then(() => a.dockerOk(`${run} --name netlab-encrypted --network ${ENCRYPTED_NETWORK} ${LAB_IMAGE} -s -p ${PORT(8)}`))
      .then(() => a.dockerOk(`inspect -f '{{(index .NetworkSettings.Networks "${ENCRYPTED_NETWORK}").IPAddress}}' netlab-encrypted`))
      .catch((err: Error) => err);
    const swarmName = await a.dockerOk(`info -f '{{.Name}}'`);
    const mesh = await a
      .dockerOk(`service create -d --name ${MESH_SERVICE} --label ${LABEL} --constraint node.hostname==${swarmName} --restart-condition none --publish published=${PORT(9)},target=${PORT(9)} ${LAB_IMAGE} -s -p ${PORT(9)}`)
      .then(async () => {
        for (let i = 0; i < 60; i++) {
          if ((await a.docker(`service ps ${MESH_SERVICE} -f desired-state=running --format '{{.CurrentState}}'`)).stdout.startsWith("Running")) return undefined;
          await new Promise((r) => setTimeout(r, 500));
        }
        return new Error("its task did not start within 30 s");
      })
      .catch((err: Error) => err);

    /** The client: iperf3 in a container on `node`, in `network` (host, bridge or an overlay), to address:port. */
    const measure = async (node: NodeShell, network: string, address: string, port: number) => {
      const args = `run --rm --label ${LABEL} --network ${network} ${LAB_IMAGE} -c ${address} -p ${port} -t ${seconds} -O 1 -J --connect-timeout 5000`;
      const r = await node.docker(args, (seconds + 30) * 1000);
      return parseIperf(r.stdout || r.stderr);
    };
    const plans: Record<number, () => Promise<{ gbps: number } | { error: string }>> = {
      1: () => measure(b, "host", a.address, PORT(1)),
      2: () => measure(b, "host", a.address, PORT(2)),
      3: () => measure(b, "host", a.address, PORT(3)),
      // 4-6 reach case 3's bridge container another way: its published port from A itself, or its own address.
      4: () => measure(a, "host", a.address, PORT(3)),
      5: () => measure(a, "bridge", a.address, PORT(3)),
      6: () => measure(a, "bridge", bridgeIp, PORT(3)),
      7: () => measure(b, access.overlay, overlayIp, PORT(7)),
      8: async () => {
        if (encrypted instanceof Error) return { error: `no encrypted overlay: ${encrypted.message}` };
        const r = await measure(b, ENCRYPTED_NETWORK, encrypted, PORT(8));
        // The key exchange works over Swarm's control plane, but the data must pass as IPsec ESP.
        return "error" in r ? { error: `${r.error} (an encrypted overlay sends ESP, IP protocol 50, between the nodes: the kernel needs IPsec (xfrm) support and the network must let ESP through)` } : r;
      },
      9: async () => {
        if (mesh instanceof Error) return { error: `no mesh service: ${mesh.message}` };
        const r = await measure(b, "host", b.address, PORT(9));
        // Without IPVS in the kernel the mesh drops the connection: say so rather than a bare timeout.
        return "error" in r ? { error: `${r.error} (the routing mesh needs IPVS in the kernel; host-mode ports work without it)` } : r;
      },
    };
    for (const c of CASES) {
      const r = await plans[c.id]();
      const raw = lab.results[0]?.gbps;
      const result: CaseResult =
        "gbps" in r
          ? { ...c, gbps: r.gbps, percent: raw ? (r.gbps / raw) * 100 : c.id === 1 ? 100 : null }
          : { ...c, gbps: null, percent: null, unavailable: r.error };
      lab.results.push(result);
      log(`[netlab] ${c.id}. ${c.title}: ${result.gbps === null ? `unavailable: ${result.unavailable}` : `${result.gbps.toFixed(2)} Gbit/s (${result.percent!.toFixed(0)} %)`}`);
    }
  } finally {
    log("[netlab] removing the lab's containers, network, service and image from the nodes");
    await cleanUp();
  }
  return lab;
}

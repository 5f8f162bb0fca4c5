import { describe, expect, it } from "vitest";
import { CASES, parseIperf, parseNodes, parseSshCommand, type LabResult } from "../netlab/lab";
import { labMarkdown, targetReading } from "../netlab/report";

// The lab's parsing and report. The lab itself runs for real on the playground Swarm (e2e/swarm.e2e.test.ts).

describe("the network lab", () => {
  it("reads the stack's sshCommand output of every Swarm target", () => {
    expect(parseSshCommand("ssh -i /s/ssh/id -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -p 2221 root@127.0.0.1")).toEqual({
      keyPath: "/s/ssh/id", user: "root", host: "127.0.0.1", port: 2221,
    });
    expect(parseSshCommand("ssh -i /k admin@3.4.5.6")).toEqual({ keyPath: "/k", user: "admin", host: "3.4.5.6", port: 22 });
    expect(() => parseSshCommand("minikube ssh -p minikube")).toThrow(/not an ssh command \(the minikube target has no Swarm/);
    expect(() => parseSshCommand("ssh host")).toThrow(/expected ssh -i KEY \[-p PORT\] USER@HOST/);
  });

  it("reads the nodes output, the first manager first", () => {
    expect(parseNodes(["node1 worker 10.0.0.1", "node2 manager 10.0.0.2", "node3 worker 10.0.0.3"])).toEqual([
      { name: "node2", address: "10.0.0.2" }, { name: "node3", address: "10.0.0.3" }, { name: "node1", address: "10.0.0.1" },
    ]);
    expect(() => parseNodes(["node1"])).toThrow(/expected "name role address"/);
  });

  it("reads iperf3's JSON: received throughput, or its error", () => {
    expect(parseIperf(JSON.stringify({ end: { sum_received: { bits_per_second: 9.4e9 } } }))).toEqual({ gbps: 9.4 });
    expect(parseIperf(JSON.stringify({ error: "unable to connect to server: Connection timed out" }))).toEqual({
      error: "unable to connect to server: Connection timed out",
    });
    expect(parseIperf("docker: Error response from daemon: network x not found.\n")).toEqual({ error: "iperf3 said: docker: Error response from daemon: network x not found." });
  });

  it("writes the seed's table beside the figures, and says what they mean on the target", () => {
    const lab: LabResult = {
      target: "local", nodeA: "node1", nodeB: "node2", seconds: 10, startedAt: "2026-11-30T00:00:00.000Z",
      results: CASES.map((c) => (c.id === 9 ? { ...c, gbps: null, percent: null, unavailable: "no IPVS" } : { ...c, gbps: 10 / c.id, percent: 100 / c.id })),
    };
    const md = labMarkdown(lab);
    expect(md).toContain("| 1. node to node (raw) | 9.40 | 100 % | 10.00 | 100 % |");
    expect(md).toContain("| 6. container to container, one node, on the container IP | 21.00 | 220 % | 1.67 | 17 % |");
    expect(md).toContain("| 9. through a Swarm published port (routing mesh) | - | - | unavailable: no IPVS | - |");
    expect(md).toContain("all nodes share one kernel");
    expect(targetReading("aws")).toMatch(/separate machines/);
  });
});

import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cardsHtml } from "../labs/cards";
import { classCost, INSTANCE_PRICES } from "../labs/cost";
import { localAddresses, parsePool, parseSettingsFile, planStudents, studentPassword, studentsAmong, studentStack } from "../labs/plan";
import { inPool } from "../labs/stacks";
import { Progress, renderTable } from "../labs/progress";

describe("labs: a stack per student", () => {
  it("names students' stacks <prefix>-NN and finds them again among other stacks, in order", () => {
    expect(studentStack("lab", 1)).toBe("lab-01");
    expect(studentStack("class-b", 12)).toBe("class-b-12");
    expect(studentsAmong("lab", ["dev", "lab-02", "lab-01", "lab-1", "labx-03", "lab-03-old", "vms"])).toEqual([
      { index: 1, stack: "lab-01" },
      { index: 2, stack: "lab-02" },
    ]);
  });

  it("local: each student has its own subnet and ports, none the dev playground's or another student's", () => {
    const students = planStudents({ target: "local", students: 3, nodes: 3, prefix: "lab", config: { workerReplicas: "2" } });
    expect(students.map((s) => s.stack)).toEqual(["lab-01", "lab-02", "lab-03"]);
    expect(students[1].config).toMatchObject({ target: "local", nodeCount: "3", workerReplicas: "2", endpointMode: "dnsrr", ...localAddresses(2) });
    const taken = new Set(["8000", "15000", "9428", "10.213.0.0/24"]);
    for (const s of students) {
      for (const key of ["webuiPort", "localRegistryPort", "logsPort", "localSubnet"] as const) {
        expect(taken.has(s.config[key]!), `${s.stack} ${key}`).toBe(false);
        taken.add(s.config[key]!);
      }
      // Its nodes' SSH ports (base .. base + nodes - 1) stay clear of the next student's.
      expect(Number(s.config.localSshBasePort) + 3).toBeLessThanOrEqual(Number(localAddresses(s.index + 1).localSshBasePort));
    }
  });

  it("vms: the pool split into one group of --nodes machines per student; a pool too small is refused, saying the numbers", () => {
    const pool = parsePool("# the room's machines\nadmin@10.0.1.1\nadmin@10.0.1.2:2222 192.168.1.2\nadmin@10.0.1.3\nadmin@10.0.1.4\n", "pool.txt");
    expect(pool[1]).toEqual({ user: "admin", address: "10.0.1.2", port: 2222, privateAddress: "192.168.1.2" });
    const students = planStudents({ target: "vms", students: 2, nodes: 2, prefix: "lab", config: {}, pool });
    expect(JSON.parse(students[1].config.vmHosts!).map((h: { address: string }) => h.address)).toEqual(["10.0.1.3", "10.0.1.4"]);
    expect(() => planStudents({ target: "vms", students: 3, nodes: 2, prefix: "lab", config: {}, pool })).toThrow(
      "--pool has 4 machines; 3 students x 2 nodes need 6",
    );
    expect(() => parsePool("10.0.1.1\n", "pool.txt")).toThrow("pool.txt:1: expected user@address[:port] [privateAddress]");
    expect(parsePool('[{"address": "10.0.1.9", "user": "u"}]', "pool.json")).toEqual([{ address: "10.0.1.9", user: "u" }]);
  });

  it("a settings file takes the program's keys, refusing unknown ones and those labs sets per student, naming the line", () => {
    expect(parseSettingsFile("# a class\nworkerReplicas=2\ndockercoins:awsInstanceType: t3.medium\ntiming = \"zero-delay\"\n", "s.env")).toEqual({
      workerReplicas: "2",
      awsInstanceType: "t3.medium",
      timing: "zero-delay",
    });
    expect(() => parseSettingsFile("workers=2\n", "s.env")).toThrow('dockercoins:workers = "2" is not allowed; expected one of the program\'s keys (s.env:1');
    expect(() => parseSettingsFile("\nwebuiPort=80\n", "s.env")).toThrow("labs sets it per student");
    // Keys and passwords are each student's own, made or given per student (--key), never shared in a file.
    expect(() => parseSettingsFile("loginPassword=hunter22\n", "s.env")).toThrow("labs sets it per student (--target, --nodes, --pool, --key)");
    expect(() => parseSettingsFile("sshPublicKey=ssh-ed25519 AAAA\n", "s.env")).toThrow("labs sets it per student");
    expect(parseSettingsFile("loginUser=docker\n", "s.env")).toEqual({ loginUser: "docker" });
    expect(() => parseSettingsFile("just words\n", "s.env")).toThrow('s.env:1: expected key=value, got "just words"');
  });

  it("AWS: the class's instances and hourly cost from the dated price table; an unknown type says it has no price", () => {
    const c = classCost({ students: 10, nodes: 5, instanceType: "t3.medium", rootVolumeGiB: 30, region: "us-east-1" });
    expect(c.instances).toBe(50);
    // 50 x (0.0416 + 30 x 0.08 / 730)
    expect(c.perHour).toBeCloseTo(50 * (INSTANCE_PRICES["t3.medium"] + (30 * 0.08) / 730), 6);
    expect(c.text).toContain("about $2.24 an hour");
    expect(classCost({ students: 1, nodes: 5, instanceType: "m4.large", rootVolumeGiB: 30, region: "eu-west-3" }).text).toContain("eu-west-3 may differ");
    const unknown = classCost({ students: 2, nodes: 3, instanceType: "x9.huge", rootVolumeGiB: 30, region: "us-east-1" });
    expect(unknown.perHour).toBeUndefined();
    expect(unknown.text).toContain("6 instances of x9.huge (2 students x 3): no price for x9.huge");
  });

  it("runs at most --parallel students at once, and all of them", async () => {
    let running = 0;
    let most = 0;
    const done: number[] = [];
    await inPool([1, 2, 3, 4, 5], 2, async (n) => {
      most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, 10 * (6 - n)));
      running--;
      done.push(n);
    });
    expect(most).toBe(2);
    expect(done.sort()).toEqual([1, 2, 3, 4, 5]);
  });

  it("the progress table: a row per student with its phase, elapsed time and result, columns aligned", () => {
    const t = renderTable(
      [
        { stack: "lab-01", phase: "up: 12 resources", startedAt: 0 },
        { stack: "lab-02", phase: "up", startedAt: 1000, endedAt: 91_000, result: "ok" },
        { stack: "lab-03", phase: "waiting" },
      ],
      30_000,
    );
    expect(t.split("\n")).toEqual([
      "student  phase             elapsed  result",
      "lab-01   up: 12 resources  30 s",
      "lab-02   up                90 s     ok",
      "lab-03   waiting",
    ]);
  });

  it("off a terminal, the progress is a line per step (the running resource count every 20th), then the table", () => {
    let written = "";
    const out = { write: (t: string) => ((written += t), true) } as unknown as NodeJS.WriteStream;
    const p = new Progress(["lab-01"], out, false);
    p.set("lab-01", "stack");
    for (let n = 1; n <= 41; n++) p.set("lab-01", `up: ${n} resources`);
    p.set("lab-01", "up", "ok");
    p.done();
    const lines = written.trimEnd().split("\n");
    expect(lines.slice(0, 4)).toEqual(["[labs] lab-01: stack", "[labs] lab-01: up: 20 resources", "[labs] lab-01: up: 40 resources", "[labs] lab-01: up (ok)"]);
    expect(lines[4]).toBe("student  phase  elapsed  result");
    expect(lines[5]).toMatch(/^lab-01 +up +\d+ s +ok$/);
  });

  it("a student's password: four groups of four from 16 random bytes, no look-alike characters; fewer bytes refused", () => {
    expect(studentPassword(new Uint8Array(16))).toBe("aaaa-aaaa-aaaa-aaaa");
    expect(studentPassword(Uint8Array.from({ length: 16 }, (_, i) => i * 2 + 1))).toBe("bdfh-jmpr-tvxz-3579");
    for (let i = 0; i < 50; i++) {
      expect(studentPassword(crypto.getRandomValues(new Uint8Array(16)))).toMatch(/^[a-km-np-z2-9]{4}(-[a-km-np-z2-9]{4}){3}$/);
    }
    expect(() => studentPassword(new Uint8Array(8))).toThrow("16 random bytes");
  });

  it("cards: a student's own login and its password (vms, aws) on the card", () => {
    const html = cardsHtml([{ stack: "lab-01", sshCommand: "ssh -p 22301 student@127.0.0.1", password: "bdfh-kmps-uwy3-579b" }], "lab");
    expect(html).toMatch(/<th>log in<\/th><td><code>ssh -p 22301 student@127\.0\.0\.1<\/code>/);
    expect(html).toMatch(/<th>password<\/th><td><code>bdfh-kmps-uwy3-579b<\/code>/);
    expect(cardsHtml([{ stack: "lab-01", sshCommand: "ssh x" }], "lab")).not.toContain("password");
  });

  it("cards: one per student with its addresses and login, escaped; a student not up says so", () => {
    const html = cardsHtml(
      [
        { stack: "lab-01", webuiUrl: "http://127.0.0.1:8101", managerAddress: "10.214.1.11", sshCommand: "ssh -p 23011 <key>", nodes: ["node1", "node2"] },
        { stack: "lab-02" },
      ],
      "lab",
    );
    expect(html.match(/class="card"/g)).toHaveLength(2);
    expect(html).toContain("<code>http://127.0.0.1:8101</code>");
    expect(html).toContain("ssh -p 23011 &lt;key&gt;");
    expect(html).toMatch(/data-stack="lab-02"[\s\S]*\(not up\)/);
  });

  it("scripts/labs.sh refuses bad arguments with one line and the usage (exit 2), before touching a stack", () => {
    const cli = (...args: string[]) => {
      const r = spawnSync(join(__dirname, "../../node_modules/.bin/tsx"), [join(__dirname, "../labs/main.ts"), ...args], { encoding: "utf8" });
      return { code: r.status, said: r.stderr.split("\n")[0], usage: r.stderr.split("\n")[1] };
    };
    const usage = "usage: scripts/labs.sh create --students N [--target local|vms|aws] [--nodes M] [--prefix lab] [--parallel K]";
    expect(cli()).toEqual({ code: 2, said: "[labs] one command: create, status, cards or destroy", usage });
    expect(cli("teach")).toEqual({ code: 2, said: '[labs] unknown command "teach"', usage });
    expect(cli("create")).toEqual({ code: 2, said: "[labs] --students takes a whole number from 1 to 99, got undefined", usage });
    expect(cli("create", "--students", "2", "--target", "gcp").said).toBe('[labs] --target takes local, vms, aws, got "gcp"');
    expect(cli("create", "--students", "2", "--target", "vms").said).toBe("[labs] --target vms needs --pool FILE (the machines, one group of --nodes per student)");
    expect(cli("create", "--students", "2", "--target", "vms", "--pool", "p").said).toBe("[labs] --target vms needs --key FILE (the private key the pool's machines let in)");
    expect(cli("create", "--students", "2", "--key", "k").said).toBe("[labs] --key is the vms pool's key; --target local makes its own");
    expect(cli("create", "--students", "2", "--prefix", "Lab 1").said).toBe('[labs] --prefix takes lower-case letters, digits and dashes, got "Lab 1"');
    expect(cli("create", "--students", "2", "--bogus").said).toMatch(/^\[labs\] Unknown option '--bogus'/);
    expect(cli("destroy", "--student", "0").code).toBe(2);
  }, 60_000);
});

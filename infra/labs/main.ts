// `scripts/labs.sh create|status|cards|destroy`: a DockerCoins Swarm per student (plan.ts), driven through the
// Automation API (stacks.ts) with a live progress table (progress.ts), and cards to hand out (cards.ts).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { chromium } from "playwright-core";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline/promises";
import { parseArgs } from "node:util";
import { PLAYGROUND_PASSPHRASE, passphraseInUse } from "../passphrase";
import { cardsHtml } from "./cards";
import { classCost } from "./cost";
import { LAB_TARGETS, MAX_STUDENTS, parsePool, parseSettingsFile, planStudents, studentsAmong, type LabTarget } from "./plan";
import { Progress } from "./progress";
import { createStudents, destroyStudents, existingStacks, studentAccess } from "./stacks";

const root = resolve(__dirname, "../..");
const USAGE = `usage: scripts/labs.sh create --students N [--target local|vms|aws] [--nodes M] [--prefix lab] [--parallel K]
                           [--settings FILE] [--pool FILE --key FILE] [--yes]
       scripts/labs.sh status|cards [--prefix lab] [--out reports/labs]
       scripts/labs.sh destroy [--prefix lab] [--student N] [--parallel K]`;

const refuse = (message: string): never => {
  console.error(`[labs] ${message}\n${USAGE}`);
  process.exit(2);
};

function options() {
  try {
    const { values, positionals } = parseArgs({
      allowPositionals: true,
      options: {
        students: { type: "string" }, target: { type: "string", default: "local" }, nodes: { type: "string", default: "5" },
        prefix: { type: "string", default: "lab" }, parallel: { type: "string", default: "2" }, settings: { type: "string" },
        pool: { type: "string" }, key: { type: "string" }, student: { type: "string" }, out: { type: "string", default: join(root, "reports/labs") },
        yes: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false },
      },
    });
    if (values.help) {
      console.log(USAGE);
      process.exit(0);
    }
    if (positionals.length !== 1) refuse("one command: create, status, cards or destroy");
    return { command: positionals[0], ...values };
  } catch (e) {
    return refuse((e as Error).message);
  }
}

const whole = (name: string, v: string | undefined, min: number, max: number): number => {
  const n = Number(v);
  if (v === undefined || !Number.isInteger(n) || n < min || n > max) refuse(`--${name} takes a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return n;
};

async function confirm(question: string, yes: boolean): Promise<void> {
  if (yes) return;
  if (!process.stdin.isTTY) refuse(`${question}: answer with --yes (no terminal to ask on)`);
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  const answer = await rl.question(`${question} [y/N] `);
  rl.close();
  if (!/^y(es)?$/i.test(answer.trim())) {
    console.log("[labs] nothing created");
    process.exit(1);
  }
}

async function create(o: ReturnType<typeof options>): Promise<number> {
  const target = o.target as LabTarget;
  if (!LAB_TARGETS.includes(target)) refuse(`--target takes ${LAB_TARGETS.join(", ")}, got ${JSON.stringify(o.target)}`);
  const settingsFile = o.settings;
  const config = settingsFile ? parseSettingsFile(readFileSync(settingsFile, "utf8"), settingsFile) : {};
  if (target === "vms" && !o.pool) refuse("--target vms needs --pool FILE (the machines, one group of --nodes per student)");
  if (target === "vms" && !o.key) refuse("--target vms needs --key FILE (the private key the pool's machines let in)");
  if (target !== "vms" && o.key) refuse(`--key is the vms pool's key; --target ${target} makes its own`);
  const settings = {
    target, config, prefix: o.prefix,
    students: whole("students", o.students, 1, MAX_STUDENTS),
    nodes: whole("nodes", o.nodes, 1, 20),
    pool: o.pool ? parsePool(readFileSync(o.pool, "utf8"), o.pool) : undefined,
  };
  if (!/^[a-z][a-z0-9-]{0,30}$/.test(o.prefix)) refuse(`--prefix takes lower-case letters, digits and dashes, got ${JSON.stringify(o.prefix)}`);
  if (target !== "local" && passphraseInUse(process.env) === PLAYGROUND_PASSPHRASE) {
    refuse(`the ${target} target keeps keys to real machines: set a passphrase of your own (PULUMI_CONFIG_PASSPHRASE_FILE), not the playground's public one`);
  }
  const students = planStudents(settings);
  if (target === "aws") {
    const cost = classCost({
      students: settings.students, nodes: settings.nodes, region: config.awsRegion ?? "us-east-1",
      instanceType: config.awsInstanceType ?? "m4.large", rootVolumeGiB: Number(config.awsRootVolumeGiB ?? 30),
    });
    console.log(`[labs] ${cost.text}`);
    await confirm(`[labs] create ${cost.instances} instances on AWS`, o.yes);
  }
  const progress = new Progress(students.map((s) => s.stack));
  const poolKey = o.key ? readFileSync(o.key, "utf8") : undefined;
  await createStudents(students, { workDir: root, logDir: join(o.out, "logs"), parallel: whole("parallel", o.parallel, 1, 20), progress, poolKey });
  progress.done();
  return progress.all.every((r) => r.phase !== "failed") ? 0 : 1;
}

async function chosenStudents(o: ReturnType<typeof options>) {
  const n = o.student === undefined ? undefined : whole("student", o.student, 1, MAX_STUDENTS);
  const students = studentsAmong(o.prefix, await existingStacks(root));
  return n === undefined ? students : students.filter((s) => s.index === n);
}

/** The cards as a PDF, printed by Chromium (CHROMIUM_PATH, or /usr/bin/chromium); without one, the HTML alone. */
async function printPdf(html: string, pdf: string): Promise<void> {
  const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
  if (!existsSync(executablePath)) {
    console.log(`[labs] no PDF: no Chromium at ${executablePath} (set CHROMIUM_PATH); print the HTML from a browser`);
    return;
  }
  const browser = await chromium.launch({ executablePath, args: ["--no-sandbox"] });
  try {
    const page = await browser.newPage();
    await page.goto(`file://${html}`);
    await page.pdf({ path: pdf, format: "A4", printBackground: true });
    console.log(`[labs] printed: ${pdf}`);
  } finally {
    await browser.close();
  }
}

/** Whether webui counts hashes now: its /json twice, 4 s apart. */
async function minesNow(webuiUrl: string | undefined): Promise<string> {
  if (!webuiUrl) return "not up";
  const hashes = async () => ((await (await fetch(`${webuiUrl}/json`, { signal: AbortSignal.timeout(5000) })).json()) as { hashes: number }).hashes;
  try {
    const first = await hashes();
    await new Promise((r) => setTimeout(r, 4000));
    const rate = ((await hashes()) - first) / 4;
    return rate > 0 ? `mining, ${rate.toFixed(1)} hashes/s` : "not mining";
  } catch (e) {
    return `webui does not answer (${(e as Error).message})`;
  }
}

async function status(o: ReturnType<typeof options>, cards: boolean): Promise<number> {
  const students = await chosenStudents(o);
  if (students.length === 0) {
    console.log(`[labs] no student stacks with prefix ${o.prefix}`);
    return cards ? 1 : 0;
  }
  const access = await Promise.all(students.map((s) => studentAccess(s.stack, root, cards)));
  if (cards) {
    mkdirSync(o.out, { recursive: true });
    const html = join(o.out, `${o.prefix}-cards.html`);
    // The logins' passwords and key files: readable by the instructor only.
    writeFileSync(html, cardsHtml(access, o.prefix), { mode: 0o600 });
    console.log(`[labs] ${access.length} cards: ${html}`);
    await printPdf(html, html.replace(/\.html$/, ".pdf"));
    return 0;
  }
  const mining = await Promise.all(access.map((a) => minesNow(a.webuiUrl)));
  access.forEach((a, i) => console.log(`${a.stack}  ${a.webuiUrl ?? "-"}  ${a.managerAddress ?? "-"}  ${mining[i]}`));
  return mining.every((m) => m.startsWith("mining")) ? 0 : 1;
}

async function destroy(o: ReturnType<typeof options>): Promise<number> {
  const students = await chosenStudents(o);
  if (students.length === 0) {
    console.log(`[labs] nothing to destroy: no student stacks with prefix ${o.prefix}${o.student ? ` and number ${o.student}` : ""}`);
    return 0;
  }
  const progress = new Progress(students.map((s) => s.stack));
  await destroyStudents(students.map((s) => s.stack), { workDir: root, logDir: join(o.out, "logs"), parallel: whole("parallel", o.parallel, 1, 20), progress });
  progress.done();
  return progress.all.every((r) => r.phase !== "failed") ? 0 : 1;
}

const o = options();
const run = { create: () => create(o), status: () => status(o, false), cards: () => status(o, true), destroy: () => destroy(o) }[o.command];
if (!run) refuse(`unknown command ${JSON.stringify(o.command)}`);
run!()
  .then((code) => process.exit(code))
  .catch((e: Error) => {
    console.error(`[labs] ${e.message.split("\n")[0]}`);
    process.exit(1);
  });

// One card per student to hand out: their cluster's addresses, how to log in, the workshop's first commands.
// A printable HTML page (two cards a row, none split across pages), and a PDF through the browser's print.
import type { StudentAccess } from "./stacks";

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);

export const FIRST_COMMANDS = ["docker node ls", "docker service ls", "docker service ps worker", "docker service scale worker=10"];

function card(a: StudentAccess, title: string): string {
  const row = (label: string, value: string | undefined) =>
    `<tr><th>${label}</th><td><code>${esc(value ?? "(not up)")}</code></td></tr>`;
  return `<section class="card" data-stack="${esc(a.stack)}">
  <h2>${esc(title)} <small>${esc(a.stack)}</small></h2>
  <table>
    ${row("webui", a.webuiUrl)}
    ${row("manager", a.managerAddress)}
    ${row("log in", a.sshCommand)}
    ${a.password ? row("password", a.password) : ""}
    ${row("nodes", a.nodes?.join(", "))}
  </table>
  <p>Then, on the manager:</p>
  <pre>${FIRST_COMMANDS.map(esc).join("\n")}</pre>
</section>`;
}

export function cardsHtml(students: StudentAccess[], className: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>DockerCoins lab: ${esc(className)}</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 1cm; }
  .cards { display: grid; grid-template-columns: 1fr 1fr; gap: 0.6cm; }
  .card { border: 1px dashed #555; padding: 0.4cm; break-inside: avoid; }
  h2 { margin: 0 0 0.2cm; font-size: 1.1em; }
  h2 small { color: #666; font-weight: normal; }
  th { text-align: left; padding-right: 0.3cm; vertical-align: top; }
  code, pre { font-size: 0.8em; word-break: break-all; white-space: pre-wrap; }
  pre { background: #f3f3f3; padding: 0.2cm; margin: 0; }
</style>
</head>
<body>
<h1>DockerCoins lab: ${esc(className)}</h1>
<div class="cards">
${students.map((s) => card(s, `Student ${s.stack.slice(-2)}`)).join("\n")}
</div>
</body>
</html>
`;
}

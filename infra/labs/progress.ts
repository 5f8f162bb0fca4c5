// The live progress table of a class: one row per student (phase, elapsed, result). On a terminal it is
// redrawn in place every second; elsewhere (CI, a log file) each change is one line, so nothing is lost.

export interface Row {
  stack: string;
  phase: string;
  startedAt?: number;
  endedAt?: number;
  result?: string;
}

export function renderTable(rows: Row[], now: number): string {
  const elapsed = (r: Row) => (r.startedAt === undefined ? "" : `${(((r.endedAt ?? now) - r.startedAt) / 1000).toFixed(0)} s`);
  const cells = [["student", "phase", "elapsed", "result"], ...rows.map((r) => [r.stack, r.phase, elapsed(r), r.result ?? ""])];
  const widths = cells[0].map((_, c) => Math.max(...cells.map((row) => row[c].length)));
  return cells.map((row) => row.map((cell, c) => cell.padEnd(widths[c])).join("  ").trimEnd()).join("\n");
}

export class Progress {
  private readonly rows = new Map<string, Row>();
  private drawn = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    stacks: string[],
    private readonly out: NodeJS.WriteStream = process.stdout,
    private readonly live = Boolean(out.isTTY),
  ) {
    for (const stack of stacks) this.rows.set(stack, { stack, phase: "waiting" });
    if (this.live) {
      this.draw();
      this.timer = setInterval(() => this.draw(), 1000);
    }
  }

  /** A student's new phase; `result` ends its row. */
  set(stack: string, phase: string, result?: string): void {
    const row = this.rows.get(stack)!;
    row.startedAt ??= Date.now();
    row.phase = phase;
    if (result !== undefined) {
      row.result = result;
      row.endedAt = Date.now();
    }
    if (this.live) this.draw();
    // Off a terminal a line per step, and of the running count of resources only every 20th.
    else if (result !== undefined || Number(/: (\d+) resources$/.exec(phase)?.[1] ?? 0) % 20 === 0) {
      this.out.write(`[labs] ${stack}: ${phase}${result === undefined ? "" : ` (${result})`}\n`);
    }
  }

  get all(): Row[] {
    return [...this.rows.values()];
  }

  /** Stops redrawing; off a terminal, prints the final table once. */
  done(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.live) this.draw();
    else this.out.write(`${renderTable(this.all, Date.now())}\n`);
  }

  private draw(): void {
    const table = renderTable(this.all, Date.now());
    if (this.drawn > 0) this.out.write(`\x1b[${this.drawn}A\x1b[J`);
    this.out.write(`${table}\n`);
    this.drawn = table.split("\n").length;
  }
}

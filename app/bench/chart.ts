// Dependency-free SVG charts: bars (workers -> hashes/s, with the theory line) and lines (the workshop walk,
// the HPA timeline), and the one SVG -> PNG step they share.
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");

export interface Bar {
  label: string;
  value: number;
  /** What the workshop's arithmetic predicts, drawn as a marker. */
  theory?: number;
}

export interface BarChartOptions {
  /** What the dashed markers are (default: theory). */
  theoryLabel?: string;
  /** Lines of text under the chart, e.g. what each bar's label stands for. */
  notes?: string[];
}

export function barChartSvg(title: string, yLabel: string, bars: Bar[], width = 800, plotHeight = 420, opts: BarChartOptions = {}): string {
  const notes = opts.notes ?? [];
  const height = plotHeight + notes.length * 17;
  const pad = { left: 70, right: 20, top: 50, bottom: 60 + notes.length * 17 };
  const top = Math.max(1, ...bars.flatMap((b) => [b.value, b.theory ?? 0])) * 1.15;
  // Round tick steps (1, 2 or 5 times a power of ten) so the axis labels are exact.
  const magnitude = 10 ** Math.floor(Math.log10(top / 5));
  const tickStep = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => top / s <= 6)!;
  const max = Math.ceil(top / tickStep) * tickStep;
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const step = plotW / bars.length;
  const y = (v: number) => pad.top + plotH - (v / max) * plotH;
  const ticks = Array.from({ length: Math.round(max / tickStep) + 1 }, (_, i) => i * tickStep);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="28" text-anchor="middle" font-size="17" font-weight="bold">${title}</text>`,
    `<text transform="translate(18 ${pad.top + plotH / 2}) rotate(-90)" text-anchor="middle">${yLabel}</text>`,
    ...ticks.map((t) => `<line x1="${pad.left}" x2="${width - pad.right}" y1="${y(t)}" y2="${y(t)}" stroke="#ddd"/><text x="${pad.left - 8}" y="${y(t) + 4}" text-anchor="end">${+t.toFixed(6)}</text>`),
    ...bars.flatMap((b, i) => {
      const x = pad.left + i * step + step * 0.2;
      const w = step * 0.6;
      return [
        `<rect x="${x}" y="${y(b.value)}" width="${w}" height="${pad.top + plotH - y(b.value)}" fill="#2a7"/>`,
        `<text x="${x + w / 2}" y="${y(Math.max(b.value, b.theory ?? 0)) - 8}" text-anchor="middle">${b.value.toFixed(1)}</text>`,
        `<text x="${x + w / 2}" y="${height - pad.bottom + 20}" text-anchor="middle">${esc(b.label)}</text>`,
        b.theory === undefined ? "" : `<line x1="${x - 4}" x2="${x + w + 4}" y1="${y(b.theory)}" y2="${y(b.theory)}" stroke="#c33" stroke-width="3" stroke-dasharray="6 3"/>`,
      ];
    }),
    `<text x="${width - pad.right}" y="${plotHeight - 12}" text-anchor="end" fill="#c33">${esc(opts.theoryLabel ?? "dashed: theory")}</text>`,
    ...notes.map((n, i) => `<text x="${pad.left}" y="${plotHeight + 8 + i * 17}" font-size="12" fill="#444">${esc(n)}</text>`),
    `</svg>`,
  ];
  return parts.join("\n");
}

/** Writes `<base>.svg` and `<base>.png` (Debian's rsvg-convert, package librsvg2-bin); returns the PNG's path. */
export function writeChart(base: string, svg: string): string {
  writeFileSync(`${base}.svg`, svg);
  execFileSync("rsvg-convert", ["-o", `${base}.png`, `${base}.svg`]);
  return `${base}.png`;
}


export interface Series {
  name: string;
  color: string;
  points: { x: number; y: number }[];
  dashed?: boolean;
}


export function lineChartSvg(opts: { title: string; xLabel: string; yLabel: string; series: Series[]; notes?: string[] }): string {
  const W = 900, H = 540, L = 70, R = 220, T = 50, B = 60;
  const all = opts.series.flatMap((s) => s.points);
  const xMax = Math.max(...all.map((p) => p.x));
  const yMax = Math.ceil(Math.max(...all.map((p) => p.y)) / 5) * 5 || 5;
  const sx = (x: number) => L + (x / xMax) * (W - L - R);
  const sy = (y: number) => H - B - (y / yMax) * (H - T - B);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="DejaVu Sans, sans-serif" font-size="13">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${L}" y="28" font-size="17" font-weight="bold">${esc(opts.title)}</text>`,
  ];
  for (let y = 0; y <= yMax; y += 5) {
    out.push(`<line x1="${L}" x2="${W - R}" y1="${sy(y)}" y2="${sy(y)}" stroke="#ddd"/>`);
    out.push(`<text x="${L - 8}" y="${sy(y) + 4}" text-anchor="end">${y}</text>`);
  }
  for (const x of [...new Set(all.map((p) => p.x))].sort((a, b) => a - b)) {
    out.push(`<text x="${sx(x)}" y="${H - B + 20}" text-anchor="middle">${x}</text>`);
  }
  out.push(`<line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" stroke="#333"/>`);
  out.push(`<line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}" stroke="#333"/>`);
  out.push(`<text x="${(L + W - R) / 2}" y="${H - 15}" text-anchor="middle">${esc(opts.xLabel)}</text>`);
  out.push(`<text transform="translate(20 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">${esc(opts.yLabel)}</text>`);
  opts.series.forEach((s, i) => {
    const d = s.points.map((p, j) => `${j ? "L" : "M"}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(" ");
    out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="${s.dashed ? 1.5 : 2.5}"${s.dashed ? ' stroke-dasharray="6 4"' : ""}/>`);
    if (!s.dashed) for (const p of s.points) out.push(`<circle cx="${sx(p.x)}" cy="${sy(p.y)}" r="4" fill="${s.color}"/>`);
    const ly = T + 10 + i * 22;
    out.push(`<line x1="${W - R + 15}" x2="${W - R + 40}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2.5"${s.dashed ? ' stroke-dasharray="6 4"' : ""}/>`);
    out.push(`<text x="${W - R + 46}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  (opts.notes ?? []).forEach((n, i) => out.push(`<text x="${W - R + 15}" y="${T + 10 + opts.series.length * 22 + 20 + i * 18}" font-size="12" fill="#444">${esc(n)}</text>`));
  out.push("</svg>");
  return out.join("\n");
}
